// Awards without an application at their edges: the Sanming programme's hand-worked table
// (docs/fund.md, "Awards without an application"), band edges crossed inside one contract, the
// telescoping of a year's awards, unit bands, and the caps.
#include "services/fund/domain/automatic_awards.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "services/fund/domain/application_transition.h"
#include "tests/unit/fund/fund_test_data.h"

namespace techtrade::fund::test {
namespace {

using ::testing::StartsWith;

TEST(AutomaticAwardTest, TheSanmingTableOfThreeContractsOfOneSeller) {
  const v1::AutomaticAward seller = SanmingSeller();
  const v1::AutomaticAward body = SanmingBody();
  struct Row {
    int64_t registered;
    int64_t seller_entitlement, seller_paid, body_paid;
  };
  const Row rows[] = {
      {60'000'37, 600'00, 600'00, 0},                      // 1 % of 60 000.37, rounded down
      {539'999'88, 2'900'00, 2'900'00, 0},                 // crosses 100 000.00 inside the contract
      {99'500'000'00, 101'100'00, 46'500'00, 30'000'00}};  // crosses 1 M; annual cap; 100 M reached
  int64_t cumulative = 0, seller_granted = 0, body_granted = 0;
  for (const Row& row : rows) {
    const AwardCalculation s = CalculateAward(seller, cumulative, row.registered, seller_granted);
    const AwardCalculation b = CalculateAward(body, cumulative, row.registered, body_granted);
    EXPECT_EQ(s.entitlement_minor, row.seller_entitlement) << row.registered;
    EXPECT_EQ(s.amount_minor, row.seller_paid) << row.registered;
    EXPECT_EQ(b.amount_minor, row.body_paid) << row.registered;
    cumulative += row.registered;
    seller_granted += s.amount_minor;
    body_granted += b.amount_minor;
  }
  EXPECT_EQ(cumulative, 100'100'000'25);
  EXPECT_EQ(seller_granted, 50'000'00);
  EXPECT_EQ(CalculateAward(seller, 0, 0, 0).amount_minor, 0);
  EXPECT_EQ(CalculateAward(seller, 60'000'37, 539'999'88, 600'00).limited_by, "bands");
  EXPECT_EQ(CalculateAward(seller, 600'000'25, 99'500'000'00, 3'500'00).limited_by, "annual cap");
}

TEST(AutomaticAwardTest, AContractCrossingAnEdgeIsPaidEachBandsRateForItsPart) {
  const v1::AutomaticAward a = SanmingSeller();
  // 99 999.99 → 100 000.01: 0.01 at 1 % and 0.01 at 0.5 % are 0.00015, but T(99 999.99) =
  // 999.9999 was paid as 999.99: the fen its rounding held back is paid now.
  EXPECT_EQ(CumulativeEntitlement(a, 99'999'99), 999'99);
  EXPECT_EQ(CalculateAward(a, 99'999'99, 2, 0).entitlement_minor, 1);
  EXPECT_EQ(CalculateAward(a, 100'000'01, 1, 0).entitlement_minor, 0);
  EXPECT_EQ(CumulativeEntitlement(a, 100'000'00), 1'000'00);
  EXPECT_EQ(CumulativeEntitlement(a, 100'000'00 + 200), 1'000'01);  // 2.00 at 0.5 %
  EXPECT_EQ(CumulativeEntitlement(a, 1'000'000'00), 1'000'00 + 4'500'00);
}

TEST(AutomaticAwardTest, AYearsAwardsTelescopeToTheEntitlementOnItsTotal) {
  const v1::AutomaticAward a = SanmingSeller();
  std::mt19937_64 random(7);
  for (int round = 0; round < 500; ++round) {
    int64_t cumulative = 0, paid = 0;
    const int n = 1 + static_cast<int>(random() % 30);
    for (int i = 0; i < n; ++i) {
      const int64_t value = 1 + static_cast<int64_t>(random() % 50'000'000'00);
      paid += CalculateAward(a, cumulative, value, 0).entitlement_minor;
      cumulative += value;
    }
    EXPECT_EQ(paid, CumulativeEntitlement(a, cumulative)) << "round " << round;
  }
}

TEST(AutomaticAwardTest, UnitBandsPayForFullUnitsOnly) {
  const v1::AutomaticAward body = SanmingBody();
  EXPECT_EQ(CumulativeEntitlement(body, 100'000'000'00 - 1), 0);
  EXPECT_EQ(CumulativeEntitlement(body, 100'000'000'00), 30'000'00);
  EXPECT_EQ(CumulativeEntitlement(body, 150'000'000'00 - 1), 30'000'00);
  EXPECT_EQ(CumulativeEntitlement(body, 150'000'000'00), 40'000'00);
  EXPECT_EQ(CumulativeEntitlement(body, 400'000'000'00), 90'000'00);
  // 110 000.00 by the bands, 100 000.00 by the annual cap.
  EXPECT_EQ(CumulativeEntitlement(body, 450'000'000'00), 100'000'00);
  const AwardCalculation c = CalculateAward(body, 0, 500'000'000'00, 0);
  EXPECT_EQ(c.entitlement_minor, 110'000'00);
  EXPECT_EQ(c.amount_minor, 100'000'00);
  EXPECT_EQ(c.limited_by, "annual cap");
  EXPECT_EQ(CalculateAward(body, 450'000'000'00, 50'000'000'00, 100'000'00).amount_minor, 0);
}

TEST(AutomaticAwardTest, APerDealCapBindsBeforeTheAnnualCap) {
  v1::AutomaticAward a = SanmingSeller();
  a.set_per_deal_cap_minor(2'000'00);
  AwardCalculation c = CalculateAward(a, 60'000'37, 539'999'88, 600'00);
  EXPECT_EQ(c.amount_minor, 2'000'00);
  EXPECT_EQ(c.limited_by, "per-deal cap");
  c = CalculateAward(a, 60'000'37, 539'999'88, 49'000'00);
  EXPECT_EQ(c.amount_minor, 1'000'00);
  EXPECT_EQ(c.limited_by, "annual cap");
}

TEST(AutomaticAwardTest, ValidationNamesTheField) {
  EXPECT_TRUE(ValidateAutomaticAward(SanmingSeller(), "a").ok());
  EXPECT_TRUE(ValidateAutomaticAward(SanmingBody(), "a").ok());
  v1::AutomaticAward a = SanmingSeller();
  a.set_beneficiary(v1::BENEFICIARY_UNSPECIFIED);
  EXPECT_THAT(std::string(ValidateAutomaticAward(a, "a").message()), StartsWith("a.beneficiary"));
  a = SanmingSeller();
  a.mutable_bands(0)->set_from_minor(1);
  EXPECT_THAT(std::string(ValidateAutomaticAward(a, "a").message()),
              StartsWith("a.bands[0].from_minor"));
  a = SanmingSeller();
  a.mutable_bands(2)->set_from_minor(100'000'00);
  EXPECT_THAT(std::string(ValidateAutomaticAward(a, "a").message()),
              StartsWith("a.bands[2].from_minor: edges ascend"));
  a = SanmingBody();
  a.mutable_bands(1)->set_rate_bps(5);
  EXPECT_THAT(std::string(ValidateAutomaticAward(a, "a").message()), StartsWith("a.bands[1]: "));
  a = SanmingBody();
  a.mutable_bands(1)->set_unit_minor(0);
  EXPECT_THAT(std::string(ValidateAutomaticAward(a, "a").message()),
              StartsWith("a.bands[1].unit_minor"));
  a.clear_bands();
  EXPECT_THAT(std::string(ValidateAutomaticAward(a, "a").message()), StartsWith("a.bands"));
}

// ---- Decisions (DecideAutomaticAward) ----

std::vector<std::string> Types(const ApplicationTransition& t) {
  std::vector<std::string> types;
  for (const auto& e : t.events()) types.push_back(e->GetDescriptor()->name());
  return types;
}

TEST(AutomaticAwardDecisionTest, ApprovesReservesAndPaysWhatTheDealMadeDue) {
  const v1::Programme p = SanmingProgramme();
  const tv1::Deal d = RegisteredDeal("d2", 539'999'88);
  const ApplicationTransition t =
      DecideAutomaticAward("award-1", p, SanmingSeller(), d, d.seller(), 60'000'37, 600'00,
                           /*payments_held=*/false, kNow);
  const v1::Application& a = t.application();
  EXPECT_EQ(a.status(), v1::APPLICATION_STATUS_COMPLETED);  // one tranche at signing: paid
  EXPECT_EQ(a.beneficiary(), v1::BENEFICIARY_SELLER);
  EXPECT_EQ(a.applicant().organization_id(), "seller-org");
  EXPECT_EQ(a.year(), 2026);
  EXPECT_EQ(a.award_basis().registration_number(), "350400d2");
  EXPECT_EQ(a.award_basis().cumulative_before_minor(), 60'000'37);
  EXPECT_EQ(a.award_basis().cumulative_after_minor(), 600'000'25);
  EXPECT_EQ(a.award_basis().entitlement_minor(), 2'900'00);
  EXPECT_EQ(a.approved_minor(), 2'900'00);
  EXPECT_EQ(a.disbursed_minor(), 2'900'00);
  EXPECT_EQ(a.calculation().limited_by(), "bands");
  EXPECT_THAT(Types(t), ::testing::ElementsAre("AutomaticAwardDecided", "TrancheDisbursed"));
  EXPECT_EQ(t.grant().delta_minor, 2'900'00);
  EXPECT_EQ(t.grant().cap_minor, 50'000'00);
}

TEST(AutomaticAwardDecisionTest, TheAnnualCapLeftBindsAndARowOfNothingStillCounts) {
  const v1::Programme p = SanmingProgramme();
  const tv1::Deal d = RegisteredDeal("d3", 99'500'000'00);
  const ApplicationTransition seller =
      DecideAutomaticAward("award-3", p, SanmingSeller(), d, d.seller(), 600'000'25, 3'500'00,
                           /*payments_held=*/false, kNow);
  EXPECT_EQ(seller.application().approved_minor(), 46'500'00);
  EXPECT_EQ(seller.application().calculation().limited_by(), "annual cap");
  // The body's first two contracts were worth nothing yet, but were counted.
  const tv1::Deal d1 = RegisteredDeal("d1", 60'000'37);
  const ApplicationTransition nothing =
      DecideAutomaticAward("award-1b", p, SanmingBody(), d1, d1.registration().body(), 0, 0,
                           /*payments_held=*/false, kNow);
  EXPECT_EQ(nothing.application().status(), v1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(nothing.application().refusal_reason(), v1::REFUSAL_REASON_NOTHING_DUE);
  EXPECT_EQ(nothing.application().award_basis().cumulative_after_minor(), 60'000'37);
  EXPECT_TRUE(nothing.postings().empty());
  // A cap used up: refused as such.
  const ApplicationTransition capped =
      DecideAutomaticAward("award-4", p, SanmingSeller(), d, d.seller(), 100'100'000'25, 50'000'00,
                           /*payments_held=*/false, kNow);
  EXPECT_EQ(capped.application().refusal_reason(), v1::REFUSAL_REASON_ANNUAL_CAP_REACHED);
}

TEST(AutomaticAwardDecisionTest, ASuspendedPayeeIsReservedForButNotPaidYet) {
  const v1::Programme p = SanmingProgramme();
  const tv1::Deal d = RegisteredDeal("d2", 539'999'88);
  const ApplicationTransition t =
      DecideAutomaticAward("award-1", p, SanmingSeller(), d, d.seller(), 60'000'37, 600'00,
                           /*payments_held=*/true, kNow);
  EXPECT_EQ(t.application().status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(t.application().approved_minor(), 2'900'00);
  EXPECT_EQ(t.application().disbursed_minor(), 0);
  EXPECT_THAT(Types(t), ::testing::ElementsAre("AutomaticAwardDecided"));
}

TEST(AutomaticAwardDecisionTest, TheBudgetBindsLast) {
  v1::Programme p = SanmingProgramme();
  p.mutable_balances()->set_available_minor(1'000'00);
  const tv1::Deal d = RegisteredDeal("d2", 539'999'88);
  const ApplicationTransition t = DecideAutomaticAward("award-1", p, SanmingSeller(), d, d.seller(),
                                                       60'000'37, 0, /*payments_held=*/false, kNow);
  EXPECT_EQ(t.application().approved_minor(), 1'000'00);
  EXPECT_EQ(t.application().calculation().limited_by(), "budget");
  p.mutable_balances()->set_available_minor(0);
  EXPECT_EQ(DecideAutomaticAward("award-2", p, SanmingSeller(), d, d.seller(), 0, 0,
                                 /*payments_held=*/false, kNow)
                .application()
                .refusal_reason(),
            v1::REFUSAL_REASON_BUDGET_EXHAUSTED);
}

TEST(AutomaticAwardDecisionTest, AContractRegisteredElsewhereIsRefusedAndAddsNothing) {
  v1::Programme p = SanmingProgramme();
  p.mutable_balances()->set_available_minor(1'000'000'00);
  tv1::Deal d = RegisteredDeal("d9", 500'000'00);
  d.mutable_registration()->set_city_id("wuhan");
  const ApplicationTransition t = DecideAutomaticAward("award-9", p, SanmingSeller(), d, d.seller(),
                                                       10'00, 0, /*payments_held=*/false, kNow);
  EXPECT_EQ(t.application().refusal_reason(), v1::REFUSAL_REASON_OUTSIDE_CITY);
  EXPECT_THAT(t.application().decision_reason(), ::testing::HasSubstr("registration"));
  EXPECT_EQ(t.application().award_basis().cumulative_after_minor(), 10'00);
  // Registered after the programme's period.
  d = RegisteredDeal("d10", 500'000'00);
  *d.mutable_registration()->mutable_decide_time() = At("2027-01-05T02:00:00Z");
  EXPECT_EQ(DecideAutomaticAward("award-10", p, SanmingSeller(), d, d.seller(), 0, 0,
                                 /*payments_held=*/false, kNow)
                .application()
                .refusal_reason(),
            v1::REFUSAL_REASON_OUTSIDE_PERIOD);
}

TEST(AutomaticAwardDecisionTest, AProgrammePayingAutomaticallyRefusesApplications) {
  v1::Programme p = SanmingProgramme();
  p.mutable_balances()->set_available_minor(1'000'000'00);
  const ApplicationTransition t = SubmitApplication("a-1", p, MakeDeal(), 0, kNow);
  EXPECT_EQ(t.application().status(), v1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(t.application().refusal_reason(), v1::REFUSAL_REASON_NO_APPLICATIONS);
  EXPECT_TRUE(t.postings().empty());
}

TEST(AutomaticAwardDecisionTest, PayeesAreTheBuyerTheSellerAndTheRegisteringBody) {
  const tv1::Deal d = RegisteredDeal("d1", 1'00);
  EXPECT_EQ(PayeeOf(d, v1::BENEFICIARY_BUYER)->organization_id(), "buyer-org");
  EXPECT_EQ(PayeeOf(d, v1::BENEFICIARY_SELLER)->organization_id(), "seller-org");
  EXPECT_EQ(PayeeOf(d, v1::BENEFICIARY_REGISTRATION_BODY)->organization_id(), "body-org");
  EXPECT_FALSE(PayeeOf(RegisteredDeal("d2", 1'00, ""), v1::BENEFICIARY_REGISTRATION_BODY));
}

TEST(AutomaticAwardDecisionTest, AnAutomaticProgrammeTakesNoApplicationAmounts) {
  v1::CreateProgrammeRequest r = MakeRequest();
  *r.mutable_rules() = SanmingProgramme().rules();
  EXPECT_TRUE(ValidateCreateProgramme(r).ok()) << ValidateCreateProgramme(r);
  r.mutable_rules()->set_per_deal_cap_minor(1);
  EXPECT_THAT(std::string(ValidateCreateProgramme(r).message()),
              StartsWith("rules.per_deal_cap_minor"));
  *r.mutable_rules() = SanmingProgramme().rules();
  *r.mutable_rules()->add_automatic_awards() = SanmingSeller();
  EXPECT_THAT(std::string(ValidateCreateProgramme(r).message()),
              StartsWith("rules.automatic_awards[2].beneficiary"));
}

}  // namespace
}  // namespace techtrade::fund::test
