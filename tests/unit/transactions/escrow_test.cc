// Milestone escrow as the deal rules decide it (docs/deals.md, "Milestone escrow"): an escrowed
// milestone waits for its funds before delivery, its acceptance releases them to the payees split
// to the fen, a cancellation refunds what is held to the buyer, and over any sequence of steps
// funded = released + refunded + held, as the movements given to the database say too.
#include "services/transactions/domain/escrow.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "google/protobuf/util/time_util.h"
#include "services/transactions/domain/deal_rules.h"

namespace techtrade::transactions {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace lv1 = techtrade::listings::v1;

const absl::Time kOpened = absl::FromUnixSeconds(1'800'000'000);
const absl::Time kNow = kOpened + absl::Hours(3);
constexpr int64_t kEscrowed = 40'000'01;  // milestone 1, through escrow
constexpr int64_t kDirect = 59'999'99;    // milestone 2, paid directly

v1::Deal Apply(const absl::StatusOr<Transition>& t) {
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? t->deal : v1::Deal();
}

std::vector<std::string> Events(const absl::StatusOr<Transition>& t) {
  std::vector<std::string> names;
  if (t.ok()) {
    for (const auto& e : t->events) names.push_back(e->GetDescriptor()->name());
  }
  return names;
}

techtrade::common::v1::Money Cny(int64_t minor) {
  techtrade::common::v1::Money m;
  m.set_currency("CNY");
  m.set_amount_minor(minor);
  return m;
}

// A signed deal with a broker on 10 %, whose milestones are `amounts`, the ones in `escrowed`
// through escrow.
v1::Deal Signed(const std::vector<int64_t>& amounts = {kEscrowed, kDirect},
                const std::vector<bool>& escrowed = {true, false}) {
  v1::Deal d;
  d.set_id("deal-1");
  d.set_listing_kind(lv1::LISTING_KIND_OFFER);
  d.mutable_buyer()->set_organization_id("buyer-org");
  d.mutable_buyer()->set_city_id("fuzhou");
  d.mutable_seller()->set_organization_id("seller-org");
  d.mutable_seller()->set_city_id("sanming");
  d.mutable_broker()->set_organization_id("broker-org");
  d.set_broker_commission_bps(1000);
  d = OpenDeal(d, kOpened).deal;
  v1::ProposeTermsRequest terms;
  terms.set_acting_as(v1::PARTY_ROLE_SELLER);
  int64_t price = 0;
  for (size_t i = 0; i < amounts.size(); ++i) {
    v1::MilestonePlan* m = terms.add_milestones();
    m->set_title("milestone");
    *m->mutable_amount() = Cny(amounts[i]);
    *m->mutable_due_time() = TimeUtil::SecondsToTimestamp(1'810'000'000);
    m->set_escrow(escrowed[i]);
    price += amounts[i];
  }
  *terms.mutable_price() = Cny(price);
  terms.set_transfer_mode(lv1::TRANSFER_MODE_ASSIGNMENT);
  d = Apply(ProposeTerms(d, terms, kOpened));
  d = Apply(AcceptTerms(d, v1::PARTY_ROLE_SELLER, 1, kOpened));
  d = Apply(AcceptTerms(d, v1::PARTY_ROLE_BUYER, 1, kOpened));
  v1::SignContractRequest sign;
  sign.set_registration_number("HT-2026-0001");
  *sign.mutable_signing_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(kOpened));
  d = Apply(SignContract(d, sign, kOpened + absl::Hours(1), 30));
  EXPECT_EQ(d.state(), v1::DEAL_STATE_SIGNED);
  return d;
}

v1::RecordMilestoneFundingRequest Funding(int index, int64_t amount) {
  v1::RecordMilestoneFundingRequest r;
  r.set_milestone_index(index);
  *r.mutable_amount() = Cny(amount);
  r.set_funding_reference("ESCROW-1");
  return r;
}

TEST(EscrowTest, AnEscrowedMilestoneIsDeliveredOnlyOnceFunded) {
  v1::Deal d = Signed();
  EXPECT_EQ(d.milestones(0).escrow(), v1::ESCROW_STATE_AWAITING_FUNDS);
  EXPECT_EQ(d.milestones(1).escrow(), v1::ESCROW_STATE_UNSPECIFIED);
  absl::StatusOr<Transition> early = DeliverMilestone(d, 1, kNow);
  EXPECT_EQ(early.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(early.status().message()), HasSubstr("awaits its escrow funds"));
  EXPECT_TRUE(DeliverMilestone(d, 2, kNow).ok());  // a direct one is not held back

  absl::StatusOr<Transition> funded = RecordMilestoneFunding(d, Funding(1, kEscrowed), kNow);
  EXPECT_THAT(Events(funded), ElementsAre("MilestoneFunded"));
  d = Apply(funded);
  EXPECT_EQ(d.milestones(0).escrow(), v1::ESCROW_STATE_HELD);
  EXPECT_EQ(d.milestones(0).funding_reference(), "ESCROW-1");
  EXPECT_EQ(d.escrow().funded().amount_minor(), kEscrowed);
  EXPECT_EQ(d.escrow().held().amount_minor(), kEscrowed);
  EXPECT_TRUE(DeliverMilestone(d, 1, kNow).ok());
}

TEST(EscrowTest, FundingIsTheMilestonesAmountOnceOnAnEscrowedMilestoneOfASignedDeal) {
  const v1::Deal d = Signed();
  absl::StatusOr<Transition> t = RecordMilestoneFunding(d, Funding(1, kEscrowed - 1), kNow);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()), StartsWith("amount"));
  v1::RecordMilestoneFundingRequest usd = Funding(1, kEscrowed);
  usd.mutable_amount()->set_currency("USD");
  EXPECT_EQ(RecordMilestoneFunding(d, usd, kNow).status().code(),
            absl::StatusCode::kInvalidArgument);
  t = RecordMilestoneFunding(d, Funding(2, kDirect), kNow);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("paid directly"));
  EXPECT_EQ(RecordMilestoneFunding(d, Funding(3, 1), kNow).status().code(),
            absl::StatusCode::kInvalidArgument);
  const v1::Deal funded = Apply(RecordMilestoneFunding(d, Funding(1, kEscrowed), kNow));
  EXPECT_EQ(RecordMilestoneFunding(funded, Funding(1, kEscrowed), kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v1::Deal cancelled = Apply(CancelDeal(d, v1::PARTY_ROLE_OPERATOR, "fraud", kNow));
  EXPECT_EQ(RecordMilestoneFunding(cancelled, Funding(1, kEscrowed), kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ValidateMilestoneFunding(Funding(1, 0)).code(), absl::StatusCode::kInvalidArgument);
}

TEST(EscrowTest, AcceptanceReleasesTheHeldAmountSplitBetweenSellerAndBroker) {
  v1::Deal d = Apply(RecordMilestoneFunding(Signed(), Funding(1, kEscrowed), kNow));
  d = Apply(DeliverMilestone(d, 1, kNow));
  absl::StatusOr<Transition> t = AcceptMilestone(d, 1, kNow);
  EXPECT_THAT(Events(t), ElementsAre("EscrowReleased"));  // no MilestoneAccepted: nothing is due
  const auto& released = static_cast<const v1::EscrowReleased&>(*t->events[0]);
  EXPECT_EQ(released.amount().amount_minor(), kEscrowed);
  int64_t sum = 0;
  for (const v1::PaymentInstruction& p : released.instructions()) sum += p.amount().amount_minor();
  EXPECT_EQ(sum, kEscrowed);
  ASSERT_EQ(released.instructions_size(), 2);
  EXPECT_EQ(released.instructions(1).payee_role(), v1::PARTY_ROLE_BROKER);
  EXPECT_EQ(released.instructions(1).amount().amount_minor(), kEscrowed / 10);
  d = Apply(t);
  EXPECT_EQ(d.milestones(0).state(), v1::MILESTONE_STATE_PAID);
  EXPECT_EQ(d.milestones(0).escrow(), v1::ESCROW_STATE_RELEASED);
  EXPECT_EQ(d.paid_total().amount_minor(), kEscrowed);
  EXPECT_EQ(d.escrow().released().amount_minor(), kEscrowed);
  EXPECT_EQ(d.escrow().held().amount_minor(), 0);
  EXPECT_EQ(d.state(), v1::DEAL_STATE_IN_PERFORMANCE);  // milestone 2 is still to come
}

TEST(EscrowTest, TheLastReleaseCompletesTheDeal) {
  v1::Deal d =
      Apply(RecordMilestoneFunding(Signed({kEscrowed}, {true}), Funding(1, kEscrowed), kNow));
  d = Apply(DeliverMilestone(d, 1, kNow));
  absl::StatusOr<Transition> t = AcceptMilestone(d, 1, kNow);
  EXPECT_THAT(Events(t), ElementsAre("EscrowReleased", "DealCompleted"));
  EXPECT_EQ(Apply(t).state(), v1::DEAL_STATE_COMPLETED);
}

TEST(EscrowTest, CancellingRefundsWhatIsHeldToTheBuyer) {
  v1::Deal d = Signed({kEscrowed, kDirect, 1'00}, {true, true, true});
  d = Apply(RecordMilestoneFunding(d, Funding(1, kEscrowed), kNow));
  d = Apply(RecordMilestoneFunding(d, Funding(3, 1'00), kNow));
  absl::StatusOr<Transition> t =
      CancelDeal(d, v1::PARTY_ROLE_OPERATOR, "the seller vanished", kNow);
  EXPECT_THAT(Events(t), ElementsAre("DealCancelled", "EscrowRefunded", "EscrowRefunded"));
  const auto& first = static_cast<const v1::EscrowRefunded&>(*t->events[1]);
  EXPECT_EQ(first.milestone().index(), 1);
  EXPECT_EQ(first.amount().amount_minor(), kEscrowed);
  EXPECT_EQ(first.payee().organization_id(), "buyer-org");
  const v1::Deal after = Apply(t);
  EXPECT_EQ(after.escrow().refunded().amount_minor(), kEscrowed + 1'00);
  EXPECT_EQ(after.escrow().held().amount_minor(), 0);
  EXPECT_EQ(after.milestones(1).escrow(), v1::ESCROW_STATE_AWAITING_FUNDS);  // never funded
}

TEST(EscrowTest, ADisputeResolvedByCancellingRefundsOneResumedDoesNot) {
  v1::Deal d = Apply(RecordMilestoneFunding(Signed(), Funding(1, kEscrowed), kNow));
  d = Apply(OpenDispute(d, v1::PARTY_ROLE_BUYER, "late delivery", kNow));
  EXPECT_THAT(Events(ResolveDispute(d, "resume", /*cancel=*/false, kNow)),
              ElementsAre("DisputeResolved"));
  EXPECT_THAT(Events(ResolveDispute(d, "for the buyer", /*cancel=*/true, kNow)),
              ElementsAre("DisputeResolved", "EscrowRefunded"));
}

// Any sequence of funding, delivery, acceptance and cancellation over random escrowed plans:
// the account always reconciles, and the movements the store is given add up to it.
TEST(EscrowTest, FundedIsAlwaysReleasedPlusRefundedPlusHeld) {
  std::mt19937 rng(20261207);
  for (int round = 0; round < 300; ++round) {
    const int n = 1 + static_cast<int>(rng() % 4);
    std::vector<int64_t> amounts;
    std::vector<bool> escrowed;
    for (int i = 0; i < n; ++i) {
      amounts.push_back(1 + static_cast<int64_t>(rng() % 10'000'000));
      escrowed.push_back(rng() % 3 != 0);
    }
    v1::Deal d = Signed(amounts, escrowed);
    std::map<std::string, int64_t> moved;
    for (int step = 0; step < 12; ++step) {
      const int index = 1 + static_cast<int>(rng() % n);
      absl::StatusOr<Transition> t = absl::UnknownError("no step");
      switch (rng() % 5) {
        case 0:
          t = RecordMilestoneFunding(d, Funding(index, amounts[index - 1]), kNow);
          break;
        case 1:
          t = DeliverMilestone(d, index, kNow);
          break;
        case 2:
          t = AcceptMilestone(d, index, kNow);
          break;
        case 3:
          t = rng() % 4 == 0 ? CancelDeal(d, v1::PARTY_ROLE_OPERATOR, "stop", kNow)
                             : DeliverMilestone(d, index, kNow);
          break;
        default: {
          v1::RecordPaymentRequest pay;
          pay.set_milestone_index(index);
          *pay.mutable_amount() = Cny(amounts[index - 1]);
          pay.set_payment_reference("BANK-1");
          t = RecordPayment(d, pay, kNow);
        }
      }
      if (!t.ok()) continue;
      for (const EscrowMovement& m : EscrowMovements(d, t->deal)) moved[m.kind] += m.amount_minor;
      d = t->deal;
      const v1::EscrowAccount& a = d.escrow();
      ASSERT_EQ(
          a.funded().amount_minor(),
          a.released().amount_minor() + a.refunded().amount_minor() + a.held().amount_minor());
      ASSERT_GE(a.held().amount_minor(), 0);
      ASSERT_EQ(moved["funded"], a.funded().amount_minor());
      ASSERT_EQ(moved["released"], a.released().amount_minor());
      ASSERT_EQ(moved["refunded"], a.refunded().amount_minor());
    }
    if (d.state() == v1::DEAL_STATE_CANCELLED) {
      EXPECT_EQ(d.escrow().held().amount_minor(), 0);
    }
  }
}

}  // namespace
}  // namespace techtrade::transactions
