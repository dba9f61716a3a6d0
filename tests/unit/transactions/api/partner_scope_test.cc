// Finance partners see only their deals, through the handlers: a deal names the partner that
// settles it, only that partner's key reads it, lists it and records its payments, and to any
// other partner the deal does not exist (NOT_FOUND, as an unknown id) — nothing is saved and no
// event is emitted. Its events go to the partner's own topic as well as the platform's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/auth.h"
#include "common/ids.h"
#include "common/topics.h"
#include "services/transactions/api/transactions_service.h"
#include "tests/support/deal_parties.h"
#include "tests/support/fake_directories.h"
#include "tests/support/fake_transactions_store.h"
#include "tests/support/in_process.h"

namespace techtrade::transactions {
namespace {

using ::testing::StartsWith;
namespace reg = techtrade::registry::v1;
namespace lv1 = techtrade::listings::v1;

class PartnerScopeTest : public testing::DealPartiesTest {
 protected:
  PartnerScopeTest() : service_(deals_, server_.cache(), server_.runner(), registry_, listings_) {
    operator_key_ = server_.keys().Add(testing::OperatorPrincipal());
    city_key_ = server_.keys().Add(testing::CitySystemPrincipal("shenzhen"));
    partner_a_key_ = server_.keys().Add(testing::PartnerPrincipal());
    partner_b_key_ = server_.keys().Add(testing::PartnerPrincipal());
    partner_a_ = AddPartner(partner_a_key_);
    partner_b_ = AddPartner(partner_b_key_);
    server_.Start({&service_});
    stub_ = v1::TransactionsService::NewStub(server_.channel());
  }

  v1::Deal OpenedDeal(const std::string& partner_id) {
    v1::Deal deal;
    grpc::Status s =
        stub_->OpenDeal(testing::CallAs(city_key_).get(), OpenRequestFor(partner_id), &deal);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return deal;
  }

  grpc::Status Get(const std::string& key, const std::string& id, v1::Deal* out) {
    v1::GetDealRequest get;
    get.set_id(id);
    return stub_->GetDeal(testing::CallAs(key).get(), get, out);
  }

  std::vector<std::string> Listed(const std::string& key) {
    v1::ListDealsRequest list;
    v1::ListDealsResponse page;
    grpc::Status s = stub_->ListDeals(testing::CallAs(key).get(), list, &page);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> ids;
    for (const v1::Deal& d : page.deals()) ids.push_back(d.id());
    return ids;
  }

  v1::RecordPaymentRequest Payment(const v1::Deal& deal) {
    v1::RecordPaymentRequest r;
    r.set_request_id(NewUuid());
    r.set_deal_id(deal.id());
    r.set_expected_version(deal.version());
    r.set_milestone_index(1);
    r.mutable_amount()->set_currency("CNY");
    r.mutable_amount()->set_amount_minor(100);
    r.set_payment_reference("ref-" + NewUuid());
    return r;
  }

  testing::FakeDeals deals_;
  testing::InProcessServer server_{"transactions"};
  TransactionsServiceImpl service_;
  std::unique_ptr<v1::TransactionsService::Stub> stub_;
  std::string operator_key_, city_key_, partner_a_key_, partner_b_key_;
  std::string partner_a_, partner_b_;
};

TEST_F(PartnerScopeTest, TheDealNamesItsPartnerAndItsEventsGoToThePartnersTopicToo) {
  v1::Deal deal = OpenedDeal(partner_a_);
  EXPECT_EQ(deal.finance_partner_id(), partner_a_);
  EXPECT_EQ(deals_.state().GetLatestDeal(deal.id())->finance_partner_id(), partner_a_);
  ASSERT_EQ(deals_.events().size(), 1u);
  EXPECT_EQ(deals_.events()[0].aggregate.also_topic, PartnerDealsTopic(partner_a_));
  EXPECT_EQ(deals_.events()[0].aggregate.also_topic,
            absl::StrCat("techtrade.partner.", partner_a_, ".deals.v1"));
}

TEST_F(PartnerScopeTest, AnotherPartnersGetDealIsNotFoundAsForNoDeal) {
  v1::Deal deal = OpenedDeal(partner_a_);
  v1::Deal read;
  ASSERT_TRUE(Get(partner_a_key_, deal.id(), &read).ok());
  EXPECT_EQ(read.id(), deal.id());
  grpc::Status other = Get(partner_b_key_, deal.id(), &read);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::NOT_FOUND);
  // Word for word what an id that names no deal gets: existence is not leaked.
  const std::string unknown = NewUuid();
  grpc::Status none = Get(partner_b_key_, unknown, &read);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(other.error_message(), absl::StrCat("id: no deal ", deal.id()));
  EXPECT_EQ(none.error_message(), absl::StrCat("id: no deal ", unknown));
  // Operators and the cities the deal involves keep their access.
  EXPECT_TRUE(Get(operator_key_, deal.id(), &read).ok());
  EXPECT_TRUE(Get(city_key_, deal.id(), &read).ok());
}

TEST_F(PartnerScopeTest, AnotherPartnersPaymentIsNotFoundAndChangesNothing) {
  v1::Deal deal = OpenedDeal(partner_a_);
  const size_t events = deals_.events().size();
  v1::Deal answer;
  grpc::Status s =
      stub_->RecordPayment(testing::CallAs(partner_b_key_).get(), Payment(deal), &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), absl::StrCat("deal_id: no deal ", deal.id()));
  EXPECT_EQ(deals_.state().payment_count(), 0u);
  EXPECT_EQ(deals_.events().size(), events);
  EXPECT_EQ(deals_.state().GetLatestDeal(deal.id())->version(), deal.version());
  // The named partner is refused by the deal's state only (nothing is due on an open deal).
  s = stub_->RecordPayment(testing::CallAs(partner_a_key_).get(), Payment(deal), &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
}

TEST_F(PartnerScopeTest, AnotherPartnersEscrowFundingIsNotFoundAndChangesNothing) {
  v1::Deal deal = OpenedDeal(partner_a_);
  const size_t events = deals_.events().size();
  v1::RecordMilestoneFundingRequest r;
  r.set_request_id("fund-1");
  r.set_deal_id(deal.id());
  r.set_expected_version(deal.version());
  r.set_milestone_index(1);
  r.mutable_amount()->set_currency("CNY");
  r.mutable_amount()->set_amount_minor(100);
  r.set_funding_reference("ESCROW-1");
  v1::Deal answer;
  grpc::Status s = stub_->RecordMilestoneFunding(testing::CallAs(partner_b_key_).get(), r, &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), absl::StrCat("deal_id: no deal ", deal.id()));
  s = stub_->RecordMilestoneFunding(testing::CallAs(city_key_).get(), r, &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(deals_.events().size(), events);
  EXPECT_TRUE(deals_.state().escrow_movements().empty());
  // The named partner is refused by the deal's state only (an open deal holds no escrow).
  s = stub_->RecordMilestoneFunding(testing::CallAs(partner_a_key_).get(), r, &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
}

TEST_F(PartnerScopeTest, ListDealsShowsAPartnerItsOwnDealsOnly) {
  v1::Deal a1 = OpenedDeal(partner_a_);
  v1::Deal b1 = OpenedDeal(partner_b_);
  v1::Deal a2 = OpenedDeal(partner_a_);
  EXPECT_THAT(Listed(partner_a_key_), ::testing::ElementsAre(a1.id(), a2.id()));
  EXPECT_THAT(Listed(partner_b_key_), ::testing::ElementsAre(b1.id()));
  EXPECT_THAT(Listed(operator_key_), ::testing::ElementsAre(a1.id(), b1.id(), a2.id()));
}

TEST_F(PartnerScopeTest, OpenDealWithoutOrWithAnInactivePartnerIsRefused) {
  v1::Deal deal;
  grpc::Status s = stub_->OpenDeal(testing::CallAs(city_key_).get(), OpenRequestFor(""), &deal);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("finance_partner_id:"));
  registry_.RemovePartner(partner_b_);  // revoked
  s = stub_->OpenDeal(testing::CallAs(city_key_).get(), OpenRequestFor(partner_b_), &deal);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), StartsWith("finance_partner_id:"));
  s = stub_->OpenDeal(testing::CallAs(city_key_).get(), OpenRequestFor("0123456789abcdef"), &deal);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), StartsWith("finance_partner_id:"));
  EXPECT_TRUE(deals_.events().empty());
  EXPECT_EQ(deals_.runs(), 0);
}

}  // namespace
}  // namespace techtrade::transactions
