// The fund's pure rules for a signed deal: how the fund reads a deal, the year of signing,
// eligibility and the decision on an application.
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
  // Without eligible_seller_kinds the seller's kind is irrelevant.
  tv1::Deal seller_enterprise = MakeDeal();
  seller_enterprise.mutable_seller()->set_kind(reg::ORGANIZATION_KIND_GOVERNMENT);
  EXPECT_FALSE(Ineligibility(MakeProgramme(), seller_enterprise).has_value());
}

TEST(FundEligibilityTest, SellerKindsWhenTheProgrammeNamesThem) {
  v1::Programme p = MakeProgramme();
  p.mutable_rules()->add_eligible_seller_kinds(reg::ORGANIZATION_KIND_UNIVERSITY);
  p.mutable_rules()->add_eligible_seller_kinds(reg::ORGANIZATION_KIND_RESEARCH_INSTITUTE);
  for (int kind = 0; kind <= 7; ++kind) {
    tv1::Deal d = MakeDeal();
    d.mutable_seller()->set_kind(static_cast<reg::OrganizationKind>(kind));
    const std::optional<Refusal> r = Ineligibility(p, d);
    const bool admitted = kind == reg::ORGANIZATION_KIND_UNIVERSITY ||
                          kind == reg::ORGANIZATION_KIND_RESEARCH_INSTITUTE;
    EXPECT_EQ(!r.has_value(), admitted) << kind;
    if (r.has_value()) {
      EXPECT_EQ(r->reason, v1::REFUSAL_REASON_SELLER_KIND) << kind;
      EXPECT_THAT(r->message, HasSubstr("seller kind"));
    }
  }
  // The same rule for awards without an application, measured by the registration.
  tv1::Deal registered = RegisteredDeal("d1", 100'000'00);
  registered.mutable_seller()->set_kind(reg::ORGANIZATION_KIND_ENTERPRISE);
  v1::Programme sanming = SanmingProgramme();
  sanming.mutable_rules()->add_eligible_seller_kinds(reg::ORGANIZATION_KIND_UNIVERSITY);
  const std::optional<Refusal> r = RegisteredIneligibility(sanming, registered);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->reason, v1::REFUSAL_REASON_SELLER_KIND);
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

}  // namespace
}  // namespace techtrade::fund
