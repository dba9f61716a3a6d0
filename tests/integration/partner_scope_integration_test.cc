// Finance partners see only their deals, against the running services and broker: partner B
// can neither read nor pay partner A's deal (NOT_FOUND, as for no deal, and nothing changes),
// and A's deal events reach A's own topic (techtrade.partner.<A>.deals.v1, created by the relay
// on first use) and never B's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "common/kafka.h"
#include "common/topics.h"
#include "tests/support/deal_fixture.h"
#include "tests/support/test_pki.h"

namespace techtrade::testing {
namespace {

using Stub = tv1::TransactionsService::Stub;

class PartnerScopeTest : public DealFixture {
 protected:
  PartnerScopeTest() : DealFixture("partner_it_") {}

  // Opens a deal that names `partner_id`.
  tv1::Deal OpenFor(const std::string& partner_id) {
    tv1::OpenDealRequest r;
    r.set_request_id("open-" + NewUuid());
    r.set_listing_id(offer_id_);
    r.set_listing_kind(lv1::LISTING_KIND_OFFER);
    r.set_buyer_org_id(buyer_.id());
    r.set_seller_org_id(seller_.id());
    r.set_finance_partner_id(partner_id);
    return Must(&Stub::OpenDeal, r, shenzhen_key_);
  }

  // The ids of the deals whose events are on `topic` (from its beginning), read until `want`
  // is among them or `timeout` passes.
  std::set<std::string> DealsOnTopic(const std::string& topic, const std::string& want,
                                     absl::Duration timeout) {
    std::set<std::string> ids;
    const absl::Time deadline = absl::Now() + timeout;
    // The relay creates the topic when it first publishes to it.
    while (!KafkaConsumer::EndOffsets(stack_.kafka_brokers, topic, absl::Seconds(2)).ok()) {
      if (absl::Now() > deadline) return ids;
      absl::SleepFor(absl::Milliseconds(200));
    }
    auto consumer = KafkaConsumer::CreateTail(stack_.kafka_brokers, topic, {});
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    if (!consumer.ok()) return ids;
    while (!ids.contains(want) && absl::Now() < deadline) {
      std::unique_ptr<RdKafka::Message> m = (*consumer)->Poll(absl::Milliseconds(200));
      if (m == nullptr) continue;
      common::v1::EventEnvelope e;
      if (e.ParseFromArray(m->payload(), static_cast<int>(m->len()))) ids.insert(e.aggregate_id());
    }
    return ids;
  }
};

TEST_F(PartnerScopeTest, PartnerBNeitherReadsNorPaysPartnerAsDeal) {
  const std::string b_key = Key(reg::API_CLIENT_ROLE_PARTNER, "");
  tv1::Deal a_deal;
  ASSERT_TRUE(Open(&a_deal, shenzhen_key_).ok());
  ASSERT_EQ(a_deal.finance_partner_id(), partner_id_);

  tv1::GetDealRequest get;
  get.set_id(a_deal.id());
  tv1::Deal read;
  ASSERT_TRUE(stub_->GetDeal(AuthedContext(partner_key_).get(), get, &read).ok());
  grpc::Status s = stub_->GetDeal(AuthedContext(b_key).get(), get, &read);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "id: no deal " + a_deal.id());

  tv1::RecordPaymentRequest pay;
  pay.set_request_id("pay-" + NewUuid());
  pay.set_deal_id(a_deal.id());
  pay.set_expected_version(a_deal.version());
  pay.set_milestone_index(1);
  pay.mutable_amount()->set_currency("CNY");
  pay.mutable_amount()->set_amount_minor(100);
  pay.set_payment_reference("B-" + NewUuid());
  s = stub_->RecordPayment(AuthedContext(b_key).get(), pay, &read);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "deal_id: no deal " + a_deal.id());

  tv1::ListDealsRequest list;
  tv1::ListDealsResponse page;
  ASSERT_TRUE(stub_->ListDeals(AuthedContext(b_key).get(), list, &page).ok());
  EXPECT_EQ(page.deals_size(), 0);
  ASSERT_TRUE(stub_->ListDeals(AuthedContext(partner_key_).get(), list, &page).ok());
  ASSERT_EQ(page.deals_size(), 1);
  EXPECT_EQ(page.deals(0).id(), a_deal.id());

  // Nothing changed: the deal is as it was opened.
  ASSERT_TRUE(stub_->GetDeal(AuthedContext(operator_key_).get(), get, &read).ok());
  EXPECT_EQ(read.version(), a_deal.version());
  EXPECT_EQ(read.paid_total().amount_minor(), 0);
}

TEST_F(PartnerScopeTest, ADealsEventsAreOnItsPartnersTopicAndNotOnAnothers) {
  const std::string b_id = KeyId(Key(reg::API_CLIENT_ROLE_PARTNER, ""));
  tv1::Deal a_deal = OpenFor(partner_id_);
  tv1::Deal b_deal = OpenFor(b_id);
  std::set<std::string> on_a =
      DealsOnTopic(PartnerDealsTopic(partner_id_), a_deal.id(), absl::Seconds(30));
  std::set<std::string> on_b =
      DealsOnTopic(PartnerDealsTopic(b_id), b_deal.id(), absl::Seconds(30));
  EXPECT_TRUE(on_a.contains(a_deal.id()));
  EXPECT_FALSE(on_a.contains(b_deal.id()));
  EXPECT_TRUE(on_b.contains(b_deal.id()));
  EXPECT_FALSE(on_b.contains(a_deal.id()));
}

// The partner onboarded on Kafka (its certificate, topic and ACLs: stack.sh partner) reads its
// deal's events with its own certificate, as a bank would.
TEST_F(PartnerScopeTest, APartnerReadsItsDealsWithItsOwnCertificate) {
  ASSERT_TRUE(stack_.OnboardPartner(partner_id_));
  tv1::Deal deal = OpenFor(partner_id_);
  auto consumer = KafkaConsumer::Create(
      stack_.kafka_brokers, partner_id_ + ".it-" + RandomHex(4), {PartnerDealsTopic(partner_id_)},
      {{"ssl.certificate.location", StackCertificate(partner_id_).cert},
       {"ssl.key.location", StackCertificate(partner_id_).key}});
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  bool seen = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!seen && absl::Now() < deadline) {
    std::unique_ptr<RdKafka::Message> m = (*consumer)->Poll(absl::Milliseconds(200));
    if (m == nullptr) continue;
    common::v1::EventEnvelope e;
    seen =
        e.ParseFromArray(m->payload(), static_cast<int>(m->len())) && e.aggregate_id() == deal.id();
  }
  EXPECT_TRUE(seen) << "the deal's events, read with the partner's own certificate";
}

}  // namespace
}  // namespace techtrade::testing
