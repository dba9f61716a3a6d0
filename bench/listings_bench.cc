// `make bench`, listings: matchmaking latency over 100k and 1M synthetic offers on one core with
// the read model's memory per offer, then the service over gRPC on the real stack — search with
// filters, and cached GetOffer as a ratio to the echo ceiling measured in the same run.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <random>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/bench_main.h"
#include "bench/load.h"
#include "bench/registry_setup.h"
#include "bench/services.h"
#include "common/auth.h"
#include "common/ids.h"
#include "common/server.h"
#include "google/protobuf/util/time_util.h"
#include "services/listings/domain/read_model.h"
#include "techtrade/listings/v1/listings.grpc.pb.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"
#include "tests/support/harness.h"

ABSL_FLAG(int, seconds, 5, "duration of each closed-loop scenario");
ABSL_FLAG(int, concurrency, 8, "client threads of each closed-loop scenario");
ABSL_FLAG(int, offers_large, 1000000, "offers in the large read model (memory and latency)");
ABSL_FLAG(int, service_offers, 1000, "offers published through the API for the service phase");

namespace techtrade::bench {
namespace {

namespace v1 = techtrade::listings::v1;
namespace reg = techtrade::registry::v1;
using google::protobuf::util::TimeUtil;
using listings::ReadModel;

// Technical vocabulary for synthetic listings, English words and Chinese two-character words.
const std::vector<std::string> kEnglish = {
    "battery",     "lithium",    "sodium",       "cathode",       "anode",          "electrolyte",
    "solar",       "perovskite", "silicon",      "carbide",       "mosfet",         "wafer",
    "lithography", "sensor",     "lidar",        "radar",         "antenna",        "robot",
    "reducer",     "gear",       "servo",        "motor",         "inverter",       "hydrogen",
    "fuel",        "membrane",   "catalyst",     "polymer",       "coating",        "composite",
    "alloy",       "steel",      "concrete",     "tunnel",        "bridge",         "drone",
    "satellite",   "vaccine",    "antibody",     "crispr",        "genome",         "rice",
    "wheat",       "fertilizer", "desalination", "filtration",    "wastewater",     "recycling",
    "textile",     "fiber",      "packaging",    "biodegradable", "chip",           "inference",
    "neural",      "network",    "learning",     "detection",     "inspection",     "defect",
    "vision",      "imaging",    "ultrasound",   "implant",       "stent",          "catheter",
    "diagnostic",  "assay",      "fermentation", "enzyme",        "pharmaceutical", "synthesis",
    "process",     "control",    "monitoring",   "prediction",    "estimation",     "optimization",
    "thermal",     "cooling",    "heat",         "pump",          "storage",        "grid",
    "wind",        "turbine",    "blade",        "marine",        "antifouling",    "offshore",
    "pipeline",    "welding",    "additive",     "printing",      "laser",          "optical",
    "photonic",    "quantum",    "edge",         "cloud",         "platform",       "algorithm",
    "model",       "framework"};
const std::vector<std::string> kChinese = {
    "电池", "锂离", "钠离", "正极", "负极", "电解", "光伏", "钙钛", "碳化", "晶圆", "光刻", "传感",
    "激光", "雷达", "天线", "机器", "减速", "伺服", "电机", "逆变", "氢能", "燃料", "质子", "催化",
    "聚合", "涂层", "复合", "合金", "钢材", "混凝", "隧道", "桥梁", "无人", "卫星", "疫苗", "抗体",
    "基因", "水稻", "小麦", "化肥", "海水", "淡化", "过滤", "污水", "回收", "纺织", "纤维", "包装",
    "降解", "芯片", "推理", "神经", "网络", "学习", "检测", "缺陷", "视觉", "成像", "超声", "植入",
    "支架", "导管", "诊断", "发酵", "酶法", "制药", "合成", "工艺", "控制", "监测", "预测", "估计",
    "优化", "热管", "冷却", "热泵", "储能", "电网", "风电", "叶片", "海洋", "防污", "管道", "焊接",
    "增材", "打印", "光学", "量子", "边缘", "算法", "模型", "平台", "系统", "方法", "装置", "技术"};
const std::vector<std::string> kCities = {"wuhan-east-lake",        "shenzhen",           "hefei",
                                          "suzhou-industrial-park", "xian-hi-tech",       "chengdu",
                                          "beijing-zhongguancun",   "shanghai-zhangjiang"};

class Synthetic {
 public:
  explicit Synthetic(uint64_t seed) : rng_(seed) {}

  v1::Offer Offer(int64_t n) {
    v1::Offer o;
    o.set_id(absl::StrFormat("00000000-0000-4000-8000-%012d", n));
    o.set_owner_org_id(absl::StrFormat("10000000-0000-4000-8000-%012d", Uniform(0, 20000)));
    o.set_city_id(kCities[Uniform(0, kCities.size() - 1)]);
    const bool chinese = Uniform(0, 1) == 0;
    o.set_title(Text(chinese, 6));
    o.set_abstract(Text(chinese, 30));
    Classify(o.mutable_ipc_codes(), o.mutable_fields());
    o.set_readiness_level(static_cast<int>(Uniform(1, 9)));
    for (int m = 0, k = Uniform(1, 3); m < k; ++m) {
      o.add_transfer_modes(static_cast<v1::TransferMode>(Uniform(1, 6)));
    }
    o.mutable_asking_price()->set_currency("CNY");
    o.mutable_asking_price()->set_amount_minor(Uniform(1'000'000, 1'000'000'000));
    o.set_status(v1::OFFER_STATUS_PUBLISHED);
    o.set_version(2);
    *o.mutable_publish_time() = TimeUtil::SecondsToTimestamp(1'800'000'000 + n);
    return o;
  }

  v1::Demand Demand(int64_t n) {
    v1::Demand d;
    d.set_id(absl::StrFormat("20000000-0000-4000-8000-%012d", n));
    d.set_seeker_org_id(absl::StrFormat("30000000-0000-4000-8000-%012d", n));
    d.set_city_id(kCities[Uniform(0, kCities.size() - 1)]);
    const bool chinese = Uniform(0, 1) == 0;
    d.set_title(Text(chinese, 6));
    d.set_problem(Text(chinese, 25));
    Classify(d.mutable_ipc_codes(), d.mutable_fields());
    d.set_min_readiness_level(static_cast<int>(Uniform(1, 9)));
    d.mutable_budget_min()->set_currency("CNY");
    d.mutable_budget_min()->set_amount_minor(0);
    d.mutable_budget_max()->set_currency("CNY");
    d.mutable_budget_max()->set_amount_minor(Uniform(10'000'000, 500'000'000));
    d.add_transfer_modes(static_cast<v1::TransferMode>(Uniform(1, 6)));
    return d;
  }

 private:
  int64_t Uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  std::string Text(bool chinese, int words) {
    std::string s;
    const auto& vocab = chinese ? kChinese : kEnglish;
    for (int i = 0; i < words; ++i) {
      if (!chinese && i > 0) s += ' ';
      // Zipf-like: low indices are common, as real vocabulary is.
      size_t k = static_cast<size_t>(std::pow(Uniform(0, 999) / 1000.0, 2) * vocab.size());
      s += vocab[std::min(k, vocab.size() - 1)];
    }
    return s;
  }
  template <class Codes, class Fields>
  void Classify(Codes* codes, Fields* fields) {
    for (int c = 0, k = Uniform(1, 3); c < k; ++c) {
      codes->Add(absl::StrFormat("%c%02d%c %d/%02d", static_cast<char>('A' + Uniform(0, 7)),
                                 Uniform(1, 20), static_cast<char>('A' + Uniform(0, 9)),
                                 Uniform(1, 20), Uniform(0, 99)));
    }
    for (int f = 0, k = Uniform(1, 3); f < k; ++f) {
      fields->Add(std::string(
          listings::FieldName(static_cast<int>(Uniform(0, listings::kFieldCount - 1)))));
    }
  }
  std::mt19937_64 rng_;
};

long RssKib() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// Match latency of `demands` against `model` on this one thread.
ScenarioResult MatchLatency(const std::string& name, const ReadModel& model,
                            const std::vector<v1::Demand>& demands, int calls) {
  std::vector<double> ms;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) {
    auto before = std::chrono::steady_clock::now();
    std::vector<v1::Match> top = model.MatchOffers(demands[i % demands.size()], 10);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - before)
            .count());
    if (top.empty()) std::cerr << "no matches?\n";
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ScenarioResult r;
  r.name = name;
  r.calls = calls;
  r.qps = calls / seconds;
  r.p50_ms = Percentile(ms, 50);
  r.p99_ms = Percentile(ms, 99);
  std::fprintf(stderr, "bench: %-26s %8.0f qps  p50 %6.2f ms  p99 %6.2f ms\n", name.c_str(), r.qps,
               r.p50_ms, r.p99_ms);
  return r;
}

int Main(BenchRun& run) {
  const absl::Duration duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  const int threads = absl::GetFlag(FLAGS_concurrency);
  std::vector<ScenarioResult>& results = run.results;
  std::vector<Figure>& figures = run.figures;

  // --- The read model alone, on this thread.
  std::vector<v1::Demand> demands;
  {
    Synthetic gen(7);
    for (int i = 0; i < 200; ++i) demands.push_back(gen.Demand(i));
  }
  {
    ReadModel model;
    Synthetic gen(42);
    for (int i = 0; i < 100'000; ++i) model.ApplyOffer(gen.Offer(i));
    results.push_back(MatchLatency("listings.match_100k", model, demands, 1000));
    results.back().note = "MatchOffersForDemand, top 10 of 100k offers, one core, in process";
  }
  double bytes_per_offer = 0;
  {
    const int n = absl::GetFlag(FLAGS_offers_large);
    const long before_kib = RssKib();
    auto model = std::make_unique<ReadModel>();
    Synthetic gen(43);
    uint64_t text_bytes = 0;
    for (int i = 0; i < n; ++i) {
      v1::Offer o = gen.Offer(i);
      text_bytes += o.title().size() + o.abstract().size();
      model->ApplyOffer(o);
    }
    const long after_kib = RssKib();
    bytes_per_offer =
        (static_cast<double>(after_kib - before_kib) * 1024 - static_cast<double>(text_bytes)) / n;
    std::fprintf(stderr,
                 "bench: read model of %d offers: RSS +%.0f MiB, text %.0f MiB, %.0f bytes per "
                 "offer beyond its text\n",
                 n, (after_kib - before_kib) / 1024.0, text_bytes / 1048576.0, bytes_per_offer);
    results.push_back(MatchLatency("listings.match_1m", *model, demands, 200));
    results.back().note = absl::StrCat("top 10 of ", n, " offers, one core (info)");
  }

  // --- The service over gRPC on the real stack.
  const testing::Stack stack = testing::Stack::FromEnvironment();
  testing::ScratchDatabase registry_db(stack, "listings_bench_reg");
  testing::ScratchDatabase listings_db(stack, "listings_bench");
  QuietDatabase(listings_db.url());
  const std::string key = NewApiKey();
  testing::ServiceProcess registry("registry", {{"TECHTRADE_PG_URL", registry_db.url()},
                                                {"TECHTRADE_KAFKA_BROKERS", stack.kafka_brokers},
                                                {"TECHTRADE_REDIS_URL", stack.redis_url},
                                                {"TECHTRADE_BOOTSTRAP_OPERATOR_KEY", key}});
  if (!registry.WaitUntilServing()) return 1;
  testing::ServiceProcess listings(
      "listings",
      {{"TECHTRADE_PG_URL", listings_db.url()},
       {"TECHTRADE_KAFKA_BROKERS", stack.kafka_brokers},
       {"TECHTRADE_REDIS_URL", stack.redis_url},
       {"TECHTRADE_REGISTRY_ADDR", registry.address()},
       {"TECHTRADE_LISTINGS_REGISTRY_CONSUMER",
        testing::ConsumerGroupAtEnd(stack.kafka_brokers, "techtrade.registry.events.v1",
                                    "listings-bench")},
       {"TECHTRADE_LISTINGS_TRANSACTIONS_CONSUMER",
        testing::ConsumerGroupAtEnd(stack.kafka_brokers, "techtrade.transactions.events.v1",
                                    "listings-bench")}});
  if (!listings.WaitUntilServing()) return 1;
  auto registry_stub = reg::RegistryService::NewStub(registry.channel());
  reg::Organization org;
  {
    absl::StatusOr<std::vector<reg::Organization>> orgs =
        RegisterVerifiedOrganizations(*registry_stub, key, "wuhan-east-lake",
                                      reg::ORGANIZATION_KIND_UNIVERSITY, 1, "Bench University");
    if (!orgs.ok()) {
      std::cerr << "bench set-up failed: " << orgs.status() << "\n";
      return 1;
    }
    org = orgs->front();
  }
  auto stubs = Stubs<v1::ListingsService>(listings.address(), threads);
  const int service_offers = absl::GetFlag(FLAGS_service_offers);
  std::vector<std::string> ids(service_offers);
  std::atomic<int> failures{0};
  {
    Synthetic gen(44);
    std::vector<v1::Offer> offers;
    for (int i = 0; i < service_offers; ++i) offers.push_back(gen.Offer(i));
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (int i = t; i < service_offers; i += threads) {
          v1::CreateOfferRequest create;
          create.set_request_id(absl::StrCat("bench-", i));
          create.set_owner_org_id(org.id());
          v1::OfferDraft* d = create.mutable_offer();
          const v1::Offer& o = offers[i];
          d->set_title(o.title());
          d->set_abstract(o.abstract());
          *d->mutable_ipc_codes() = o.ipc_codes();
          *d->mutable_fields() = o.fields();
          d->set_readiness_level(o.readiness_level());
          *d->mutable_transfer_modes() = o.transfer_modes();
          *d->mutable_asking_price() = o.asking_price();
          v1::Offer created, published;
          grpc::Status s =
              stubs[t]->CreateOffer(testing::AuthedContext(key).get(), create, &created);
          v1::ChangeListingRequest publish;
          publish.set_request_id(absl::StrCat("bench-publish-", i));
          publish.set_id(created.id());
          publish.set_expected_version(created.version());
          if (s.ok()) {
            s = stubs[t]->PublishOffer(testing::AuthedContext(key).get(), publish, &published);
          }
          if (!s.ok()) {
            ++failures;
            std::cerr << "publish failed: " << s.error_message() << "\n";
          }
          ids[i] = created.id();
        }
      });
    }
    for (auto& w : workers) w.join();
  }
  if (failures > 0) return 1;
  // Warm-up (caches, pools), not measured.
  auto get = [&](int t, int64_t i) {
    v1::GetListingRequest req;
    req.set_id(ids[(t * 7919 + i) % ids.size()]);
    v1::Offer offer;
    return stubs[t]->GetOffer(testing::AuthedContext(key).get(), req, &offer).ok();
  };
  ClosedLoop("warm-up", threads, absl::Seconds(3), get);
  AsyncUnary<v1::Offer> cached_gets(
      threads, [&] { return testing::AuthedContext(key); },
      [&](int slot, int64_t i, grpc::ClientContext* context, grpc::CompletionQueue* queue) {
        v1::GetListingRequest req;
        req.set_id(ids[(slot * 7919 + i) % ids.size()]);
        return stubs[slot]->AsyncGetOffer(context, req, queue);
      });
  // Against the ceiling, echo over the same gRPC bootstrap, taking turns.
  auto [echo, cached] = EchoCeilingTakingTurns("listings.echo", threads,
                                               "listings.get_offer_cached", cached_gets, duration);
  results.push_back(echo);
  results.push_back(cached);
  results.back().note = "GetOffer: offer near copy (250 ms) over Redis, key memoized";
  Synthetic queries(45);
  std::vector<v1::SearchRequest> searches;
  for (int i = 0; i < 100; ++i) {
    v1::Offer probe = queries.Offer(i);
    v1::SearchRequest r;
    r.set_kind(v1::LISTING_KIND_OFFER);
    r.set_query(probe.title().substr(0, probe.title().find(' ', 12)));
    r.set_min_readiness_level(3);
    r.add_fields(probe.fields(0));
    r.set_page_size(20);
    searches.push_back(r);
  }
  results.push_back(ClosedLoop("listings.search", threads, duration, [&](int t, int64_t i) {
    v1::SearchResponse resp;
    return stubs[t]
        ->Search(testing::AuthedContext(key).get(), searches[(t * 31 + i) % searches.size()], &resp)
        .ok();
  }));
  results.back().note = absl::StrCat("keywords + field + readiness filters over ", service_offers,
                                     " offers, page of 20");

  auto find = [&](const std::string& name) -> const ScenarioResult& { return Find(results, name); };
  const double match_p99 = find("listings.match_100k").p99_ms;
  const double get_vs_echo = find("listings.get_offer_cached").qps / find("listings.echo").qps;
  figures.push_back({"listings.match_p99_ms_100k", match_p99, "<= 20", match_p99 <= 20});
  figures.push_back({"listings.match_p99_ms_1m", find("listings.match_1m").p99_ms, "info", true});
  figures.push_back(
      {"listings.bytes_per_offer_1m", bytes_per_offer, "<= 1024", bytes_per_offer <= 1024});
  figures.push_back({"listings.cached_get_vs_echo", get_vs_echo, ">= 0.50", get_vs_echo >= 0.5});
  figures.push_back({"listings.search_qps", find("listings.search").qps, "info", true});
  return 0;
}

}  // namespace

int Run(BenchRun& run) { return Main(run); }

}  // namespace techtrade::bench
