// Milestone escrow on the real stack (docs/deals.md, "Milestone escrow"): the finance partner
// funds an escrowed milestone before it can be delivered, acceptance releases it split between
// seller and broker on the partner's own stream, a cancellation refunds what is still held, and
// the transactions database keeps funded = released + refunded + held per deal, refusing a
// movement that would break it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>

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
using ::testing::ElementsAre;
using ::testing::StartsWith;

class EscrowTest : public DealFixture {
 protected:
  EscrowTest() : DealFixture("escrow_it_") {}

  v1::RecordMilestoneFundingRequest Funding(const v1::Deal& d, int index) {
    v1::RecordMilestoneFundingRequest r;
    r.set_request_id("fund-" + NewUuid());
    r.set_deal_id(d.id());
    r.set_expected_version(d.version());
    r.set_milestone_index(index);
    *r.mutable_amount() = d.milestones(index - 1).amount();
    r.set_funding_reference(absl::StrCat("ESCROW-", d.id().substr(0, 8), "-", index));
    return r;
  }
  // The deal's escrow balances as the database holds them: funded, released, refunded, held.
  std::vector<int64_t> Balances(const std::string& deal_id) {
    pqxx::connection c(dbs_[2]->url());
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_params(
        "SELECT funded, released, refunded, held FROM escrow_balances WHERE deal_id = $1::uuid",
        deal_id);
    if (r.empty()) return {};
    return {r[0][0].as<int64_t>(), r[0][1].as<int64_t>(), r[0][2].as<int64_t>(),
            r[0][3].as<int64_t>()};
  }
  // Runs `sql` on the transactions database; the error, or "" if it was accepted.
  std::string Refusal(const std::string& sql) {
    try {
      pqxx::connection c(dbs_[2]->url());
      pqxx::work tx(c);
      tx.exec(sql);
      tx.commit();
      return "";
    } catch (const std::exception& e) {
      return e.what();
    }
  }
};

TEST_F(EscrowTest, AMilestoneIsFundedThenReleasedAnotherRefundedOnCancellation) {
  const reg::Organization broker =
      Organization(3, "wuhan-east-lake", reg::ORGANIZATION_KIND_SERVICE_PROVIDER);
  v1::OpenDealRequest open = OpenRequest();
  open.set_broker_org_id(broker.id());
  open.set_broker_commission_bps(333);
  v1::Deal d = Must(&Stub::OpenDeal, open, shenzhen_key_);
  WaitForPartnerTopic();
  if (HasFatalFailure()) return;
  TopicReader reader(stack_.kafka_brokers, PartnerDealsTopic(partner_id_));
  v1::ProposeTermsRequest terms = Terms(d, v1::PARTY_ROLE_SELLER, 333'333'33);
  for (v1::MilestonePlan& m : *terms.mutable_milestones()) m.set_escrow(true);
  d = Must(&Stub::ProposeTerms, terms, wuhan_key_);
  d = Accept(d, v1::PARTY_ROLE_SELLER, wuhan_key_);
  d = Accept(d, v1::PARTY_ROLE_BUYER, shenzhen_key_);
  ASSERT_TRUE(SignAs(d, v1::PARTY_ROLE_UNSPECIFIED, operator_key_, &d).ok());

  // Not delivered before its funds are held; funded only by a finance partner, at its amount.
  v1::Deal out;
  grpc::Status s = stub_->DeliverMilestone(AuthedContext(wuhan_key_).get(), Milestone(d, 1), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("awaits its escrow funds"));
  s = stub_->RecordMilestoneFunding(AuthedContext(shenzhen_key_).get(), Funding(d, 1), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::RecordMilestoneFundingRequest short_of_it = Funding(d, 1);
  short_of_it.mutable_amount()->set_amount_minor(short_of_it.amount().amount_minor() - 1);
  s = stub_->RecordMilestoneFunding(AuthedContext(partner_key_).get(), short_of_it, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("amount"));

  const int64_t first = d.milestones(0).amount().amount_minor();
  const int64_t second = d.milestones(1).amount().amount_minor();
  d = Must(&Stub::RecordMilestoneFunding, Funding(d, 1), partner_key_);
  EXPECT_THAT(Balances(d.id()), ElementsAre(first, 0, 0, first));
  d = Must(&Stub::DeliverMilestone, Milestone(d, 1), wuhan_key_);
  d = Must(&Stub::AcceptMilestone, Milestone(d, 1), shenzhen_key_);
  EXPECT_EQ(d.milestones(0).state(), v1::MILESTONE_STATE_PAID);
  EXPECT_EQ(d.paid_total().amount_minor(), first);
  d = Must(&Stub::RecordMilestoneFunding, Funding(d, 2), partner_key_);
  v1::CancelDealRequest cancel;
  cancel.set_request_id("cancel-" + d.id());
  cancel.set_deal_id(d.id());
  cancel.set_expected_version(d.version());
  cancel.set_acting_as(v1::PARTY_ROLE_OPERATOR);
  cancel.set_reason("the seller cannot deliver the second milestone");
  d = Must(&Stub::CancelDeal, cancel, operator_key_);
  EXPECT_EQ(d.escrow().refunded().amount_minor(), second);
  EXPECT_EQ(d.escrow().held().amount_minor(), 0);
  EXPECT_THAT(Balances(d.id()), ElementsAre(first + second, first, second, 0));

  // The partner's stream: funded, released with the split, funded, cancelled, refunded.
  std::vector<std::string> types;
  v1::EscrowReleased released;
  v1::EscrowRefunded refunded;
  reader.ReadUntil(
      [&](auto&) {
        for (const auto& e : reader.ForAggregate(d.id())) {
          if (e.envelope.payload().Is<v1::EscrowRefunded>()) return true;
        }
        return false;
      },
      absl::Seconds(20));
  for (const auto& e : reader.ForAggregate(d.id())) {
    std::string type = e.envelope.event_type();
    type = type.substr(type.rfind('.') + 1);
    if (type == "MilestoneFunded" || type == "EscrowReleased" || type == "EscrowRefunded" ||
        type == "DealCancelled" || type == "MilestoneDelivered") {
      types.push_back(type);
    }
    e.envelope.payload().UnpackTo(&released) || e.envelope.payload().UnpackTo(&refunded);
  }
  EXPECT_THAT(types, ElementsAre("MilestoneFunded", "MilestoneDelivered", "EscrowReleased",
                                 "MilestoneFunded", "DealCancelled", "EscrowRefunded"));
  ASSERT_EQ(released.instructions_size(), 2);
  EXPECT_EQ(released.instructions(0).amount().amount_minor() +
                released.instructions(1).amount().amount_minor(),
            first);
  EXPECT_EQ(released.instructions(1).payee().credit_code(), broker.credit_code());
  EXPECT_EQ(refunded.amount().amount_minor(), second);
  EXPECT_EQ(refunded.payee().credit_code(), buyer_.credit_code());

  // The database refuses what would not reconcile, whoever writes it.
  EXPECT_THAT(Refusal(absl::StrCat("INSERT INTO escrow_movements (deal_id, milestone_index, kind, "
                                   "amount, currency) VALUES ('",
                                   d.id(), "', 1, 'refunded', ", first, ", 'CNY')")),
              ::testing::HasSubstr("escrow_movements_one_outcome"));
  EXPECT_THAT(Refusal(absl::StrCat("INSERT INTO escrow_movements (deal_id, milestone_index, kind, "
                                   "amount, currency) VALUES ('",
                                   d.id(), "', 3, 'released', 100, 'CNY')")),
              ::testing::HasSubstr("without that amount funded"));
  EXPECT_THAT(Refusal(absl::StrCat("UPDATE escrow_balances SET held = held + 1 WHERE deal_id = '",
                                   d.id(), "'")),
              ::testing::HasSubstr("escrow_balances_conserved"));
  EXPECT_THAT(Refusal(absl::StrCat("DELETE FROM escrow_movements WHERE deal_id = '", d.id(), "'")),
              ::testing::HasSubstr("append-only"));
}

}  // namespace
}  // namespace techtrade::testing
