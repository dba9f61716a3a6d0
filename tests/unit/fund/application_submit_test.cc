// The application commands of domain/application_transition.h that an API call makes: a new
// application decided at once, and an operator's review. Pure: each test reads the transition a
// decision returns (the application after it, its ledger postings, the change of the buyer's
// annual grant and its events), no store and no outbox.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/money.h"
#include "services/fund/domain/application_transition.h"
#include "tests/unit/fund/fund_test_data.h"

namespace techtrade::fund {
namespace {

using namespace techtrade::fund::test;  // NOLINT: the shared test data
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr int64_t kPrice = 500'000 * kYuan;        // the standard deal: 10% of it is due
constexpr int64_t kSubsidy = 50'000 * kYuan;       // what the bands give the standard deal
constexpr int64_t kAnnualCap = 1'000'000 * kYuan;  // MakeRules' per-organisation annual cap
constexpr int64_t kThreshold = 200'000 * kYuan;    // MakeRules' auto-approval threshold

v1::Programme Funded(int64_t available, v1::Programme p = MakeProgramme()) {
  v1::Balances* b = p.mutable_balances();
  b->set_currency("CNY");
  b->set_total_minor(p.total_budget().amount_minor());
  b->set_available_minor(available);
  b->set_reserved_minor(p.total_budget().amount_minor() - available);
  return p;
}

template <class Event>
const Event& EventAt(const ApplicationTransition& t, size_t i) {
  const auto* event = dynamic_cast<const Event*>(t.events().at(i).get());
  EXPECT_NE(event, nullptr) << "event " << i << " is a " << t.events().at(i)->GetTypeName();
  return *event;
}

std::vector<std::string> EventTypes(const ApplicationTransition& t) {
  std::vector<std::string> types;
  for (const auto& e : t.events()) types.push_back(e->GetTypeName());
  return types;
}

// ============================== CheckDealApplicable ==============================

TEST(FundCheckDealApplicableTest, OnlySignedDealsInGoodStanding) {
  for (tv1::DealState ok :
       {tv1::DEAL_STATE_SIGNED, tv1::DEAL_STATE_IN_PERFORMANCE, tv1::DEAL_STATE_COMPLETED}) {
    EXPECT_TRUE(CheckDealApplicable(MakeDeal(kPrice, ok)).ok()) << tv1::DealState_Name(ok);
  }
  for (tv1::DealState refused :
       {tv1::DEAL_STATE_OPEN, tv1::DEAL_STATE_NEGOTIATING, tv1::DEAL_STATE_AGREED,
        tv1::DEAL_STATE_CANCELLED, tv1::DEAL_STATE_DISPUTED}) {
    const absl::Status s = CheckDealApplicable(MakeDeal(kPrice, refused));
    EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
    EXPECT_EQ(s.message(), absl::StrCat("deal_id: the deal is ", tv1::DealState_Name(refused),
                                        "; applications are for signed deals in good standing"));
  }
}

// ============================== SubmitApplication ==============================

TEST(FundSubmitApplicationTest, AtOrUnderTheThresholdItIsApprovedReservedAndPaidWhatIsDue) {
  const v1::Programme programme = Funded(40'000'000 * kYuan);
  const ApplicationTransition t =
      SubmitApplication("application-9", programme, MakeDeal(kPrice), 0, kNow);

  // The row goes in first, waiting for review, at version 1.
  ASSERT_TRUE(t.inserted().has_value());
  EXPECT_EQ(t.inserted()->status(), v1::APPLICATION_STATUS_PENDING_REVIEW);
  EXPECT_EQ(t.inserted()->version(), 1);
  EXPECT_EQ(t.inserted()->id(), "application-9");

  const v1::Application& a = t.application();
  EXPECT_EQ(a.id(), "application-9");
  EXPECT_EQ(a.programme_id(), "programme-1");
  EXPECT_EQ(a.deal_id(), "deal-1");
  EXPECT_EQ(a.applicant().organization_id(), "buyer-org");
  EXPECT_EQ(a.currency(), "CNY");
  EXPECT_EQ(a.year(), 2026);
  EXPECT_EQ(a.status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(a.approved_minor(), kSubsidy);
  EXPECT_EQ(a.calculation().limited_by(), "tiered rate");
  EXPECT_EQ(a.decision_reason(), "approved; the amount is bounded by the tiered rate");
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(a.decide_time()), absl::ToUnixMicros(kNow));
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(a.create_time()), absl::ToUnixMicros(kNow));
  // The signing tranche (30%) is due at once.
  EXPECT_EQ(a.disbursed_minor(), kSubsidy * 3 / 10);
  EXPECT_EQ(ReservedFor(a), kSubsidy * 7 / 10);

  EXPECT_THAT(t.postings(),
              ElementsAre(Posting{EntryKind::kReserve, kSubsidy, ""},
                          Posting{EntryKind::kDisburse, kSubsidy * 3 / 10, "signing"}));
  EXPECT_EQ(t.grant().delta_minor, kSubsidy);
  EXPECT_EQ(t.grant().cap_minor, kAnnualCap);

  // One event per step, each with the next version and the application as of that step.
  EXPECT_THAT(EventTypes(t), ElementsAre("techtrade.fund.v1.ApplicationDecided",
                                         "techtrade.fund.v1.TrancheDisbursed"));
  EXPECT_THAT(t.sequences(), ElementsAre(1, 2));
  EXPECT_EQ(a.version(), 2);
  const auto& decided = EventAt<v1::ApplicationDecided>(t, 0);
  EXPECT_EQ(decided.idempotency_key(), "application-9:1");
  EXPECT_EQ(decided.application().status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(decided.application().disbursed_minor(), 0);
  const auto& paid = EventAt<v1::TrancheDisbursed>(t, 1);
  EXPECT_EQ(paid.idempotency_key(), "application-9:2");
  EXPECT_EQ(paid.application().SerializeAsString(), a.SerializeAsString());
  EXPECT_EQ(paid.disbursement().tranche(), "signing");
  EXPECT_EQ(paid.payee().organization_id(), "buyer-org");
  EXPECT_EQ(paid.amount().currency(), "CNY");
  EXPECT_EQ(paid.amount().amount_minor(), kSubsidy * 3 / 10);
}

TEST(FundSubmitApplicationTest, TheThresholdIsInclusive) {
  v1::Programme programme = Funded(40'000'000 * kYuan);
  programme.mutable_rules()->set_auto_approval_threshold_minor(kSubsidy);
  EXPECT_EQ(SubmitApplication("a", programme, MakeDeal(kPrice), 0, kNow).application().status(),
            v1::APPLICATION_STATUS_APPROVED);
  programme.mutable_rules()->set_auto_approval_threshold_minor(kSubsidy - 1);
  EXPECT_EQ(SubmitApplication("a", programme, MakeDeal(kPrice), 0, kNow).application().status(),
            v1::APPLICATION_STATUS_PENDING_REVIEW);
}

TEST(FundSubmitApplicationTest, AboveTheThresholdItWaitsWithNothingReserved) {
  // 5m CNY: 10% of 1m + 5% of 4m = 300k CNY, above the 200k threshold.
  const ApplicationTransition t = SubmitApplication("application-9", Funded(40'000'000 * kYuan),
                                                    MakeDeal(5'000'000 * kYuan), 0, kNow);
  const v1::Application& a = t.application();
  EXPECT_EQ(a.status(), v1::APPLICATION_STATUS_PENDING_REVIEW);
  EXPECT_EQ(a.calculation().amount_minor(), 300'000 * kYuan);
  EXPECT_EQ(a.approved_minor(), 0);
  EXPECT_EQ(a.decision_reason(),
            absl::StrCat("waiting for an operator: above the auto-approval threshold of ",
                         kThreshold, " minor units"));
  EXPECT_FALSE(a.has_decide_time());
  EXPECT_THAT(t.postings(), IsEmpty());
  EXPECT_EQ(t.grant().delta_minor, 0);
  EXPECT_THAT(EventTypes(t), ElementsAre("techtrade.fund.v1.ApplicationSubmitted"));
  EXPECT_THAT(t.sequences(), ElementsAre(1));
  EXPECT_EQ(EventAt<v1::ApplicationSubmitted>(t, 0).idempotency_key(), "application-9:1");
}

TEST(FundSubmitApplicationTest, AnIneligibleDealIsRejectedWithItsRefusal) {
  v1::Programme programme = Funded(40'000'000 * kYuan);
  programme.set_status(v1::PROGRAMME_STATUS_CLOSED);
  const ApplicationTransition t = SubmitApplication("a", programme, MakeDeal(kPrice), 0, kNow);
  const v1::Application& a = t.application();
  EXPECT_EQ(a.status(), v1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(a.refusal_reason(), v1::REFUSAL_REASON_PROGRAMME_CLOSED);
  EXPECT_EQ(a.decision_reason(), "the programme is closed");
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(a.decide_time()), absl::ToUnixMicros(kNow));
  // Rejected or not, the row goes in first (one application per programme and deal).
  ASSERT_TRUE(t.inserted().has_value());
  EXPECT_EQ(t.inserted()->status(), v1::APPLICATION_STATUS_PENDING_REVIEW);
  EXPECT_THAT(t.postings(), IsEmpty());
  EXPECT_EQ(t.grant().delta_minor, 0);
  EXPECT_THAT(EventTypes(t), ElementsAre("techtrade.fund.v1.ApplicationDecided"));
}

TEST(FundSubmitApplicationTest, TheBudgetAndTheAnnualCapBoundTheAmountToTheFen) {
  // One fen of budget left: one fen approved, and 30% of one fen rounds to no signing tranche.
  ApplicationTransition t = SubmitApplication("a", Funded(1), MakeDeal(kPrice), 0, kNow);
  EXPECT_EQ(t.application().status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(t.application().calculation().limited_by(), "budget");
  EXPECT_THAT(t.postings(), ElementsAre(Posting{EntryKind::kReserve, 1, ""}));
  EXPECT_EQ(t.grant().delta_minor, 1);

  // No budget at all: refused with the reason.
  t = SubmitApplication("a", Funded(0), MakeDeal(kPrice), 0, kNow);
  EXPECT_EQ(t.application().status(), v1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(t.application().refusal_reason(), v1::REFUSAL_REASON_BUDGET_EXHAUSTED);
  EXPECT_THAT(t.application().decision_reason(), StartsWith("the programme's budget is exhausted"));
  EXPECT_THAT(t.postings(), IsEmpty());

  // One fen of the buyer's annual cap left.
  t = SubmitApplication("a", Funded(40'000'000 * kYuan), MakeDeal(kPrice), kAnnualCap - 1, kNow);
  EXPECT_EQ(t.application().status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(t.application().approved_minor(), 1);
  EXPECT_EQ(t.application().calculation().limited_by(), "annual cap");

  // The cap used up (or passed, by an earlier programme rule): refused.
  for (int64_t granted : {kAnnualCap, kAnnualCap + 1}) {
    t = SubmitApplication("a", Funded(40'000'000 * kYuan), MakeDeal(kPrice), granted, kNow);
    EXPECT_EQ(t.application().status(), v1::APPLICATION_STATUS_REJECTED);
    EXPECT_EQ(t.application().refusal_reason(), v1::REFUSAL_REASON_ANNUAL_CAP_REACHED);
    EXPECT_THAT(t.application().decision_reason(), HasSubstr("for 2026 is used up"));
  }
}

TEST(FundSubmitApplicationTest, TheLargestContractIsBoundByThePerDealCap) {
  v1::Programme programme = Funded(40'000'000 * kYuan);
  programme.mutable_rules()->set_auto_approval_threshold_minor(kMaxAmountMinor);
  const ApplicationTransition t =
      SubmitApplication("a", programme, MakeDeal(kMaxAmountMinor), 0, kNow);
  EXPECT_EQ(t.application().approved_minor(), 500'000 * kYuan);
  EXPECT_EQ(t.application().calculation().limited_by(), "per-deal cap");
}

TEST(FundSubmitApplicationTest, ACompletedDealIsPaidInFullAndTheApplicationCompletes) {
  tv1::Deal deal = MakeDeal(kPrice, tv1::DEAL_STATE_COMPLETED);
  for (auto& m : *deal.mutable_milestones()) m.set_state(tv1::MILESTONE_STATE_PAID);
  const ApplicationTransition t = SubmitApplication("a", Funded(40'000'000 * kYuan), deal, 0, kNow);
  EXPECT_EQ(t.application().status(), v1::APPLICATION_STATUS_COMPLETED);
  EXPECT_EQ(t.application().disbursed_minor(), kSubsidy);
  EXPECT_THAT(t.postings(),
              ElementsAre(Posting{EntryKind::kReserve, kSubsidy, ""},
                          Posting{EntryKind::kDisburse, kSubsidy * 3 / 10, "signing"},
                          Posting{EntryKind::kDisburse, kSubsidy * 7 / 10, "completion"}));
  EXPECT_THAT(t.sequences(), ElementsAre(1, 2, 3));
  EXPECT_EQ(EventAt<v1::TrancheDisbursed>(t, 2).application().status(),
            v1::APPLICATION_STATUS_COMPLETED);
}

// ============================== RejectOnReview / ApproveOnReview ==============================

v1::Application Waiting(int64_t version = 1) {
  v1::Application a = MakeApplication(0, v1::APPLICATION_STATUS_PENDING_REVIEW);
  *a.mutable_applicant() = MakeDeal().buyer();
  a.set_version(version);
  return a;
}

TEST(FundReviewTest, RefusalsAndTheirCodes) {
  const v1::Programme programme = Funded(40'000'000 * kYuan);
  const tv1::Deal deal = MakeDeal(kPrice);
  // A stale expected_version first, whatever else is wrong.
  for (v1::Application a : {Waiting(3), MakeApplication(kSubsidy)}) {
    a.set_version(3);
    absl::Status s = RejectOnReview(a, 2, "no", kNow).status();
    EXPECT_TRUE(absl::IsAborted(s)) << s;
    EXPECT_THAT(std::string(s.message()), StartsWith("expected_version 2 is stale"));
    s = ApproveOnReview(a, 2, deal, programme, 0, "", kNow).status();
    EXPECT_TRUE(absl::IsAborted(s)) << s;
  }
  // Only an application waiting for review is decided.
  for (v1::ApplicationStatus status :
       {v1::APPLICATION_STATUS_APPROVED, v1::APPLICATION_STATUS_REJECTED,
        v1::APPLICATION_STATUS_COMPLETED, v1::APPLICATION_STATUS_CANCELLED}) {
    v1::Application a = Waiting();
    a.set_status(status);
    const std::string message =
        absl::StrCat("the application is ", v1::ApplicationStatus_Name(status),
                     "; only one waiting for review can be decided");
    absl::Status s = RejectOnReview(a, 1, "no", kNow).status();
    EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
    EXPECT_EQ(s.message(), message);
    s = ApproveOnReview(a, 1, deal, programme, 0, "", kNow).status();
    EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
    EXPECT_EQ(s.message(), message);
  }
}

TEST(FundReviewTest, AnOperatorRejects) {
  absl::StatusOr<ApplicationTransition> t = RejectOnReview(Waiting(), 1, "not convincing", kNow);
  ASSERT_TRUE(t.ok()) << t.status();
  const v1::Application& a = t->application();
  EXPECT_EQ(a.status(), v1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(a.refusal_reason(), v1::REFUSAL_REASON_OPERATOR);
  EXPECT_EQ(a.decision_reason(), "not convincing");
  EXPECT_EQ(a.version(), 2);
  EXPECT_THAT(t->postings(), IsEmpty());
  EXPECT_EQ(t->grant().delta_minor, 0);
  EXPECT_FALSE(t->inserted().has_value());
  EXPECT_THAT(EventTypes(*t), ElementsAre("techtrade.fund.v1.ApplicationDecided"));
  EXPECT_THAT(t->sequences(), ElementsAre(2));
}

TEST(FundReviewTest, ApprovalNeedsTheDealStillSignedAndStanding) {
  const v1::Programme programme = Funded(40'000'000 * kYuan);
  for (const std::optional<tv1::Deal>& deal :
       {std::optional<tv1::Deal>(), std::optional(MakeDeal(kPrice, tv1::DEAL_STATE_CANCELLED)),
        std::optional(MakeDeal(kPrice, tv1::DEAL_STATE_DISPUTED))}) {
    const absl::Status s = ApproveOnReview(Waiting(), 1, deal, programme, 0, "", kNow).status();
    EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
    EXPECT_EQ(s.message(), "the deal is no longer signed and in good standing");
  }
}

TEST(FundReviewTest, ApprovalRecomputesAndRefusesWhatTheRulesNowRefuse) {
  absl::Status s = ApproveOnReview(Waiting(), 1, MakeDeal(kPrice), Funded(0), 0, "", kNow).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(std::string(s.message()),
              StartsWith("cannot approve: the programme's budget is exhausted"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("; reject the application instead"));

  s = ApproveOnReview(Waiting(), 1, MakeDeal(kPrice), Funded(40'000'000 * kYuan), kAnnualCap, "",
                      kNow)
          .status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(std::string(s.message()), StartsWith("cannot approve: the buyer's annual cap"));
}

TEST(FundReviewTest, AnOperatorApprovesAboveTheThresholdWithTheAmountAsItIsNow) {
  const tv1::Deal deal = MakeDeal(5'000'000 * kYuan);  // 300k CNY, above the threshold
  // The budget moved since submission: 250k CNY left.
  absl::StatusOr<ApplicationTransition> t =
      ApproveOnReview(Waiting(), 1, deal, Funded(250'000 * kYuan), 0, "", kNow);
  ASSERT_TRUE(t.ok()) << t.status();
  const v1::Application& a = t->application();
  EXPECT_EQ(a.status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(a.approved_minor(), 250'000 * kYuan);
  EXPECT_EQ(a.calculation().limited_by(), "budget");
  EXPECT_EQ(a.decision_reason(), "approved; the amount is bounded by the budget");
  EXPECT_THAT(t->postings(), ElementsAre(Posting{EntryKind::kReserve, 250'000 * kYuan, ""},
                                         Posting{EntryKind::kDisburse, 75'000 * kYuan, "signing"}));
  EXPECT_EQ(t->grant().delta_minor, 250'000 * kYuan);
  EXPECT_THAT(t->sequences(), ElementsAre(2, 3));

  // The operator's reason, when given, is the decision's.
  t = ApproveOnReview(Waiting(), 1, deal, Funded(250'000 * kYuan), 0, "strategic", kNow);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->application().decision_reason(), "strategic");
}

}  // namespace
}  // namespace techtrade::fund
