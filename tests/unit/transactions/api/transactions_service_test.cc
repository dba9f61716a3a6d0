// The transactions handlers in this process, on an in-memory deal store: who may act, what is
// refused before anything is saved, request_id idempotency, and the command path from
// inquiry to payment.
#include "services/transactions/api/transactions_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "common/auth.h"
#include "common/ids.h"
#include "tests/support/deal_parties.h"
#include "tests/support/fake_directories.h"
#include "tests/support/fake_transactions_store.h"
#include "tests/support/in_process.h"
#include "tests/support/requests.h"

namespace techtrade::transactions {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace reg = techtrade::registry::v1;
namespace lv1 = techtrade::listings::v1;
using google::protobuf::util::TimeUtil;

class TransactionsHandlersTest : public testing::DealPartiesTest {
 protected:
  TransactionsHandlersTest()
      : service_(deals_, server_.cache(), server_.runner(), registry_, listings_) {
    operator_key_ = server_.keys().Add(testing::OperatorPrincipal());
    seller_key_ = server_.keys().Add(testing::CitySystemPrincipal(kSellerCity));
    buyer_key_ = server_.keys().Add(testing::CitySystemPrincipal(kBuyerCity));
    other_city_key_ = server_.keys().Add(testing::CitySystemPrincipal("chengdu"));
    partner_key_ = server_.keys().Add(testing::PartnerPrincipal());
    partner_id_ = AddPartner(partner_key_, "Bank of Hubei");
    server_.Start({&service_});
    stub_ = v1::TransactionsService::NewStub(server_.channel());
  }

  v1::OpenDealRequest OpenRequest(const std::string& request_id = NewUuid()) {
    return OpenRequestFor(partner_id_, request_id);
  }

  grpc::Status Open(const std::string& key, const v1::OpenDealRequest& r, v1::Deal* deal) {
    return stub_->OpenDeal(testing::CallAs(key).get(), r, deal);
  }

  v1::Deal OpenedDeal() {
    v1::Deal deal;
    grpc::Status s = Open(buyer_key_, OpenRequest(), &deal);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return deal;
  }

  // A deal whose terms both parties accepted.
  v1::Deal AgreedDeal() {
    v1::Deal deal = OpenedDeal();
    v1::ProposeTermsRequest terms =
        testing::TermsRequest(NewUuid(), deal, v1::PARTY_ROLE_SELLER, 100'000'00);
    EXPECT_TRUE(stub_->ProposeTerms(testing::CallAs(seller_key_).get(), terms, &deal).ok());
    for (auto [role, key] : {std::pair{v1::PARTY_ROLE_SELLER, seller_key_},
                             std::pair{v1::PARTY_ROLE_BUYER, buyer_key_}}) {
      v1::AcceptTermsRequest accept;
      accept.set_request_id(NewUuid());
      accept.set_deal_id(deal.id());
      accept.set_expected_version(deal.version());
      accept.set_acting_as(role);
      accept.set_terms_version(deal.terms(deal.terms_size() - 1).version());
      grpc::Status s = stub_->AcceptTerms(testing::CallAs(key).get(), accept, &deal);
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    EXPECT_EQ(deal.state(), v1::DEAL_STATE_AGREED);
    return deal;
  }

  v1::Deal SignedDeal() {
    v1::Deal deal = AgreedDeal();
    v1::SignContractRequest sign;
    sign.set_request_id(NewUuid());
    sign.set_deal_id(deal.id());
    sign.set_expected_version(deal.version());
    sign.set_registration_number("2026420100000777");
    *sign.mutable_signing_time() = TimeUtil::GetCurrentTime();
    grpc::Status s = stub_->SignContract(testing::CallAs(operator_key_).get(), sign, &deal);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return deal;
  }

  v1::MilestoneRequest MilestoneOf(const v1::Deal& deal, int index) {
    v1::MilestoneRequest r;
    r.set_request_id(NewUuid());
    r.set_deal_id(deal.id());
    r.set_expected_version(deal.version());
    r.set_milestone_index(index);
    return r;
  }

  v1::RecordPaymentRequest PaymentFor(const v1::Deal& deal, int index, std::string reference) {
    v1::RecordPaymentRequest r;
    r.set_request_id(NewUuid());
    r.set_deal_id(deal.id());
    r.set_expected_version(deal.version());
    r.set_milestone_index(index);
    *r.mutable_amount() = deal.milestones(index - 1).amount();
    r.set_payment_reference(std::move(reference));
    return r;
  }

  // A deal whose first milestone was delivered and accepted, so it is due.
  v1::Deal MilestoneDueDeal() {
    v1::Deal deal = SignedDeal();
    EXPECT_TRUE(
        stub_->DeliverMilestone(testing::CallAs(seller_key_).get(), MilestoneOf(deal, 1), &deal)
            .ok());
    grpc::Status s =
        stub_->AcceptMilestone(testing::CallAs(buyer_key_).get(), MilestoneOf(deal, 1), &deal);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return deal;
  }

  std::vector<std::string> EventTypes() {
    std::vector<std::string> types;
    for (const testing::EmittedEvent& e : deals_.events()) types.push_back(e.type);
    return types;
  }

  testing::FakeDeals deals_;
  testing::InProcessServer server_{"transactions"};
  TransactionsServiceImpl service_;
  std::unique_ptr<v1::TransactionsService::Stub> stub_;
  std::string operator_key_, seller_key_, buyer_key_, other_city_key_, partner_key_;
  std::string partner_id_;  // partner_key_'s client, the finance partner the deals name
};

TEST_F(TransactionsHandlersTest, OpenDealSavesTheDealAndEmitsDealOpened) {
  v1::Deal deal;
  ASSERT_TRUE(Open(buyer_key_, OpenRequest("open-1"), &deal).ok());
  EXPECT_EQ(deal.state(), v1::DEAL_STATE_OPEN);
  EXPECT_EQ(deal.version(), 1);
  EXPECT_EQ(deal.city_id(), kSellerCity);
  EXPECT_EQ(deal.buyer().organization_id(), buyer_.id());
  EXPECT_EQ(deals_.state().deal_count(), 1u);
  std::vector<testing::EmittedEvent> events = deals_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "techtrade.transactions.v1.DealOpened");
  EXPECT_EQ(events[0].producer, "transactions");
  EXPECT_EQ(events[0].aggregate.type, "deal");
  EXPECT_EQ(events[0].aggregate.id, deal.id());
  EXPECT_EQ(events[0].sequence, 1);
  EXPECT_EQ(events[0].cause.request_id, "open-1");
}

TEST_F(TransactionsHandlersTest, EveryCallNeedsAKey) {
  v1::Deal deal;
  grpc::Status s = Open("", OpenRequest(), &deal);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  s = Open("tt_0123456789abcdef_" + std::string(64, 'a'), OpenRequest(), &deal);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(deals_.state().deal_count(), 0u);
}

TEST_F(TransactionsHandlersTest, ACitySystemActsOnlyForItsOwnCitysParties) {
  v1::Deal deal;
  grpc::Status s = Open(other_city_key_, OpenRequest(), &deal);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(deals_.state().deal_count(), 0u);
  EXPECT_TRUE(deals_.events().empty());
}

TEST_F(TransactionsHandlersTest, APartnerMayNotOpenADeal) {
  v1::Deal deal;
  EXPECT_EQ(Open(partner_key_, OpenRequest(), &deal).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(TransactionsHandlersTest, AMalformedRequestIsRefusedNamingTheField) {
  v1::OpenDealRequest r = OpenRequest();
  r.set_buyer_org_id("not-a-uuid");
  v1::Deal deal;
  grpc::Status s = Open(buyer_key_, r, &deal);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("buyer_org_id"));
  r = OpenRequest();
  r.clear_request_id();
  s = Open(buyer_key_, r, &deal);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("request_id"));
  EXPECT_EQ(deals_.runs(), 0);
  EXPECT_TRUE(deals_.events().empty());
}

TEST_F(TransactionsHandlersTest, AnUnknownPartyIsTheRequestsFault) {
  v1::OpenDealRequest r = OpenRequest();
  r.set_seller_org_id(NewUuid());
  v1::Deal deal;
  grpc::Status s = Open(buyer_key_, r, &deal);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("seller_org_id"));
  EXPECT_EQ(deals_.state().deal_count(), 0u);
}

TEST_F(TransactionsHandlersTest, AnUnverifiedPartyCannotDeal) {
  reg::Organization pending =
      Org(kBuyerCity, reg::ORGANIZATION_KIND_ENTERPRISE, reg::ORGANIZATION_STATUS_PENDING);
  registry_.Put(pending);
  v1::OpenDealRequest r = OpenRequest();
  r.set_buyer_org_id(pending.id());
  v1::Deal deal;
  grpc::Status s = Open(buyer_key_, r, &deal);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), StartsWith("buyer_org_id"));
}

TEST_F(TransactionsHandlersTest, AnOffersDealIsSoldByItsOwner) {
  v1::OpenDealRequest r = OpenRequest();
  reg::Organization other = Org(kSellerCity, reg::ORGANIZATION_KIND_UNIVERSITY);
  registry_.Put(other);
  r.set_seller_org_id(other.id());
  v1::Deal deal;
  grpc::Status s = Open(buyer_key_, r, &deal);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("seller_org_id"));
}

TEST_F(TransactionsHandlersTest, ARetryReturnsTheFirstAnswerAndChangesNothing) {
  v1::Deal first, again;
  ASSERT_TRUE(Open(buyer_key_, OpenRequest("same"), &first).ok());
  ASSERT_TRUE(Open(buyer_key_, OpenRequest("same"), &again).ok());
  EXPECT_EQ(again.id(), first.id());
  EXPECT_EQ(deals_.state().deal_count(), 1u);
  EXPECT_EQ(deals_.events().size(), 1u);
}

TEST_F(TransactionsHandlersTest, ARequestIdReusedForAnotherRequestIsRefused) {
  v1::Deal deal;
  ASSERT_TRUE(Open(buyer_key_, OpenRequest("reused"), &deal).ok());
  v1::OpenDealRequest other = OpenRequest("reused");
  other.set_broker_commission_bps(0);
  other.set_listing_id(NewUuid());
  grpc::Status s = Open(buyer_key_, other, &deal);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("request_id"));
  EXPECT_EQ(deals_.state().deal_count(), 1u);
}

TEST_F(TransactionsHandlersTest, RequestIdsAreScopedPerClient) {
  v1::Deal by_buyer, by_seller;
  ASSERT_TRUE(Open(buyer_key_, OpenRequest("shared-id"), &by_buyer).ok());
  ASSERT_TRUE(Open(seller_key_, OpenRequest("shared-id"), &by_seller).ok());
  EXPECT_NE(by_buyer.id(), by_seller.id());
  EXPECT_EQ(deals_.state().deal_count(), 2u);
}

TEST_F(TransactionsHandlersTest, ARetryAfterALostCommitAnswerGetsTheCommittedDeal) {
  v1::Deal deal = OpenedDeal();
  v1::ProposeTermsRequest terms =
      testing::TermsRequest("terms-1", deal, v1::PARTY_ROLE_SELLER, 100'000'00);
  deals_.LoseNextCommitAnswers(1);
  v1::Deal answer;
  grpc::Status lost = stub_->ProposeTerms(testing::CallAs(seller_key_).get(), terms, &answer);
  // The answer is the stored one: the transactor looks it up when the commit's answer is lost.
  ASSERT_TRUE(lost.ok()) << lost.error_message();
  v1::Deal retried;
  ASSERT_TRUE(stub_->ProposeTerms(testing::CallAs(seller_key_).get(), terms, &retried).ok());
  EXPECT_EQ(retried.version(), 2);
  EXPECT_EQ(retried.terms_size(), 1);
  EXPECT_EQ(EventTypes(), (std::vector<std::string>{"techtrade.transactions.v1.DealOpened",
                                                    "techtrade.transactions.v1.TermsProposed"}));
}

TEST_F(TransactionsHandlersTest, AStaleExpectedVersionIsRefusedAndSavesNothing) {
  v1::Deal deal = OpenedDeal();
  v1::ProposeTermsRequest terms =
      testing::TermsRequest(NewUuid(), deal, v1::PARTY_ROLE_SELLER, 100'000'00);
  terms.set_expected_version(7);
  v1::Deal answer;
  grpc::Status s = stub_->ProposeTerms(testing::CallAs(seller_key_).get(), terms, &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(s.error_message(), StartsWith("expected_version"));
  EXPECT_EQ(deals_.events().size(), 1u);
}

TEST_F(TransactionsHandlersTest, AnUnknownDealIsNotFound) {
  v1::Deal deal = OpenedDeal();
  deal.set_id(NewUuid());
  v1::ProposeTermsRequest terms =
      testing::TermsRequest(NewUuid(), deal, v1::PARTY_ROLE_SELLER, 100'000'00);
  v1::Deal answer;
  grpc::Status s = stub_->ProposeTerms(testing::CallAs(seller_key_).get(), terms, &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), StartsWith("deal_id"));
}

TEST_F(TransactionsHandlersTest, OnlyTheSellersSystemProposesForTheSeller) {
  v1::Deal deal = OpenedDeal();
  v1::ProposeTermsRequest terms =
      testing::TermsRequest(NewUuid(), deal, v1::PARTY_ROLE_SELLER, 100'000'00);
  v1::Deal answer;
  grpc::Status s = stub_->ProposeTerms(testing::CallAs(buyer_key_).get(), terms, &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("seller"));
  EXPECT_EQ(deals_.events().size(), 1u);
}

TEST_F(TransactionsHandlersTest, TermsMustUseATransferModeTheListingAdmits) {
  v1::Deal deal = OpenedDeal();
  v1::ProposeTermsRequest terms =
      testing::TermsRequest(NewUuid(), deal, v1::PARTY_ROLE_SELLER, 100'000'00);
  terms.set_transfer_mode(lv1::TRANSFER_MODE_ASSIGNMENT);
  terms.clear_licence_scope();
  terms.clear_territory();
  v1::Deal answer;
  grpc::Status s = stub_->ProposeTerms(testing::CallAs(seller_key_).get(), terms, &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), StartsWith("transfer_mode"));
}

TEST_F(TransactionsHandlersTest, AMoveTowardsMoneyWaitsWhileAPartyIsSuspended) {
  v1::Deal deal = AgreedDeal();
  reg::Organization suspended = buyer_;
  suspended.set_status(reg::ORGANIZATION_STATUS_SUSPENDED);
  registry_.Put(suspended);
  v1::SignContractRequest sign;
  sign.set_request_id(NewUuid());
  sign.set_deal_id(deal.id());
  sign.set_expected_version(deal.version());
  sign.set_registration_number("2026420100000777");
  *sign.mutable_signing_time() = TimeUtil::GetCurrentTime();
  v1::Deal answer;
  grpc::Status s = stub_->SignContract(testing::CallAs(operator_key_).get(), sign, &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(deals_.state().GetLatestDeal(deal.id())->state(), v1::DEAL_STATE_AGREED);
}

TEST_F(TransactionsHandlersTest, TheCommandPathRunsFromInquiryToPayment) {
  v1::Deal deal = MilestoneDueDeal();
  grpc::Status s = stub_->RecordPayment(testing::CallAs(partner_key_).get(),
                                        PaymentFor(deal, 1, "bank-ref-1"), &deal);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(deal.milestones(0).state(), v1::MILESTONE_STATE_PAID);
  EXPECT_EQ(deals_.state().payment_count(), 1u);
  // One event per version, each at the version it made.
  std::vector<testing::EmittedEvent> events = deals_.events();
  ASSERT_EQ(static_cast<int64_t>(events.size()), deal.version());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].sequence, static_cast<int64_t>(i + 1)) << events[i].type;
    EXPECT_EQ(events[i].aggregate.id, deal.id());
  }
  EXPECT_EQ(events.back().type, "techtrade.transactions.v1.PaymentRecorded");
  EXPECT_EQ(deals_.state().GetLatestDeal(deal.id())->version(), deal.version());
}

TEST_F(TransactionsHandlersTest, OnlyAPartnerOrOperatorRecordsPayments) {
  v1::Deal deal = MilestoneDueDeal();
  v1::Deal answer;
  grpc::Status s = stub_->RecordPayment(testing::CallAs(buyer_key_).get(),
                                        PaymentFor(deal, 1, "bank-ref-2"), &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(deals_.state().payment_count(), 0u);
}

TEST_F(TransactionsHandlersTest, APaymentReferenceIsRecordedOnce) {
  v1::Deal deal = MilestoneDueDeal();
  v1::Deal other = MilestoneDueDeal();
  ASSERT_TRUE(stub_
                  ->RecordPayment(testing::CallAs(partner_key_).get(),
                                  PaymentFor(deal, 1, "bank-ref-3"), &deal)
                  .ok());
  const size_t events = deals_.events().size();
  v1::Deal answer;
  grpc::Status s = stub_->RecordPayment(testing::CallAs(partner_key_).get(),
                                        PaymentFor(other, 1, "bank-ref-3"), &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), StartsWith("payment_reference"));
  EXPECT_EQ(deals_.events().size(), events);
  EXPECT_EQ(deals_.state().GetLatestDeal(other.id())->milestones(0).state(),
            v1::MILESTONE_STATE_ACCEPTED);
}

TEST_F(TransactionsHandlersTest, GetDealIsSeenByTheCitiesItInvolvesOnly) {
  v1::Deal deal = OpenedDeal();
  v1::GetDealRequest get;
  get.set_id(deal.id());
  v1::Deal read;
  EXPECT_TRUE(stub_->GetDeal(testing::CallAs(seller_key_).get(), get, &read).ok());
  EXPECT_EQ(read.id(), deal.id());
  EXPECT_TRUE(stub_->GetDeal(testing::CallAs(partner_key_).get(), get, &read).ok());
  EXPECT_EQ(stub_->GetDeal(testing::CallAs(other_city_key_).get(), get, &read).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  get.set_id(NewUuid());
  EXPECT_EQ(stub_->GetDeal(testing::CallAs(operator_key_).get(), get, &read).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// A principal the registry never issues (a city system without a city, a role this service does
// not know) is not read as "every city".
TEST_F(TransactionsHandlersTest, ACallerWithoutAReadScopeSeesNoDeal) {
  v1::Deal deal = OpenedDeal();
  Principal cityless = testing::CitySystemPrincipal("");
  Principal unknown = testing::OperatorPrincipal();
  unknown.set_role(reg::API_CLIENT_ROLE_UNSPECIFIED);
  for (const Principal& p : {cityless, unknown}) {
    const std::string key = server_.keys().Add(p);
    v1::GetDealRequest get;
    get.set_id(deal.id());
    v1::Deal read;
    EXPECT_EQ(stub_->GetDeal(testing::CallAs(key).get(), get, &read).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    v1::ListDealsResponse page;
    EXPECT_EQ(
        stub_->ListDeals(testing::CallAs(key).get(), v1::ListDealsRequest(), &page).error_code(),
        grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(page.deals_size(), 0);
  }
}

TEST_F(TransactionsHandlersTest, ListDealsPagesAndConfinesACitySystemToItsCity) {
  for (int i = 0; i < 3; ++i) OpenedDeal();
  v1::ListDealsRequest list;
  list.set_page_size(2);
  v1::ListDealsResponse page;
  ASSERT_TRUE(stub_->ListDeals(testing::CallAs(operator_key_).get(), list, &page).ok());
  EXPECT_EQ(page.deals_size(), 2);
  ASSERT_FALSE(page.next_page_token().empty());
  list.set_page_token(page.next_page_token());
  ASSERT_TRUE(stub_->ListDeals(testing::CallAs(operator_key_).get(), list, &page).ok());
  EXPECT_EQ(page.deals_size(), 1);
  EXPECT_TRUE(page.next_page_token().empty());

  v1::ListDealsRequest mine;
  ASSERT_TRUE(stub_->ListDeals(testing::CallAs(other_city_key_).get(), mine, &page).ok());
  EXPECT_EQ(page.deals_size(), 0);
  mine.set_city_id(kSellerCity);
  grpc::Status s = stub_->ListDeals(testing::CallAs(other_city_key_).get(), mine, &page);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), StartsWith("city_id"));
}

TEST_F(TransactionsHandlersTest, OnlyAnOperatorResolvesADispute) {
  v1::Deal deal = SignedDeal();
  v1::OpenDisputeRequest open;
  open.set_request_id(NewUuid());
  open.set_deal_id(deal.id());
  open.set_expected_version(deal.version());
  open.set_acting_as(v1::PARTY_ROLE_BUYER);
  open.set_reason("the source code does not build");
  ASSERT_TRUE(stub_->OpenDispute(testing::CallAs(buyer_key_).get(), open, &deal).ok());
  v1::ResolveDisputeRequest resolve;
  resolve.set_request_id(NewUuid());
  resolve.set_deal_id(deal.id());
  resolve.set_expected_version(deal.version());
  resolve.set_resolution("the seller delivers a build script");
  v1::Deal answer;
  EXPECT_EQ(
      stub_->ResolveDispute(testing::CallAs(seller_key_).get(), resolve, &answer).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->ResolveDispute(testing::CallAs(operator_key_).get(), resolve, &deal).ok());
  EXPECT_EQ(EventTypes().back(), "techtrade.transactions.v1.DisputeResolved");
}

// A deal's events name their caller, and every pilot city the deal involves (its listing's and
// its parties'), which scope its audit records.
TEST_F(TransactionsHandlersTest, ADealsEventsNameTheCallerAndTheCitiesItInvolves) {
  v1::Deal deal = AgreedDeal();
  std::vector<testing::EmittedEvent> events = deals_.events();
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[0].cause.actor.api_client_id(), ParseApiKey(buyer_key_)->key_id);
  EXPECT_EQ(events[0].cause.actor.role(), "city_system");
  EXPECT_EQ(events[0].cause.actor.city_id(), kBuyerCity);
  EXPECT_EQ(events[1].cause.actor.api_client_id(), ParseApiKey(seller_key_)->key_id);
  EXPECT_EQ(events[1].cause.actor.city_id(), kSellerCity);
  for (const testing::EmittedEvent& e : events) {
    EXPECT_EQ(e.aggregate.id, deal.id());
    EXPECT_THAT(e.aggregate.city_ids, ::testing::UnorderedElementsAre(kSellerCity, kBuyerCity));
  }
}

// ---- Contract registration (docs/deals.md, "Contract registration") ----

class RegistrationHandlersTest : public TransactionsHandlersTest {
 protected:
  RegistrationHandlersTest() {
    seller_body_key_ = server_.keys().Add(BodyPrincipal(kSellerCity));
    buyer_body_key_ = server_.keys().Add(BodyPrincipal(kBuyerCity));
  }

  static Principal BodyPrincipal(const std::string& city) {
    Principal p;
    p.set_api_client_id(absl::StrCat("body-", city));
    p.set_role(reg::API_CLIENT_ROLE_REGISTRATION_BODY);
    p.set_city_id(city);
    return p;
  }

  grpc::Status Submit(const std::string& key, v1::Deal* deal) {
    v1::SubmitContractRegistrationRequest r;
    r.set_request_id(NewUuid());
    r.set_deal_id(deal->id());
    r.set_expected_version(deal->version());
    r.set_category(v1::CONTRACT_CATEGORY_LICENCE);
    *r.mutable_declared_value() = deal->milestones(0).amount();
    r.set_document_reference("DOC-1");
    return stub_->SubmitContractRegistration(testing::CallAs(key).get(), r, deal);
  }

  grpc::Status Register(const std::string& key, v1::Deal* deal,
                        const std::string& number = "4201012026000001") {
    v1::RegisterContractRequest r;
    r.set_request_id(NewUuid());
    r.set_deal_id(deal->id());
    r.set_expected_version(deal->version());
    r.set_registration_number(number);
    r.set_category(v1::CONTRACT_CATEGORY_LICENCE);
    r.mutable_registered_value()->set_currency("CNY");
    r.mutable_registered_value()->set_amount_minor(5'000'00);
    return stub_->RegisterContract(testing::CallAs(key).get(), r, deal);
  }

  std::string seller_body_key_, buyer_body_key_;
};

TEST_F(RegistrationHandlersTest, TheSellersSideSubmitsAndItsCitysBodyDecides) {
  v1::Deal deal = SignedDeal();
  EXPECT_EQ(deal.registration().city_id(), kSellerCity);
  EXPECT_EQ(Submit(buyer_key_, &deal).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // A registration body acts for no party.
  EXPECT_EQ(Submit(seller_body_key_, &deal).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Submit(seller_key_, &deal).ok());
  const size_t events = deals_.events().size();
  // Not the buyer's city's body, not the seller's city's system.
  for (const std::string& key : {buyer_body_key_, seller_key_, partner_key_}) {
    v1::Deal answer = deal;
    EXPECT_EQ(Register(key, &answer).error_code(), grpc::StatusCode::PERMISSION_DENIED) << key;
  }
  EXPECT_EQ(deals_.events().size(), events);
  ASSERT_TRUE(Register(seller_body_key_, &deal).ok());
  EXPECT_EQ(deal.registration().state(), v1::REGISTRATION_STATE_REGISTERED);
  EXPECT_EQ(deal.registration().decided_by(), absl::StrCat("body-", kSellerCity));
  EXPECT_EQ(EventTypes().back(), "techtrade.transactions.v1.ContractRegistered");
  // The body reads the deals of its city, and moves none of them.
  v1::GetDealRequest get;
  get.set_id(deal.id());
  v1::Deal read;
  EXPECT_TRUE(stub_->GetDeal(testing::CallAs(seller_body_key_).get(), get, &read).ok());
  v1::Deal moved = deal;
  EXPECT_EQ(
      stub_->DeliverMilestone(testing::CallAs(seller_body_key_).get(), MilestoneOf(deal, 1), &moved)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
}

// The seller's city's body asking to decide a deal not signed yet hears why it cannot, not that
// it may not.
TEST_F(RegistrationHandlersTest, TheSellersBodyOnAnUnsignedDealIsToldItAwaitsNoDecision) {
  v1::Deal deal = OpenedDeal();
  grpc::Status s = Register(seller_body_key_, &deal);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_EQ(Register(buyer_body_key_, &deal).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(RegistrationHandlersTest, ARefusalNamesItsReasonAndAnotherBodysRefusalChangesNothing) {
  v1::Deal deal = SignedDeal();
  ASSERT_TRUE(Submit(seller_key_, &deal).ok());
  v1::RefuseContractRegistrationRequest refuse;
  refuse.set_request_id(NewUuid());
  refuse.set_deal_id(deal.id());
  refuse.set_expected_version(deal.version());
  refuse.set_reason("the contract names no technology");
  v1::Deal answer;
  EXPECT_EQ(
      stub_->RefuseContractRegistration(testing::CallAs(buyer_body_key_).get(), refuse, &answer)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  refuse.clear_reason();
  grpc::Status s =
      stub_->RefuseContractRegistration(testing::CallAs(seller_body_key_).get(), refuse, &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("reason"));
  refuse.set_reason("the contract names no technology");
  ASSERT_TRUE(
      stub_->RefuseContractRegistration(testing::CallAs(seller_body_key_).get(), refuse, &deal)
          .ok());
  EXPECT_EQ(deal.registration().state(), v1::REGISTRATION_STATE_REFUSED);
  EXPECT_EQ(EventTypes().back(), "techtrade.transactions.v1.ContractRegistrationRefused");
  ASSERT_TRUE(Submit(seller_key_, &deal).ok());
  EXPECT_EQ(deal.registration().submissions(), 2);
}

TEST_F(RegistrationHandlersTest, ARegistrationNumberBelongsToOneContract) {
  v1::Deal first = SignedDeal();
  v1::Deal second = SignedDeal();
  ASSERT_TRUE(Submit(seller_key_, &first).ok());
  ASSERT_TRUE(Submit(seller_key_, &second).ok());
  ASSERT_TRUE(Register(seller_body_key_, &first, "4201012026000009").ok());
  const size_t events = deals_.events().size();
  v1::Deal answer = second;
  grpc::Status s = Register(seller_body_key_, &answer, "4201012026000009");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), StartsWith("registration_number"));
  EXPECT_EQ(deals_.events().size(), events);
  EXPECT_EQ(deals_.state().GetLatestDeal(second.id())->registration().state(),
            v1::REGISTRATION_STATE_SUBMITTED);
}

TEST_F(RegistrationHandlersTest, TheCitysDeadlineIsSetAtSigningAndTheSweepFlagsOnce) {
  reg::PilotCity city;
  city.set_id(kSellerCity);
  city.set_contract_registration_days(10);
  registry_.PutCity(city);
  const v1::Deal deal = SignedDeal();
  const absl::Time signed_at =
      absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(deal.contract().signing_time()));
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(deal.registration().deadline()),
            absl::ToUnixMicros(signed_at + absl::Hours(24 * 10)));
  EXPECT_EQ(
      service_.FlagOverdueRegistrations(signed_at + absl::Hours(24 * 10) - absl::Seconds(1), 100)
          .value_or(-1),
      0);
  EXPECT_EQ(service_.FlagOverdueRegistrations(signed_at + absl::Hours(24 * 10), 100).value_or(-1),
            1);
  EXPECT_EQ(service_.FlagOverdueRegistrations(signed_at + absl::Hours(24 * 11), 100).value_or(-1),
            0);
  const testing::EmittedEvent flagged = deals_.events().back();
  EXPECT_EQ(flagged.type, "techtrade.transactions.v1.ContractRegistrationOverdue");
  EXPECT_EQ(flagged.cause.actor.role(), "system");
  EXPECT_TRUE(deals_.state().GetLatestDeal(deal.id())->registration().overdue());
}

}  // namespace
}  // namespace techtrade::transactions

namespace techtrade::transactions {
namespace {

// ---- Brokers: the broker's city system takes a party's steps only once that party allows it ----

class BrokerAuthorityHandlersTest : public TransactionsHandlersTest {
 protected:
  BrokerAuthorityHandlersTest() {
    broker_ = Org("chengdu", reg::ORGANIZATION_KIND_SERVICE_PROVIDER);
    registry_.Put(broker_);
  }

  v1::Deal BrokeredDeal() {
    v1::OpenDealRequest r = OpenRequest();
    r.set_broker_org_id(broker_.id());
    r.set_broker_commission_bps(200);
    v1::Deal deal;
    grpc::Status s = Open(buyer_key_, r, &deal);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return deal;
  }

  grpc::Status Allow(const std::string& key, v1::Deal* deal, v1::PartyRole as, bool allowed) {
    v1::AllowBrokerRequest r;
    r.set_request_id(NewUuid());
    r.set_deal_id(deal->id());
    r.set_expected_version(deal->version());
    r.set_acting_as(as);
    r.set_allowed(allowed);
    return stub_->AllowBroker(testing::CallAs(key).get(), r, deal);
  }

  grpc::Status ProposeAsSeller(const std::string& key, v1::Deal* deal) {
    return stub_->ProposeTerms(
        testing::CallAs(key).get(),
        testing::TermsRequest(NewUuid(), *deal, v1::PARTY_ROLE_SELLER, 100'000'00), deal);
  }

  reg::Organization broker_;
};

TEST_F(BrokerAuthorityHandlersTest, TheBrokersCityActsForTheSellerOnlyWhileTheSellerAllowsIt) {
  v1::Deal deal = BrokeredDeal();
  v1::Deal answer = deal;
  // other_city_key_ is chengdu's system: the broker's city.
  EXPECT_EQ(ProposeAsSeller(other_city_key_, &answer).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // The broker cannot give itself the authority.
  answer = deal;
  EXPECT_EQ(Allow(other_city_key_, &answer, v1::PARTY_ROLE_SELLER, true).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Allow(seller_key_, &deal, v1::PARTY_ROLE_SELLER, true).ok());
  EXPECT_EQ(EventTypes().back(), "techtrade.transactions.v1.BrokerAuthorityChanged");
  ASSERT_TRUE(ProposeAsSeller(other_city_key_, &deal).ok());
  // For the seller only: the buyer's steps stay the buyer's.
  v1::AcceptTermsRequest accept;
  accept.set_request_id(NewUuid());
  accept.set_deal_id(deal.id());
  accept.set_expected_version(deal.version());
  accept.set_acting_as(v1::PARTY_ROLE_BUYER);
  accept.set_terms_version(1);
  answer = deal;
  EXPECT_EQ(
      stub_->AcceptTerms(testing::CallAs(other_city_key_).get(), accept, &answer).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Allow(seller_key_, &deal, v1::PARTY_ROLE_SELLER, false).ok());
  answer = deal;
  EXPECT_EQ(ProposeAsSeller(other_city_key_, &answer).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// A certified technology manager as the broker: the deal's broker is the manager's
// organisation, and the deal records the manager; a revoked or expired certificate, another
// organisation or a party's own manager is refused and opens nothing.
TEST_F(BrokerAuthorityHandlersTest, ATechnologyManagerBrokersForTheirOrganisation) {
  reg::TechnologyManager manager;
  manager.set_id(NewUuid());
  manager.set_name("Li Wei");
  manager.set_certificate_number("TM-2026-0001");
  manager.set_organization_id(broker_.id());
  manager.set_city_id("chengdu");
  manager.set_status(reg::TECHNOLOGY_MANAGER_STATUS_CERTIFIED);
  *manager.mutable_certificate_expire_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now() + absl::Hours(240)));
  registry_.PutManager(manager);

  v1::OpenDealRequest r = OpenRequest();
  r.set_broker_manager_id(manager.id());
  r.set_broker_commission_bps(150);
  v1::Deal deal;
  grpc::Status s = Open(buyer_key_, r, &deal);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(deal.broker().organization_id(), broker_.id());
  EXPECT_EQ(deal.broker().city_id(), "chengdu");
  EXPECT_EQ(deal.broker_manager().id(), manager.id());
  EXPECT_EQ(deal.broker_manager().certificate_number(), "TM-2026-0001");
  EXPECT_EQ(deal.broker_commission_bps(), 150);

  const reg::Organization other_broker = Org("chengdu", reg::ORGANIZATION_KIND_SERVICE_PROVIDER);
  registry_.Put(other_broker);
  const size_t events = EventTypes().size();
  struct Case {
    std::string name;
    std::function<void(reg::TechnologyManager&, v1::OpenDealRequest&)> change;
    grpc::StatusCode code;
    std::string prefix;
  };
  const std::vector<Case> cases = {
      {"revoked",
       [](auto& m, auto&) {
         m.set_status(reg::TECHNOLOGY_MANAGER_STATUS_REVOKED);
         m.set_revocation_reason("withdrawn");
       },
       grpc::StatusCode::FAILED_PRECONDITION, "broker_manager_id: "},
      {"expired",
       [](auto& m, auto&) {
         *m.mutable_certificate_expire_time() =
             TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now() - absl::Hours(1)));
       },
       grpc::StatusCode::FAILED_PRECONDITION, "broker_manager_id: "},
      {"another broker organisation",
       [&](auto&, auto& req) { req.set_broker_org_id(other_broker.id()); },
       grpc::StatusCode::INVALID_ARGUMENT, "broker_org_id: "},
      {"the seller's own manager", [&](auto& m, auto&) { m.set_organization_id(seller_.id()); },
       grpc::StatusCode::INVALID_ARGUMENT, "broker_manager_id: "},
      {"unknown manager", [](auto&, auto& req) { req.set_broker_manager_id(NewUuid()); },
       grpc::StatusCode::INVALID_ARGUMENT, "broker_manager_id: "},
  };
  for (const Case& c : cases) {
    reg::TechnologyManager m = manager;
    v1::OpenDealRequest req = OpenRequest();
    req.set_broker_manager_id(manager.id());
    c.change(m, req);
    registry_.PutManager(m);
    s = Open(buyer_key_, req, &deal);
    EXPECT_EQ(s.error_code(), c.code) << c.name << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), StartsWith(c.prefix)) << c.name;
  }
  EXPECT_EQ(EventTypes().size(), events);
}

}  // namespace
}  // namespace techtrade::transactions
