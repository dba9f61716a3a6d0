// A brokered deal on the real stack: every payment instruction on the finance partner's own
// stream is split between the seller and the broker, the parts summing to the payment to the
// fen and the broker's parts to its commission on the price (docs/deals.md, "Brokers and their
// commission"); a certified technology manager of the registry brokers for their organisation until
// the certificate is revoked.
#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/topics.h"
#include "tests/support/deal_fixture.h"
#include "tests/support/harness.h"

namespace techtrade::testing {
namespace {

namespace v1 = techtrade::transactions::v1;
using Stub = v1::TransactionsService::Stub;

class BrokerCommissionTest : public DealFixture {
 protected:
  BrokerCommissionTest() : DealFixture("broker_commission_it_") {}
};

TEST_F(BrokerCommissionTest, ThePartnersStreamSplitsEachPaymentBetweenSellerAndBroker) {
  const reg::Organization broker =
      Organization(3, "wuhan-east-lake", reg::ORGANIZATION_KIND_SERVICE_PROVIDER);
  v1::OpenDealRequest open = OpenRequest();
  open.set_broker_org_id(broker.id());
  open.set_broker_commission_bps(333);  // 3.33 %: rounds on every milestone
  v1::Deal d = Must(&Stub::OpenDeal, open, shenzhen_key_);
  // The relay creates the partner's topic with the deal's first event; read on from there.
  WaitForPartnerTopic();
  if (HasFatalFailure()) return;
  TopicReader reader(stack_.kafka_brokers, PartnerDealsTopic(partner_id_));
  constexpr int64_t kPrice = 333'333'33;
  d = Must(&Stub::ProposeTerms, Terms(d, v1::PARTY_ROLE_SELLER, kPrice), wuhan_key_);
  d = Accept(d, v1::PARTY_ROLE_SELLER, wuhan_key_);
  d = Accept(d, v1::PARTY_ROLE_BUYER, shenzhen_key_);
  ASSERT_TRUE(SignAs(d, v1::PARTY_ROLE_UNSPECIFIED, operator_key_, &d).ok());
  for (int m = 1; m <= d.milestones_size(); ++m) {
    d = Must(&Stub::DeliverMilestone, Milestone(d, m), wuhan_key_);
    d = Must(&Stub::AcceptMilestone, Milestone(d, m), shenzhen_key_);
  }
  ASSERT_TRUE(reader
                  .ReadUntil(
                      [&](auto&) {
                        int accepted = 0;
                        for (const auto& e : reader.ForAggregate(d.id())) {
                          accepted += e.envelope.payload().Is<v1::MilestoneAccepted>();
                        }
                        return accepted == d.milestones_size();
                      },
                      absl::Seconds(20))
                  .size() > 0);
  int64_t broker_total = 0;
  int instructions = 0;
  for (const auto& e : reader.ForAggregate(d.id())) {
    v1::MilestoneAccepted accepted;
    if (!e.envelope.payload().UnpackTo(&accepted)) continue;
    ++instructions;
    ASSERT_EQ(accepted.instructions_size(), 2) << accepted.milestone().index();
    const v1::PaymentInstruction& seller = accepted.instructions(0);
    const v1::PaymentInstruction& to_broker = accepted.instructions(1);
    EXPECT_EQ(seller.payee_role(), v1::PARTY_ROLE_SELLER);
    EXPECT_EQ(seller.payee().credit_code(), seller_.credit_code());
    EXPECT_EQ(to_broker.payee_role(), v1::PARTY_ROLE_BROKER);
    EXPECT_EQ(to_broker.payee().credit_code(), broker.credit_code());
    EXPECT_EQ(seller.amount().amount_minor() + to_broker.amount().amount_minor(),
              accepted.amount_due().amount_minor());
    EXPECT_EQ(to_broker.amount().currency(), "CNY");
    broker_total += to_broker.amount().amount_minor();
  }
  EXPECT_EQ(instructions, 2);
  // 3.33 % of 333 333.33 is 11 099.9999: 11 099.99, whatever the milestones' rounding.
  EXPECT_EQ(broker_total, kPrice * 333 / 10000);
  EXPECT_EQ(broker_total, 1'109'999);
}

TEST_F(BrokerCommissionTest, ACertifiedTechnologyManagerBrokersUntilTheCertificateIsRevoked) {
  using google::protobuf::util::TimeUtil;
  const reg::Organization office =
      Organization(3, "wuhan-east-lake", reg::ORGANIZATION_KIND_SERVICE_PROVIDER);
  reg::RegisterTechnologyManagerRequest r;
  r.set_request_id("manager-" + NewUuid());
  r.set_name("Li Wei");
  r.set_certificate_number("TM-420100-2026-0042");
  r.set_certifying_authority("Hubei Provincial Department of Science and Technology");
  r.set_organization_id(office.id());
  *r.mutable_certificate_expire_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now() + absl::Hours(24 * 365)));
  reg::TechnologyManager manager;
  grpc::Status s =
      registry_stub_->RegisterTechnologyManager(AuthedContext(wuhan_key_).get(), r, &manager);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // The same certificate again, under another request: one registration per certificate.
  r.set_request_id("manager-" + NewUuid());
  reg::TechnologyManager twice;
  s = registry_stub_->RegisterTechnologyManager(AuthedContext(operator_key_).get(), r, &twice);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();

  auto open_request = [&] {
    v1::OpenDealRequest open = OpenRequest();
    open.set_broker_manager_id(manager.id());
    open.set_broker_commission_bps(200);
    return open;
  };
  const v1::Deal d = Must(&Stub::OpenDeal, open_request(), shenzhen_key_);
  EXPECT_EQ(d.broker().organization_id(), office.id());
  EXPECT_EQ(d.broker().credit_code(), office.credit_code());
  EXPECT_EQ(d.broker_manager().id(), manager.id());
  EXPECT_EQ(d.broker_manager().certificate_number(), "TM-420100-2026-0042");
  // As stored: read back from the database, not the response.
  v1::GetDealRequest get;
  get.set_id(d.id());
  v1::Deal read;
  s = stub_->GetDeal(AuthedContext(operator_key_).get(), get, &read);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(read.broker_manager().SerializeAsString(), d.broker_manager().SerializeAsString());

  reg::RevokeTechnologyManagerRequest revoke;
  revoke.set_request_id("revoke-" + NewUuid());
  revoke.set_id(manager.id());
  revoke.set_expected_version(manager.version());
  revoke.set_reason("certificate withdrawn by the authority");
  s = registry_stub_->RevokeTechnologyManager(AuthedContext(operator_key_).get(), revoke, &manager);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // At once: the transactions service reads the manager from the registry, never a cached copy.
  v1::Deal refused;
  s = stub_->OpenDeal(AuthedContext(shenzhen_key_).get(), open_request(), &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("broker_manager_id: "));
  // The deal it brokered keeps its broker.
  s = stub_->GetDeal(AuthedContext(operator_key_).get(), get, &read);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(read.broker().organization_id(), office.id());
}

}  // namespace
}  // namespace techtrade::testing
