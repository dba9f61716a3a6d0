// The broker's commission split of every payment that falls due: to the fen, parts summing to
// each payment, and the broker's parts over a contract summing to exactly its commission, for a
// rate and for a fixed amount, at the rounding edges (docs/deals.md, "Brokers and their
// commission").
#include "services/transactions/domain/commission.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "google/protobuf/util/time_util.h"
#include "services/transactions/domain/deal_rules.h"

namespace techtrade::transactions {
namespace {

using ::testing::StartsWith;
namespace lv1 = techtrade::listings::v1;

// A deal with a broker and these milestone amounts (CNY minor units).
v1::Deal Brokered(const std::vector<int64_t>& amounts, int bps, int64_t fixed = 0) {
  v1::Deal d;
  d.mutable_seller()->set_organization_id("seller");
  d.mutable_broker()->set_organization_id("broker");
  d.set_broker_commission_bps(bps);
  if (fixed > 0) {
    d.mutable_broker_commission_fixed()->set_currency("CNY");
    d.mutable_broker_commission_fixed()->set_amount_minor(fixed);
  }
  for (size_t i = 0; i < amounts.size(); ++i) {
    v1::Milestone* m = d.add_milestones();
    m->set_index(static_cast<int>(i + 1));
    m->mutable_amount()->set_currency("CNY");
    m->mutable_amount()->set_amount_minor(amounts[i]);
  }
  return d;
}

int64_t Sum(const std::vector<int64_t>& v) {
  int64_t s = 0;
  for (int64_t x : v) s += x;
  return s;
}

// Every milestone's instructions sum to its amount, each part within it; returns the broker's
// parts.
std::vector<int64_t> BrokerParts(const v1::Deal& d) {
  std::vector<int64_t> parts;
  for (int i = 1; i <= d.milestones_size(); ++i) {
    const int64_t amount = d.milestones(i - 1).amount().amount_minor();
    std::vector<v1::PaymentInstruction> paid = PaymentInstructions(d, i, amount);
    int64_t sum = 0, broker = 0;
    for (const v1::PaymentInstruction& p : paid) {
      EXPECT_GE(p.amount().amount_minor(), 0);
      EXPECT_EQ(p.amount().currency(), "CNY");
      sum += p.amount().amount_minor();
      if (p.payee_role() == v1::PARTY_ROLE_BROKER) broker = p.amount().amount_minor();
    }
    EXPECT_EQ(sum, amount) << "milestone " << i;
    EXPECT_EQ(paid.front().payee_role(), v1::PARTY_ROLE_SELLER);
    EXPECT_EQ(paid.front().payee().organization_id(), "seller");
    parts.push_back(broker);
  }
  return parts;
}

TEST(CommissionTest, ARateRoundsEachMilestoneSoThatTheWholeIsTheRateOnThePrice) {
  // 3 % of 333.33, 333.33, 333.34: 9.9999 each alone would round to 9.99 three times (29.97);
  // the cumulative split pays 9.99, 10.00, 10.01 — 30.00, 3 % of the price.
  const v1::Deal d = Brokered({33333, 33333, 33334}, 300);
  EXPECT_THAT(BrokerParts(d), ::testing::ElementsAre(999, 1000, 1001));
}

TEST(CommissionTest, AFixedAmountIsSpreadInProportionAndAddsUpExactly) {
  // 10 000.01 over three equal milestones of 10 000.00.
  const v1::Deal d = Brokered({1'000'000, 1'000'000, 1'000'000}, 0, 1'000'001);
  EXPECT_THAT(BrokerParts(d), ::testing::ElementsAre(333'333, 333'334, 333'334));
  // The whole price as the commission: the seller's parts are all 0.
  const v1::Deal all = Brokered({1, 2, 3}, 0, 6);
  EXPECT_THAT(BrokerParts(all), ::testing::ElementsAre(1, 2, 3));
}

TEST(CommissionTest, WithoutABrokerOrACommissionTheSellerIsPaidEverything) {
  v1::Deal d = Brokered({5000}, 0);
  std::vector<v1::PaymentInstruction> paid = PaymentInstructions(d, 1, 5000);
  ASSERT_EQ(paid.size(), 1u);
  EXPECT_EQ(paid[0].amount().amount_minor(), 5000);
  d = Brokered({5000}, 250);
  d.clear_broker();
  paid = PaymentInstructions(d, 1, 5000);
  ASSERT_EQ(paid.size(), 1u);
  EXPECT_EQ(paid[0].payee_role(), v1::PARTY_ROLE_SELLER);
  // A commission that rounds to nothing on a tiny milestone: no broker line.
  EXPECT_EQ(PaymentInstructions(Brokered({3}, 1), 1, 3).size(), 1u);
  EXPECT_EQ(BrokerShareMinor(Brokered({100}, 100), 0), 0);
  EXPECT_EQ(BrokerShareMinor(Brokered({100}, 100), 2), 0);
}

TEST(CommissionTest, PartsAlwaysSumToEachPaymentAndTheWholeToTheCommission) {
  std::mt19937_64 random(20261207);
  for (int round = 0; round < 2000; ++round) {
    const int n = 1 + static_cast<int>(random() % 20);
    std::vector<int64_t> amounts;
    for (int i = 0; i < n; ++i) {
      // Mostly small and awkward amounts, some near the largest a deal carries.
      amounts.push_back(round % 10 == 0 ? 1 + static_cast<int64_t>(random() % 1'000'000'000'000)
                                        : 1 + static_cast<int64_t>(random() % 100'000));
    }
    const int64_t price = Sum(amounts);
    if (round % 2 == 0) {
      const int bps = static_cast<int>(random() % (kMaxBrokerCommissionBps + 1));
      EXPECT_EQ(Sum(BrokerParts(Brokered(amounts, bps))),
                static_cast<int64_t>(static_cast<__int128>(price) * bps / 10000))
          << "round " << round;
    } else {
      const int64_t fixed = 1 + static_cast<int64_t>(random() % static_cast<uint64_t>(price));
      EXPECT_EQ(Sum(BrokerParts(Brokered(amounts, 0, fixed))), fixed) << "round " << round;
    }
  }
}

TEST(CommissionTest, OpenDealTakesARateOrAFixedAmountWithABroker) {
  v1::OpenDealRequest r;
  r.set_listing_id("00000000-0000-4000-8000-000000000001");
  r.set_listing_kind(lv1::LISTING_KIND_OFFER);
  r.set_buyer_org_id("00000000-0000-4000-8000-000000000002");
  r.set_seller_org_id("00000000-0000-4000-8000-000000000003");
  r.mutable_broker_commission_fixed()->set_currency("CNY");
  r.mutable_broker_commission_fixed()->set_amount_minor(50000);
  EXPECT_THAT(std::string(ValidateOpenDeal(r).message()),
              StartsWith("broker_commission_fixed: a commission needs a broker (broker_org_id or"));
  r.set_broker_org_id("00000000-0000-4000-8000-000000000004");
  EXPECT_TRUE(ValidateOpenDeal(r).ok());
  r.set_broker_commission_bps(200);
  EXPECT_THAT(std::string(ValidateOpenDeal(r).message()),
              StartsWith("broker_commission_fixed: a commission is either"));
  r.set_broker_commission_bps(0);
  r.mutable_broker_commission_fixed()->set_currency("cny");
  EXPECT_THAT(std::string(ValidateOpenDeal(r).message()),
              StartsWith("broker_commission_fixed.currency"));
}

TEST(CommissionTest, TermsArePricedAtLeastTheFixedCommissionInItsCurrency) {
  v1::Deal d = OpenDeal(Brokered({}, 0, 50000), absl::FromUnixSeconds(1'800'000'000)).deal;
  v1::ProposeTermsRequest terms;
  terms.set_acting_as(v1::PARTY_ROLE_SELLER);
  terms.mutable_price()->set_currency("CNY");
  terms.mutable_price()->set_amount_minor(49999);
  terms.set_transfer_mode(lv1::TRANSFER_MODE_ASSIGNMENT);
  absl::StatusOr<Transition> t = ProposeTerms(d, terms, absl::FromUnixSeconds(1'800'000'001));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()), StartsWith("price: below the broker's fixed"));
  terms.mutable_price()->set_currency("USD");
  terms.mutable_price()->set_amount_minor(50000);
  t = ProposeTerms(d, terms, absl::FromUnixSeconds(1'800'000'001));
  EXPECT_THAT(std::string(t.status().message()), StartsWith("price.currency"));
  terms.mutable_price()->set_currency("CNY");
  EXPECT_TRUE(ProposeTerms(d, terms, absl::FromUnixSeconds(1'800'000'001)).ok());
}

TEST(CommissionTest, AnAcceptedMilestoneCarriesItsSplitInstructions) {
  v1::Deal d = Brokered({33333, 33333, 33334}, 300);
  d.set_state(v1::DEAL_STATE_IN_PERFORMANCE);
  d.mutable_milestones(1)->set_state(v1::MILESTONE_STATE_DELIVERED);
  absl::StatusOr<Transition> t = AcceptMilestone(d, 2, absl::FromUnixSeconds(1'800'000'000));
  ASSERT_TRUE(t.ok()) << t.status();
  const auto& accepted = static_cast<const v1::MilestoneAccepted&>(*t->events.back());
  EXPECT_EQ(accepted.amount_due().amount_minor(), 33333);
  ASSERT_EQ(accepted.instructions_size(), 2);
  EXPECT_EQ(accepted.instructions(0).amount().amount_minor(), 32333);
  EXPECT_EQ(accepted.instructions(1).payee_role(), v1::PARTY_ROLE_BROKER);
  EXPECT_EQ(accepted.instructions(1).payee().organization_id(), "broker");
  EXPECT_EQ(accepted.instructions(1).amount().amount_minor(), 1000);
}

}  // namespace
}  // namespace techtrade::transactions

namespace techtrade::transactions {
namespace {

TEST(BrokerAuthorityTest, APartyAllowsAndWithdrawsTheBrokersActingForIt) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  v1::Deal d = OpenDeal(Brokered({}, 100), now).deal;
  EXPECT_FALSE(BrokerActsFor(d, v1::PARTY_ROLE_SELLER));
  absl::StatusOr<Transition> t = AllowBroker(d, v1::PARTY_ROLE_SELLER, true, now);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->events.back()->GetDescriptor()->name(), "BrokerAuthorityChanged");
  d = t->deal;
  EXPECT_TRUE(BrokerActsFor(d, v1::PARTY_ROLE_SELLER));
  EXPECT_FALSE(BrokerActsFor(d, v1::PARTY_ROLE_BUYER));
  // Nothing to change: refused, no event.
  EXPECT_EQ(AllowBroker(d, v1::PARTY_ROLE_SELLER, true, now).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(AllowBroker(d, v1::PARTY_ROLE_BUYER, false, now).status().code(),
            absl::StatusCode::kFailedPrecondition);
  d = AllowBroker(d, v1::PARTY_ROLE_SELLER, false, now)->deal;
  EXPECT_FALSE(BrokerActsFor(d, v1::PARTY_ROLE_SELLER));
  EXPECT_EQ(AllowBroker(d, v1::PARTY_ROLE_BROKER, true, now).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BrokerAuthorityTest, NoBrokerOrAFinishedDealHasNoAuthorityToGive) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  v1::Deal none = Brokered({}, 0);
  none.clear_broker();
  EXPECT_EQ(AllowBroker(OpenDeal(none, now).deal, v1::PARTY_ROLE_BUYER, true, now).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v1::Deal done = Brokered({}, 100);
  done.set_state(v1::DEAL_STATE_COMPLETED);
  EXPECT_EQ(AllowBroker(done, v1::PARTY_ROLE_BUYER, true, now).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // An authority recorded on a deal whose broker is gone counts for nothing.
  v1::Deal stale = Brokered({}, 100);
  stale.add_broker_acts_for(v1::PARTY_ROLE_SELLER);
  stale.clear_broker();
  EXPECT_FALSE(BrokerActsFor(stale, v1::PARTY_ROLE_SELLER));
}

}  // namespace
}  // namespace techtrade::transactions
