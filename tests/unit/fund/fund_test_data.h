// What the fund's unit tests share: a municipal programme, a signed deal and an application of
// it, and small builders. Amounts are integer minor units (fen).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "services/fund/domain/fund_rules.h"

namespace techtrade::fund::test {

using google::protobuf::util::TimeUtil;
namespace lv1 = techtrade::listings::v1;
namespace reg = techtrade::registry::v1;

inline const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

// 1 CNY = 100 fen.
inline constexpr int64_t kYuan = 100;

inline google::protobuf::Timestamp At(const std::string& rfc3339) {
  google::protobuf::Timestamp t;
  EXPECT_TRUE(TimeUtil::FromString(rfc3339, &t)) << rfc3339;
  return t;
}

inline google::protobuf::Timestamp Shift(const google::protobuf::Timestamp& t, int64_t micros) {
  return TimeUtil::MicrosecondsToTimestamp(TimeUtil::TimestampToMicroseconds(t) + micros);
}

inline v1::SubsidyBand Band(int64_t from_minor, int32_t rate_bps) {
  v1::SubsidyBand b;
  b.set_from_minor(from_minor);
  b.set_rate_bps(rate_bps);
  return b;
}

inline v1::ProgrammeRules BandsOnly(const std::vector<v1::SubsidyBand>& bands) {
  v1::ProgrammeRules r;
  for (const v1::SubsidyBand& b : bands) *r.add_bands() = b;
  return r;
}

inline void SetTranches(v1::ProgrammeRules& r,
                        const std::vector<std::pair<v1::TrancheTrigger, int32_t>>& plan) {
  r.clear_tranches();
  for (const auto& [trigger, share] : plan) {
    v1::Tranche* t = r.add_tranches();
    t->set_trigger(trigger);
    t->set_share_bps(share);
  }
}

// A municipal programme's rules: 10% up to 1m CNY, 5% up to 10m CNY, 2% above; at most 500k CNY
// per deal and 1m CNY per buyer and year; 30% at signing, 70% at completion; up to 200k CNY
// approved at once.
inline v1::ProgrammeRules MakeRules() {
  v1::ProgrammeRules r;
  r.add_eligible_transfer_modes(lv1::TRANSFER_MODE_ASSIGNMENT);
  r.add_eligible_transfer_modes(lv1::TRANSFER_MODE_EXCLUSIVE_LICENSE);
  r.add_eligible_transfer_modes(lv1::TRANSFER_MODE_NON_EXCLUSIVE_LICENSE);
  r.add_eligible_buyer_kinds(reg::ORGANIZATION_KIND_ENTERPRISE);
  r.set_min_contract_value_minor(100'000 * kYuan);
  *r.add_bands() = Band(0, 1000);
  *r.add_bands() = Band(1'000'000 * kYuan, 500);
  *r.add_bands() = Band(10'000'000 * kYuan, 200);
  r.set_per_deal_cap_minor(500'000 * kYuan);
  r.set_per_organization_annual_cap_minor(1'000'000 * kYuan);
  SetTranches(r, {{v1::TRANCHE_TRIGGER_SIGNING, 3000}, {v1::TRANCHE_TRIGGER_COMPLETION, 7000}});
  r.set_auto_approval_threshold_minor(200'000 * kYuan);
  r.set_claw_back_on_cancellation(true);
  return r;
}

// Wuhan's programme for contracts signed in calendar 2026, China Standard Time.
inline v1::Programme MakeProgramme() {
  v1::Programme p;
  p.set_id("programme-1");
  p.set_name("Wuhan technology transfer subsidy 2026");
  p.set_city_id("wuhan");
  *p.mutable_start_time() = At("2025-12-31T16:00:00Z");
  *p.mutable_end_time() = At("2026-12-31T16:00:00Z");
  p.mutable_total_budget()->set_currency("CNY");
  p.mutable_total_budget()->set_amount_minor(50'000'000 * kYuan);
  *p.mutable_rules() = MakeRules();
  p.set_status(v1::PROGRAMME_STATUS_ACTIVE);
  return p;
}

inline v1::CumulativeBand Rate(int64_t from, int bps) {
  v1::CumulativeBand b;
  b.set_from_minor(from);
  b.set_rate_bps(bps);
  return b;
}

inline v1::CumulativeBand PerUnit(int64_t from, int64_t unit, int64_t amount) {
  v1::CumulativeBand b;
  b.set_from_minor(from);
  b.set_unit_minor(unit);
  b.set_amount_per_unit_minor(amount);
  return b;
}

// Sanming: 1 % of the first 100 000.00, 0.5 % to 1 000 000.00, 0.1 % above; 50 000.00 a year.
inline v1::AutomaticAward SanmingSeller() {
  v1::AutomaticAward a;
  a.set_beneficiary(v1::BENEFICIARY_SELLER);
  *a.add_bands() = Rate(0, 100);
  *a.add_bands() = Rate(100'000'00, 50);
  *a.add_bands() = Rate(1'000'000'00, 10);
  a.set_annual_cap_minor(50'000'00);
  return a;
}

// Its registration bodies: 30 000.00 per 100 000 000.00 registered, then 10 000.00 per further
// 50 000 000.00; 100 000.00 a year.
inline v1::AutomaticAward SanmingBody() {
  v1::AutomaticAward a;
  a.set_beneficiary(v1::BENEFICIARY_REGISTRATION_BODY);
  *a.add_bands() = PerUnit(0, 100'000'000'00, 30'000'00);
  *a.add_bands() = PerUnit(100'000'000'00, 50'000'000'00, 10'000'00);
  a.set_annual_cap_minor(100'000'00);
  return a;
}

inline v1::CreateProgrammeRequest MakeRequest() {
  const v1::Programme p = MakeProgramme();
  v1::CreateProgrammeRequest r;
  r.set_request_id("req-1");
  r.set_name(p.name());
  r.set_city_id(p.city_id());
  *r.mutable_start_time() = p.start_time();
  *r.mutable_end_time() = p.end_time();
  *r.mutable_total_budget() = p.total_budget();
  *r.mutable_rules() = p.rules();
  return r;
}

inline void SetMilestones(tv1::Deal& d, const std::vector<int64_t>& amounts,
                          tv1::MilestoneState state = tv1::MILESTONE_STATE_PENDING) {
  d.clear_milestones();
  for (size_t i = 0; i < amounts.size(); ++i) {
    tv1::Milestone* m = d.add_milestones();
    m->set_index(static_cast<int32_t>(i + 1));
    m->set_title(absl::StrCat("milestone ", i + 1));
    m->mutable_amount()->set_currency("CNY");
    m->mutable_amount()->set_amount_minor(amounts[i]);
    m->set_state(state);
  }
}

// A signed exclusive licence between a Wuhan enterprise (buyer) and a Hefei university, agreed at
// terms version 1, signed on 1 March 2026, paid in two milestones (30% / 70%).
inline tv1::Deal MakeDeal(int64_t price = 500'000 * kYuan,
                          tv1::DealState state = tv1::DEAL_STATE_SIGNED) {
  tv1::Deal d;
  d.set_id("deal-1");
  d.set_city_id("wuhan");
  d.set_state(state);
  tv1::Party* buyer = d.mutable_buyer();
  buyer->set_organization_id("buyer-org");
  buyer->set_credit_code("91420100MA4K2XQ0B4");
  buyer->set_name("Wuhan Battery Systems Co., Ltd.");
  buyer->set_city_id("wuhan");
  buyer->set_kind(reg::ORGANIZATION_KIND_ENTERPRISE);
  tv1::Party* seller = d.mutable_seller();
  seller->set_organization_id("seller-org");
  seller->set_city_id("hefei");
  seller->set_kind(reg::ORGANIZATION_KIND_UNIVERSITY);
  tv1::Terms* t = d.add_terms();
  t->set_version(1);
  t->set_proposed_by(tv1::PARTY_ROLE_SELLER);
  t->mutable_price()->set_currency("CNY");
  t->mutable_price()->set_amount_minor(price);
  t->set_transfer_mode(lv1::TRANSFER_MODE_EXCLUSIVE_LICENSE);
  d.set_buyer_accepted_version(1);
  d.set_seller_accepted_version(1);
  d.set_agreed_terms_version(1);
  d.mutable_contract()->set_registration_number("2026420100001234");
  *d.mutable_contract()->mutable_signing_time() = At("2026-03-01T02:00:00Z");
  SetMilestones(d, {price * 3 / 10, price - price * 3 / 10});
  return d;
}

// Sanming's programme for contracts registered in calendar 2026 (China Standard Time): the seller
// and registration body awards above, no applications, the whole award at registration.
inline v1::Programme SanmingProgramme() {
  v1::Programme p = MakeProgramme();
  p.set_id("programme-sanming");
  p.set_name("Sanming technology contract awards 2026");
  p.set_city_id("sanming");
  v1::ProgrammeRules& r = *p.mutable_rules();
  r.clear_bands();
  r.set_per_deal_cap_minor(0);
  r.set_per_organization_annual_cap_minor(0);
  r.set_auto_approval_threshold_minor(0);
  r.set_min_contract_value_minor(0);
  SetTranches(r, {{v1::TRANCHE_TRIGGER_SIGNING, 10000}});
  *r.add_automatic_awards() = SanmingSeller();
  *r.add_automatic_awards() = SanmingBody();
  p.mutable_balances()->set_currency("CNY");
  p.mutable_balances()->set_total_minor(p.total_budget().amount_minor());
  p.mutable_balances()->set_available_minor(p.total_budget().amount_minor());
  return p;
}

// The fixture's deal sold by a Sanming seller, registered there on 1 April 2026 at `registered`
// by the body `body_org` ("" : a body whose client names no organisation).
inline tv1::Deal RegisteredDeal(const std::string& id, int64_t registered,
                                const std::string& body_org = "body-org") {
  tv1::Deal d = MakeDeal(registered);
  d.set_id(id);
  d.mutable_seller()->set_city_id("sanming");
  tv1::ContractRegistration& reg = *d.mutable_registration();
  reg.set_state(tv1::REGISTRATION_STATE_REGISTERED);
  reg.set_city_id("sanming");
  reg.set_registration_number(absl::StrCat("350400", id));
  reg.mutable_registered_value()->set_currency("CNY");
  reg.mutable_registered_value()->set_amount_minor(registered);
  *reg.mutable_decide_time() = At("2026-04-01T02:00:00Z");
  if (!body_org.empty()) {
    reg.mutable_body()->set_organization_id(body_org);
    reg.mutable_body()->set_city_id("sanming");
    reg.mutable_body()->set_kind(reg::ORGANIZATION_KIND_GOVERNMENT);
  }
  return d;
}

inline v1::Application MakeApplication(
    int64_t approved, v1::ApplicationStatus status = v1::APPLICATION_STATUS_APPROVED) {
  v1::Application a;
  a.set_id("application-1");
  a.set_programme_id("programme-1");
  a.set_deal_id("deal-1");
  a.set_currency("CNY");
  a.set_year(2026);
  a.set_status(status);
  a.set_approved_minor(approved);
  return a;
}

// What the fund service does with due tranches: records them on the application.
inline void Record(v1::Application& a, const std::vector<v1::Disbursement>& paid) {
  for (const v1::Disbursement& d : paid) {
    *a.add_disbursements() = d;
    a.set_disbursed_minor(a.disbursed_minor() + d.amount_minor());
  }
}

inline std::vector<std::pair<std::string, int64_t>> Summary(
    const std::vector<v1::Disbursement>& due) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const v1::Disbursement& d : due) out.emplace_back(d.tranche(), d.amount_minor());
  return out;
}

inline int64_t Sum(const std::vector<v1::Disbursement>& due) {
  int64_t sum = 0;
  for (const v1::Disbursement& d : due) sum += d.amount_minor();
  return sum;
}

}  // namespace techtrade::fund::test
