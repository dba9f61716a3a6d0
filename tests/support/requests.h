// Requests the fixtures, the end-to-end tests and the chaos workload all send, built in one place
// so that every suite plays the same programme rules and the same deal terms.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "techtrade/fund/v1/fund.pb.h"
#include "techtrade/listings/v1/listings.pb.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::testing {

// A year-long subsidy programme for licences and assignments bought by enterprises: 19.99 % up
// to 50 000.00 and 11.11 % above, capped at 20 000.00 a deal and 100 000.00 an organisation a
// year, paid a third at signing, a third over the milestones and the rest at completion, clawed
// back on cancellation. Above `auto_approval_threshold_minor` an operator decides. `city` empty:
// a national programme.
inline techtrade::fund::v1::CreateProgrammeRequest SubsidyProgrammeRequest(
    std::string request_id, std::string name, std::string city, int64_t budget_minor,
    int64_t auto_approval_threshold_minor) {
  namespace fv1 = techtrade::fund::v1;
  using google::protobuf::util::TimeUtil;
  fv1::CreateProgrammeRequest r;
  r.set_request_id(std::move(request_id));
  r.set_name(std::move(name));
  r.set_city_id(std::move(city));
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  *r.mutable_start_time() = TimeUtil::SecondsToTimestamp(now - 86400);
  *r.mutable_end_time() = TimeUtil::SecondsToTimestamp(now + 365 * 86400);
  r.mutable_total_budget()->set_currency("CNY");
  r.mutable_total_budget()->set_amount_minor(budget_minor);
  fv1::ProgrammeRules* rules = r.mutable_rules();
  rules->add_eligible_transfer_modes(techtrade::listings::v1::TRANSFER_MODE_EXCLUSIVE_LICENSE);
  rules->add_eligible_transfer_modes(techtrade::listings::v1::TRANSFER_MODE_ASSIGNMENT);
  rules->add_eligible_buyer_kinds(techtrade::registry::v1::ORGANIZATION_KIND_ENTERPRISE);
  rules->set_min_contract_value_minor(10'000'00);
  fv1::SubsidyBand* low = rules->add_bands();
  low->set_from_minor(0);
  low->set_rate_bps(1999);
  fv1::SubsidyBand* high = rules->add_bands();
  high->set_from_minor(50'000'00);
  high->set_rate_bps(1111);
  rules->set_per_deal_cap_minor(20'000'00);
  rules->set_per_organization_annual_cap_minor(100'000'00);
  rules->set_auto_approval_threshold_minor(auto_approval_threshold_minor);
  rules->set_claw_back_on_cancellation(true);
  for (auto [trigger, share] : {std::pair{fv1::TRANCHE_TRIGGER_SIGNING, 3333},
                                std::pair{fv1::TRANCHE_TRIGGER_MILESTONES, 3333},
                                std::pair{fv1::TRANCHE_TRIGGER_COMPLETION, 3334}}) {
    fv1::Tranche* t = rules->add_tranches();
    t->set_trigger(trigger);
    t->set_share_bps(share);
  }
  return r;
}

// Terms for `deal` proposed by `by`: an exclusive licence at `price` (minor units of CNY) in two
// milestones of 30 % and the rest.
inline techtrade::transactions::v1::ProposeTermsRequest TermsRequest(
    std::string request_id, const techtrade::transactions::v1::Deal& deal,
    techtrade::transactions::v1::PartyRole by, int64_t price) {
  namespace tv1 = techtrade::transactions::v1;
  tv1::ProposeTermsRequest r;
  r.set_request_id(std::move(request_id));
  r.set_deal_id(deal.id());
  r.set_expected_version(deal.version());
  r.set_acting_as(by);
  r.mutable_price()->set_currency("CNY");
  r.mutable_price()->set_amount_minor(price);
  r.set_transfer_mode(techtrade::listings::v1::TRANSFER_MODE_EXCLUSIVE_LICENSE);
  r.set_licence_scope("battery management systems for energy storage");
  r.set_territory("CN");
  for (int i = 0; i < 2; ++i) {
    tv1::MilestonePlan* m = r.add_milestones();
    m->set_title(i == 0 ? "algorithm and source code" : "deployment support");
    m->mutable_amount()->set_currency("CNY");
    m->mutable_amount()->set_amount_minor(i == 0 ? price * 3 / 10 : price - price * 3 / 10);
    *m->mutable_due_time() =
        google::protobuf::util::TimeUtil::SecondsToTimestamp(1'900'000'000 + i * 1'000'000);
  }
  return r;
}

}  // namespace techtrade::testing
