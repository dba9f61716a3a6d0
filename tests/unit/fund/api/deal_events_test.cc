// The fund's consumers on in-memory storage: deal events pay due tranches (or wait while the
// applicant is suspended), and the registry's reinstatement pays what was held.
#include "tests/unit/fund/api/fund_handler_fixture.h"

namespace techtrade::fund::test {
namespace {

class DealEvents : public FundHandlerTest {
 protected:
  absl::Status Consume(const tv1::Deal& deal) {
    return transactor_.Run([&](FundStore& store, UnitOfWork& work) {
      return FundServiceImpl::HandleTransactionsEvent(store, work, DealEvent(deal));
    });
  }
  // The fixture's deal completed, at version 9.
  static tv1::Deal Completed() {
    tv1::Deal d = HandlerDeal(500'000 * kYuan, 9);
    d.set_state(tv1::DEAL_STATE_COMPLETED);
    for (tv1::Milestone& m : *d.mutable_milestones()) m.set_state(tv1::MILESTONE_STATE_PAID);
    *d.mutable_update_time() = At("2026-06-01T02:00:00Z");
    return d;
  }
  v1::Application Approved() {
    v1::Application a;
    EXPECT_TRUE(Submit(wuhan_, SubmitRequest(Programme().id()), &a).ok());
    return a;
  }
};

TEST_F(DealEvents, CompletionPaysTheRestAndCompletesTheApplication) {
  const v1::Application a = Approved();
  ASSERT_TRUE(Consume(Completed()).ok());
  const v1::Application after = store().applications()[0];
  EXPECT_EQ(after.status(), v1::APPLICATION_STATUS_COMPLETED);
  EXPECT_EQ(after.disbursed_minor(), 50'000 * kYuan);
  ASSERT_EQ(events().size(), 4u);
  const EmittedEvent paid = events()[3];
  EXPECT_EQ(paid.aggregate.id, a.id());
  EXPECT_EQ(paid.sequence, a.version() + 1);
  EXPECT_EQ(paid.cause.request_id, "deal-request");
  EXPECT_EQ(Payload<v1::TrancheDisbursed>(paid).amount().amount_minor(), 35'000 * kYuan);
}

TEST_F(DealEvents, AnOlderSnapshotChangesNothing) {
  Approved();
  ASSERT_TRUE(Consume(Completed()).ok());
  tv1::Deal older = Completed();
  older.set_version(8);
  ASSERT_TRUE(Consume(older).ok());
  ASSERT_TRUE(Consume(Completed()).ok());
  EXPECT_EQ(store().GetDeal(kDealId)->version(), 9);
  EXPECT_EQ(events().size(), 4u);
}

TEST_F(DealEvents, TranchesWaitWhileTheApplicantIsSuspendedAndArePaidOnReinstatement) {
  const v1::Application a = Approved();
  ASSERT_TRUE(Standing(kBuyerId, /*suspended=*/true, 4).ok());
  ASSERT_TRUE(Consume(Completed()).ok());
  EXPECT_EQ(store().applications()[0].disbursed_minor(), 15'000 * kYuan);
  EXPECT_EQ(events().size(), 3u);
  ASSERT_TRUE(Standing(kBuyerId, /*suspended=*/true, 3).ok());  // older: nothing
  ASSERT_TRUE(Standing(kBuyerId, /*suspended=*/false, 5).ok());
  EXPECT_FALSE(store().IsSuspended(kBuyerId));
  EXPECT_EQ(store().applications()[0].status(), v1::APPLICATION_STATUS_COMPLETED);
  ASSERT_EQ(events().size(), 4u);
  EXPECT_EQ(events()[3].aggregate.id, a.id());
  EXPECT_EQ(Payload<v1::TrancheDisbursed>(events()[3]).amount().amount_minor(), 35'000 * kYuan);
}

TEST_F(DealEvents, ACancellationReleasesTheReservationAndClawsBack) {
  const v1::Application a = Approved();
  tv1::Deal cancelled = HandlerDeal(500'000 * kYuan, 7);
  cancelled.set_state(tv1::DEAL_STATE_CANCELLED);
  ASSERT_TRUE(Consume(cancelled).ok());
  const v1::Balances& b = store().programmes().begin()->second.balances();
  EXPECT_EQ(b.reserved_minor(), 0);
  EXPECT_EQ(b.clawed_back_minor(), 15'000 * kYuan);
  EXPECT_EQ(store().AnnualGranted(a.programme_id(), kBuyerId, fund::v1::BENEFICIARY_BUYER, 2026),
            0);
  ASSERT_EQ(events().size(), 5u);
  EXPECT_EQ(events()[3].type, v1::ReservationReleased::descriptor()->full_name());
  EXPECT_EQ(events()[4].type, v1::ClawbackRaised::descriptor()->full_name());
}

// A registration decides the automatic awards; an escrow release pays a milestone (and its
// tranche) without a MilestoneAccepted: the consumer must subscribe to both.
TEST_F(DealEvents, TheConsumerReadsRegistrationsAndEscrowReleases) {
  EXPECT_THAT(FundServiceImpl::DealEventTypes(),
              ::testing::IsSupersetOf({"techtrade.transactions.v1.ContractRegistered",
                                       "techtrade.transactions.v1.EscrowReleased",
                                       "techtrade.transactions.v1.MilestoneAccepted"}));
}

}  // namespace
}  // namespace techtrade::fund::test
