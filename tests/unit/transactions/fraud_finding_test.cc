// An operator's fraud finding on a deal (docs/deals.md, "Fraud findings"): only a completed deal,
// once, recorded with its reason, evidence and operator; the deal stays COMPLETED.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "google/protobuf/util/time_util.h"
#include "services/transactions/domain/deal_rules.h"

namespace techtrade::transactions {
namespace {

using google::protobuf::util::TimeUtil;
namespace lv1 = techtrade::listings::v1;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

v1::Deal Apply(const absl::StatusOr<Transition>& t) {
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? t->deal : v1::Deal();
}

// A deal of one milestone, signed, and — `complete` — delivered, accepted and paid.
v1::Deal Deal(bool complete) {
  v1::Deal d;
  d.set_id("deal-1");
  d.set_listing_kind(lv1::LISTING_KIND_OFFER);
  d = OpenDeal(d, kNow).deal;
  v1::ProposeTermsRequest terms;
  terms.set_acting_as(v1::PARTY_ROLE_SELLER);
  terms.mutable_price()->set_currency("CNY");
  terms.mutable_price()->set_amount_minor(50'000'00);
  terms.set_transfer_mode(lv1::TRANSFER_MODE_ASSIGNMENT);
  v1::MilestonePlan* m = terms.add_milestones();
  m->set_title("all rights");
  *m->mutable_amount() = terms.price();
  *m->mutable_due_time() = TimeUtil::SecondsToTimestamp(1'810'000'000);
  d = Apply(ProposeTerms(d, terms, kNow));
  d = Apply(AcceptTerms(d, v1::PARTY_ROLE_SELLER, 1, kNow));
  d = Apply(AcceptTerms(d, v1::PARTY_ROLE_BUYER, 1, kNow));
  v1::SignContractRequest sign;
  sign.set_registration_number("HT-2026-0002");
  *sign.mutable_signing_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(kNow));
  d = Apply(SignContract(d, sign, kNow, 30));
  if (!complete) return d;
  d = Apply(DeliverMilestone(d, 1, kNow));
  d = Apply(AcceptMilestone(d, 1, kNow));
  v1::RecordPaymentRequest pay;
  pay.set_milestone_index(1);
  *pay.mutable_amount() = terms.price();
  pay.set_payment_reference("BANK-1");
  return Apply(RecordPayment(d, pay, kNow));
}

TEST(FraudFindingTest, ACompletedDealIsMarkedOnceAndStaysCompleted) {
  const v1::Deal completed = Deal(/*complete=*/true);
  ASSERT_EQ(completed.state(), v1::DEAL_STATE_COMPLETED);
  absl::StatusOr<Transition> t =
      MarkDealFraudulent(completed, "forged acceptance", "AUDIT-1", "operator-1", kNow);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->events.size(), 1u);
  EXPECT_EQ(t->events[0]->GetDescriptor()->name(), "DealMarkedFraudulent");
  EXPECT_EQ(t->deal.state(), v1::DEAL_STATE_COMPLETED);
  EXPECT_EQ(t->deal.fraud().evidence_reference(), "AUDIT-1");
  EXPECT_EQ(t->deal.fraud().marked_by(), "operator-1");
  EXPECT_EQ(MarkDealFraudulent(t->deal, "again", "AUDIT-2", "operator-1", kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(FraudFindingTest, ARunningDealIsCancelledInsteadOfMarked) {
  absl::StatusOr<Transition> t =
      MarkDealFraudulent(Deal(/*complete=*/false), "forged", "AUDIT-1", "operator-1", kNow);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(t.status().message()), ::testing::HasSubstr("cancelled"));
}

}  // namespace
}  // namespace techtrade::transactions
