// The application commands of domain/application_transition.h that deal events make: tranches
// paid as the deal performs (or held while the applicant is suspended), and unwinding when the
// deal is cancelled. Pure: each test reads the transition a decision returns.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "services/fund/domain/application_transition.h"
#include "tests/unit/fund/fund_test_data.h"

namespace techtrade::fund {
namespace {

using namespace techtrade::fund::test;  // NOLINT: the shared test data
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr int64_t kApproved = 1'234'567;  // 30% is 370,370.1: the signing tranche rounds down

v1::Programme Programme(bool claw_back = true) {
  v1::Programme p = MakeProgramme();
  p.mutable_rules()->set_claw_back_on_cancellation(claw_back);
  return p;
}

v1::Application Approved(int64_t version = 1) {
  v1::Application a = MakeApplication(kApproved);
  *a.mutable_applicant() = MakeDeal().buyer();
  a.set_version(version);
  return a;
}

tv1::Deal Completed() {
  tv1::Deal d = MakeDeal(50'000'000, tv1::DEAL_STATE_COMPLETED);
  for (auto& m : *d.mutable_milestones()) m.set_state(tv1::MILESTONE_STATE_PAID);
  return d;
}

std::vector<std::string> EventTypes(const ApplicationTransition& t) {
  std::vector<std::string> types;
  for (const auto& e : t.events()) types.push_back(e->GetTypeName());
  return types;
}

// ============================== PayDueTranches ==============================

TEST(FundPayDueTranchesTest, EachTrancheIsPaidOnceAndTheLastFenCompletes) {
  const tv1::Deal signed_deal = MakeDeal(50'000'000);
  ApplicationTransition t = PayDueTranches(Approved(), Programme(), signed_deal, kNow);
  EXPECT_THAT(t.postings(), ElementsAre(Posting{EntryKind::kDisburse, 370'370, "signing"}));
  EXPECT_EQ(t.grant().delta_minor, 0);
  EXPECT_EQ(t.application().status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_THAT(t.sequences(), ElementsAre(2));
  const v1::Application after_signing = t.application();

  // Asked again for the same deal: nothing is due, nothing changes.
  t = PayDueTranches(after_signing, Programme(), signed_deal, kNow);
  EXPECT_FALSE(t.changed());
  EXPECT_THAT(t.postings(), IsEmpty());
  EXPECT_EQ(t.application().SerializeAsString(), after_signing.SerializeAsString());

  // Completion pays what is still reserved, to the fen.
  t = PayDueTranches(after_signing, Programme(), Completed(), kNow);
  EXPECT_THAT(t.postings(), ElementsAre(Posting{EntryKind::kDisburse, 864'197, "completion"}));
  EXPECT_EQ(t.application().disbursed_minor(), kApproved);
  EXPECT_EQ(t.application().status(), v1::APPLICATION_STATUS_COMPLETED);
  EXPECT_THAT(t.sequences(), ElementsAre(3));
  const auto* paid = dynamic_cast<const v1::TrancheDisbursed*>(t.events().at(0).get());
  ASSERT_NE(paid, nullptr);
  EXPECT_EQ(paid->amount().amount_minor(), 864'197);
  EXPECT_EQ(paid->idempotency_key(), "application-1:3");
  EXPECT_EQ(paid->application().status(), v1::APPLICATION_STATUS_COMPLETED);
}

TEST(FundPayDueTranchesTest, NothingForApplicationsNotApprovedOrDealsNotStanding) {
  for (v1::ApplicationStatus status :
       {v1::APPLICATION_STATUS_PENDING_REVIEW, v1::APPLICATION_STATUS_REJECTED,
        v1::APPLICATION_STATUS_COMPLETED, v1::APPLICATION_STATUS_CANCELLED}) {
    v1::Application a = Approved();
    a.set_status(status);
    EXPECT_FALSE(PayDueTranches(a, Programme(), Completed(), kNow).changed());
  }
  for (tv1::DealState state : {tv1::DEAL_STATE_CANCELLED, tv1::DEAL_STATE_DISPUTED}) {
    EXPECT_FALSE(
        PayDueTranches(Approved(), Programme(), MakeDeal(50'000'000, state), kNow).changed());
  }
}

// ============================== ApplyDealProgress ==============================

TEST(FundApplyDealProgressTest, ASuspendedApplicantsTranchesWait) {
  EXPECT_FALSE(ApplyDealProgress(Approved(), Programme(), Completed(), /*payments_held=*/true, kNow)
                   .changed());
  const ApplicationTransition t =
      ApplyDealProgress(Approved(), Programme(), Completed(), /*payments_held=*/false, kNow);
  EXPECT_EQ(t.application().disbursed_minor(), kApproved);
  EXPECT_THAT(t.postings(), ElementsAre(Posting{EntryKind::kDisburse, 370'370, "signing"},
                                        Posting{EntryKind::kDisburse, 864'197, "completion"}));
}

TEST(FundApplyDealProgressTest, ACancelledDealUnwindsEvenWhilePaymentsAreHeld) {
  const tv1::Deal cancelled = MakeDeal(50'000'000, tv1::DEAL_STATE_CANCELLED);
  for (bool held : {false, true}) {
    const ApplicationTransition t =
        ApplyDealProgress(Approved(), Programme(), cancelled, held, kNow);
    EXPECT_EQ(t.application().status(), v1::APPLICATION_STATUS_CANCELLED);
    EXPECT_THAT(t.postings(), ElementsAre(Posting{EntryKind::kRelease, kApproved, ""}));
  }
}

// ============================== UnwindCancelledDeal ==============================

TEST(FundUnwindCancelledDealTest, AWaitingApplicationIsCancelledWithNoMoney) {
  v1::Application a = MakeApplication(0, v1::APPLICATION_STATUS_PENDING_REVIEW);
  a.set_version(1);
  const ApplicationTransition t = UnwindCancelledDeal(a, Programme(), kNow);
  EXPECT_EQ(t.application().status(), v1::APPLICATION_STATUS_CANCELLED);
  EXPECT_EQ(t.application().decision_reason(), "the deal was cancelled before a decision");
  EXPECT_THAT(t.postings(), IsEmpty());
  EXPECT_EQ(t.grant().delta_minor, 0);
  EXPECT_THAT(EventTypes(t), ElementsAre("techtrade.fund.v1.ApplicationDecided"));
  EXPECT_THAT(t.sequences(), ElementsAre(2));
}

TEST(FundUnwindCancelledDealTest, ReleasesTheReservationAndClawsBackWhatWentOut) {
  v1::Application a = Approved(2);
  a.set_disbursed_minor(370'370);
  const ApplicationTransition t = UnwindCancelledDeal(a, Programme(), kNow);
  const v1::Application& after = t.application();
  EXPECT_EQ(after.status(), v1::APPLICATION_STATUS_CANCELLED);
  EXPECT_EQ(after.decision_reason(), "the deal was cancelled");
  EXPECT_EQ(after.released_minor(), kApproved - 370'370);
  EXPECT_EQ(after.clawed_back_minor(), 370'370);
  EXPECT_EQ(ReservedFor(after), 0);
  EXPECT_THAT(t.postings(), ElementsAre(Posting{EntryKind::kRelease, kApproved - 370'370, ""},
                                        Posting{EntryKind::kClawback, 370'370, ""}));
  // The buyer's annual cap gets back everything that is no longer granted.
  EXPECT_EQ(t.grant().delta_minor, -kApproved);
  EXPECT_EQ(t.grant().cap_minor, Programme().rules().per_organization_annual_cap_minor());
  EXPECT_THAT(EventTypes(t), ElementsAre("techtrade.fund.v1.ReservationReleased",
                                         "techtrade.fund.v1.ClawbackRaised"));
  EXPECT_THAT(t.sequences(), ElementsAre(3, 4));
  const auto* released = dynamic_cast<const v1::ReservationReleased*>(t.events().at(0).get());
  ASSERT_NE(released, nullptr);
  EXPECT_EQ(released->amount().amount_minor(), kApproved - 370'370);
  EXPECT_EQ(released->application().clawed_back_minor(), 0);  // as of its own step
  const auto* clawback = dynamic_cast<const v1::ClawbackRaised*>(t.events().at(1).get());
  ASSERT_NE(clawback, nullptr);
  EXPECT_EQ(clawback->debtor().organization_id(), "buyer-org");
  EXPECT_EQ(clawback->amount().amount_minor(), 370'370);
  EXPECT_EQ(clawback->amount().currency(), "CNY");
}

TEST(FundUnwindCancelledDealTest, WithoutClawbackOnlyTheReservationComesBack) {
  v1::Application a = Approved();
  a.set_disbursed_minor(370'370);
  const ApplicationTransition t = UnwindCancelledDeal(a, Programme(/*claw_back=*/false), kNow);
  EXPECT_THAT(t.postings(), ElementsAre(Posting{EntryKind::kRelease, kApproved - 370'370, ""}));
  EXPECT_EQ(t.grant().delta_minor, -(kApproved - 370'370));
  EXPECT_EQ(t.application().clawed_back_minor(), 0);
  EXPECT_THAT(EventTypes(t), ElementsAre("techtrade.fund.v1.ReservationReleased"));
}

TEST(FundUnwindCancelledDealTest, AFullyPaidApplicationOwesEverythingBack) {
  v1::Application a = Approved();
  a.set_status(v1::APPLICATION_STATUS_COMPLETED);
  a.set_disbursed_minor(kApproved);
  const ApplicationTransition t = UnwindCancelledDeal(a, Programme(), kNow);
  // Nothing reserved: no release entry, but the step is still announced (with zero).
  EXPECT_THAT(t.postings(), ElementsAre(Posting{EntryKind::kClawback, kApproved, ""}));
  EXPECT_EQ(t.grant().delta_minor, -kApproved);
  EXPECT_THAT(EventTypes(t), ElementsAre("techtrade.fund.v1.ReservationReleased",
                                         "techtrade.fund.v1.ClawbackRaised"));
  const auto* released = dynamic_cast<const v1::ReservationReleased*>(t.events().at(0).get());
  ASSERT_NE(released, nullptr);
  EXPECT_EQ(released->amount().amount_minor(), 0);
}

TEST(FundUnwindCancelledDealTest, AnEarlierClawbackIsNotClaimedTwice) {
  v1::Application a = Approved();
  a.set_status(v1::APPLICATION_STATUS_COMPLETED);
  a.set_disbursed_minor(kApproved);
  a.set_clawed_back_minor(kApproved - 1);
  const ApplicationTransition t = UnwindCancelledDeal(a, Programme(), kNow);
  EXPECT_THAT(t.postings(), ElementsAre(Posting{EntryKind::kClawback, 1, ""}));
  EXPECT_EQ(t.grant().delta_minor, -1);
  EXPECT_EQ(t.application().clawed_back_minor(), kApproved);
}

TEST(FundUnwindCancelledDealTest, NothingToGiveBackPostsNothing) {
  v1::Application a = Approved();
  a.set_approved_minor(0);
  const ApplicationTransition t = UnwindCancelledDeal(a, Programme(), kNow);
  EXPECT_THAT(t.postings(), IsEmpty());
  EXPECT_EQ(t.grant().delta_minor, 0);
  EXPECT_EQ(t.application().status(), v1::APPLICATION_STATUS_CANCELLED);
  EXPECT_THAT(EventTypes(t), ElementsAre("techtrade.fund.v1.ReservationReleased"));
}

}  // namespace
}  // namespace techtrade::fund
