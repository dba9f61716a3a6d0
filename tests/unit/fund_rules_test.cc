// The fund's pure rules: programme validation, progressive bands, the four bounds on an amount,
// eligibility of a signed deal, decisions, the tranche plan as a deal performs, and unwinding.
//
// The rounding rule throughout: every amount is integer minor units (fen) and rounds DOWN to the
// fen; the completion tranche pays whatever is still reserved, so the tranches of an application
// add up to its approved amount exactly.
#include "services/fund/domain/fund_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"

namespace techtrade::fund {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::StartsWith;
namespace lv1 = techtrade::listings::v1;
namespace reg = techtrade::registry::v1;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

// 1 CNY = 100 fen.
constexpr int64_t kYuan = 100;

google::protobuf::Timestamp At(const std::string& rfc3339) {
  google::protobuf::Timestamp t;
  EXPECT_TRUE(TimeUtil::FromString(rfc3339, &t)) << rfc3339;
  return t;
}

google::protobuf::Timestamp Shift(const google::protobuf::Timestamp& t, int64_t micros) {
  return TimeUtil::MicrosecondsToTimestamp(TimeUtil::TimestampToMicroseconds(t) + micros);
}

v1::SubsidyBand Band(int64_t from_minor, int32_t rate_bps) {
  v1::SubsidyBand b;
  b.set_from_minor(from_minor);
  b.set_rate_bps(rate_bps);
  return b;
}

v1::ProgrammeRules BandsOnly(const std::vector<v1::SubsidyBand>& bands) {
  v1::ProgrammeRules r;
  for (const v1::SubsidyBand& b : bands) *r.add_bands() = b;
  return r;
}

void SetTranches(v1::ProgrammeRules& r,
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
v1::ProgrammeRules MakeRules() {
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
v1::Programme MakeProgramme() {
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

v1::CreateProgrammeRequest MakeRequest() {
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

void SetMilestones(tv1::Deal& d, const std::vector<int64_t>& amounts,
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
tv1::Deal MakeDeal(int64_t price = 500'000 * kYuan, tv1::DealState state = tv1::DEAL_STATE_SIGNED) {
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

v1::Application MakeApplication(int64_t approved,
                                v1::ApplicationStatus status = v1::APPLICATION_STATUS_APPROVED) {
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
void Record(v1::Application& a, const std::vector<v1::Disbursement>& paid) {
  for (const v1::Disbursement& d : paid) {
    *a.add_disbursements() = d;
    a.set_disbursed_minor(a.disbursed_minor() + d.amount_minor());
  }
}

std::vector<std::pair<std::string, int64_t>> Summary(const std::vector<v1::Disbursement>& due) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const v1::Disbursement& d : due) out.emplace_back(d.tranche(), d.amount_minor());
  return out;
}

int64_t Sum(const std::vector<v1::Disbursement>& due) {
  int64_t sum = 0;
  for (const v1::Disbursement& d : due) sum += d.amount_minor();
  return sum;
}

// ============================== ValidateCreateProgramme ==============================

TEST(FundValidateProgrammeTest, AValidRequestPasses) {
  EXPECT_TRUE(ValidateCreateProgramme(MakeRequest()).ok())
      << ValidateCreateProgramme(MakeRequest());
}

TEST(FundValidateProgrammeTest, ValidVariantsPass) {
  const std::vector<std::pair<const char*, std::function<void(v1::CreateProgrammeRequest&)>>>
      variants = {
          {"national programme", [](auto& r) { r.clear_city_id(); }},
          {"name of 200 characters", [](auto& r) { r.set_name(std::string(200, 'a')); }},
          {"Chinese name counted per character",
           [](auto& r) {
             std::string name;
             for (int i = 0; i < 200; ++i) name += "基";  // 600 bytes, 200 code points
             r.set_name(name);
           }},
          {"end one microsecond after start",
           [](auto& r) { *r.mutable_end_time() = Shift(r.start_time(), 1); }},
          {"no minimum contract value",
           [](auto& r) { r.mutable_rules()->set_min_contract_value_minor(0); }},
          {"a single free band",
           [](auto& r) {
             r.mutable_rules()->clear_bands();
             *r.mutable_rules()->add_bands() = Band(0, 0);
           }},
          {"a single full band",
           [](auto& r) {
             r.mutable_rules()->clear_bands();
             *r.mutable_rules()->add_bands() = Band(0, 10000);
           }},
          {"20 bands (the maximum)",
           [](auto& r) {
             r.mutable_rules()->clear_bands();
             for (int i = 0; i < kMaxBands; ++i)
               *r.mutable_rules()->add_bands() = Band(i * 1000, 500);
           }},
          {"every transfer mode and kind",
           [](auto& r) {
             r.mutable_rules()->clear_eligible_transfer_modes();
             for (int m = 1; m <= 6; ++m) {
               r.mutable_rules()->add_eligible_transfer_modes(static_cast<lv1::TransferMode>(m));
             }
             r.mutable_rules()->clear_eligible_buyer_kinds();
             for (int k = 1; k <= 7; ++k) {
               r.mutable_rules()->add_eligible_buyer_kinds(static_cast<reg::OrganizationKind>(k));
             }
           }},
          {"everything reviewed (threshold 0)",
           [](auto& r) { r.mutable_rules()->set_auto_approval_threshold_minor(0); }},
          {"all at completion",
           [](auto& r) {
             SetTranches(*r.mutable_rules(), {{v1::TRANCHE_TRIGGER_COMPLETION, 10000}});
           }},
          {"all at signing",
           [](auto& r) {
             SetTranches(*r.mutable_rules(), {{v1::TRANCHE_TRIGGER_SIGNING, 10000}});
           }},
          {"three tranches in any order",
           [](auto& r) {
             SetTranches(*r.mutable_rules(), {{v1::TRANCHE_TRIGGER_COMPLETION, 2000},
                                              {v1::TRANCHE_TRIGGER_MILESTONES, 7000},
                                              {v1::TRANCHE_TRIGGER_SIGNING, 1000}});
           }},
          {"no clawback", [](auto& r) { r.mutable_rules()->set_claw_back_on_cancellation(false); }},
      };
  for (const auto& [what, change] : variants) {
    v1::CreateProgrammeRequest r = MakeRequest();
    change(r);
    EXPECT_TRUE(ValidateCreateProgramme(r).ok()) << what << ": " << ValidateCreateProgramme(r);
  }
}

TEST(FundValidateProgrammeTest, EveryFieldErrorNamesTheField) {
  struct Case {
    std::string field;
    std::function<void(v1::CreateProgrammeRequest&)> spoil;
  };
  auto rules = [](v1::CreateProgrammeRequest& r) { return r.mutable_rules(); };
  const std::vector<Case> cases = {
      {"name", [](auto& r) { r.clear_name(); }},
      {"name", [](auto& r) { r.set_name(std::string(201, 'a')); }},
      {"city_id", [](auto& r) { r.set_city_id(std::string(65, 'c')); }},
      {"start_time", [](auto& r) { r.clear_start_time(); }},
      {"end_time", [](auto& r) { r.clear_end_time(); }},
      {"end_time", [](auto& r) { *r.mutable_end_time() = r.start_time(); }},
      {"end_time", [](auto& r) { *r.mutable_end_time() = Shift(r.start_time(), -1); }},
      {"end_time",
       [](auto& r) { *r.mutable_end_time() = At("2025-01-01T00:00:00Z"); }},  // a year early
      {"total_budget.currency", [](auto& r) { r.mutable_total_budget()->set_currency("cny"); }},
      {"total_budget.currency", [](auto& r) { r.mutable_total_budget()->clear_currency(); }},
      {"total_budget.currency", [](auto& r) { r.mutable_total_budget()->set_currency("RMB1"); }},
      {"total_budget.amount_minor", [](auto& r) { r.mutable_total_budget()->set_amount_minor(0); }},
      {"total_budget.amount_minor",
       [](auto& r) { r.mutable_total_budget()->set_amount_minor(-1); }},
      {"rules.eligible_transfer_modes",
       [&](auto& r) { rules(r)->clear_eligible_transfer_modes(); }},
      {"rules.eligible_transfer_modes[0]",
       [&](auto& r) { rules(r)->set_eligible_transfer_modes(0, lv1::TRANSFER_MODE_UNSPECIFIED); }},
      {"rules.eligible_transfer_modes[2]",
       [&](auto& r) { rules(r)->set_eligible_transfer_modes(2, lv1::TRANSFER_MODE_ASSIGNMENT); }},
      {"rules.eligible_transfer_modes[3]",
       [&](auto& r) {
         rules(r)->add_eligible_transfer_modes(lv1::TRANSFER_MODE_EXCLUSIVE_LICENSE);
       }},
      {"rules.eligible_transfer_modes[3]",
       [&](auto& r) { rules(r)->add_eligible_transfer_modes(static_cast<lv1::TransferMode>(99)); }},
      {"rules.eligible_buyer_kinds", [&](auto& r) { rules(r)->clear_eligible_buyer_kinds(); }},
      {"rules.eligible_buyer_kinds[0]",
       [&](auto& r) { rules(r)->set_eligible_buyer_kinds(0, reg::ORGANIZATION_KIND_UNSPECIFIED); }},
      {"rules.eligible_buyer_kinds[1]",
       [&](auto& r) { rules(r)->add_eligible_buyer_kinds(reg::ORGANIZATION_KIND_ENTERPRISE); }},
      {"rules.eligible_buyer_kinds[1]",
       [&](auto& r) { rules(r)->add_eligible_buyer_kinds(reg::ORGANIZATION_KIND_UNSPECIFIED); }},
      {"rules.eligible_buyer_kinds[1]",
       [&](auto& r) {
         rules(r)->add_eligible_buyer_kinds(static_cast<reg::OrganizationKind>(42));
       }},
      {"rules.min_contract_value_minor",
       [&](auto& r) { rules(r)->set_min_contract_value_minor(-1); }},
      {"rules.bands", [&](auto& r) { rules(r)->clear_bands(); }},
      {"rules.bands",
       [&](auto& r) {
         rules(r)->clear_bands();
         for (int i = 0; i <= kMaxBands; ++i) *rules(r)->add_bands() = Band(i * 1000, 500);
       }},
      {"rules.bands[0].from_minor",
       [&](auto& r) { rules(r)->mutable_bands(0)->set_from_minor(1); }},
      {"rules.bands[0].from_minor",
       [&](auto& r) { rules(r)->mutable_bands(0)->set_from_minor(-1); }},
      {"rules.bands[1].from_minor",
       [&](auto& r) { rules(r)->mutable_bands(1)->set_from_minor(0); }},
      {"rules.bands[2].from_minor",
       [&](auto& r) {  // equal edges do not ascend
         rules(r)->mutable_bands(2)->set_from_minor(rules(r)->bands(1).from_minor());
       }},
      {"rules.bands[2].from_minor",
       [&](auto& r) {  // descending
         rules(r)->mutable_bands(2)->set_from_minor(rules(r)->bands(1).from_minor() - 1);
       }},
      {"rules.bands[1].rate_bps",
       [&](auto& r) { rules(r)->mutable_bands(1)->set_rate_bps(10001); }},
      {"rules.bands[0].rate_bps", [&](auto& r) { rules(r)->mutable_bands(0)->set_rate_bps(-1); }},
      {"rules.per_deal_cap_minor", [&](auto& r) { rules(r)->set_per_deal_cap_minor(0); }},
      {"rules.per_deal_cap_minor", [&](auto& r) { rules(r)->set_per_deal_cap_minor(-1); }},
      {"rules.per_organization_annual_cap_minor",
       [&](auto& r) { rules(r)->set_per_organization_annual_cap_minor(0); }},
      {"rules.per_organization_annual_cap_minor",
       [&](auto& r) { rules(r)->set_per_organization_annual_cap_minor(-5); }},
      {"rules.auto_approval_threshold_minor",
       [&](auto& r) { rules(r)->set_auto_approval_threshold_minor(-1); }},
      {"rules.tranches", [&](auto& r) { rules(r)->clear_tranches(); }},
      {"rules.tranches[1].trigger",
       [&](auto& r) {
         SetTranches(*rules(r),
                     {{v1::TRANCHE_TRIGGER_SIGNING, 3000}, {v1::TRANCHE_TRIGGER_SIGNING, 7000}});
       }},
      {"rules.tranches[2].trigger",
       [&](auto& r) {
         SetTranches(*rules(r), {{v1::TRANCHE_TRIGGER_COMPLETION, 3000},
                                 {v1::TRANCHE_TRIGGER_MILESTONES, 3000},
                                 {v1::TRANCHE_TRIGGER_COMPLETION, 4000}});
       }},
      {"rules.tranches[0].trigger",
       [&](auto& r) {
         rules(r)->mutable_tranches(0)->set_trigger(v1::TRANCHE_TRIGGER_UNSPECIFIED);
       }},
      {"rules.tranches[1].trigger",
       [&](auto& r) {
         rules(r)->mutable_tranches(1)->set_trigger(static_cast<v1::TrancheTrigger>(9));
       }},
      {"rules.tranches[0].share_bps",
       [&](auto& r) {
         SetTranches(*rules(r),
                     {{v1::TRANCHE_TRIGGER_SIGNING, 0}, {v1::TRANCHE_TRIGGER_COMPLETION, 10000}});
       }},
      {"rules.tranches[0].share_bps",
       [&](auto& r) {
         SetTranches(*rules(r), {{v1::TRANCHE_TRIGGER_SIGNING, -100},
                                 {v1::TRANCHE_TRIGGER_COMPLETION, 10100}});
       }},
      {"rules.tranches[0].share_bps",
       [&](auto& r) {
         SetTranches(*rules(r), {{v1::TRANCHE_TRIGGER_COMPLETION, 10001}});
       }},
      {"rules.tranches",
       [&](auto& r) { rules(r)->mutable_tranches(1)->set_share_bps(6999); }},  // 9999
      {"rules.tranches",
       [&](auto& r) { rules(r)->mutable_tranches(1)->set_share_bps(7001); }},  // 10001
      {"rules.tranches",
       [&](auto& r) {
         SetTranches(*rules(r), {{v1::TRANCHE_TRIGGER_SIGNING, 5000}});
       }},
  };
  for (const Case& c : cases) {
    v1::CreateProgrammeRequest r = MakeRequest();
    c.spoil(r);
    const absl::Status s = ValidateCreateProgramme(r);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field << ": " << s;
    EXPECT_THAT(std::string(s.message()), StartsWith(c.field + ":")) << s;
  }
}

TEST(FundValidateProgrammeTest, TrancheSumErrorSaysTheSum) {
  v1::CreateProgrammeRequest r = MakeRequest();
  r.mutable_rules()->mutable_tranches(1)->set_share_bps(6999);
  EXPECT_THAT(std::string(ValidateCreateProgramme(r).message()), HasSubstr("9999"));
}

// ============================== TieredAmount ==============================

// Amounts round down to the fen: Σ part × rate / 10000, floored once at the end.

TEST(FundTieredAmountTest, ProgressiveBandsAtTheirEdges) {
  // 10% to 1000.00, 5% to 10000.00, 2% above.
  const v1::ProgrammeRules r = BandsOnly({Band(0, 1000), Band(100'000, 500), Band(1'000'000, 200)});
  const std::vector<std::pair<int64_t, int64_t>> expected = {
      {0, 0},
      {1, 0},  // 0.1 fen rounds down
      {9, 0},  // 0.9 fen rounds down
      {10, 1},
      {99'999, 9'999},  // 9999.9
      {100'000, 10'000},
      {100'001, 10'000},  // 10000 + 0.05
      {100'020, 10'001},  // 10000 + 1.0
      {999'999, 54'999},  // 10000 + 899999 × 5% = 54999.95
      {1'000'000, 55'000},
      {1'000'001, 55'000},  // + 0.02
      {1'000'050, 55'001},  // + 1.0
      {2'000'000, 75'000},  // 55000 + 1000000 × 2%
  };
  for (const auto& [value, amount] : expected) {
    EXPECT_EQ(TieredAmount(r, value), amount) << "value " << value;
  }
}

TEST(FundTieredAmountTest, OneFenAboveAnEdgeNeverGetsLess) {
  // A falling rate: a regressive schedule would give less just above an edge; progressive never.
  const v1::ProgrammeRules r =
      BandsOnly({Band(0, 3000), Band(50'000, 1000), Band(80'000, 0), Band(120'000, 100)});
  for (int64_t edge : {50'000, 80'000, 120'000}) {
    for (int64_t v = edge - 50; v < edge + 50; ++v) {
      EXPECT_LE(TieredAmount(r, v), TieredAmount(r, v + 1)) << v;
    }
  }
  EXPECT_EQ(TieredAmount(r, 80'000), 15'000 + 3'000);
  EXPECT_EQ(TieredAmount(r, 119'999), 18'000);  // the zero band adds nothing
  EXPECT_EQ(TieredAmount(r, 120'000), 18'000);
  EXPECT_EQ(TieredAmount(r, 220'000), 19'000);  // + 100000 × 1%
}

TEST(FundTieredAmountTest, RoundsOnceAtTheEndNotPerBand) {
  // Half a fen from each band: rounding per band would give 0, once at the end gives 1.
  const v1::ProgrammeRules r = BandsOnly({Band(0, 5000), Band(1, 5000)});
  EXPECT_EQ(TieredAmount(r, 1), 0);
  EXPECT_EQ(TieredAmount(r, 2), 1);
  EXPECT_EQ(TieredAmount(r, 3), 1);
  const v1::ProgrammeRules thirds = BandsOnly({Band(0, 3333), Band(1, 3333), Band(2, 3334)});
  EXPECT_EQ(TieredAmount(thirds, 3), 1);  // 0.3333 + 0.3333 + 0.3334 = 1.0
}

TEST(FundTieredAmountTest, SingleBand) {
  const v1::ProgrammeRules r = BandsOnly({Band(0, 2500)});
  EXPECT_EQ(TieredAmount(r, 3), 0);  // 0.75
  EXPECT_EQ(TieredAmount(r, 4), 1);
  EXPECT_EQ(TieredAmount(r, 7), 1);                     // 1.75
  EXPECT_EQ(TieredAmount(r, 123'456'789), 30'864'197);  // 30864197.25
  const v1::ProgrammeRules all = BandsOnly({Band(0, 10000)});
  EXPECT_EQ(TieredAmount(all, 123'456'789), 123'456'789);
}

TEST(FundTieredAmountTest, ZeroRateBands) {
  const v1::ProgrammeRules free_first = BandsOnly({Band(0, 0), Band(1000, 1000)});
  EXPECT_EQ(TieredAmount(free_first, 999), 0);
  EXPECT_EQ(TieredAmount(free_first, 1000), 0);
  EXPECT_EQ(TieredAmount(free_first, 1010), 1);
  EXPECT_EQ(TieredAmount(free_first, 2000), 100);
  const v1::ProgrammeRules capped = BandsOnly({Band(0, 1000), Band(1000, 0)});
  EXPECT_EQ(TieredAmount(capped, 1'000'000'000), 100);
  const v1::ProgrammeRules nothing = BandsOnly({Band(0, 0)});
  EXPECT_EQ(TieredAmount(nothing, 9'000'000'000'000'000), 0);
}

TEST(FundTieredAmountTest, NoValueNoSubsidy) {
  const v1::ProgrammeRules r = MakeRules();
  EXPECT_EQ(TieredAmount(r, 0), 0);
  EXPECT_EQ(TieredAmount(r, -1), 0);
  EXPECT_EQ(TieredAmount(r, std::numeric_limits<int64_t>::min()), 0);
  EXPECT_EQ(TieredAmount(v1::ProgrammeRules(), 1'000'000), 0);  // no bands at all
}

TEST(FundTieredAmountTest, HugeValuesDoNotOverflow) {
  // 9e15 fen × 10000 bps is 9e19, beyond int64.
  const int64_t huge = 9'000'000'000'000'000;
  EXPECT_EQ(TieredAmount(BandsOnly({Band(0, 10000)}), huge), huge);
  EXPECT_EQ(TieredAmount(BandsOnly({Band(0, 9999)}), huge), 8'999'100'000'000'000);
  EXPECT_EQ(
      TieredAmount(BandsOnly({Band(0, 1000), Band(100'000, 500), Band(1'000'000, 200)}), huge),
      180'000'000'035'000);
  const int64_t max = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(TieredAmount(BandsOnly({Band(0, 10000)}), max), max);
  EXPECT_EQ(TieredAmount(BandsOnly({Band(0, 5000)}), max), max / 2);
  // Edges near the top of the range.
  const v1::ProgrammeRules top = BandsOnly({Band(0, 0), Band(max - 10'000, 10000)});
  EXPECT_EQ(TieredAmount(top, max), 10'000);
  EXPECT_EQ(TieredAmount(top, max - 10'000), 0);
}

// ============================== Calculate ==============================

// 50% of the contract value, at most 1000 per deal.
v1::ProgrammeRules HalfCappedAt1000() {
  v1::ProgrammeRules r = BandsOnly({Band(0, 5000)});
  r.set_per_deal_cap_minor(1000);
  return r;
}

TEST(FundCalculateTest, EachBoundWinsInTurn) {
  const v1::ProgrammeRules r = HalfCappedAt1000();
  struct Case {
    int64_t value, annual_left, available, amount;
    const char* limited_by;
  };
  const std::vector<Case> cases = {
      {1000, 2000, 3000, 500, "tiered rate"},
      {4000, 2000, 3000, 1000, "per-deal cap"},
      {4000, 700, 3000, 700, "annual cap"},
      {4000, 2000, 600, 600, "budget"},
      {4000, 700, 600, 600, "budget"},
      {1001, 2000, 3000, 500, "tiered rate"},  // 500.5 rounds down
  };
  for (const Case& c : cases) {
    const v1::Calculation calc = Calculate(r, c.value, c.annual_left, c.available);
    EXPECT_EQ(calc.amount_minor(), c.amount) << c.limited_by;
    EXPECT_EQ(calc.limited_by(), c.limited_by) << c.value << " " << c.annual_left;
    EXPECT_EQ(calc.contract_value_minor(), c.value);
    EXPECT_EQ(calc.tiered_minor(), c.value / 2);
    EXPECT_EQ(calc.per_deal_cap_minor(), 1000);
    EXPECT_EQ(calc.annual_cap_left_minor(), c.annual_left);
    EXPECT_EQ(calc.available_minor(), c.available);
  }
}

TEST(FundCalculateTest, NegativeCapLeftAndAvailableClampToZero) {
  const v1::ProgrammeRules r = HalfCappedAt1000();
  v1::Calculation c = Calculate(r, 4000, -250, 3000);
  EXPECT_EQ(c.annual_cap_left_minor(), 0);
  EXPECT_EQ(c.amount_minor(), 0);
  EXPECT_EQ(c.limited_by(), "annual cap");
  c = Calculate(r, 4000, 2000, -1);
  EXPECT_EQ(c.available_minor(), 0);
  EXPECT_EQ(c.amount_minor(), 0);
  EXPECT_EQ(c.limited_by(), "budget");
  c = Calculate(r, 4000, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(c.annual_cap_left_minor(), 0);
  EXPECT_EQ(c.available_minor(), 0);
  EXPECT_EQ(c.amount_minor(), 0);
  EXPECT_EQ(c.limited_by(), "annual cap");  // both 0: the earlier bound
}

TEST(FundCalculateTest, TiesNameTheEarlierBound) {
  const v1::ProgrammeRules r = HalfCappedAt1000();
  EXPECT_EQ(Calculate(r, 2000, 5000, 5000).limited_by(), "tiered rate");   // 1000 = cap
  EXPECT_EQ(Calculate(r, 1200, 600, 5000).limited_by(), "tiered rate");    // 600 = annual
  EXPECT_EQ(Calculate(r, 1200, 5000, 600).limited_by(), "tiered rate");    // 600 = budget
  EXPECT_EQ(Calculate(r, 4000, 1000, 5000).limited_by(), "per-deal cap");  // cap = annual
  EXPECT_EQ(Calculate(r, 4000, 5000, 1000).limited_by(), "per-deal cap");  // cap = budget
  EXPECT_EQ(Calculate(r, 4000, 800, 800).limited_by(), "annual cap");      // annual = budget
  EXPECT_EQ(Calculate(r, 2000, 1000, 1000).limited_by(), "tiered rate");   // all four
  EXPECT_EQ(Calculate(r, 0, 0, 0).limited_by(), "tiered rate");            // all zero
  EXPECT_EQ(Calculate(r, 2000, 1000, 1000).amount_minor(), 1000);
}

TEST(FundCalculateTest, HugeContractIsBoundByTheCap) {
  const v1::Calculation c =
      Calculate(MakeRules(), 9'000'000'000'000'000, std::numeric_limits<int64_t>::max(),
                std::numeric_limits<int64_t>::max());
  EXPECT_EQ(c.amount_minor(), 500'000 * kYuan);
  EXPECT_EQ(c.limited_by(), "per-deal cap");
  EXPECT_GT(c.tiered_minor(), c.amount_minor());
}

// ============================== Deals as the fund sees them ==============================

TEST(FundDealViewTest, AgreedTermsAreTheAgreedVersion) {
  tv1::Deal d = MakeDeal();
  ASSERT_TRUE(AgreedTerms(d).has_value());
  EXPECT_EQ(AgreedTerms(d)->version(), 1);
  tv1::Terms* v2 = d.add_terms();
  v2->set_version(2);
  v2->mutable_price()->set_amount_minor(777);
  EXPECT_EQ(AgreedTerms(d)->price().amount_minor(), 500'000 * kYuan);  // still version 1
  d.set_agreed_terms_version(2);
  EXPECT_EQ(AgreedTerms(d)->price().amount_minor(), 777);
  d.set_agreed_terms_version(0);
  EXPECT_FALSE(AgreedTerms(d).has_value());
  d.set_agreed_terms_version(3);
  EXPECT_FALSE(AgreedTerms(d).has_value());
  d.set_agreed_terms_version(-1);
  EXPECT_FALSE(AgreedTerms(d).has_value());
}

TEST(FundDealViewTest, SignedAndStanding) {
  const std::map<tv1::DealState, bool> standing = {
      {tv1::DEAL_STATE_UNSPECIFIED, false}, {tv1::DEAL_STATE_OPEN, false},
      {tv1::DEAL_STATE_NEGOTIATING, false}, {tv1::DEAL_STATE_AGREED, false},
      {tv1::DEAL_STATE_SIGNED, true},       {tv1::DEAL_STATE_IN_PERFORMANCE, true},
      {tv1::DEAL_STATE_COMPLETED, true},    {tv1::DEAL_STATE_CANCELLED, false},
      {tv1::DEAL_STATE_DISPUTED, false},
  };
  for (const auto& [state, expected] : standing) {
    tv1::Deal d = MakeDeal();
    d.set_state(state);
    EXPECT_EQ(SignedAndStanding(d), expected) << tv1::DealState_Name(state);
  }
}

// ============================== SigningYear ==============================

TEST(FundSigningYearTest, ChinaStandardTimeYearBoundary) {
  const std::vector<std::pair<const char*, int>> cases = {
      {"2025-12-31T15:59:59Z", 2025},      {"2025-12-31T15:59:59.999999Z", 2025},
      {"2025-12-31T16:00:00Z", 2026},  // midnight in Beijing
      {"2026-06-30T12:00:00Z", 2026},      {"2026-12-31T15:59:59Z", 2026},
      {"2026-12-31T16:00:00Z", 2027},      {"2026-01-01T00:00:00+08:00", 2026},
      {"2025-12-31T23:59:59+08:00", 2025},
  };
  for (const auto& [when, year] : cases) {
    tv1::Deal d = MakeDeal();
    *d.mutable_contract()->mutable_signing_time() = At(when);
    EXPECT_EQ(SigningYear(d), year) << when;
  }
}

// ============================== Ineligibility ==============================

TEST(FundEligibilityTest, TheStandardDealIsAdmitted) {
  const std::optional<Refusal> r = Ineligibility(MakeProgramme(), MakeDeal());
  EXPECT_FALSE(r.has_value()) << r->message;
}

TEST(FundEligibilityTest, ClosedProgramme) {
  for (v1::ProgrammeStatus status :
       {v1::PROGRAMME_STATUS_CLOSED, v1::PROGRAMME_STATUS_UNSPECIFIED}) {
    v1::Programme p = MakeProgramme();
    p.set_status(status);
    const std::optional<Refusal> r = Ineligibility(p, MakeDeal());
    ASSERT_TRUE(r.has_value()) << v1::ProgrammeStatus_Name(status);
    EXPECT_EQ(r->reason, v1::REFUSAL_REASON_PROGRAMME_CLOSED);
  }
}

TEST(FundEligibilityTest, PeriodIsStartInclusiveEndExclusive) {
  const v1::Programme p = MakeProgramme();
  const std::vector<std::pair<google::protobuf::Timestamp, bool>> cases = {
      {Shift(p.start_time(), -1), false},  // one microsecond before the start
      {Shift(p.start_time(), -86'400'000'000), false},
      {p.start_time(), true},  // at the start: inclusive
      {Shift(p.start_time(), 1), true},
      {Shift(p.end_time(), -1), true},  // the last microsecond
      {p.end_time(), false},            // at the end: exclusive
      {Shift(p.end_time(), 1), false},
  };
  for (const auto& [when, admitted] : cases) {
    tv1::Deal d = MakeDeal();
    *d.mutable_contract()->mutable_signing_time() = when;
    const std::optional<Refusal> r = Ineligibility(p, d);
    EXPECT_EQ(!r.has_value(), admitted) << TimeUtil::ToString(when);
    if (r.has_value()) {
      EXPECT_EQ(r->reason, v1::REFUSAL_REASON_OUTSIDE_PERIOD) << TimeUtil::ToString(when);
      EXPECT_THAT(r->message, HasSubstr(TimeUtil::ToString(when)));
    }
  }
  // A deal never signed (no signing time) is outside any period.
  tv1::Deal unsigned_deal = MakeDeal();
  unsigned_deal.mutable_contract()->clear_signing_time();
  ASSERT_TRUE(Ineligibility(p, unsigned_deal).has_value());
  EXPECT_EQ(Ineligibility(p, unsigned_deal)->reason, v1::REFUSAL_REASON_OUTSIDE_PERIOD);
}

TEST(FundEligibilityTest, CityScopeReadsTheBuyersCity) {
  v1::Programme city = MakeProgramme();
  tv1::Deal elsewhere = MakeDeal();
  elsewhere.mutable_buyer()->set_city_id("hefei");
  const std::optional<Refusal> r = Ineligibility(city, elsewhere);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->reason, v1::REFUSAL_REASON_OUTSIDE_CITY);
  EXPECT_THAT(r->message, HasSubstr("hefei"));
  EXPECT_THAT(r->message, HasSubstr("wuhan"));

  // The listing's city does not matter; the buyer's does.
  tv1::Deal listed_elsewhere = MakeDeal();
  listed_elsewhere.set_city_id("hefei");
  EXPECT_FALSE(Ineligibility(city, listed_elsewhere).has_value());
  tv1::Deal listed_here_bought_elsewhere = elsewhere;
  listed_here_bought_elsewhere.set_city_id("wuhan");
  EXPECT_TRUE(Ineligibility(city, listed_here_bought_elsewhere).has_value());

  tv1::Deal no_city = MakeDeal();
  no_city.mutable_buyer()->clear_city_id();
  ASSERT_TRUE(Ineligibility(city, no_city).has_value());
  EXPECT_EQ(Ineligibility(city, no_city)->reason, v1::REFUSAL_REASON_OUTSIDE_CITY);

  // A national programme admits any city, or none.
  v1::Programme national = MakeProgramme();
  national.clear_city_id();
  EXPECT_FALSE(Ineligibility(national, elsewhere).has_value());
  EXPECT_FALSE(Ineligibility(national, no_city).has_value());
  EXPECT_FALSE(Ineligibility(national, MakeDeal()).has_value());
}

TEST(FundEligibilityTest, TransferModeNotEligible) {
  for (int mode = 0; mode <= 6; ++mode) {
    tv1::Deal d = MakeDeal();
    d.mutable_terms(0)->set_transfer_mode(static_cast<lv1::TransferMode>(mode));
    const bool eligible = mode == lv1::TRANSFER_MODE_ASSIGNMENT ||
                          mode == lv1::TRANSFER_MODE_EXCLUSIVE_LICENSE ||
                          mode == lv1::TRANSFER_MODE_NON_EXCLUSIVE_LICENSE;
    const std::optional<Refusal> r = Ineligibility(MakeProgramme(), d);
    EXPECT_EQ(!r.has_value(), eligible) << mode;
    if (r.has_value()) {
      EXPECT_EQ(r->reason, v1::REFUSAL_REASON_TRANSFER_MODE) << mode;
      EXPECT_THAT(r->message,
                  HasSubstr(lv1::TransferMode_Name(static_cast<lv1::TransferMode>(mode))));
    }
  }
}

TEST(FundEligibilityTest, BuyerKindNotEligible) {
  for (int kind = 0; kind <= 7; ++kind) {
    tv1::Deal d = MakeDeal();
    d.mutable_buyer()->set_kind(static_cast<reg::OrganizationKind>(kind));
    const std::optional<Refusal> r = Ineligibility(MakeProgramme(), d);
    EXPECT_EQ(!r.has_value(), kind == reg::ORGANIZATION_KIND_ENTERPRISE) << kind;
    if (r.has_value()) {
      EXPECT_EQ(r->reason, v1::REFUSAL_REASON_BUYER_KIND) << kind;
    }
  }
  tv1::Deal unspecified = MakeDeal();
  unspecified.mutable_buyer()->clear_kind();
  const std::optional<Refusal> r = Ineligibility(MakeProgramme(), unspecified);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->reason, v1::REFUSAL_REASON_BUYER_KIND);
  EXPECT_THAT(r->message, HasSubstr("ORGANIZATION_KIND_UNSPECIFIED"));
  // The seller's kind is irrelevant.
  tv1::Deal seller_enterprise = MakeDeal();
  seller_enterprise.mutable_seller()->set_kind(reg::ORGANIZATION_KIND_GOVERNMENT);
  EXPECT_FALSE(Ineligibility(MakeProgramme(), seller_enterprise).has_value());
}

TEST(FundEligibilityTest, CurrencyMismatch) {
  tv1::Deal d = MakeDeal();
  d.mutable_terms(0)->mutable_price()->set_currency("USD");
  const std::optional<Refusal> r = Ineligibility(MakeProgramme(), d);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->reason, v1::REFUSAL_REASON_CURRENCY);
  EXPECT_THAT(r->message, HasSubstr("USD"));
  EXPECT_THAT(r->message, HasSubstr("CNY"));
}

TEST(FundEligibilityTest, MinimumContractValueIsInclusive) {
  const int64_t min = MakeRules().min_contract_value_minor();
  const std::optional<Refusal> below = Ineligibility(MakeProgramme(), MakeDeal(min - 1));
  ASSERT_TRUE(below.has_value());
  EXPECT_EQ(below->reason, v1::REFUSAL_REASON_BELOW_MINIMUM);
  EXPECT_THAT(below->message, HasSubstr("99999.99 CNY"));
  EXPECT_THAT(below->message, HasSubstr("100000.00 CNY"));
  EXPECT_FALSE(Ineligibility(MakeProgramme(), MakeDeal(min)).has_value());
  EXPECT_FALSE(Ineligibility(MakeProgramme(), MakeDeal(min + 1)).has_value());

  v1::Programme small = MakeProgramme();
  small.mutable_rules()->set_min_contract_value_minor(1005);
  const std::optional<Refusal> r = Ineligibility(small, MakeDeal(1004));
  ASSERT_TRUE(r.has_value());
  EXPECT_THAT(r->message, HasSubstr("10.04 CNY"));
  EXPECT_THAT(r->message, HasSubstr("10.05 CNY"));
}

TEST(FundEligibilityTest, NoAgreedTermsIsRefused) {
  for (int64_t version : {0, 2, -1}) {
    tv1::Deal d = MakeDeal();
    d.set_agreed_terms_version(version);
    const std::optional<Refusal> r = Ineligibility(MakeProgramme(), d);
    ASSERT_TRUE(r.has_value()) << version;
    EXPECT_EQ(r->reason, v1::REFUSAL_REASON_TRANSFER_MODE) << version;
    EXPECT_THAT(r->message, HasSubstr("no agreed terms"));
  }
  tv1::Deal no_terms = MakeDeal();
  no_terms.clear_terms();
  EXPECT_TRUE(Ineligibility(MakeProgramme(), no_terms).has_value());
}

TEST(FundEligibilityTest, ReadsTheAgreedVersionNotTheFirst) {
  tv1::Deal d = MakeDeal();
  // Version 1 was an ineligible offer (equity, in dollars, tiny); version 2 was agreed.
  d.mutable_terms(0)->set_transfer_mode(lv1::TRANSFER_MODE_EQUITY);
  d.mutable_terms(0)->mutable_price()->set_currency("USD");
  d.mutable_terms(0)->mutable_price()->set_amount_minor(1);
  tv1::Terms* v2 = d.add_terms();
  v2->set_version(2);
  v2->mutable_price()->set_currency("CNY");
  v2->mutable_price()->set_amount_minor(400'000 * kYuan);
  v2->set_transfer_mode(lv1::TRANSFER_MODE_ASSIGNMENT);
  d.set_agreed_terms_version(2);
  EXPECT_FALSE(Ineligibility(MakeProgramme(), d).has_value());
  d.set_agreed_terms_version(1);
  ASSERT_TRUE(Ineligibility(MakeProgramme(), d).has_value());
  EXPECT_EQ(Ineligibility(MakeProgramme(), d)->reason, v1::REFUSAL_REASON_TRANSFER_MODE);
}

TEST(FundEligibilityTest, ChecksInTheDocumentedOrder) {
  // Everything wrong at once; mending one thing at a time reveals the next reason.
  v1::Programme p = MakeProgramme();
  p.set_status(v1::PROGRAMME_STATUS_CLOSED);
  tv1::Deal d = MakeDeal(1);  // below the minimum
  *d.mutable_contract()->mutable_signing_time() = At("2024-01-01T00:00:00Z");
  d.mutable_buyer()->set_city_id("hefei");
  d.mutable_buyer()->set_kind(reg::ORGANIZATION_KIND_INVESTOR);
  d.mutable_terms(0)->set_transfer_mode(lv1::TRANSFER_MODE_EQUITY);
  d.mutable_terms(0)->mutable_price()->set_currency("USD");
  const std::vector<std::pair<v1::RefusalReason, std::function<void()>>> steps = {
      {v1::REFUSAL_REASON_PROGRAMME_CLOSED, [&] { p.set_status(v1::PROGRAMME_STATUS_ACTIVE); }},
      {v1::REFUSAL_REASON_OUTSIDE_PERIOD,
       [&] { *d.mutable_contract()->mutable_signing_time() = At("2026-03-01T02:00:00Z"); }},
      {v1::REFUSAL_REASON_OUTSIDE_CITY, [&] { d.mutable_buyer()->set_city_id("wuhan"); }},
      {v1::REFUSAL_REASON_TRANSFER_MODE,
       [&] { d.mutable_terms(0)->set_transfer_mode(lv1::TRANSFER_MODE_ASSIGNMENT); }},
      {v1::REFUSAL_REASON_BUYER_KIND,
       [&] { d.mutable_buyer()->set_kind(reg::ORGANIZATION_KIND_ENTERPRISE); }},
      {v1::REFUSAL_REASON_CURRENCY,
       [&] { d.mutable_terms(0)->mutable_price()->set_currency("CNY"); }},
      {v1::REFUSAL_REASON_BELOW_MINIMUM,
       [&] { d.mutable_terms(0)->mutable_price()->set_amount_minor(100'000 * kYuan); }},
  };
  for (const auto& [reason, mend] : steps) {
    const std::optional<Refusal> r = Ineligibility(p, d);
    ASSERT_TRUE(r.has_value()) << v1::RefusalReason_Name(reason);
    EXPECT_EQ(r->reason, reason) << r->message;
    EXPECT_FALSE(r->message.empty());
    mend();
  }
  EXPECT_FALSE(Ineligibility(p, d).has_value());
}

// ============================== Decide ==============================

constexpr int64_t kPlenty = 1'000'000'000 * kYuan;

TEST(FundDecideTest, ApprovedAtOrUnderTheThreshold) {
  const v1::Programme p = MakeProgramme();
  // 500k CNY at 10%: 50k CNY.
  Decision d = Decide(p, MakeDeal(500'000 * kYuan), kPlenty, kPlenty, false);
  EXPECT_EQ(d.status, v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(d.calculation.amount_minor(), 50'000 * kYuan);
  EXPECT_EQ(d.calculation.limited_by(), "tiered rate");
  EXPECT_EQ(d.refusal.reason, v1::REFUSAL_REASON_UNSPECIFIED);
  // 3m CNY: 100k + 2m × 5% = 200k CNY, exactly the threshold.
  d = Decide(p, MakeDeal(3'000'000 * kYuan), kPlenty, kPlenty, false);
  EXPECT_EQ(d.calculation.amount_minor(), 200'000 * kYuan);
  EXPECT_EQ(d.status, v1::APPLICATION_STATUS_APPROVED);
}

TEST(FundDecideTest, PendingReviewAboveTheThreshold) {
  const v1::Programme p = MakeProgramme();
  // One fen above the threshold: 3m CNY + 20 fen.
  Decision d = Decide(p, MakeDeal(3'000'000 * kYuan + 20), kPlenty, kPlenty, false);
  EXPECT_EQ(d.calculation.amount_minor(), 200'000 * kYuan + 1);
  EXPECT_EQ(d.status, v1::APPLICATION_STATUS_PENDING_REVIEW);
  // An operator's review approves whatever the threshold.
  d = Decide(p, MakeDeal(3'000'000 * kYuan + 20), kPlenty, kPlenty, true);
  EXPECT_EQ(d.status, v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(d.calculation.amount_minor(), 200'000 * kYuan + 1);
  // Threshold 0: everything waits for review, unless reviewed.
  v1::Programme strict = MakeProgramme();
  strict.mutable_rules()->set_auto_approval_threshold_minor(0);
  EXPECT_EQ(Decide(strict, MakeDeal(), kPlenty, kPlenty, false).status,
            v1::APPLICATION_STATUS_PENDING_REVIEW);
  EXPECT_EQ(Decide(strict, MakeDeal(), kPlenty, kPlenty, true).status,
            v1::APPLICATION_STATUS_APPROVED);
}

TEST(FundDecideTest, ThresholdAppliesToTheBoundedAmount) {
  // A big contract whose amount the budget cuts below the threshold is approved at once.
  const Decision d =
      Decide(MakeProgramme(), MakeDeal(8'000'000 * kYuan), kPlenty, 150'000 * kYuan, false);
  EXPECT_EQ(d.status, v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(d.calculation.amount_minor(), 150'000 * kYuan);
  EXPECT_EQ(d.calculation.limited_by(), "budget");
}

TEST(FundDecideTest, PartialAmountsWhenTheBudgetIsShort) {
  const Decision d = Decide(MakeProgramme(), MakeDeal(500'000 * kYuan), kPlenty, 1234, false);
  EXPECT_EQ(d.status, v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(d.calculation.amount_minor(), 1234);
  EXPECT_EQ(d.calculation.limited_by(), "budget");
  EXPECT_EQ(d.calculation.tiered_minor(), 50'000 * kYuan);
  const Decision a = Decide(MakeProgramme(), MakeDeal(500'000 * kYuan), 1, kPlenty, false);
  EXPECT_EQ(a.status, v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(a.calculation.amount_minor(), 1);
  EXPECT_EQ(a.calculation.limited_by(), "annual cap");
}

TEST(FundDecideTest, BudgetExhausted) {
  for (int64_t available : {0, -100}) {
    const Decision d = Decide(MakeProgramme(), MakeDeal(), kPlenty, available, false);
    EXPECT_EQ(d.status, v1::APPLICATION_STATUS_REJECTED);
    EXPECT_EQ(d.refusal.reason, v1::REFUSAL_REASON_BUDGET_EXHAUSTED);
    EXPECT_THAT(d.refusal.message, HasSubstr("0.00 CNY"));
    EXPECT_EQ(d.calculation.amount_minor(), 0);
    EXPECT_EQ(d.calculation.limited_by(), "budget");
  }
  // Reviewing does not conjure money.
  EXPECT_EQ(Decide(MakeProgramme(), MakeDeal(), kPlenty, 0, true).status,
            v1::APPLICATION_STATUS_REJECTED);
}

TEST(FundDecideTest, AnnualCapReached) {
  for (int64_t left : {0, -1}) {
    const Decision d = Decide(MakeProgramme(), MakeDeal(), left, kPlenty, false);
    EXPECT_EQ(d.status, v1::APPLICATION_STATUS_REJECTED);
    EXPECT_EQ(d.refusal.reason, v1::REFUSAL_REASON_ANNUAL_CAP_REACHED);
    EXPECT_THAT(d.refusal.message, HasSubstr("2026"));
    EXPECT_THAT(d.refusal.message, HasSubstr("1000000.00 CNY"));
  }
  // Both used up: the annual cap is named (the earlier bound).
  EXPECT_EQ(Decide(MakeProgramme(), MakeDeal(), 0, 0, false).refusal.reason,
            v1::REFUSAL_REASON_ANNUAL_CAP_REACHED);
  // The year is the signing year in China Standard Time.
  tv1::Deal new_year = MakeDeal();
  *new_year.mutable_contract()->mutable_signing_time() = At("2025-12-31T16:00:00Z");
  EXPECT_THAT(Decide(MakeProgramme(), new_year, 0, kPlenty, false).refusal.message,
              HasSubstr("2026"));
}

TEST(FundDecideTest, NothingDueWhenTheBandsGiveZero) {
  v1::Programme p = MakeProgramme();
  p.mutable_rules()->clear_bands();
  *p.mutable_rules()->add_bands() = Band(0, 0);
  *p.mutable_rules()->add_bands() = Band(1'000'000 * kYuan, 1000);
  Decision d = Decide(p, MakeDeal(500'000 * kYuan), kPlenty, kPlenty, false);
  EXPECT_EQ(d.status, v1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(d.refusal.reason, v1::REFUSAL_REASON_NOTHING_DUE);
  // Nothing due takes precedence over an exhausted budget or cap.
  d = Decide(p, MakeDeal(500'000 * kYuan), 0, 0, false);
  EXPECT_EQ(d.refusal.reason, v1::REFUSAL_REASON_NOTHING_DUE);
  // Tiny rate rounding to zero fen.
  v1::Programme tiny = MakeProgramme();
  tiny.mutable_rules()->set_min_contract_value_minor(0);
  tiny.mutable_rules()->clear_bands();
  *tiny.mutable_rules()->add_bands() = Band(0, 1);
  EXPECT_EQ(Decide(tiny, MakeDeal(9'999), kPlenty, kPlenty, false).refusal.reason,
            v1::REFUSAL_REASON_NOTHING_DUE);
  EXPECT_EQ(Decide(tiny, MakeDeal(10'000), kPlenty, kPlenty, false).status,
            v1::APPLICATION_STATUS_APPROVED);
}

TEST(FundDecideTest, IneligibleDealsAreRejectedWithTheirRefusal) {
  tv1::Deal d = MakeDeal();
  d.mutable_buyer()->set_kind(reg::ORGANIZATION_KIND_UNIVERSITY);
  const Decision decision = Decide(MakeProgramme(), d, kPlenty, kPlenty, true);
  EXPECT_EQ(decision.status, v1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(decision.refusal.reason, v1::REFUSAL_REASON_BUYER_KIND);
  EXPECT_EQ(decision.calculation.amount_minor(), 0);
}

// ============================== DueDisbursements ==============================

v1::ProgrammeRules Plan(const std::vector<std::pair<v1::TrancheTrigger, int32_t>>& plan) {
  v1::ProgrammeRules r = MakeRules();
  SetTranches(r, plan);
  return r;
}

TEST(FundDueDisbursementsTest, ThirtySeventyPlanAddsUpExactly) {
  const v1::ProgrammeRules rules = MakeRules();  // 30% signing, 70% completion
  v1::Application a = MakeApplication(1'234'567);
  tv1::Deal d = MakeDeal(50'000'000, tv1::DEAL_STATE_SIGNED);

  std::vector<v1::Disbursement> due = DueDisbursements(rules, a, d, kNow);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].tranche(), "signing");
  EXPECT_EQ(due[0].trigger(), v1::TRANCHE_TRIGGER_SIGNING);
  EXPECT_EQ(due[0].amount_minor(), 370'370);  // floor(370370.1)
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(due[0].time()), absl::ToUnixMicros(kNow));
  Record(a, due);
  EXPECT_THAT(DueDisbursements(rules, a, d, kNow), IsEmpty());  // asked again: nothing

  // Milestones accepted: the plan has no milestone tranche.
  d.set_state(tv1::DEAL_STATE_IN_PERFORMANCE);
  d.mutable_milestones(0)->set_state(tv1::MILESTONE_STATE_PAID);
  EXPECT_THAT(DueDisbursements(rules, a, d, kNow), IsEmpty());

  d.set_state(tv1::DEAL_STATE_COMPLETED);
  d.mutable_milestones(1)->set_state(tv1::MILESTONE_STATE_PAID);
  due = DueDisbursements(rules, a, d, kNow);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].tranche(), "completion");
  EXPECT_EQ(due[0].trigger(), v1::TRANCHE_TRIGGER_COMPLETION);
  EXPECT_EQ(due[0].amount_minor(), 864'197);
  Record(a, due);
  EXPECT_EQ(a.disbursed_minor(), 1'234'567);
  EXPECT_EQ(ReservedFor(a), 0);
  EXPECT_THAT(DueDisbursements(rules, a, d, kNow), IsEmpty());
}

TEST(FundDueDisbursementsTest, ACompletedDealPaysEverythingAtOnceInOrder) {
  const v1::ProgrammeRules rules = MakeRules();
  const v1::Application a = MakeApplication(1'234'567);
  tv1::Deal d = MakeDeal(50'000'000, tv1::DEAL_STATE_COMPLETED);
  SetMilestones(d, {15'000'000, 35'000'000}, tv1::MILESTONE_STATE_PAID);
  const std::vector<v1::Disbursement> due = DueDisbursements(rules, a, d, kNow);
  EXPECT_THAT(Summary(due), ElementsAre(Pair("signing", 370'370), Pair("completion", 864'197)));
  EXPECT_EQ(Sum(due), 1'234'567);
}

TEST(FundDueDisbursementsTest, MilestoneShareSplitsInProportionToUnevenAmounts) {
  // 10% signing, 60% over the milestones, 30% at completion.
  const v1::ProgrammeRules rules = Plan({{v1::TRANCHE_TRIGGER_SIGNING, 1000},
                                         {v1::TRANCHE_TRIGGER_MILESTONES, 6000},
                                         {v1::TRANCHE_TRIGGER_COMPLETION, 3000}});
  v1::Application a = MakeApplication(1'234'567);
  tv1::Deal d = MakeDeal(20'000);
  SetMilestones(d, {3'333, 5'000, 11'667});  // 16.665%, 25%, 58.335% of the price

  std::vector<v1::Disbursement> due = DueDisbursements(rules, a, d, kNow);
  EXPECT_THAT(Summary(due), ElementsAre(Pair("signing", 123'456)));  // floor(123456.7)
  Record(a, due);

  // The pool is floor(1234567 × 60%) = 740740; each milestone gets its part, rounded down.
  d.set_state(tv1::DEAL_STATE_IN_PERFORMANCE);
  d.mutable_milestones(0)->set_state(tv1::MILESTONE_STATE_DELIVERED);
  EXPECT_THAT(DueDisbursements(rules, a, d, kNow), IsEmpty());  // delivered is not accepted
  d.mutable_milestones(0)->set_state(tv1::MILESTONE_STATE_ACCEPTED);
  due = DueDisbursements(rules, a, d, kNow);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].tranche(), "milestone-1");
  EXPECT_EQ(due[0].trigger(), v1::TRANCHE_TRIGGER_MILESTONES);
  EXPECT_EQ(due[0].amount_minor(), 123'444);  // floor(740740 × 3333 / 20000) = floor(123444.321)
  Record(a, due);

  d.mutable_milestones(0)->set_state(tv1::MILESTONE_STATE_PAID);  // paid: not due again
  d.mutable_milestones(1)->set_state(tv1::MILESTONE_STATE_ACCEPTED);
  due = DueDisbursements(rules, a, d, kNow);
  EXPECT_THAT(Summary(due), ElementsAre(Pair("milestone-2", 185'185)));  // exactly 25%
  Record(a, due);

  d.mutable_milestones(1)->set_state(tv1::MILESTONE_STATE_PAID);
  d.mutable_milestones(2)->set_state(tv1::MILESTONE_STATE_ACCEPTED);
  due = DueDisbursements(rules, a, d, kNow);
  EXPECT_THAT(Summary(due), ElementsAre(Pair("milestone-3", 432'110)));  // floor(432110.679)
  Record(a, due);

  // Completion: 30% plus the fen the milestone rounding left over.
  d.mutable_milestones(2)->set_state(tv1::MILESTONE_STATE_PAID);
  d.set_state(tv1::DEAL_STATE_COMPLETED);
  due = DueDisbursements(rules, a, d, kNow);
  EXPECT_THAT(Summary(due), ElementsAre(Pair("completion", 370'372)));
  Record(a, due);
  EXPECT_EQ(a.disbursed_minor(), 1'234'567);
  EXPECT_THAT(DueDisbursements(rules, a, d, kNow), IsEmpty());
}

TEST(FundDueDisbursementsTest, OrderIsSigningThenMilestonesByIndexThenCompletion) {
  const v1::ProgrammeRules rules = Plan({{v1::TRANCHE_TRIGGER_COMPLETION, 3000},
                                         {v1::TRANCHE_TRIGGER_MILESTONES, 5000},
                                         {v1::TRANCHE_TRIGGER_SIGNING, 2000}});
  const v1::Application a = MakeApplication(1'000'000);
  tv1::Deal d = MakeDeal(60'000, tv1::DEAL_STATE_COMPLETED);
  SetMilestones(d, {10'000, 20'000, 30'000}, tv1::MILESTONE_STATE_PAID);
  const std::vector<v1::Disbursement> due = DueDisbursements(rules, a, d, kNow);
  EXPECT_THAT(Summary(due), ElementsAre(Pair("signing", 200'000), Pair("milestone-1", 83'333),
                                        Pair("milestone-2", 166'666), Pair("milestone-3", 250'000),
                                        Pair("completion", 300'001)));
  ASSERT_EQ(due.size(), 5u);
  EXPECT_EQ(due[0].trigger(), v1::TRANCHE_TRIGGER_SIGNING);
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(due[i].trigger(), v1::TRANCHE_TRIGGER_MILESTONES);
  EXPECT_EQ(due[4].trigger(), v1::TRANCHE_TRIGGER_COMPLETION);
  EXPECT_EQ(Sum(due), 1'000'000);
}

TEST(FundDueDisbursementsTest, PaidMilestonesCountLikeAccepted) {
  const v1::ProgrammeRules rules =
      Plan({{v1::TRANCHE_TRIGGER_MILESTONES, 8000}, {v1::TRANCHE_TRIGGER_COMPLETION, 2000}});
  const v1::Application a = MakeApplication(100'000);
  tv1::Deal d = MakeDeal(40'000, tv1::DEAL_STATE_IN_PERFORMANCE);
  SetMilestones(d, {10'000, 10'000, 10'000, 10'000});
  d.mutable_milestones(0)->set_state(tv1::MILESTONE_STATE_PAID);
  d.mutable_milestones(1)->set_state(tv1::MILESTONE_STATE_ACCEPTED);
  d.mutable_milestones(2)->set_state(tv1::MILESTONE_STATE_DELIVERED);
  d.mutable_milestones(3)->set_state(tv1::MILESTONE_STATE_PENDING);
  EXPECT_THAT(Summary(DueDisbursements(rules, a, d, kNow)),
              ElementsAre(Pair("milestone-1", 20'000), Pair("milestone-2", 20'000)));
}

TEST(FundDueDisbursementsTest, NothingForApplicationsNotApproved) {
  tv1::Deal d = MakeDeal(50'000'000, tv1::DEAL_STATE_COMPLETED);
  SetMilestones(d, {15'000'000, 35'000'000}, tv1::MILESTONE_STATE_PAID);
  for (v1::ApplicationStatus status :
       {v1::APPLICATION_STATUS_UNSPECIFIED, v1::APPLICATION_STATUS_PENDING_REVIEW,
        v1::APPLICATION_STATUS_REJECTED, v1::APPLICATION_STATUS_COMPLETED,
        v1::APPLICATION_STATUS_CANCELLED}) {
    EXPECT_THAT(DueDisbursements(MakeRules(), MakeApplication(1'000'000, status), d, kNow),
                IsEmpty())
        << v1::ApplicationStatus_Name(status);
  }
}

TEST(FundDueDisbursementsTest, NothingForDealsNotStanding) {
  for (tv1::DealState state :
       {tv1::DEAL_STATE_UNSPECIFIED, tv1::DEAL_STATE_OPEN, tv1::DEAL_STATE_NEGOTIATING,
        tv1::DEAL_STATE_AGREED, tv1::DEAL_STATE_CANCELLED, tv1::DEAL_STATE_DISPUTED}) {
    tv1::Deal d = MakeDeal(50'000'000, state);
    SetMilestones(d, {15'000'000, 35'000'000}, tv1::MILESTONE_STATE_ACCEPTED);
    const v1::ProgrammeRules rules = Plan({{v1::TRANCHE_TRIGGER_SIGNING, 2000},
                                           {v1::TRANCHE_TRIGGER_MILESTONES, 5000},
                                           {v1::TRANCHE_TRIGGER_COMPLETION, 3000}});
    EXPECT_THAT(DueDisbursements(rules, MakeApplication(1'000'000), d, kNow), IsEmpty())
        << tv1::DealState_Name(state);
  }
}

TEST(FundDueDisbursementsTest, AlreadyPaidTranchesAreNotDueAgain) {
  const v1::ProgrammeRules rules = Plan({{v1::TRANCHE_TRIGGER_SIGNING, 2000},
                                         {v1::TRANCHE_TRIGGER_MILESTONES, 5000},
                                         {v1::TRANCHE_TRIGGER_COMPLETION, 3000}});
  v1::Application a = MakeApplication(1'000'000);
  tv1::Deal d = MakeDeal(60'000, tv1::DEAL_STATE_IN_PERFORMANCE);
  SetMilestones(d, {10'000, 20'000, 30'000});
  d.mutable_milestones(0)->set_state(tv1::MILESTONE_STATE_PAID);
  d.mutable_milestones(1)->set_state(tv1::MILESTONE_STATE_ACCEPTED);
  // Signing and milestone 1 went out before.
  std::vector<v1::Disbursement> before(2);
  before[0].set_tranche("signing");
  before[0].set_trigger(v1::TRANCHE_TRIGGER_SIGNING);
  before[0].set_amount_minor(200'000);
  before[1].set_tranche("milestone-1");
  before[1].set_trigger(v1::TRANCHE_TRIGGER_MILESTONES);
  before[1].set_amount_minor(83'333);
  Record(a, before);
  EXPECT_THAT(Summary(DueDisbursements(rules, a, d, kNow)),
              ElementsAre(Pair("milestone-2", 166'666)));
  // Everything paid but completion; the deal completes: completion only, with the rest.
  d.set_state(tv1::DEAL_STATE_COMPLETED);
  for (tv1::Milestone& m : *d.mutable_milestones()) m.set_state(tv1::MILESTONE_STATE_PAID);
  std::vector<v1::Disbursement> more(2);
  more[0].set_tranche("milestone-2");
  more[0].set_amount_minor(166'666);
  more[1].set_tranche("milestone-3");
  more[1].set_amount_minor(250'000);
  Record(a, more);
  EXPECT_THAT(Summary(DueDisbursements(rules, a, d, kNow)),
              ElementsAre(Pair("completion", 300'001)));
}

TEST(FundDueDisbursementsTest, NeverMoreThanIsStillReserved) {
  const v1::ProgrammeRules rules = Plan({{v1::TRANCHE_TRIGGER_SIGNING, 3000},
                                         {v1::TRANCHE_TRIGGER_MILESTONES, 6000},
                                         {v1::TRANCHE_TRIGGER_COMPLETION, 1000}});
  // 950 of 1000 went out as the signing tranche (say, under an earlier plan): 50 remain.
  v1::Application a = MakeApplication(1000);
  v1::Disbursement signing;
  signing.set_tranche("signing");
  signing.set_amount_minor(950);
  Record(a, {signing});
  tv1::Deal d = MakeDeal(100, tv1::DEAL_STATE_COMPLETED);
  SetMilestones(d, {50, 50}, tv1::MILESTONE_STATE_PAID);
  std::vector<v1::Disbursement> due = DueDisbursements(rules, a, d, kNow);
  EXPECT_THAT(Summary(due), ElementsAre(Pair("milestone-1", 50)));  // 300 due, 50 reserved
  EXPECT_EQ(Sum(due), ReservedFor(a));

  // Part of the reservation was released: only the rest can be paid.
  v1::Application released = MakeApplication(1000);
  released.set_released_minor(900);
  tv1::Deal signed_deal = MakeDeal(100, tv1::DEAL_STATE_SIGNED);
  EXPECT_THAT(Summary(DueDisbursements(rules, released, signed_deal, kNow)),
              ElementsAre(Pair("signing", 100)));

  // Nothing reserved: nothing due, and never a negative amount.
  v1::Application overdrawn = MakeApplication(1000);
  overdrawn.set_disbursed_minor(1200);
  EXPECT_THAT(DueDisbursements(rules, overdrawn, d, kNow), IsEmpty());
}

TEST(FundDueDisbursementsTest, APlanWithoutCompletionStillPaysTheRemainderAtCompletion) {
  // 30% signing, 70% over three equal milestones: 700000 / 3 leaves a fen per milestone.
  const v1::ProgrammeRules rules =
      Plan({{v1::TRANCHE_TRIGGER_SIGNING, 3000}, {v1::TRANCHE_TRIGGER_MILESTONES, 7000}});
  v1::Application a = MakeApplication(1'000'001);
  tv1::Deal d = MakeDeal(300, tv1::DEAL_STATE_IN_PERFORMANCE);
  SetMilestones(d, {100, 100, 100}, tv1::MILESTONE_STATE_PAID);
  std::vector<v1::Disbursement> due = DueDisbursements(rules, a, d, kNow);
  EXPECT_THAT(Summary(due),
              ElementsAre(Pair("signing", 300'000), Pair("milestone-1", 233'333),
                          Pair("milestone-2", 233'333), Pair("milestone-3", 233'333)));
  Record(a, due);
  d.set_state(tv1::DEAL_STATE_COMPLETED);
  due = DueDisbursements(rules, a, d, kNow);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].tranche(), "completion");
  EXPECT_EQ(due[0].trigger(), v1::TRANCHE_TRIGGER_COMPLETION);
  EXPECT_EQ(due[0].amount_minor(), 2);
  Record(a, due);
  EXPECT_EQ(a.disbursed_minor(), 1'000'001);
}

TEST(FundDueDisbursementsTest, NoZeroTranches) {
  // Everything at signing: completion has nothing left and is not listed.
  const v1::ProgrammeRules all_at_signing = Plan({{v1::TRANCHE_TRIGGER_SIGNING, 10000}});
  tv1::Deal completed = MakeDeal(100, tv1::DEAL_STATE_COMPLETED);
  SetMilestones(completed, {100}, tv1::MILESTONE_STATE_PAID);
  EXPECT_THAT(Summary(DueDisbursements(all_at_signing, MakeApplication(999), completed, kNow)),
              ElementsAre(Pair("signing", 999)));
  // Everything at completion: nothing at signing.
  const v1::ProgrammeRules all_at_completion = Plan({{v1::TRANCHE_TRIGGER_COMPLETION, 10000}});
  EXPECT_THAT(DueDisbursements(all_at_completion, MakeApplication(999), MakeDeal(100), kNow),
              IsEmpty());
  // A 1-fen application with a 30% signing share: signing rounds to 0 and is skipped.
  EXPECT_THAT(DueDisbursements(MakeRules(), MakeApplication(1), MakeDeal(100), kNow), IsEmpty());
  EXPECT_THAT(Summary(DueDisbursements(MakeRules(), MakeApplication(1), completed, kNow)),
              ElementsAre(Pair("completion", 1)));
  // A tiny milestone whose share rounds to 0 is skipped.
  const v1::ProgrammeRules milestones =
      Plan({{v1::TRANCHE_TRIGGER_MILESTONES, 9000}, {v1::TRANCHE_TRIGGER_COMPLETION, 1000}});
  tv1::Deal lopsided = MakeDeal(1'000'001, tv1::DEAL_STATE_IN_PERFORMANCE);
  SetMilestones(lopsided, {1, 1'000'000}, tv1::MILESTONE_STATE_ACCEPTED);
  EXPECT_THAT(Summary(DueDisbursements(milestones, MakeApplication(100), lopsided, kNow)),
              ElementsAre(Pair("milestone-2", 89)));  // 90 × 1000000 / 1000001 = 89.99
}

TEST(FundDueDisbursementsTest, MilestoneShareWithoutMilestonesGoesToCompletion) {
  const v1::ProgrammeRules rules =
      Plan({{v1::TRANCHE_TRIGGER_SIGNING, 5000}, {v1::TRANCHE_TRIGGER_MILESTONES, 5000}});
  tv1::Deal d = MakeDeal(100, tv1::DEAL_STATE_COMPLETED);
  d.clear_milestones();
  EXPECT_THAT(Summary(DueDisbursements(rules, MakeApplication(1001), d, kNow)),
              ElementsAre(Pair("signing", 500), Pair("completion", 501)));
}

TEST(FundDueDisbursementsTest, HugeAmountsDoNotOverflow) {
  const v1::ProgrammeRules rules = Plan({{v1::TRANCHE_TRIGGER_SIGNING, 3333},
                                         {v1::TRANCHE_TRIGGER_MILESTONES, 3333},
                                         {v1::TRANCHE_TRIGGER_COMPLETION, 3334}});
  const int64_t approved = 9'000'000'000'000'000;
  tv1::Deal d = MakeDeal(approved, tv1::DEAL_STATE_COMPLETED);
  SetMilestones(d, {3'000'000'000'000'000, 6'000'000'000'000'000}, tv1::MILESTONE_STATE_PAID);
  const std::vector<v1::Disbursement> due =
      DueDisbursements(rules, MakeApplication(approved), d, kNow);
  EXPECT_THAT(Summary(due), ElementsAre(Pair("signing", 2'999'700'000'000'000),
                                        Pair("milestone-1", 999'900'000'000'000),
                                        Pair("milestone-2", 1'999'800'000'000'000),
                                        Pair("completion", 3'000'600'000'000'000)));
  EXPECT_EQ(Sum(due), approved);
}

// Property: for many random approved amounts, plans and milestone splits, a deal's tranches as it
// performs (milestones accepted in any order, the application recording each payment) are never
// negative, never repeat, follow the plan's rounding, and add up to the approved amount exactly
// when the deal completes.
TEST(FundTranchePropertyTest, TranchesOfACompletedDealAddUpExactly) {
  std::mt19937_64 rng(20260301);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const v1::TrancheTrigger triggers[] = {
      v1::TRANCHE_TRIGGER_SIGNING, v1::TRANCHE_TRIGGER_MILESTONES, v1::TRANCHE_TRIGGER_COMPLETION};
  for (int round = 0; round < 3000; ++round) {
    // A valid plan: a non-empty subset of triggers whose shares sum to 10000.
    std::vector<v1::TrancheTrigger> chosen;
    const int mask = static_cast<int>(uniform(1, 7));
    for (int i = 0; i < 3; ++i) {
      if (mask & (1 << i)) chosen.push_back(triggers[i]);
    }
    std::vector<std::pair<v1::TrancheTrigger, int32_t>> plan;
    int32_t left = kBpsWhole;
    for (size_t i = 0; i < chosen.size(); ++i) {
      const int32_t share = i + 1 == chosen.size()
                                ? left
                                : static_cast<int32_t>(uniform(
                                      1, left - static_cast<int32_t>(chosen.size() - i - 1)));
      plan.emplace_back(chosen[i], share);
      left -= share;
    }
    std::shuffle(plan.begin(), plan.end(), rng);
    const v1::ProgrammeRules rules = Plan(plan);
    v1::CreateProgrammeRequest request = MakeRequest();
    *request.mutable_rules() = rules;
    ASSERT_TRUE(ValidateCreateProgramme(request).ok()) << ValidateCreateProgramme(request);
    int32_t signing_bps = 0, milestones_bps = 0;
    for (const auto& [trigger, share] : plan) {
      if (trigger == v1::TRANCHE_TRIGGER_SIGNING) signing_bps = share;
      if (trigger == v1::TRANCHE_TRIGGER_MILESTONES) milestones_bps = share;
    }

    const int64_t approved = round % 3 == 0   ? uniform(1, 1000)
                             : round % 3 == 1 ? uniform(1, 50'000'000 * kYuan)
                                              : uniform(1, 4'000'000'000'000'000);
    std::vector<int64_t> amounts(static_cast<size_t>(uniform(1, 8)));
    int64_t price = 0;
    for (int64_t& m : amounts) {
      m = round % 2 == 0 ? uniform(1, 1000) : uniform(1, 1'000'000'000'000);
      price += m;
    }
    tv1::Deal d = MakeDeal(price, tv1::DEAL_STATE_SIGNED);
    SetMilestones(d, amounts);
    v1::Application a = MakeApplication(approved);
    const int64_t pool =
        static_cast<int64_t>(static_cast<__int128>(approved) * milestones_bps / kBpsWhole);
    std::set<std::string> seen;
    auto step = [&](const char* when) {
      const std::vector<v1::Disbursement> due = DueDisbursements(rules, a, d, kNow);
      int last_milestone = 0;
      for (const v1::Disbursement& t : due) {
        EXPECT_GT(t.amount_minor(), 0) << when << " " << t.tranche();
        EXPECT_TRUE(seen.insert(t.tranche()).second) << "paid twice: " << t.tranche();
        if (t.tranche() == "signing") {
          EXPECT_EQ(t.trigger(), v1::TRANCHE_TRIGGER_SIGNING);
          EXPECT_EQ(t.amount_minor(), static_cast<int64_t>(static_cast<__int128>(approved) *
                                                           signing_bps / kBpsWhole));
        } else if (t.tranche() == "completion") {
          EXPECT_EQ(t.trigger(), v1::TRANCHE_TRIGGER_COMPLETION);
          EXPECT_EQ(&t, &due.back()) << "completion comes last";
        } else {
          EXPECT_EQ(t.trigger(), v1::TRANCHE_TRIGGER_MILESTONES) << t.tranche();
          const int index = std::stoi(t.tranche().substr(std::string("milestone-").size()));
          EXPECT_GT(index, last_milestone) << "milestones by index";
          last_milestone = index;
          EXPECT_EQ(t.amount_minor(),
                    static_cast<int64_t>(static_cast<__int128>(pool) *
                                         amounts[static_cast<size_t>(index - 1)] / price));
        }
      }
      Record(a, due);
      EXPECT_LE(a.disbursed_minor(), approved) << when;
      EXPECT_GE(ReservedFor(a), 0) << when;
    };
    step("signed");
    std::vector<int> order(amounts.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::shuffle(order.begin(), order.end(), rng);
    d.set_state(tv1::DEAL_STATE_IN_PERFORMANCE);
    for (int i : order) {
      d.mutable_milestones(i)->set_state(uniform(0, 1) == 0 ? tv1::MILESTONE_STATE_ACCEPTED
                                                            : tv1::MILESTONE_STATE_PAID);
      if (uniform(0, 2) == 0) step("milestone accepted");
    }
    step("all milestones accepted");
    d.set_state(tv1::DEAL_STATE_COMPLETED);
    step("completed");
    EXPECT_EQ(a.disbursed_minor(), approved)
        << "round " << round << " approved " << approved << " plan " << plan.size();
    EXPECT_EQ(ReservedFor(a), 0);
    EXPECT_THAT(DueDisbursements(rules, a, d, kNow), IsEmpty());
    if (HasFailure()) break;  // one counterexample is enough
  }
}

// Property: the tiered amount agrees with a band-by-band reference, never falls as the value
// rises, never exceeds the value; the calculated amount is the least of the four bounds.
TEST(FundTieredPropertyTest, AgreesWithAReferenceAndIsMonotonic) {
  std::mt19937_64 rng(42);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int round = 0; round < 500; ++round) {
    const int n = static_cast<int>(uniform(1, kMaxBands));
    std::vector<v1::SubsidyBand> bands;
    int64_t edge = 0;
    for (int i = 0; i < n; ++i) {
      bands.push_back(Band(edge, static_cast<int32_t>(uniform(0, kBpsWhole))));
      edge += uniform(1, round % 2 == 0 ? 1000 : 1'000'000'000'000);
    }
    v1::ProgrammeRules rules = BandsOnly(bands);
    rules.set_per_deal_cap_minor(uniform(1, 1'000'000'000'000));
    auto reference = [&](int64_t value) {
      __int128 sum = 0;
      for (size_t i = 0; i < bands.size(); ++i) {
        const __int128 lo = bands[i].from_minor();
        const __int128 hi = i + 1 < bands.size() ? bands[i + 1].from_minor() : value;
        const __int128 part = std::max<__int128>(0, std::min<__int128>(value, hi) - lo);
        sum += part * bands[i].rate_bps();
      }
      return static_cast<int64_t>(sum / kBpsWhole);
    };
    std::vector<int64_t> values = {0, 1, edge, edge * 2};
    for (const v1::SubsidyBand& b : bands) {
      for (int64_t delta : {-1, 0, 1})
        values.push_back(std::max<int64_t>(0, b.from_minor() + delta));
    }
    for (int i = 0; i < 20; ++i) values.push_back(uniform(0, edge * 2));
    for (int64_t v : values) {
      const int64_t t = TieredAmount(rules, v);
      ASSERT_EQ(t, reference(v)) << "round " << round << " value " << v;
      EXPECT_GE(t, 0);
      EXPECT_LE(t, v);
      EXPECT_LE(TieredAmount(rules, v), TieredAmount(rules, v + 1)) << v;
      const int64_t annual = uniform(-1000, 1'000'000'000'000);
      const int64_t available = uniform(-1000, 1'000'000'000'000);
      const v1::Calculation c = Calculate(rules, v, annual, available);
      const int64_t least = std::min({t, rules.per_deal_cap_minor(), std::max<int64_t>(annual, 0),
                                      std::max<int64_t>(available, 0)});
      EXPECT_EQ(c.amount_minor(), least);
      const std::vector<std::pair<int64_t, std::string>> order = {
          {t, "tiered rate"},
          {rules.per_deal_cap_minor(), "per-deal cap"},
          {std::max<int64_t>(annual, 0), "annual cap"},
          {std::max<int64_t>(available, 0), "budget"}};
      for (const auto& [bound, name] : order) {
        if (bound == least) {
          EXPECT_EQ(c.limited_by(), name);
          break;
        }
      }
    }
    if (HasFailure()) break;
  }
}

// ============================== UnwindOnCancellation ==============================

TEST(FundUnwindTest, ReleasesWhatIsStillReserved) {
  v1::ProgrammeRules rules = MakeRules();
  rules.set_claw_back_on_cancellation(false);
  v1::Application a = MakeApplication(1'234'567);
  Unwinding u = UnwindOnCancellation(rules, a);
  EXPECT_EQ(u.release_minor, 1'234'567);
  EXPECT_EQ(u.clawback_minor, 0);
  a.set_disbursed_minor(370'370);
  u = UnwindOnCancellation(rules, a);
  EXPECT_EQ(u.release_minor, 864'197);
  EXPECT_EQ(u.clawback_minor, 0);  // the rules do not claw back
  a.set_released_minor(64'197);    // part released before
  EXPECT_EQ(UnwindOnCancellation(rules, a).release_minor, 800'000);
  a.set_released_minor(864'197);
  EXPECT_EQ(UnwindOnCancellation(rules, a).release_minor, 0);
  a.set_released_minor(900'000);  // inconsistent: never a negative release
  EXPECT_EQ(UnwindOnCancellation(rules, a).release_minor, 0);
}

TEST(FundUnwindTest, ClawsBackWhatWentOutNetOfEarlierClawbacks) {
  const v1::ProgrammeRules rules = MakeRules();  // claws back
  v1::Application a = MakeApplication(1'000'000);
  a.set_disbursed_minor(300'000);
  Unwinding u = UnwindOnCancellation(rules, a);
  EXPECT_EQ(u.release_minor, 700'000);
  EXPECT_EQ(u.clawback_minor, 300'000);
  a.set_clawed_back_minor(100'000);
  u = UnwindOnCancellation(rules, a);
  EXPECT_EQ(u.clawback_minor, 200'000);
  a.set_clawed_back_minor(300'000);
  EXPECT_EQ(UnwindOnCancellation(rules, a).clawback_minor, 0);
  a.set_clawed_back_minor(400'000);  // never negative
  EXPECT_EQ(UnwindOnCancellation(rules, a).clawback_minor, 0);
  // Nothing paid, nothing to claw back.
  u = UnwindOnCancellation(rules, MakeApplication(1'000'000));
  EXPECT_EQ(u.release_minor, 1'000'000);
  EXPECT_EQ(u.clawback_minor, 0);
  // Everything paid: nothing to release, all to claw back.
  v1::Application paid = MakeApplication(1'000'000);
  paid.set_disbursed_minor(1'000'000);
  u = UnwindOnCancellation(rules, paid);
  EXPECT_EQ(u.release_minor, 0);
  EXPECT_EQ(u.clawback_minor, 1'000'000);
}

TEST(FundUnwindTest, AFullyPaidApplicationIsClawedBack) {
  // Paid in full before the deal completed (e.g. 100 % at signing), then the deal is cancelled.
  v1::Application a = MakeApplication(1'000'000, v1::APPLICATION_STATUS_COMPLETED);
  a.set_disbursed_minor(1'000'000);
  Unwinding u = UnwindOnCancellation(MakeRules(), a);
  EXPECT_EQ(u.release_minor, 0);
  EXPECT_EQ(u.clawback_minor, 1'000'000);
}

TEST(FundUnwindTest, NothingForApplicationsNeverApproved) {
  for (v1::ApplicationStatus status :
       {v1::APPLICATION_STATUS_UNSPECIFIED, v1::APPLICATION_STATUS_PENDING_REVIEW,
        v1::APPLICATION_STATUS_REJECTED, v1::APPLICATION_STATUS_CANCELLED}) {
    v1::Application a = MakeApplication(1'000'000, status);
    a.set_disbursed_minor(300'000);
    const Unwinding u = UnwindOnCancellation(MakeRules(), a);
    EXPECT_EQ(u.release_minor, 0) << v1::ApplicationStatus_Name(status);
    EXPECT_EQ(u.clawback_minor, 0) << v1::ApplicationStatus_Name(status);
  }
}

TEST(FundUnwindTest, ReservedFor) {
  v1::Application a = MakeApplication(1000);
  EXPECT_EQ(ReservedFor(a), 1000);
  a.set_disbursed_minor(300);
  a.set_released_minor(200);
  a.set_clawed_back_minor(300);  // clawbacks do not restore the reservation
  EXPECT_EQ(ReservedFor(a), 500);
}

// ============================== Leverage ==============================

TEST(FundLeverageTest, ContractValuePerUnitOfSubsidy) {
  EXPECT_EQ(Leverage(1'000'000, 0), 0.0);
  EXPECT_EQ(Leverage(0, 0), 0.0);
  EXPECT_EQ(Leverage(1'000'000, -5), 0.0);
  EXPECT_DOUBLE_EQ(Leverage(1'000'000, 100'000), 10.0);
  EXPECT_DOUBLE_EQ(Leverage(1'000'000, 300'000), 10.0 / 3.0);
  EXPECT_DOUBLE_EQ(Leverage(0, 100), 0.0);
}

}  // namespace
}  // namespace techtrade::fund
