// The fund's pure rules as a deal performs: the tranche plan, unwinding on cancellation, and
// leverage.
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
