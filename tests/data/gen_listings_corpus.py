#!/usr/bin/env python3
"""Generates tests/data/listings_corpus.jsonl: a deterministic relevance corpus for the listings
service's matchmaking (offers matched to demands).

Standard library only, fixed seed, no network; re-running it rewrites a byte-identical file.

Layout. 30 technology topics, each written in Simplified Chinese and in English. For every topic
and language there is one demand and a cluster of six offers:

  best        same topic and language as the demand, shares its IPC main group and all its fields,
              readiness >= min_trl, asking price within [budget min, max], a compatible transfer
              mode, the demand's city: the demand's expected_best.
  trl         the same text and IPC, readiness 3-5 levels below min_trl.
  price       the same text and IPC, asking price 2.2-4x the budget maximum.
  mode        the same text and IPC, none of the demand's transfer modes.
  negotiable  the same text and IPC, no price (negotiable), so only partial price credit.
  neighbour   a neighbouring topic sharing only the IPC subclass (and some words), otherwise
              attractive: ready, within budget, compatible mode.

The four distractors of a cluster carry exactly the same demand keywords as the best offer (the
same counts of the demand's tokens) and are at least as long, so keyword relevance cannot favour
them; each fails exactly one factor. Before writing, the script checks every demand against a port
of the service's scorer (services/listings/domain: text.cc tokeniser, BM25 over all offers,
read_model.cc factors): the expected best must score 1 in every factor, every other offer must be
strictly below 1 in at least one factor, so the expected best ranks first under any weighting
with positive weights.
"""

import json
import math
import os
import random
import re
import sys
from collections import Counter, OrderedDict

SEED = 20240917
OUT_NAME = "listings_corpus.jsonl"

FIELDS = [
    "artificial-intelligence", "integrated-circuits", "biomedicine", "medical-devices",
    "new-materials", "new-energy", "energy-storage", "intelligent-manufacturing", "robotics",
    "aerospace", "marine-engineering", "agriculture", "environmental-protection",
    "electronic-information", "new-energy-vehicles", "chemicals", "construction", "textiles",
    "food", "metallurgy",
]
MODES = ["assignment", "exclusive_license", "non_exclusive_license", "equity",
         "joint_development", "technical_service"]
CITIES = ["wuhan-east-lake", "shenzhen", "hefei", "suzhou-industrial-park", "xian-hi-tech",
          "chengdu", "beijing-zhongguancun", "shanghai-zhangjiang"]
FACTORS = ["ipc", "fields", "text", "readiness", "price", "transfer_mode", "city"]
IPC_RE = re.compile(r"^[A-H][0-9]{2}[A-Z] [0-9]{1,4}/[0-9]{2,6}$")

# Title templates: {c} is the topic's core phrase. "algo" topics are methods and systems,
# "proc" topics materials, processes and equipment.
ZH_TEMPLATES = {
    "algo": ["{c}方法", "一种{c}方法", "{c}方法及系统", "{c}技术", "{c}关键技术",
             "{c}技术及应用", "{c}系统", "{c}装置及方法", "{c}解决方案", "{c}软硬件方案", "{c}专利技术",
             "{c}集成技术", "{c}产业化技术"],
    "proc": ["{c}方法", "一种{c}方法", "{c}技术", "{c}关键技术", "{c}技术及应用",
             "{c}新工艺", "{c}工艺及装备", "{c}成套技术", "{c}解决方案", "{c}工艺包", "{c}专利技术",
             "{c}集成技术", "{c}产业化技术"],
}
EN_TEMPLATES = {
    "algo": ["Method for {c}", "A method and system for {c}", "Technology for {c}",
             "Key technology for {c}", "Software and hardware solution for {c}",
             "Algorithm package for {c}", "Improved approach to {c}",
             "Patented know-how on {c}", "Field-proven solution for {c}",
             "Complete toolkit for {c}", "Patent portfolio covering {c}",
             "Licensable technology for {c}", "Integrated technology for {c}"],
    "proc": ["Method for {c}", "Technology for {c}", "Key technology for {c}",
             "Process and equipment for {c}", "Improved process for {c}",
             "Complete technical package for {c}", "Patented know-how on {c}",
             "Improved approach to {c}", "Scalable route to {c}",
             "Pilot-proven process for {c}", "Patent portfolio covering {c}",
             "Licensable technology for {c}", "Integrated technology for {c}"],
}
ZH_ATTRIBUTIONS = [
    "成果由{org}完成，拥有自主知识产权。",
    "{org}为该成果权利人，可提供完整资料。",
    "本成果来自{org}，已形成专利组合。",
    "{org}可派驻工程师配合成果落地。",
    "该项目由{org}承担，已通过第三方检测。",
    "{org}长期从事相关研究，可提供后续支持。",
]
ZH_ORGS = ["某双一流高校课题组", "国家重点实验室团队", "中国科学院某研究所", "省级新型研发机构",
           "国家级专精特新企业", "高新技术企业研发中心", "国家工程研究中心", "地方产业技术研究院"]
EN_ATTRIBUTIONS = [
    "The work was done by {org}, which holds the full patent rights.",
    "The rights holder is {org}, able to supply complete documentation.",
    "It originates from {org} and is protected by a patent family.",
    "Engineers from {org} can be stationed on site to support adoption.",
    "The project was led by {org} and verified by a third-party laboratory.",
    "The team at {org} offers follow-up support after transfer.",
]
EN_ORGS = ["a university research group", "a state key laboratory",
           "an institute of the Chinese Academy of Sciences",
           "a provincial new-type R&D institute", "a specialised and sophisticated SME",
           "a high-tech enterprise R&D centre", "a national engineering research centre",
           "a municipal industrial technology institute"]


def topic(slug, kind, ipc, nb_ipc, fields, nb_fields, scale, zh, en):
    """ipc: the cluster's codes, the first the demand's main code; scale: typical price, 10k CNY.
    zh / en: (core phrase, abstract, demand title, demand problem, neighbour title,
    neighbour abstract)."""
    keys = ("core", "abstract", "d_title", "d_problem", "nb_title", "nb_abstract")
    return {"slug": slug, "kind": kind, "ipc": ipc, "nb_ipc": nb_ipc, "fields": fields,
            "nb_fields": nb_fields, "scale": scale,
            "zh": dict(zip(keys, zh)), "en": dict(zip(keys, en))}


TOPICS = [
    topic("battery-soh", "algo", ["H01M 10/48", "G01R 31/392"], ["H01M 50/20"],
          ["energy-storage", "new-energy-vehicles"], ["new-energy-vehicles"], 80,
          ("锂离子电池健康状态在线估计",
           "利用充电片段的容量增量曲线特征与迁移学习模型，在不拆解电池的情况下在线估计锂离子电池健康状态，估计误差小于2%。适用于电动汽车电池管理系统与储能电站运维。",
           "储能电站锂电池健康状态在线评估技术需求",
           "我公司运营的储能电站需要在不停机条件下在线估计锂离子电池健康状态，要求利用充电数据实现误差小于3%的估计，并可部署到现有电池管理系统。",
           "高安全锂电池包箱体结构及其成组方法",
           "提出一种轻量化铝合金电池包箱体与模组成组结构，提升锂电池包抗冲击与散热性能。已在商用车电池包上完成样件验证。"),
          ("online state-of-health estimation of lithium-ion batteries",
           "Incremental capacity features extracted from partial charging segments feed a transfer-learning model that estimates lithium-ion battery state of health online with error below 2%. The algorithm runs on existing battery management system hardware.",
           "Online state-of-health estimation for lithium-ion batteries in grid storage",
           "Our energy storage station needs to estimate lithium-ion battery state of health online from charging data without taking racks offline. Estimation error must stay below 3% on our existing battery management system.",
           "Lightweight aluminium battery pack enclosure with module grouping structure",
           "An extruded aluminium enclosure and module grouping structure improves crash resistance and heat dissipation of lithium-ion battery packs. Prototype packs have passed commercial-vehicle vibration tests.")),
    topic("perovskite-pv", "proc", ["H10K 30/50", "H10K 85/50"], ["H10K 50/11"],
          ["new-energy", "new-materials"], ["electronic-information", "new-materials"], 500,
          ("大面积钙钛矿太阳能电池刮涂制备",
           "采用添加剂调控的刮涂工艺在空气环境中制备大面积钙钛矿吸光层，组件光电转换效率超过20%，并通过封装提升湿热稳定性。工艺与现有薄膜产线兼容。",
           "钙钛矿太阳能电池组件大面积制备工艺需求",
           "我公司计划建设钙钛矿光伏中试线，需要可在空气环境中大面积制备钙钛矿吸光层的刮涂或狭缝涂布工艺，组件效率不低于18%，并具备较好的湿热稳定性。",
           "高色纯度有机发光二极管发光层材料及器件",
           "开发一种热活化延迟荧光发光材料，用于有机发光二极管发光层，器件外量子效率超过25%。可用于显示面板与照明领域。"),
          ("large-area blade coating of perovskite solar cells",
           "An additive-engineered blade-coating process deposits large-area perovskite absorber layers in ambient air, giving module power conversion efficiency above 20%. Edge encapsulation improves damp-heat stability.",
           "Scalable large-area fabrication process for perovskite solar modules",
           "We are building a perovskite photovoltaic pilot line and need a blade or slot-die coating process that deposits large-area perovskite absorber layers in ambient air. Module efficiency should exceed 18% with good damp-heat stability.",
           "Thermally activated delayed fluorescence emitters for OLED displays",
           "A new thermally activated delayed fluorescence material serves as the emissive layer of organic light-emitting diodes, reaching external quantum efficiency above 25%. Suitable for display panels and lighting.")),
    topic("sic-power", "proc", ["H01L 29/1608", "H01L 29/7802"], ["H01L 21/0254"],
          ["integrated-circuits", "new-energy-vehicles"],
          ["integrated-circuits", "electronic-information"], 800,
          ("高可靠碳化硅MOSFET功率器件制造",
           "通过优化栅氧界面氮化退火与沟槽栅结构，降低碳化硅MOSFET的导通电阻并提升阈值电压稳定性，器件耐压1200V。适用于新能源汽车主驱逆变器与光伏逆变器。",
           "车规级1200V碳化硅MOSFET器件技术合作",
           "我公司需要开发用于新能源汽车主驱逆变器的1200V碳化硅MOSFET器件，要求降低导通电阻并改善栅氧可靠性与阈值电压漂移问题。",
           "硅衬底氮化镓外延片低缺陷生长方法",
           "采用应力调控缓冲层在硅衬底上外延生长氮化镓薄膜，位错密度降低一个数量级。适用于快充电源用氮化镓功率器件。"),
          ("manufacturing highly reliable 1200 V SiC MOSFETs",
           "Nitridation annealing of the gate oxide interface combined with a trench gate structure lowers on-resistance and stabilises threshold voltage of SiC MOSFETs rated at 1200 V. Targeted at traction inverters for electric vehicles and photovoltaic inverters.",
           "Automotive-grade 1200 V SiC MOSFET for traction inverters",
           "We need 1200 V SiC MOSFETs for electric vehicle traction inverters with lower on-resistance. Gate oxide reliability and threshold voltage drift must be improved.",
           "Low-defect GaN epitaxial growth on silicon substrates",
           "A stress-engineered buffer layer enables GaN epitaxial films on silicon substrates with dislocation density reduced by one order of magnitude. Intended for GaN power devices in fast chargers.")),
    topic("crispr-rice", "proc", ["C12N 15/82", "C12N 9/22"], ["C12N 1/20"],
          ["agriculture"], ["agriculture", "environmental-protection"], 300,
          ("基于CRISPR基因编辑的水稻抗病育种",
           "利用CRISPR/Cas9系统定点编辑水稻感病基因，获得无转基因成分的抗稻瘟病新种质，产量性状不受影响。可为种业企业提供编辑载体与育种材料。",
           "水稻抗稻瘟病基因编辑育种技术需求",
           "我公司希望利用CRISPR基因编辑技术培育抗稻瘟病水稻新品种，要求编辑后植株不含外源转基因成分，且产量性状稳定。",
           "一株促进水稻生长的固氮芽孢杆菌及其微生物肥料",
           "筛选获得一株高效固氮并分泌植物生长素的芽孢杆菌，制成微生物肥料后可使水稻增产8%以上。菌株已保藏并完成田间试验。"),
          ("CRISPR gene editing for disease-resistant rice breeding",
           "A CRISPR/Cas9 system edits rice susceptibility genes to create transgene-free germplasm resistant to rice blast without yield penalty. Editing vectors and breeding lines are available to seed companies.",
           "Transgene-free CRISPR editing for rice blast resistance",
           "Our seed company wants to breed rice varieties resistant to rice blast using CRISPR gene editing. Edited plants must be transgene-free and keep stable yield traits.",
           "Nitrogen-fixing Bacillus strain and microbial fertilizer for rice",
           "A Bacillus strain that fixes nitrogen and secretes auxin was isolated and formulated into a microbial fertilizer raising rice yield by over 8%. The strain is deposited and field trials are complete.")),
    topic("defect-inspection", "algo", ["G06T 7/0004", "G06V 10/82"], ["G06T 3/4053"],
          ["artificial-intelligence", "intelligent-manufacturing"],
          ["artificial-intelligence", "electronic-information"], 120,
          ("基于深度学习的工业表面缺陷视觉检测",
           "采用小样本迁移学习与注意力机制卷积神经网络，实现金属零件与锂电极片表面划痕、凹坑、污渍等缺陷的实时视觉检测，检出率超过99%。支持产线相机与边缘工控机部署。",
           "产线零件表面缺陷深度学习视觉检测系统需求",
           "我公司冲压件产线依靠人工目检，漏检率高，需要基于深度学习的表面缺陷视觉检测方案，在缺陷样本较少的情况下实现划痕和凹坑的实时检测，检出率不低于98%。",
           "低照度工业图像超分辨率重建算法",
           "提出一种轻量级超分辨率重建网络，可将低照度条件下采集的工业相机图像放大四倍并保持细节清晰。适用于远距离安防与巡检成像。"),
          ("deep learning visual inspection of industrial surface defects",
           "Few-shot transfer learning and an attention-based convolutional neural network detect scratches, dents and stains on metal parts and electrode sheets in real time with detection rate above 99%. The model deploys on line-scan cameras and edge industrial PCs.",
           "Deep learning surface defect inspection for stamped parts",
           "Manual inspection on our stamping line misses too many defects. We need deep learning visual inspection that detects scratches and dents in real time from few defect samples with detection rate of at least 98%.",
           "Super-resolution reconstruction of low-light industrial camera images",
           "A lightweight super-resolution network upscales low-light images from industrial cameras by a factor of four while preserving fine detail. Suitable for long-range security and patrol imaging.")),
    topic("pem-membrane", "proc", ["H01M 8/1018", "H01M 8/1039"], ["H01M 50/403"],
          ["new-energy", "new-materials", "new-energy-vehicles"],
          ["energy-storage", "new-materials"], 600,
          ("燃料电池用高耐久增强型质子交换膜制备",
           "以膨体聚四氟乙烯为增强骨架浸渍短侧链全氟磺酸树脂，制备厚度12微米的增强型质子交换膜，质子电导率高且化学耐久性超过2万次循环。适用于氢燃料电池电堆。",
           "氢燃料电池电堆用增强型质子交换膜国产化需求",
           "我公司燃料电池电堆目前依赖进口质子交换膜，需要国产增强型全氟磺酸质子交换膜，要求厚度不超过15微米，质子电导率高且耐久性满足车用工况。",
           "锂电池隔膜陶瓷涂覆浆料及涂覆工艺",
           "开发一种水性勃姆石陶瓷涂覆浆料，涂覆后锂电池隔膜热收缩率显著降低。已在湿法隔膜产线完成试产。"),
          ("fabricating durable reinforced proton exchange membranes for fuel cells",
           "Short-side-chain perfluorosulfonic acid ionomer is impregnated into an expanded PTFE scaffold to form 12-micron reinforced proton exchange membranes with high proton conductivity and chemical durability beyond 20,000 cycles. Intended for hydrogen fuel cell stacks.",
           "Domestic reinforced proton exchange membrane for fuel cell stacks",
           "Our hydrogen fuel cell stacks rely on imported membranes. We need a reinforced perfluorosulfonic acid proton exchange membrane no thicker than 15 microns with high proton conductivity and automotive durability.",
           "Ceramic coating slurry and process for lithium battery separators",
           "A water-based boehmite ceramic slurry coated onto lithium battery separators sharply reduces thermal shrinkage. Trial production on a wet-process separator line has been completed.")),
    topic("biodegradable-packaging", "proc", ["C08L 67/04", "B65D 65/46"], ["C08L 3/02"],
          ["new-materials", "environmental-protection"],
          ["environmental-protection", "chemicals"], 200,
          ("全生物降解聚乳酸复合包装薄膜制备",
           "将聚乳酸与PBAT经反应增容共混并吹塑成膜，薄膜断裂伸长率提高3倍，可在工业堆肥条件下180天内完全降解。适用于快递袋与生鲜包装。",
           "快递包装用全生物降解薄膜技术需求",
           "我公司需要替代传统聚乙烯快递袋的全生物降解包装薄膜，要求以聚乳酸或PBAT为基材，力学性能满足吹塑成膜，并可在堆肥条件下完全降解。",
           "高淀粉含量热塑性淀粉发泡缓冲材料",
           "以玉米淀粉为主要原料经增塑改性和挤出发泡制备缓冲材料，可替代聚苯乙烯泡沫用于家电运输包装。"),
          ("producing fully biodegradable PLA composite packaging films",
           "Polylactic acid is reactively compatibilised with PBAT and blown into film, tripling elongation at break while degrading completely within 180 days under industrial composting. Suitable for courier bags and fresh food packaging.",
           "Fully biodegradable film to replace polyethylene courier bags",
           "We need a fully biodegradable packaging film based on polylactic acid or PBAT to replace polyethylene courier bags. It must be processable by film blowing and degrade completely under composting.",
           "Thermoplastic starch foam cushioning for appliance packaging",
           "Corn starch is plasticised and extrusion-foamed into a cushioning material that replaces polystyrene foam in appliance shipping packaging.")),
    topic("tbm-cutter", "algo", ["E21D 9/10", "E21D 9/003"], ["E21D 11/08"],
          ["construction", "intelligent-manufacturing"], ["construction"], 150,
          ("硬岩隧道掘进机刀盘滚刀磨损智能监测",
           "在隧道掘进机刀盘滚刀上布置无线振动与温度传感器，结合掘进参数建立滚刀磨损预测模型，实现不停机在线监测与换刀提醒。已在硬岩隧道工程中应用。",
           "硬岩隧道掘进机滚刀磨损在线监测需求",
           "我单位承建的硬岩隧道掘进机换刀频繁，需要对刀盘滚刀磨损进行在线监测与预测，减少开仓检查次数并提高掘进效率。",
           "盾构隧道预制管片接缝防水结构及拼装方法",
           "设计一种双道弹性密封垫与遇水膨胀止水条组合的管片接缝结构，提高盾构隧道预制管片衬砌的防水性能。"),
          ("intelligent cutter wear monitoring for hard-rock tunnel boring machines",
           "Wireless vibration and temperature sensors on the disc cutters of a tunnel boring machine cutterhead, combined with boring parameters, feed a wear prediction model for online monitoring and cutter-change alerts without stopping. Proven on hard-rock tunnel projects.",
           "Online disc cutter wear monitoring for hard-rock TBM tunnelling",
           "Our hard-rock tunnel boring machines change disc cutters too often. We need online monitoring and prediction of cutterhead disc cutter wear to cut manual inspections and raise boring efficiency.",
           "Waterproof joint structure for precast shield tunnel lining segments",
           "A joint combining double elastic gaskets with water-swelling sealing strips improves waterproofing of precast segment linings in shield tunnels.")),
    topic("marine-antifouling", "proc", ["C09D 5/16", "C09D 183/04"], ["C09D 163/00"],
          ["marine-engineering", "new-materials", "chemicals"],
          ["marine-engineering", "chemicals"], 250,
          ("环境友好型海洋防污涂料制备",
           "以有机硅低表面能树脂为基体并复配仿生微结构，制备无铜无锡的环境友好型海洋防污涂料，实海挂板12个月无明显藤壶附着。适用于船舶与海上平台。",
           "船舶用无铜环保防污涂料技术需求",
           "我公司需要替代含铜防污漆的环境友好型海洋防污涂料，要求不含铜和有机锡，实海挂板试验12个月内藤壶等污损生物附着少。",
           "海上风电钢结构重防腐环氧涂层体系",
           "开发一种石墨烯改性环氧富锌底漆与厚浆面漆配套体系，盐雾试验超过4000小时，用于海上风电塔筒与导管架防腐。"),
          ("preparing environmentally friendly marine antifouling coatings",
           "A silicone low-surface-energy resin with biomimetic microstructures forms a copper-free and tin-free marine antifouling coating that showed no significant barnacle settlement after 12 months of sea panel immersion. Suitable for ships and offshore platforms.",
           "Copper-free environmentally friendly antifouling coating for ship hulls",
           "We need an environmentally friendly marine antifouling coating to replace copper-based paint on ship hulls. It must contain no copper or organotin and limit barnacle settlement during 12 months of sea panel testing.",
           "Heavy-duty epoxy anticorrosion coating system for offshore wind steel",
           "A graphene-modified zinc-rich epoxy primer with a high-build topcoat exceeds 4000 hours of salt spray and protects offshore wind towers and jackets from corrosion.")),
    topic("car-t", "proc", ["C12N 5/0636", "A61K 35/17"], ["C12N 7/02"],
          ["biomedicine"], ["biomedicine", "chemicals"], 1000,
          ("CAR-T细胞自动化封闭式生产",
           "建立基于封闭式自动化细胞处理平台的CAR-T细胞生产工艺，从T细胞分选、慢病毒转导到扩增全流程封闭运行，生产周期缩短至7天。产品批间一致性满足临床申报要求。",
           "CAR-T细胞封闭式自动化生产工艺合作需求",
           "我公司CAR-T细胞治疗产品进入临床阶段，需要封闭式自动化生产工艺替代手工开放操作，缩短生产周期并提高批间一致性。",
           "慢病毒载体高效纯化工艺",
           "采用切向流过滤与离子交换层析相结合的方法纯化慢病毒载体，回收率提高至60%以上并有效去除宿主细胞残留DNA。"),
          ("automated closed-system CAR-T cell manufacturing",
           "A closed automated cell processing platform runs the full CAR-T cell manufacturing workflow from T cell selection and lentiviral transduction to expansion, cutting production time to 7 days. Batch-to-batch consistency meets clinical filing requirements.",
           "Closed automated manufacturing process for CAR-T cell therapy",
           "Our CAR-T cell therapy product is entering clinical trials. We need a closed automated manufacturing process to replace open manual steps, shorten production time and improve batch-to-batch consistency.",
           "High-yield purification process for lentiviral vectors",
           "Tangential flow filtration combined with ion-exchange chromatography purifies lentiviral vectors with recovery above 60% and efficient removal of residual host cell DNA.")),
    topic("lidar-slam", "algo", ["G01S 17/89", "G01C 21/32"], ["G01S 13/931"],
          ["robotics", "artificial-intelligence"],
          ["new-energy-vehicles", "electronic-information"], 150,
          ("多线激光雷达与惯导融合的SLAM定位建图",
           "融合多线激光雷达点云与惯性测量单元数据，采用因子图优化实现室内外大场景的实时SLAM定位与建图，定位误差小于5厘米。适用于巡检机器人与无人配送车。",
           "巡检机器人激光雷达SLAM定位导航技术需求",
           "我公司变电站巡检机器人在大场景下定位漂移严重，需要基于激光雷达的SLAM定位建图方案，可融合惯导数据，定位误差不超过10厘米。",
           "车载毫米波雷达目标检测与跟踪方法",
           "针对77GHz车载毫米波雷达，提出多目标检测与跟踪算法，提高雨雾天气下的行人识别率。适用于高级辅助驾驶系统。"),
          ("lidar-inertial SLAM localisation and mapping",
           "Multi-beam lidar point clouds are fused with inertial measurement unit data through factor graph optimisation for real-time SLAM localisation and mapping of large indoor and outdoor scenes with error below 5 cm. Suitable for inspection robots and delivery vehicles.",
           "Lidar SLAM localisation for substation inspection robots",
           "Our substation inspection robots suffer localisation drift in large scenes. We need lidar-based SLAM localisation and mapping that fuses inertial data and keeps error below 10 cm.",
           "Target detection and tracking for automotive millimetre-wave radar",
           "A multi-target detection and tracking algorithm for 77 GHz automotive millimetre-wave radar improves pedestrian recognition in rain and fog for advanced driver assistance systems.")),
    topic("edge-ai-chip", "algo", ["G06N 3/063", "G06F 15/78"], ["G06N 5/022"],
          ["integrated-circuits", "artificial-intelligence"],
          ["artificial-intelligence", "intelligent-manufacturing"], 900,
          ("低功耗边缘人工智能推理芯片架构",
           "采用存算一体阵列与可重构数据流架构设计边缘人工智能推理芯片，在28纳米工艺下能效比达到10TOPS/W。可用于智能摄像头与工业终端的本地推理。",
           "智能摄像头用低功耗边缘AI推理芯片需求",
           "我公司智能摄像头需要低功耗边缘人工智能推理芯片，要求能效比不低于5TOPS/W，支持主流卷积神经网络模型的本地推理。",
           "面向制造业的工业知识图谱构建方法",
           "从设备手册与维修记录中自动抽取实体关系，构建制造业工业知识图谱，支撑故障诊断问答。"),
          ("designing low-power edge AI inference chips",
           "A compute-in-memory array with a reconfigurable dataflow architecture delivers an edge AI inference chip with 10 TOPS/W energy efficiency in a 28 nm process. Suited to local inference in smart cameras and industrial terminals.",
           "Low-power edge AI inference chip for smart cameras",
           "Our smart cameras need a low-power edge AI inference chip with energy efficiency of at least 5 TOPS/W that supports local inference of mainstream convolutional neural network models.",
           "Industrial knowledge graph construction for manufacturing maintenance",
           "Entities and relations are extracted automatically from equipment manuals and repair records to build an industrial knowledge graph that supports fault diagnosis question answering.")),
    topic("ro-desalination", "proc", ["B01D 69/12", "C02F 1/44"], ["B01D 39/1623"],
          ["environmental-protection", "new-materials"],
          ["environmental-protection", "textiles"], 400,
          ("高通量抗污染反渗透海水淡化膜制备",
           "通过界面聚合引入亲水纳米材料中间层，制备高通量抗污染聚酰胺反渗透复合膜，海水淡化脱盐率达到99.8%，水通量提升30%。已完成卷式膜元件试制。",
           "海水淡化用高通量反渗透膜国产化需求",
           "我公司海水淡化项目需要国产高通量反渗透膜，要求脱盐率不低于99.7%，并具有较好的抗污染性能，可制成卷式膜元件。",
           "高效低阻熔喷空气过滤材料",
           "采用驻极处理的聚丙烯熔喷非织造材料，过滤效率高且压降低，适用于洁净室与新风系统空气过滤。"),
          ("producing high-flux antifouling reverse osmosis membranes for seawater desalination",
           "Interfacial polymerisation on a hydrophilic nanomaterial interlayer yields high-flux antifouling polyamide reverse osmosis composite membranes with 99.8% salt rejection in seawater desalination and 30% higher water flux. Spiral-wound membrane elements have been prototyped.",
           "High-flux reverse osmosis membrane for seawater desalination plants",
           "Our seawater desalination project needs domestically made high-flux reverse osmosis membranes with salt rejection of at least 99.7% and good fouling resistance, supplied as spiral-wound membrane elements.",
           "Low-resistance electret melt-blown media for air filtration",
           "Electret-treated polypropylene melt-blown nonwoven media deliver high filtration efficiency with low pressure drop for cleanrooms and fresh-air systems.")),
    topic("rv-reducer", "proc", ["F16H 1/32", "F16H 57/08"], ["F16H 25/22"],
          ["robotics", "intelligent-manufacturing"], ["intelligent-manufacturing"], 500,
          ("工业机器人高精度RV减速器制造",
           "通过摆线轮齿廓修形与高精度磨削工艺，研制工业机器人用RV减速器，传动回差小于1弧分，额定寿命超过6000小时。可替代进口关节减速器。",
           "工业机器人关节用高精度RV减速器需求",
           "我公司六轴工业机器人关节减速器依赖进口，需要高精度RV减速器，回差不超过1.5弧分，额定寿命不低于6000小时。",
           "高刚性精密滚珠丝杠副及预紧方法",
           "优化滚道型面与双螺母预紧结构，提高精密滚珠丝杠副的轴向刚度与定位精度，适用于数控机床进给系统。"),
          ("manufacturing high-precision RV reducers for industrial robots",
           "Cycloid tooth profile modification and precision grinding produce RV reducers for industrial robots with backlash below 1 arcmin and rated life above 6000 hours, replacing imported joint reducers.",
           "High-precision RV reducer for industrial robot joints",
           "Joint reducers for our six-axis industrial robots are imported. We need a high-precision RV reducer with backlash no more than 1.5 arcmin and rated life of at least 6000 hours.",
           "High-rigidity precision ball screw with double-nut preload",
           "Optimised raceway profiles and a double-nut preload structure raise axial rigidity and positioning accuracy of precision ball screws for CNC machine tool feed drives.")),
    topic("sodium-ion-cathode", "proc", ["H01M 4/58", "H01M 4/136"], ["H01M 12/08"],
          ["energy-storage", "new-materials"], ["energy-storage"], 600,
          ("钠离子电池普鲁士白正极材料规模化制备",
           "采用共沉淀结合低水含量控制工艺，规模化制备高结晶度普鲁士白正极材料，钠离子电池比容量达到155mAh/g，循环2000次容量保持率超过85%。",
           "储能用钠离子电池正极材料量产技术需求",
           "我公司计划量产储能用钠离子电池，需要普鲁士白或聚阴离子类正极材料的规模化制备工艺，比容量不低于140mAh/g，循环寿命满足储能要求。",
           "可充电锌空气电池双功能空气电极",
           "采用钴氮共掺杂碳催化剂制备双功能空气电极，可充电锌空气电池充放电循环超过500小时。"),
          ("scalable synthesis of Prussian white cathodes for sodium-ion batteries",
           "Co-precipitation with strict water-content control yields highly crystalline Prussian white cathode material at scale, giving sodium-ion batteries a specific capacity of 155 mAh/g and over 85% capacity retention after 2000 cycles.",
           "Mass production of sodium-ion battery cathode materials for storage",
           "We plan to mass-produce sodium-ion batteries for energy storage and need a scalable synthesis route for Prussian white or polyanion cathode materials with specific capacity of at least 140 mAh/g and long cycle life.",
           "Bifunctional air electrode for rechargeable zinc-air batteries",
           "A cobalt and nitrogen co-doped carbon catalyst forms a bifunctional air electrode that lets rechargeable zinc-air batteries cycle for more than 500 hours.")),
    topic("water-electrolysis", "proc", ["C25B 1/04", "C25B 11/04"], ["C25B 3/26"],
          ["new-energy", "chemicals"], ["chemicals", "environmental-protection"], 400,
          ("碱性电解水制氢高活性镍基电极制备",
           "采用电沉积与高温硫化工艺在泡沫镍上构筑镍铁基析氧析氢电极，在大电流密度下电解槽电压降低约150mV，运行2000小时性能无明显衰减。适用于可再生能源电解水制氢。",
           "大规模碱性电解水制氢电极降耗技术需求",
           "我公司碱性电解水制氢装置能耗偏高，需要高活性长寿命的镍基电极，在大电流密度下降低电解槽电压，并适应可再生能源波动工况。",
           "二氧化碳电催化还原制一氧化碳的银基催化剂",
           "开发一种纳米多孔银催化剂，用于二氧化碳电催化还原生成一氧化碳，法拉第效率超过95%。"),
          ("preparing nickel-based electrodes for alkaline water electrolysis",
           "Electrodeposition and high-temperature sulfidation build nickel-iron electrodes for oxygen and hydrogen evolution on nickel foam, cutting alkaline electrolyser voltage by about 150 mV at high current density with no obvious decay over 2000 hours. Suitable for renewable-powered water electrolysis hydrogen production.",
           "Energy-saving electrodes for large alkaline water electrolysis hydrogen plants",
           "Our alkaline water electrolysis hydrogen plant consumes too much power. We need high-activity long-life nickel-based electrodes that lower electrolyser voltage at high current density and tolerate fluctuating renewable power.",
           "Silver catalyst for electrochemical reduction of carbon dioxide to CO",
           "A nanoporous silver catalyst electrochemically reduces carbon dioxide to carbon monoxide with Faradaic efficiency above 95%.")),
    topic("wind-blade-monitoring", "algo", ["F03D 17/00", "G01N 29/14"], ["F03D 13/25"],
          ["new-energy", "marine-engineering"], ["marine-engineering"], 150,
          ("风电机组叶片损伤在线监测",
           "在风电机组叶片根部布置声发射与振动传感器，结合深度学习识别叶片裂纹、雷击和前缘腐蚀等损伤，实现在线监测与早期预警。已在海上风电场试运行。",
           "海上风电机组叶片损伤在线监测系统需求",
           "我公司海上风电场叶片巡检依赖停机与绳索作业，需要风电机组叶片损伤在线监测系统，能早期发现叶片裂纹和前缘腐蚀。",
           "漂浮式海上风电基础系泊结构",
           "设计一种半潜式漂浮基础与张紧式系泊组合结构，降低海上风电机组在深远海环境下的运动响应。"),
          ("online damage monitoring of wind turbine blades",
           "Acoustic emission and vibration sensors at the blade root, combined with deep learning, identify cracks, lightning strikes and leading-edge erosion for online monitoring and early warning of wind turbine blade damage. Trial operation at an offshore wind farm.",
           "Online blade damage monitoring system for offshore wind turbines",
           "Blade inspection at our offshore wind farm requires shutdowns and rope access. We need an online wind turbine blade damage monitoring system that detects blade cracks and leading-edge erosion early.",
           "Mooring structure for floating offshore wind turbine foundations",
           "A semi-submersible floating foundation with taut mooring lines reduces motion response of offshore wind turbines in deep water.")),
    topic("af-ecg-patch", "algo", ["A61B 5/361", "G16H 50/20"], ["A61B 8/4427"],
          ["medical-devices", "artificial-intelligence"], ["medical-devices"], 200,
          ("可穿戴心电贴房颤智能检测",
           "采用柔性干电极单导联心电贴连续采集心电信号，结合轻量化神经网络在设备端识别房颤，敏感度和特异度均超过97%。适用于居家与社区心律监测。",
           "社区心律监测用可穿戴房颤检测设备需求",
           "我公司需要面向社区与居家场景的可穿戴心电贴，能够连续采集单导联心电并自动检测房颤，检测敏感度不低于95%。",
           "掌上超声成像探头及其低功耗控制方法",
           "研制一种基于单晶复合材料换能器的掌上超声成像探头，可通过手机显示图像，适用于基层医疗快速诊断。"),
          ("atrial fibrillation detection with wearable ECG patches",
           "A flexible dry-electrode single-lead ECG patch records continuously while a lightweight neural network detects atrial fibrillation on the device with sensitivity and specificity above 97%. Suited to home and community heart rhythm monitoring.",
           "Wearable ECG patch with automatic atrial fibrillation detection",
           "We need a wearable ECG patch for community and home heart rhythm monitoring that records single-lead ECG continuously and detects atrial fibrillation automatically with sensitivity of at least 95%.",
           "Handheld ultrasound imaging probe with low-power control",
           "A handheld ultrasound imaging probe built on single-crystal composite transducers displays images on a smartphone for rapid diagnosis in primary care.")),
    topic("mg-implant", "proc", ["A61L 27/58", "C22C 23/04"], ["A61L 31/16"],
          ["medical-devices", "new-materials", "metallurgy"],
          ["medical-devices", "biomedicine"], 400,
          ("可降解镁合金骨科内固定器件制备",
           "通过微合金化与微弧氧化涂层调控镁合金降解速率，制备可降解骨科内固定螺钉，植入后12个月逐步降解并促进骨愈合，免除二次取出手术。",
           "可降解镁合金骨钉产业化技术需求",
           "我公司拟开发可降解骨科内固定产品，需要降解速率可控的镁合金骨钉材料与表面涂层技术，避免二次取出手术。",
           "药物洗脱冠脉支架可降解聚合物涂层",
           "采用超声喷涂工艺在冠脉支架表面制备载雷帕霉素的可降解聚合物涂层，实现药物可控释放并降低再狭窄率。"),
          ("making biodegradable magnesium alloy orthopaedic fixation screws",
           "Micro-alloying and micro-arc oxidation coatings tune the degradation rate of magnesium alloy bone screws, which degrade gradually over 12 months while promoting bone healing and avoid a second removal surgery.",
           "Biodegradable magnesium alloy bone screws for orthopaedic fixation",
           "We plan biodegradable orthopaedic fixation products and need magnesium alloy bone screw materials and surface coatings with controllable degradation rate so that no removal surgery is required.",
           "Biodegradable polymer coating for drug-eluting coronary stents",
           "Ultrasonic spraying deposits a sirolimus-loaded biodegradable polymer coating on coronary stents for controlled drug release and lower restenosis.")),
    topic("uav-spraying", "algo", ["A01M 7/0089", "B64D 1/18"], ["A01M 1/04"],
          ["agriculture", "aerospace"], ["agriculture"], 100,
          ("植保无人机变量喷施智能控制",
           "根据多光谱遥感生成的病虫害处方图，实时调节植保无人机喷头流量与飞行速度，实现变量喷施，农药用量减少约30%。适用于水稻与小麦大田作业。",
           "大田植保无人机精准变量喷施技术需求",
           "我公司植保飞防服务农药浪费明显，需要植保无人机按处方图变量喷施的智能控制技术，降低农药用量并减少漂移。",
           "太阳能智能虫情测报灯",
           "利用灯光诱集害虫并通过图像识别自动计数分类，实现农田虫情远程监测预警。"),
          ("variable-rate spraying control for crop protection drones",
           "Pest and disease prescription maps from multispectral remote sensing drive real-time adjustment of nozzle flow and flight speed on crop protection drones, enabling variable-rate spraying that cuts pesticide use by about 30%. Suitable for rice and wheat fields.",
           "Prescription-map variable-rate spraying for crop protection drones",
           "Our drone spraying service wastes too much pesticide. We need intelligent control so crop protection drones apply variable-rate spraying from prescription maps, reducing pesticide use and drift.",
           "Solar-powered smart light trap for pest monitoring",
           "Light attracts pests into the trap where image recognition counts and classifies them automatically, providing remote pest monitoring and early warning for farmland.")),
    topic("berry-ca-storage", "proc", ["A23B 7/148", "A23B 7/152"], ["A23B 4/06"],
          ["food", "agriculture"], ["food"], 80,
          ("果蔬冷链气调保鲜",
           "根据果蔬呼吸速率动态调节贮藏环境中氧气与二氧化碳浓度，配合乙烯脱除模块，使草莓、蓝莓等浆果冷链保鲜期延长一倍。可集成于冷藏集装箱与冷库。",
           "浆果冷链运输气调保鲜技术需求",
           "我公司从事蓝莓和草莓冷链运输，损耗率较高，需要气调保鲜技术动态控制氧气和二氧化碳浓度，延长浆果保鲜期。",
           "水产品超低温速冻与解冻品质保持方法",
           "采用液氮喷淋速冻结合低温高湿解冻工艺，减少冰晶对水产品肌肉组织的损伤，解冻汁液流失率降低40%。"),
          ("controlled-atmosphere cold-chain preservation of fresh berries",
           "Oxygen and carbon dioxide levels are adjusted dynamically to fruit respiration rate and combined with an ethylene removal module, doubling cold-chain shelf life of berries such as strawberries and blueberries. Integrates with refrigerated containers and cold stores.",
           "Controlled-atmosphere preservation for cold-chain berry transport",
           "Our cold-chain transport of blueberries and strawberries suffers high losses. We need controlled-atmosphere preservation that dynamically controls oxygen and carbon dioxide to extend berry shelf life.",
           "Ultra-low-temperature quick freezing and thawing of aquatic products",
           "Liquid nitrogen spray freezing with low-temperature high-humidity thawing limits ice crystal damage to fish muscle and reduces thaw drip loss by 40%.")),
    topic("hydrogen-dri", "proc", ["C21B 13/0073", "C21B 13/02"], ["C21B 5/001"],
          ["metallurgy", "environmental-protection"], ["metallurgy"], 1500,
          ("氢基竖炉直接还原炼铁",
           "以富氢气体为还原剂在竖炉中直接还原球团矿，结合还原气循环与预热技术，吨铁二氧化碳排放较高炉流程降低60%以上。已完成中试验证。",
           "钢铁企业氢冶金直接还原低碳炼铁技术需求",
           "我公司需要降低炼铁工序二氧化碳排放，寻求以氢气或富氢气体为还原剂的竖炉直接还原炼铁技术，要求具备中试以上验证。",
           "高炉富氧喷吹焦炉煤气降焦方法",
           "向高炉风口喷吹焦炉煤气并提高富氧率，降低焦比约10%，减少高炉炼铁燃料消耗。"),
          ("hydrogen-based shaft furnace direct reduction ironmaking",
           "Hydrogen-rich gas directly reduces iron ore pellets in a shaft furnace with reducing gas recycling and preheating, cutting carbon dioxide emissions per tonne of iron by over 60% compared with the blast furnace route. Pilot-scale validation is complete.",
           "Low-carbon hydrogen direct reduction ironmaking for steel plants",
           "Our steel plant must cut carbon dioxide emissions from ironmaking. We seek shaft furnace direct reduction ironmaking that uses hydrogen or hydrogen-rich gas as reductant, validated at pilot scale or beyond.",
           "Coke oven gas injection with oxygen enrichment in blast furnaces",
           "Injecting coke oven gas through blast furnace tuyeres with higher oxygen enrichment lowers the coke rate by about 10%.")),
    topic("textile-recycling", "proc", ["D01F 6/62", "C08J 11/24"], ["D01F 9/22"],
          ["textiles", "environmental-protection"], ["textiles", "new-materials"], 500,
          ("废旧纺织品化学法再生涤纶纤维制备",
           "采用醇解解聚与分子蒸馏提纯工艺，将废旧涤纶纺织品化学回收为再生聚酯切片，再纺制成性能接近原生纤维的再生涤纶纤维。可处理含棉混纺废料。",
           "废旧纺织品化学法再生涤纶技术需求",
           "我公司拟建设废旧纺织品循环利用产线，需要化学法解聚再生涤纶纤维技术，再生纤维性能接近原生涤纶，并能处理涤棉混纺废料。",
           "高强度聚丙烯腈基碳纤维原丝制备方法",
           "通过优化共聚组成与湿法纺丝牵伸工艺，制备高取向低缺陷的聚丙烯腈基碳纤维原丝。"),
          ("chemical recycling of waste textiles into regenerated polyester fibre",
           "Glycolysis depolymerisation and molecular distillation turn waste polyester textiles into regenerated PET that is spun into recycled polyester fibre with properties close to virgin fibre. Cotton-polyester blended waste can also be processed.",
           "Chemical recycling of waste textiles into polyester fibre",
           "We are building a waste textile recycling line and need chemical depolymerisation technology to regenerate polyester fibre close to virgin quality from waste textiles, including cotton-polyester blends.",
           "High-strength polyacrylonitrile precursor fibre for carbon fibre",
           "Optimised copolymer composition and wet-spinning draw ratios give highly oriented, low-defect polyacrylonitrile precursor fibre for carbon fibre production.")),
    topic("thermal-barrier-coating", "proc", ["C23C 4/11", "F01D 5/288"], ["C23C 14/0641"],
          ["aerospace", "new-materials"], ["new-materials", "intelligent-manufacturing"], 700,
          ("航空发动机涡轮叶片热障涂层制备",
           "采用等离子喷涂物理气相沉积制备稀土锆酸盐与氧化钇稳定氧化锆双陶瓷层热障涂层，使用温度提高至1300℃以上，热循环寿命提升一倍。适用于航空发动机涡轮叶片。",
           "航空发动机涡轮叶片长寿命热障涂层需求",
           "我单位需要提高航空发动机涡轮叶片热障涂层的热循环寿命和耐温能力，要求陶瓷层可在1250℃以上长期使用。",
           "硬质合金刀具纳米多层氮化物涂层",
           "采用电弧离子镀沉积氮化铝钛与氮化铬纳米多层涂层，提高硬质合金刀具切削高温合金时的耐磨性与寿命。"),
          ("depositing thermal barrier coatings on aero-engine turbine blades",
           "Plasma spray physical vapour deposition produces double-ceramic-layer thermal barrier coatings of rare-earth zirconate and yttria-stabilised zirconia, raising service temperature above 1300 °C and doubling thermal cycling life on aero-engine turbine blades.",
           "Long-life thermal barrier coatings for aero-engine turbine blades",
           "We need thermal barrier coatings for aero-engine turbine blades with longer thermal cycling life and a ceramic layer capable of long-term service above 1250 °C.",
           "Nanomultilayer nitride coatings for cemented carbide cutting tools",
           "Arc ion plating deposits AlTiN and CrN nanomultilayer coatings that improve wear resistance and life of cemented carbide tools machining superalloys.")),
    topic("cobot-grinding", "algo", ["B25J 9/1633", "B25J 13/085"], ["B25J 15/0009"],
          ["robotics", "intelligent-manufacturing"], ["robotics"], 120,
          ("协作机器人力控打磨",
           "基于六维力传感器与阻抗控制算法，使协作机器人在打磨抛光过程中保持恒定接触力，并根据工件曲面自动规划轨迹。适用于卫浴、铸件和3C外壳打磨。",
           "铸件打磨协作机器人恒力控制技术需求",
           "我公司铸件打磨工序粉尘大、招工难，需要协作机器人力控打磨方案，在曲面工件上保持恒定接触力并自动生成打磨轨迹。",
           "多指灵巧手欠驱动抓取机构",
           "设计一种腱绳驱动的欠驱动多指灵巧手，可自适应抓取不同形状物体，适用于物流分拣与服务机器人。"),
          ("force-controlled grinding with collaborative robots",
           "A six-axis force sensor and impedance control keep constant contact force while a collaborative robot grinds and polishes, with trajectories planned automatically from the workpiece surface. Applied to sanitary ware, castings and consumer electronics housings.",
           "Constant-force robotic grinding of castings with collaborative robots",
           "Grinding castings in our plant is dusty and hard to staff. We need force-controlled grinding with collaborative robots that keeps constant contact force on curved workpieces and generates grinding trajectories automatically.",
           "Underactuated tendon-driven dexterous multi-finger robotic hand",
           "A tendon-driven underactuated multi-finger hand adapts its grasp to objects of different shapes for logistics sorting and service robots.")),
    topic("voc-catalysis", "proc", ["B01D 53/86", "B01J 23/44"], ["B01D 46/02"],
          ["environmental-protection", "chemicals"], ["environmental-protection"], 150,
          ("工业有机废气VOCs低温催化氧化",
           "以贵金属钯负载改性氧化铝蜂窝载体为催化剂，在250℃以下将苯系物等VOCs催化氧化为二氧化碳和水，去除率超过98%。适用于涂装和印刷行业有机废气治理。",
           "涂装车间VOCs有机废气低温催化治理需求",
           "我公司涂装车间排放含苯系物的有机废气，需要VOCs低温催化氧化治理技术，去除率不低于95%并降低运行能耗。",
           "高温烟气覆膜滤袋除尘技术",
           "采用聚四氟乙烯覆膜滤料制作袋式除尘器滤袋，在高温烟气中实现超低排放，粉尘排放浓度低于5mg/m³。"),
          ("low-temperature catalytic oxidation of industrial VOCs",
           "A palladium catalyst on a modified alumina honeycomb oxidises benzene-series VOCs to carbon dioxide and water below 250 °C with removal efficiency above 98%. Designed for exhaust treatment in coating and printing plants.",
           "Low-temperature catalytic treatment of VOCs from coating workshops",
           "Our coating workshop emits exhaust gas containing benzene-series VOCs. We need low-temperature catalytic oxidation of VOCs with removal efficiency of at least 95% and lower operating energy.",
           "Membrane-laminated filter bags for high-temperature dust removal",
           "PTFE membrane-laminated filter media in baghouse filters achieve ultra-low dust emissions below 5 mg/m3 from high-temperature flue gas.")),
    topic("phased-array", "algo", ["H01Q 3/26", "H01Q 21/06"], ["H01Q 1/243"],
          ["electronic-information", "aerospace"], ["electronic-information"], 600,
          ("毫米波相控阵天线波束扫描",
           "采用瓦片式封装与数字移相芯片设计毫米波相控阵天线，实现正负60度波束扫描且副瓣低于负20分贝。适用于低轨卫星通信终端与5G毫米波基站。",
           "低轨卫星通信终端毫米波相控阵天线需求",
           "我公司研发低轨卫星通信终端，需要低成本毫米波相控阵天线，波束扫描范围不小于正负50度，支持快速波束切换。",
           "手机终端多频段小型化天线设计",
           "利用金属边框开缝与可调匹配网络实现手机天线多频段覆盖，提升终端在全面屏结构下的天线效率。"),
          ("beam steering in millimetre-wave phased array antennas",
           "Tile-type packaging and digital phase-shifter chips form a millimetre-wave phased array antenna that steers beams over plus or minus 60 degrees with sidelobes below -20 dB. Suited to low-earth-orbit satellite communication terminals and 5G millimetre-wave base stations.",
           "Low-cost millimetre-wave phased array antenna for LEO satellite terminals",
           "We are developing low-earth-orbit satellite communication terminals and need a low-cost millimetre-wave phased array antenna with beam steering of at least plus or minus 50 degrees and fast beam switching.",
           "Compact multiband antenna design for smartphones",
           "Slotted metal frames and tunable matching networks provide multiband coverage and higher antenna efficiency in full-screen smartphones.")),
    topic("fdca", "proc", ["C07D 307/68", "C07D 307/46"], ["C07D 301/12"],
          ["chemicals", "new-materials"], ["chemicals"], 800,
          ("生物质基2,5-呋喃二甲酸催化合成",
           "以果糖脱水制得的5-羟甲基糠醛为原料，采用非贵金属催化剂空气氧化合成2,5-呋喃二甲酸，收率超过95%，产品纯度满足聚酯聚合要求。",
           "生物基聚酯单体2,5-呋喃二甲酸合成技术需求",
           "我公司计划生产生物基聚酯，需要以5-羟甲基糠醛为原料合成2,5-呋喃二甲酸的催化氧化技术，要求收率高、催化剂成本低。",
           "过氧化氢直接氧化丙烯制环氧丙烷工艺",
           "采用钛硅分子筛催化剂与固定床反应器，以过氧化氢直接氧化丙烯生产环氧丙烷，副产物仅为水。"),
          ("catalytic synthesis of bio-based 2,5-furandicarboxylic acid",
           "5-Hydroxymethylfurfural from fructose dehydration is oxidised in air over a non-noble metal catalyst to 2,5-furandicarboxylic acid with yield above 95% and purity suitable for polyester polymerisation.",
           "Catalytic route to 2,5-furandicarboxylic acid for bio-based polyester",
           "We plan to produce bio-based polyester and need catalytic oxidation of 5-hydroxymethylfurfural to 2,5-furandicarboxylic acid with high yield and low catalyst cost.",
           "Hydrogen peroxide to propylene oxide process over titanium silicalite",
           "A titanium silicalite catalyst in a fixed-bed reactor oxidises propylene directly with hydrogen peroxide to propylene oxide, leaving water as the only by-product.")),
    topic("ev-heat-pump", "algo", ["B60H 1/32", "B60L 58/26"], ["B60H 3/06"],
          ["new-energy-vehicles"], ["new-energy-vehicles", "environmental-protection"], 300,
          ("新能源汽车热泵集成式热管理",
           "将热泵空调、电池冷却与电机余热回收集成于一体化阀岛模块，低温环境下整车冬季续航提升约15%。适用于纯电动乘用车。",
           "纯电动汽车热泵热管理系统开发需求",
           "我公司纯电动车型冬季续航衰减明显，需要热泵集成式热管理系统，回收电机余热并兼顾电池冷却与乘员舱制热。",
           "车内空气净化与负离子发生装置",
           "集成高效过滤网与负离子发生器的车载空气净化装置，可快速降低车内细颗粒物浓度。"),
          ("integrated heat pump thermal management for electric vehicles",
           "Heat pump air conditioning, battery cooling and motor waste heat recovery are integrated into one valve manifold module, extending winter driving range of electric vehicles by about 15% in cold climates. Designed for battery electric passenger cars.",
           "Heat pump thermal management system for battery electric cars",
           "Our battery electric cars lose significant driving range in winter. We need an integrated heat pump thermal management system that recovers motor waste heat while handling battery cooling and cabin heating.",
           "In-vehicle air purification and negative ion generator",
           "A vehicle air purifier combining high-efficiency filters with a negative ion generator quickly lowers fine particulate concentration in the cabin.")),
    topic("3dp-concrete", "proc", ["B28B 1/001", "C04B 28/04"], ["B28B 11/245"],
          ["construction", "new-materials"], ["construction", "intelligent-manufacturing"], 150,
          ("建筑3D打印低碳混凝土",
           "以固废基胶凝材料替代部分水泥配制可打印混凝土，通过调控触变性与凝结时间实现建筑构件3D打印，水泥用量降低40%。已打印农房与景观构件。",
           "装配式构件建筑3D打印混凝土技术需求",
           "我公司希望采用建筑3D打印生产景观与装配式构件，需要低碳可打印混凝土配方与打印工艺，要求降低水泥用量并保证层间粘结强度。",
           "预制混凝土构件蒸汽养护智能控制",
           "根据构件内部温度实时调节养护窑蒸汽供给，缩短预制混凝土构件养护周期并降低能耗。"),
          ("printing building components with low-carbon 3D printable concrete",
           "Solid-waste-based binders replace part of the cement in printable concrete whose thixotropy and setting time are tuned for 3D printing of building components, cutting cement content by 40%. Rural houses and landscape elements have been printed.",
           "Printable low-carbon concrete for 3D printed building components",
           "We want to produce landscape and prefabricated building components by 3D printing and need a low-carbon printable concrete mix and printing process that reduces cement content while ensuring interlayer bond strength.",
           "Intelligent steam curing control for precast concrete elements",
           "Steam supply to curing kilns is adjusted in real time from internal element temperature, shortening the curing cycle of precast concrete elements and saving energy.")),
]


# --- A port of services/listings/domain/text.cc Tokenize, plus a stricter raw variant ----------

STOP_WORDS = {
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "into",
    "is", "it", "its", "of", "on", "or", "our", "that", "the", "their", "this", "to", "was", "we",
    "were", "which", "with", "can", "using", "based", "used", "need", "needs", "seek", "seeking",
    "looking", "new", "high"}


def _fold_plural(w):
    def ends(s):
        return len(w) > len(s) + 2 and w.endswith(s)
    if ends("ies"):
        return w[:-3] + "y"
    if ends("sses") or ends("xes") or ends("ches") or ends("shes"):
        return w[:-2]
    if ends("s") and not ends("ss") and not ends("us") and not ends("is"):
        return w[:-1]
    return w


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF
            or 0x20000 <= cp <= 0x2A6DF)


def _fold_width(cp):
    if 0xFF10 <= cp <= 0xFF19:
        return cp - 0xFF10 + ord("0")
    if 0xFF21 <= cp <= 0xFF3A or 0xFF41 <= cp <= 0xFF5A:
        return cp - (0xFF21 if cp <= 0xFF3A else 0xFF41) + ord("a")
    return cp


def tokenize(text, raw=False):
    """The service's tokeniser; raw=True keeps stop words, single letters, plural endings and
    adds CJK unigrams (a stricter check that the distractors carry the same words)."""
    tokens, word, run = [], [], []

    def flush_word():
        if word:
            w = "".join(word)
            if raw:
                tokens.append(w)
            elif w not in STOP_WORDS and (len(w) > 1 or w[0].isdigit()):
                tokens.append(_fold_plural(w))
            word.clear()

    def flush_run():
        if raw:
            tokens.extend(run)
        elif len(run) == 1:
            tokens.append(run[0])
        tokens.extend(run[k] + run[k + 1] for k in range(len(run) - 1))
        run.clear()

    for ch in text:
        cp = _fold_width(ord(ch))
        if ord("a") <= cp <= ord("z") or ord("A") <= cp <= ord("Z") or ord("0") <= cp <= ord("9"):
            flush_run()
            word.append(chr(cp).lower())
        elif _is_cjk(cp):
            flush_word()
            run.append(chr(cp))
        else:
            flush_word()
            flush_run()
    flush_word()
    flush_run()
    return tokens


# --- A port of the matchmaking factors in services/listings/domain/read_model.cc ----------------

K1, B = 1.2, 0.75


class TextIndex:
    """BM25 over the offers' title + "\\n" + abstract, as ReadModel::TextScores."""

    def __init__(self, offers, raw=False):
        self.raw = raw
        self.tf = [Counter(tokenize(o["title"] + "\n" + o["abstract"], raw)) for o in offers]
        self.length = [sum(c.values()) for c in self.tf]
        self.n = len(offers)
        self.avg = max(1.0, sum(self.length) / self.n)
        self.df = Counter(t for c in self.tf for t in c)

    def scores(self, query_text):
        query = Counter(tokenize(query_text, self.raw))
        out = [0.0] * self.n
        for token, qtf in query.items():
            df = self.df.get(token)
            if not df:
                continue
            idf = math.log(1 + (self.n - df + 0.5) / (df + 0.5))
            for i, c in enumerate(self.tf):
                tf = min(c.get(token, 0), 63)
                if tf:
                    norm = K1 * (1 - B + B * self.length[i] / self.avg)
                    out[i] += idf * tf * (K1 + 1) / (tf + norm) * qtf
        return out


def ipc_closeness(a, b):
    if a[0] != b[0]:
        return 0.0
    if a[1:3] != b[1:3]:
        return 0.25
    if a[3] != b[3]:
        return 0.5
    if a.split(" ")[1].split("/")[0] == b.split(" ")[1].split("/")[0]:
        return 1.0
    return 0.75


def factors(demand, offer, text_score, max_text):
    f = {}
    f["ipc"] = max([ipc_closeness(a, b) for a in demand["ipc"] for b in offer["ipc"]] or [0.0])
    f["fields"] = len(set(demand["fields"]) & set(offer["fields"])) / len(demand["fields"])
    f["text"] = text_score / max_text if max_text > 0 else 0.0
    gap = demand["min_trl"] - offer["trl"]
    f["readiness"] = 1.0 if gap <= 0 else max(0.0, 1.0 - 0.3 * gap)
    budget_max = demand["budget"]["max_minor"]
    if offer["price"] is None:
        f["price"] = 0.5 if offer["negotiable"] else 0.3
    elif offer["price"]["amount_minor"] <= budget_max:
        f["price"] = 1.0
    else:
        f["price"] = max(0.0, 1.0 - (offer["price"]["amount_minor"] - budget_max) / budget_max)
    f["transfer_mode"] = 1.0 if set(demand["transfer_modes"]) & set(offer["transfer_modes"]) else 0.0
    f["city"] = 1.0 if demand["city"] == offer["city"] else 0.0
    return f


# --- Generation ------------------------------------------------------------------------------------

def wan(amount_10k_cny):
    """10k CNY (wan yuan) to minor units (fen)."""
    return int(round(amount_10k_cny * 10000 * 100))


class Generator:
    def __init__(self):
        self.rng = random.Random(SEED)
        self.assets = set()
        self.strict = {}  # (topic, lang) -> the raw tokeniser also sees equal keywords

    def ip_assets(self):
        out = []
        for _ in range(self.rng.choice([1, 1, 2, 2, 3])):
            while True:
                kind = self.rng.choice(["A", "A", "B", "B", "U", "PCT"])
                if kind == "A":
                    a = "CN%dA" % self.rng.randint(110000000, 118999999)
                elif kind == "B":
                    a = "CN%dB" % self.rng.randint(106000000, 115999999)
                elif kind == "U":
                    a = "CN%dU" % self.rng.randint(214000000, 221999999)
                else:
                    a = "WO%d%06dA1" % (self.rng.randint(2019, 2024), self.rng.randint(1, 999999))
                if a not in self.assets:
                    self.assets.add(a)
                    out.append(a)
                    break
        return out

    def modes_with(self, demand_modes):
        """1-3 modes including at least one of demand_modes, in vocabulary order."""
        chosen = {self.rng.choice(demand_modes)}
        for _ in range(self.rng.randint(0, 2)):
            chosen.add(self.rng.choice(MODES))
        return [m for m in MODES if m in chosen]

    def modes_without(self, demand_modes):
        rest = [m for m in MODES if m not in demand_modes]
        chosen = self.rng.sample(rest, min(len(rest), self.rng.randint(1, 2)))
        return [m for m in MODES if m in chosen]

    def price_in(self, lo_wan, hi_wan):
        # multiples of 1,000 CNY inside [lo, hi]
        return wan(self.rng.randint(lo_wan * 10, hi_wan * 10) / 10.0)

    def variants(self, t, lang, demand_text):
        """Five (title, abstract) pairs carrying exactly the same demand tokens (same counts under
        the service tokeniser and the raw one), the first no longer than any other."""
        text = t[lang]
        templates = (ZH_TEMPLATES if lang == "zh" else EN_TEMPLATES)[t["kind"]]
        attributions = ZH_ATTRIBUTIONS if lang == "zh" else EN_ATTRIBUTIONS
        orgs = ZH_ORGS if lang == "zh" else EN_ORGS
        d_real = set(tokenize(demand_text))
        d_raw = set(tokenize(demand_text, raw=True))
        combos = [(ti, ai, oi) for ti in range(len(templates)) for ai in range(len(attributions))
                  for oi in range(len(orgs))]
        self.rng.shuffle(combos)
        members = []
        for ti, ai, oi in combos:
            title = templates[ti].format(c=text["core"])
            attribution = attributions[ai].format(org=orgs[oi])
            if lang == "en":
                attribution = attribution[0].upper() + attribution[1:]
            abstract = text["abstract"] + ("" if lang == "zh" else " ") + attribution
            full = title + "\n" + abstract
            real, raw = tokenize(full), tokenize(full, raw=True)
            sig_real = tuple(sorted((k, v) for k, v in Counter(real).items() if k in d_real))
            sig_raw = tuple(sorted((k, v) for k, v in Counter(raw).items() if k in d_raw))
            lengths = (len(real), len(raw), len(full))
            members.append({"t": ti, "a": ai, "o": oi, "title": title, "abstract": abstract,
                            "real": sig_real, "raw": (sig_real, sig_raw), "len": lengths})
        # Preferred: the same demand tokens under the service tokeniser and the raw one, and
        # five different attribution sentences; then relax the latter, then the former.
        for strict, distinct_attr in ((True, True), (True, False), (False, True), (False, False)):
            groups = OrderedDict()
            for m in members:
                groups.setdefault(m["raw"] if strict else m["real"], []).append(m)
            for group in sorted(groups.values(), key=len, reverse=True):
                for best in sorted(group, key=lambda m: m["len"]):
                    picked = [best]
                    for m in group:
                        if (all(m["t"] != p["t"] for p in picked)
                                and (not distinct_attr or all(m["a"] != p["a"] for p in picked))
                                and all(x >= y for x, y in zip(m["len"], best["len"]))):
                            picked.append(m)
                        if len(picked) == 5:
                            self.strict[(t["slug"], lang)] = strict
                            return [(m["title"], m["abstract"]) for m in picked]
        raise SystemExit("no five equally relevant variants for %s/%s" % (t["slug"], lang))

    def cluster(self, t, lang):
        rng = self.rng
        text = t[lang]
        city = rng.choice(CITIES)
        min_trl = rng.randint(4, 7)
        sampled = rng.sample(MODES, rng.randint(1, 3))
        demand_modes = [m for m in MODES if m in sampled]
        hi = max(10, int(round(t["scale"] * rng.uniform(0.9, 1.4) / 10.0)) * 10)
        lo = max(5, int(round(hi * rng.uniform(0.3, 0.6) / 5.0)) * 5)
        demand_ipc = [t["ipc"][0]] + ([t["ipc"][1]] if rng.random() < 0.4 else [])
        demand = OrderedDict([
            ("kind", "demand"), ("key", None), ("lang", lang), ("title", text["d_title"]),
            ("problem", text["d_problem"]), ("ipc", demand_ipc), ("fields", list(t["fields"])),
            ("min_trl", min_trl),
            ("budget", OrderedDict([("currency", "CNY"), ("min_minor", wan(lo)),
                                    ("max_minor", wan(hi))])),
            ("transfer_modes", demand_modes), ("city", city), ("expected_best", None),
            ("winning_factors", None)])
        texts = self.variants(t, lang, text["d_title"] + "\n" + text["d_problem"])
        demand["_strict"] = self.strict[(t["slug"], lang)]

        def offer(role, title, abstract, ipc, fields, trl, modes, price, negotiable, city_):
            return OrderedDict([
                ("kind", "offer"), ("key", None), ("lang", lang), ("title", title),
                ("abstract", abstract), ("ipc", list(ipc)), ("fields", list(fields)),
                ("trl", trl), ("ip_assets", self.ip_assets()), ("transfer_modes", modes),
                ("price", None if price is None else
                 OrderedDict([("currency", "CNY"), ("amount_minor", price)])),
                ("negotiable", negotiable), ("city", city_), ("_role", role),
                ("_topic", t["slug"])])

        ok_trl = lambda: rng.randint(min_trl, 9)
        offers = [
            offer("best", *texts[0], t["ipc"], t["fields"], ok_trl(), self.modes_with(demand_modes),
                  self.price_in(lo, hi), False, city),
            offer("trl", *texts[1], t["ipc"], t["fields"],
                  rng.randint(max(1, min_trl - 5), min_trl - 3), self.modes_with(demand_modes),
                  self.price_in(lo, hi), False, city),
            offer("price", *texts[2], t["ipc"], t["fields"], ok_trl(),
                  self.modes_with(demand_modes),
                  wan(int(round(hi * rng.uniform(2.2, 4.0) / 10.0)) * 10), False, city),
            offer("mode", *texts[3], t["ipc"], t["fields"], ok_trl(),
                  self.modes_without(demand_modes), self.price_in(lo, hi), False, city),
            offer("negotiable", *texts[4], t["ipc"], t["fields"], ok_trl(),
                  self.modes_with(demand_modes), None, True, city),
        ]
        nb_negotiable = rng.random() < 0.3
        offers.append(offer(
            "neighbour", text["nb_title"], text["nb_abstract"], t["nb_ipc"], t["nb_fields"],
            ok_trl(), self.modes_with(demand_modes),
            None if nb_negotiable else self.price_in(lo, hi), nb_negotiable,
            rng.choice([c for c in CITIES if c != city])))
        return demand, offers

    def build(self):
        demands, offers = [], []
        for t in TOPICS:
            for lang in ("zh", "en"):
                demand, cluster = self.cluster(t, lang)
                demand["_cluster"] = cluster
                demand["_topic"] = t["slug"]
                demands.append(demand)
                offers.extend(cluster)
        self.rng.shuffle(offers)
        for i, o in enumerate(offers, 1):
            o["key"] = "o-%03d" % i
        self.rng.shuffle(demands)
        for i, d in enumerate(demands, 1):
            d["key"] = "d-%03d" % i
            d["expected_best"] = next(o["key"] for o in d["_cluster"] if o["_role"] == "best")
        return demands, offers


# --- Checks ----------------------------------------------------------------------------------------

def sentences(text, lang):
    if lang == "zh":
        return len([s for s in re.split(r"[。！？]", text) if s.strip()])
    return len([s for s in re.split(r"[.!?](?:\s+|$)", text) if s.strip()])


def check_and_score(demands, offers):
    """Raises SystemExit on any violation; fills in winning_factors."""
    problems = []

    def need(cond, what):
        if not cond:
            problems.append(what)

    by_key = {o["key"]: o for o in offers}
    for rec in offers + demands:
        k, lang = rec["key"], rec["lang"]
        need(lang in ("zh", "en"), k + " lang")
        for code in rec["ipc"]:
            need(IPC_RE.match(code) is not None, "%s ipc %r" % (k, code))
        need(rec["fields"] and all(f in FIELDS for f in rec["fields"]), k + " fields")
        need(rec["transfer_modes"] and all(m in MODES for m in rec["transfer_modes"]), k + " modes")
        need(rec["city"] in CITIES, k + " city")
        body = rec["abstract"] if rec["kind"] == "offer" else rec["problem"]
        title = rec["title"]
        if lang == "zh":
            need(8 <= len(title) <= 40, "%s zh title length %d" % (k, len(title)))
            need(" " not in title + body, k + " space in Chinese text")
            need(sum(_is_cjk(ord(c)) for c in title + body) > 0.6 * len(title + body),
                 k + " Chinese text mostly CJK")
        else:
            need(5 <= len(title.split()) <= 15, "%s en title words %d" % (k, len(title.split())))
            need(not any(_is_cjk(ord(c)) for c in title + body), k + " CJK in English text")
        need(1 <= sentences(body, lang) <= 3, "%s %d sentences" % (k, sentences(body, lang)))
    for o in offers:
        need(1 <= o["trl"] <= 9, o["key"] + " trl")
        need(o["price"] is not None or o["negotiable"], o["key"] + " price null but not negotiable")
        need(o["price"] is None or (isinstance(o["price"]["amount_minor"], int)
                                    and o["price"]["amount_minor"] > 0), o["key"] + " price")
    for d in demands:
        b = d["budget"]
        need(0 < b["min_minor"] < b["max_minor"], d["key"] + " budget")
        need(d["ipc"], d["key"] + " no ipc")
    public = lambda o: json.dumps({k: v for k, v in o.items() if k not in ("key",)
                                   and not k.startswith("_")}, sort_keys=True, ensure_ascii=False)
    need(len({public(o) for o in offers}) == len(offers), "duplicate offers")

    index = TextIndex(offers)
    raw_index = TextIndex(offers, raw=True)
    for d in demands:
        best = by_key[d["expected_best"]]
        cl = d["_cluster"]
        role = {o["_role"]: o for o in cl}
        main = lambda c: c.split("/")[0]
        need(best["_topic"] == d["_topic"] and best["lang"] == d["lang"], d["key"] + " topic/lang")
        need(any(main(a) == main(b) for a in d["ipc"] for b in best["ipc"]), d["key"] + " group")
        need(set(d["fields"]) <= set(best["fields"]), d["key"] + " fields")
        need(best["trl"] >= d["min_trl"], d["key"] + " trl")
        p = best["price"]["amount_minor"]
        need(d["budget"]["min_minor"] <= p <= d["budget"]["max_minor"], d["key"] + " price")
        need(set(best["transfer_modes"]) & set(d["transfer_modes"]), d["key"] + " mode")
        need(role["trl"]["trl"] <= d["min_trl"] - 3, d["key"] + " trl distractor")
        need(role["price"]["price"]["amount_minor"] >= 2 * d["budget"]["max_minor"],
             d["key"] + " price distractor")
        need(not set(role["mode"]["transfer_modes"]) & set(d["transfer_modes"]),
             d["key"] + " mode distractor")
        nb = role["neighbour"]
        need(all(main(a) != main(b) for a in d["ipc"] for b in nb["ipc"])
             and any(a[:4] == b[:4] for a in d["ipc"] for b in nb["ipc"]),
             d["key"] + " neighbour shares only the subclass")

        query = d["title"] + "\n" + d["problem"]
        for idx, label in ((index, "service"), (raw_index, "raw")):
            if label == "raw" and not d["_strict"]:
                continue
            scores = idx.scores(query)
            max_text = max(scores)
            fs = {o["key"]: factors(d, o, s, max_text) for o, s in zip(offers, scores)}
            fb = fs[best["key"]]
            need(all(fb[f] == 1.0 for f in FACTORS), "%s best not perfect (%s): %s"
                 % (d["key"], label, fb))
            for o in offers:
                if o is not best:
                    need(any(fs[o["key"]][f] < 1.0 - 1e-9 for f in FACTORS),
                         "%s: %s ties the best (%s)" % (d["key"], o["key"], label))
            # The hard distractors: only one failing factor besides (possibly) text.
            for r, failing in (("trl", "readiness"), ("price", "price"), ("mode", "transfer_mode"),
                               ("negotiable", "price")):
                fo = fs[role[r]["key"]]
                need(fo["text"] >= 0.95, "%s %s distractor text %.3f (%s)"
                     % (d["key"], r, fo["text"], label))
                need(all(fo[f] == 1.0 for f in FACTORS if f not in (failing, "text")),
                     "%s %s distractor fails more than %s" % (d["key"], r, failing))
            if label == "service":
                designated = [role[r] for r in ("trl", "price", "mode", "negotiable", "neighbour")]
                d["winning_factors"] = [f for f in FACTORS
                                        if any(fb[f] > fs[o["key"]][f] + 1e-9 for o in designated)]
                d["_factors"] = fs
        # Another offer mentioning the demand's keywords (the distractors) must exist.
        need(sum(1 for o in cl if o["_role"] != "neighbour") >= 4, d["key"] + " distractors")

    # The expected best ranks first under random positive weightings.
    rng = random.Random(SEED + 1)
    for _ in range(200):
        w = {f: rng.uniform(0.05, 5.0) for f in FACTORS}
        for d in demands:
            fs = d["_factors"]
            score = {k: sum(w[f] * v[f] for f in FACTORS) for k, v in fs.items()}
            top = max(score.values())
            winners = [k for k, s in score.items() if s >= top - 1e-12]
            need(winners == [d["expected_best"]], "%s ranks %s first under %s" % (d["key"], winners, w))
    if problems:
        raise SystemExit("corpus checks failed:\n  " + "\n  ".join(sorted(set(problems))[:50]))


def main():
    demands, offers = Generator().build()
    check_and_score(demands, offers)
    out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), OUT_NAME)
    lines = []
    for rec in sorted(offers, key=lambda o: o["key"]) + sorted(demands, key=lambda d: d["key"]):
        public = OrderedDict((k, v) for k, v in rec.items() if not k.startswith("_"))
        lines.append(json.dumps(public, ensure_ascii=False, separators=(",", ":")))
    with open(out_path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    zh = sum(1 for r in offers if r["lang"] == "zh")
    zd = sum(1 for r in demands if r["lang"] == "zh")
    print("wrote %s: %d offers (zh %d, en %d), %d demands (zh %d, en %d), %d topics"
          % (out_path, len(offers), zh, len(offers) - zh, len(demands), zd, len(demands) - zd,
             len(TOPICS)))


if __name__ == "__main__":
    main()
