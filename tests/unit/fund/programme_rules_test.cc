// The fund's pure rules for programmes: request validation, progressive bands and the four
// bounds on an amount.
//
// The rounding rule throughout: every amount is integer minor units (fen) and rounds DOWN to the
// fen; the completion tranche pays whatever is still reserved, so the tranches of an application
// add up to its approved amount exactly.

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
#include "services/fund/domain/fund_rules.h"
#include "tests/unit/fund/fund_test_data.h"

namespace techtrade::fund {
namespace {

using namespace techtrade::fund::test;  // NOLINT: the shared test data
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::StartsWith;

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
      {"rules.eligible_seller_kinds[0]",
       [&](auto& r) { rules(r)->add_eligible_seller_kinds(reg::ORGANIZATION_KIND_UNSPECIFIED); }},
      {"rules.eligible_seller_kinds[1]",
       [&](auto& r) {
         rules(r)->add_eligible_seller_kinds(reg::ORGANIZATION_KIND_UNIVERSITY);
         rules(r)->add_eligible_seller_kinds(reg::ORGANIZATION_KIND_UNIVERSITY);
       }},
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

}  // namespace
}  // namespace techtrade::fund
