// A few published listings, Chinese and English, for harnesses that search or match against a
// read model that is not empty.
#pragma once

#include <string>

#include "services/listings/domain/read_model.h"
#include "techtrade/listings/v1/listings.pb.h"

namespace techtrade::fuzz {

inline techtrade::listings::v1::Offer SampleOffer(int n, const std::string& title,
                                                  const std::string& abstract,
                                                  const std::string& ipc) {
  namespace v1 = techtrade::listings::v1;
  v1::Offer offer;
  offer.set_id("00000000-0000-4000-8000-00000000000" + std::to_string(n));
  offer.set_owner_org_id("10000000-0000-4000-8000-00000000000" + std::to_string(n % 3));
  offer.set_city_id(n % 2 == 0 ? "wuhan-east-lake" : "shenzhen-nanshan");
  offer.set_title(title);
  offer.set_abstract(abstract);
  offer.add_ipc_codes(ipc);
  offer.add_fields(n % 2 == 0 ? "energy-storage" : "artificial-intelligence");
  offer.set_readiness_level(3 + n);
  offer.add_transfer_modes(v1::TRANSFER_MODE_EXCLUSIVE_LICENSE);
  offer.mutable_asking_price()->set_currency("CNY");
  offer.mutable_asking_price()->set_amount_minor(80'000'000 * (n + 1));
  offer.set_status(v1::OFFER_STATUS_PUBLISHED);
  offer.set_visible(true);
  offer.set_version(1);
  offer.mutable_publish_time()->set_seconds(1'780'000'000 + n);
  return offer;
}

inline techtrade::listings::v1::Demand SampleDemand(int n, const std::string& title,
                                                    const std::string& problem) {
  namespace v1 = techtrade::listings::v1;
  v1::Demand demand;
  demand.set_id("20000000-0000-4000-8000-00000000000" + std::to_string(n));
  demand.set_seeker_org_id("30000000-0000-4000-8000-00000000000" + std::to_string(n));
  demand.set_city_id("wuhan-east-lake");
  demand.set_title(title);
  demand.set_problem(problem);
  demand.add_ipc_codes("H01M 10/052");
  demand.add_fields("energy-storage");
  demand.set_min_readiness_level(4);
  demand.mutable_budget_max()->set_currency("CNY");
  demand.mutable_budget_max()->set_amount_minor(100'000'000);
  demand.set_status(v1::DEMAND_STATUS_PUBLISHED);
  demand.set_visible(true);
  demand.set_version(1);
  demand.mutable_publish_time()->set_seconds(1'780'000'100 + n);
  return demand;
}

inline void AddSamples(techtrade::listings::ReadModel* m) {
  m->ApplyOffer(SampleOffer(0, "固态锂电池电解质材料",
                            "一种高离子电导率的硫化物固态电解质及其制备方法", "H01M 10/0562"));
  m->ApplyOffer(SampleOffer(1, "Deep learning defect detection for wafers",
                            "Convolutional networks that find defects in wafer images.",
                            "G06N 3/08"));
  m->ApplyOffer(SampleOffer(2, "钠离子电池正极材料 sodium-ion cathode",
                            "层状氧化物正极，循环寿命超过3000次", "H01M 4/36"));
  m->ApplyDemand(SampleDemand(0, "寻求储能电池热管理技术", "需要解决大型储能电站电池热失控问题"));
  m->ApplyDemand(SampleDemand(1, "Battery recycling process",
                              "We need to recover lithium from spent batteries at scale."));
}

// A read model holding the samples; searches leave it as it is, so one serves every input.
inline techtrade::listings::ReadModel& SampleModel() {
  static auto* model = [] {
    auto* m = new techtrade::listings::ReadModel();
    AddSamples(m);
    return m;
  }();
  return *model;
}

}  // namespace techtrade::fuzz
