// The listings' mutations, in process: who may call them, what they refuse, what a retry gets,
// and what a command saves and emits.
#include "tests/unit/listings/api/listings_handler_fixture.h"

namespace techtrade::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---- Authorisation ----

TEST_F(ListingsHandlerTest, ACallWithoutAKeyIsUnauthenticatedAndChangesNothing) {
  lv1::Offer offer;
  grpc::Status s = CreateOffer("", CreateOfferRequest("r1"), &offer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_EQ(transactor_.state().offer_count(), 0u);
  EXPECT_TRUE(transactor_.events().empty());
}

TEST_F(ListingsHandlerTest, AFinancePartnerMayNotWrite) {
  lv1::Offer offer;
  grpc::Status s = CreateOffer(partner_key_, CreateOfferRequest("r1"), &offer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(transactor_.state().offer_count(), 0u);
  EXPECT_TRUE(transactor_.events().empty());
}

TEST_F(ListingsHandlerTest, ACitySystemMayNotCreateForAnotherCitysOrganisation) {
  lv1::Offer offer;
  grpc::Status s = CreateOffer(shenzhen_key_, CreateOfferRequest("r1"), &offer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(transactor_.state().offer_count(), 0u);
  EXPECT_TRUE(transactor_.events().empty());
}

TEST_F(ListingsHandlerTest, AnotherCitysDraftDoesNotExistForItsWriters) {
  const lv1::Offer draft = NewOffer();
  lv1::Offer out;
  grpc::Status s =
      stub_->WithdrawOffer(CallAs(shenzhen_key_).get(), ChangeRequest("r2", draft.id(), 1), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_EQ(StoredOffer(draft.id())->status(), lv1::OFFER_STATUS_DRAFT);
  EXPECT_EQ(transactor_.events().size(), 1u);  // the creation only
}

TEST_F(ListingsHandlerTest, AnotherCitysPublishedOfferIsNotItsToChange) {
  const lv1::Offer published = PublishedOffer();
  lv1::Offer out;
  grpc::Status s = stub_->WithdrawOffer(CallAs(shenzhen_key_).get(),
                                        ChangeRequest("r3", published.id(), 2), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(StoredOffer(published.id())->status(), lv1::OFFER_STATUS_PUBLISHED);
  EXPECT_EQ(transactor_.events().size(), 2u);
}

TEST_F(ListingsHandlerTest, AnOperatorMayChangeAnyCitysListing) {
  const lv1::Offer draft = NewOffer();
  lv1::Offer out;
  grpc::Status s =
      stub_->WithdrawOffer(CallAs(operator_key_).get(), ChangeRequest("r4", draft.id(), 1), &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.status(), lv1::OFFER_STATUS_WITHDRAWN);
}

// ---- Validation: INVALID_ARGUMENT naming the field, nothing saved, no event ----

TEST_F(ListingsHandlerTest, ABadDraftFieldIsNamedAndNothingIsSaved) {
  lv1::CreateOfferRequest request = CreateOfferRequest("r1");
  request.mutable_offer()->clear_ipc_codes();
  lv1::Offer offer;
  grpc::Status s = CreateOffer(wuhan_key_, request, &offer);
  EXPECT_THAT(s, InvalidField("offer.ipc_codes")) << s.error_message();
  EXPECT_EQ(transactor_.state().offer_count(), 0u);
  EXPECT_TRUE(transactor_.events().empty());
  EXPECT_EQ(transactor_.runs(), 0);
}

TEST_F(ListingsHandlerTest, AMissingRequestIdIsNamed) {
  lv1::Offer offer;
  grpc::Status s = CreateOffer(wuhan_key_, CreateOfferRequest(""), &offer);
  EXPECT_THAT(s, InvalidField("request_id")) << s.error_message();
  EXPECT_EQ(transactor_.state().offer_count(), 0u);
}

TEST_F(ListingsHandlerTest, AnOwnerUnknownToTheRegistryIsTheRequestsFault) {
  lv1::CreateOfferRequest request = CreateOfferRequest("r1");
  request.set_owner_org_id(NewUuid());
  lv1::Offer offer;
  grpc::Status s = CreateOffer(wuhan_key_, request, &offer);
  EXPECT_THAT(s, InvalidField("owner_org_id")) << s.error_message();
  EXPECT_EQ(transactor_.state().offer_count(), 0u);
  EXPECT_TRUE(transactor_.events().empty());
}

TEST_F(ListingsHandlerTest, ADemandDeadlineInThePastIsNamed) {
  lv1::CreateDemandRequest request;
  request.set_request_id("r1");
  request.set_seeker_org_id(owner_);
  *request.mutable_demand() = GoodDemand();
  request.mutable_demand()->mutable_deadline()->set_seconds(absl::ToUnixSeconds(absl::Now()) - 60);
  lv1::Demand demand;
  grpc::Status s = stub_->CreateDemand(CallAs(wuhan_key_).get(), request, &demand);
  EXPECT_THAT(s, InvalidField("demand.deadline")) << s.error_message();
  EXPECT_EQ(transactor_.state().demand_count(), 0u);
  EXPECT_TRUE(transactor_.events().empty());
}

TEST_F(ListingsHandlerTest, AnUpdateOnAStaleVersionChangesNothing) {
  const lv1::Offer draft = NewOffer();
  lv1::UpdateOfferRequest request;
  request.set_request_id("r2");
  request.set_id(draft.id());
  request.set_expected_version(7);
  *request.mutable_offer() = GoodOffer();
  request.mutable_offer()->set_title("another title");
  lv1::Offer out;
  grpc::Status s = stub_->UpdateOffer(CallAs(wuhan_key_).get(), request, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  EXPECT_EQ(StoredOffer(draft.id())->title(), draft.title());
  EXPECT_EQ(transactor_.events().size(), 1u);
}

TEST_F(ListingsHandlerTest, AnUnverifiedOwnersOfferIsNotPublished) {
  owner_ = AddOrganization(kWuhan, reg::ORGANIZATION_STATUS_PENDING);
  const lv1::Offer draft = NewOffer();
  lv1::Offer out;
  grpc::Status s =
      stub_->PublishOffer(CallAs(wuhan_key_).get(), ChangeRequest("r2", draft.id(), 1), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("only a verified organisation"));
  EXPECT_THAT(*StoredOffer(draft.id()), EqualsProto(draft));
  EXPECT_EQ(transactor_.events().size(), 1u);
  EXPECT_FALSE(model_.FindOffer(draft.id()).has_value());
}

TEST_F(ListingsHandlerTest, ASuspendedOrganisationCannotCreate) {
  owner_ = AddOrganization(kWuhan, reg::ORGANIZATION_STATUS_SUSPENDED);
  lv1::Offer offer;
  grpc::Status s = CreateOffer(wuhan_key_, CreateOfferRequest("r1"), &offer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_EQ(transactor_.state().offer_count(), 0u);
}

// ---- Idempotency ----

TEST_F(ListingsHandlerTest, ARetryGetsTheFirstResponseAndEmitsNothingMore) {
  lv1::Offer first, second;
  ASSERT_TRUE(CreateOffer(wuhan_key_, CreateOfferRequest("same"), &first).ok());
  grpc::Status s = CreateOffer(wuhan_key_, CreateOfferRequest("same"), &second);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(second, EqualsProto(first));
  EXPECT_EQ(transactor_.state().offer_count(), 1u);
  EXPECT_EQ(transactor_.events().size(), 1u);
}

TEST_F(ListingsHandlerTest, ARequestIdReusedForAnotherRequestIsRefused) {
  lv1::Offer first, second;
  ASSERT_TRUE(CreateOffer(wuhan_key_, CreateOfferRequest("same"), &first).ok());
  lv1::CreateOfferRequest other = CreateOfferRequest("same");
  other.mutable_offer()->set_title("another offer");
  grpc::Status s = CreateOffer(wuhan_key_, other, &second);
  EXPECT_THAT(s, InvalidField("request_id")) << s.error_message();
  EXPECT_EQ(transactor_.state().offer_count(), 1u);
  EXPECT_EQ(transactor_.events().size(), 1u);
}

TEST_F(ListingsHandlerTest, ARetryAfterALostCommitAnswerGetsTheStoredResponse) {
  const lv1::Offer draft = NewOffer();
  transactor_.LoseNextCommitAnswers(1);
  lv1::Offer first, retried;
  const lv1::ChangeListingRequest request = ChangeRequest("publish-1", draft.id(), 1);
  grpc::Status s = stub_->PublishOffer(CallAs(wuhan_key_).get(), request, &first);
  ASSERT_TRUE(s.ok()) << s.error_message();  // the stored response stands in for the lost one
  s = stub_->PublishOffer(CallAs(wuhan_key_).get(), request, &retried);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(retried, EqualsProto(first));
  EXPECT_EQ(retried.version(), 2);
  ASSERT_EQ(transactor_.events().size(), 2u);  // created, published once
  EXPECT_EQ(transactor_.events()[1].type, "techtrade.listings.v1.OfferPublished");
}

TEST_F(ListingsHandlerTest, ARetryOfACreateWinsOverAChangeInTheRegistrySince) {
  lv1::Offer first, retried;
  ASSERT_TRUE(CreateOffer(wuhan_key_, CreateOfferRequest("same"), &first).ok());
  SetOrganizationStatus(owner_, reg::ORGANIZATION_STATUS_SUSPENDED);
  grpc::Status s = CreateOffer(wuhan_key_, CreateOfferRequest("same"), &retried);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(retried, EqualsProto(first));
  // A new request is refused.
  s = CreateOffer(wuhan_key_, CreateOfferRequest("new"), &retried);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_EQ(transactor_.events().size(), 1u);
}

// ---- The command path: state saved, events emitted ----

TEST_F(ListingsHandlerTest, ACreatedOfferIsASavedDraftAndItsEvent) {
  lv1::Offer offer;
  ASSERT_TRUE(CreateOffer(wuhan_key_, CreateOfferRequest("r1"), &offer).ok());
  EXPECT_EQ(offer.status(), lv1::OFFER_STATUS_DRAFT);
  EXPECT_EQ(offer.version(), 1);
  EXPECT_EQ(offer.owner_org_id(), owner_);
  EXPECT_EQ(offer.city_id(), kWuhan);
  EXPECT_THAT(*StoredOffer(offer.id()), EqualsProto(offer));
  const std::vector<EmittedEvent> events = transactor_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].producer, "listings");
  EXPECT_EQ(events[0].aggregate.type, "offer");
  EXPECT_EQ(events[0].aggregate.id, offer.id());
  EXPECT_EQ(events[0].sequence, 1);
  EXPECT_EQ(events[0].type, "techtrade.listings.v1.OfferCreated");
  EXPECT_EQ(events[0].cause.request_id, "r1");
  lv1::OfferCreated created;
  ASSERT_TRUE(created.ParseFromString(events[0].payload));
  EXPECT_THAT(created.offer(), EqualsProto(offer));
}

TEST_F(ListingsHandlerTest, AnOffersLifeIsOneEventPerVersion) {
  const lv1::Offer draft = NewOffer();
  lv1::UpdateOfferRequest update;
  update.set_request_id("u");
  update.set_id(draft.id());
  update.set_expected_version(1);
  *update.mutable_offer() = GoodOffer();
  update.mutable_offer()->set_title("SiC trench MOSFET process");
  lv1::Offer updated, published, withdrawn;
  ASSERT_TRUE(stub_->UpdateOffer(CallAs(wuhan_key_).get(), update, &updated).ok());
  EXPECT_EQ(updated.title(), "SiC trench MOSFET process");
  ASSERT_TRUE(
      stub_->PublishOffer(CallAs(wuhan_key_).get(), ChangeRequest("p", draft.id(), 2), &published)
          .ok());
  EXPECT_TRUE(published.has_publish_time());
  lv1::ChangeListingRequest withdraw = ChangeRequest("w", draft.id(), 3);
  withdraw.set_reason("licensed elsewhere");
  ASSERT_TRUE(stub_->WithdrawOffer(CallAs(wuhan_key_).get(), withdraw, &withdrawn).ok());
  EXPECT_EQ(withdrawn.status(), lv1::OFFER_STATUS_WITHDRAWN);
  EXPECT_EQ(withdrawn.version(), 4);
  EXPECT_THAT(*StoredOffer(draft.id()), EqualsProto(withdrawn));

  std::vector<std::string> types;
  std::vector<int64_t> sequences;
  for (const EmittedEvent& e : transactor_.events()) {
    EXPECT_EQ(e.aggregate.id, draft.id());
    types.push_back(e.type);
    sequences.push_back(e.sequence);
  }
  EXPECT_THAT(
      types,
      ElementsAre("techtrade.listings.v1.OfferCreated", "techtrade.listings.v1.OfferUpdated",
                  "techtrade.listings.v1.OfferPublished", "techtrade.listings.v1.OfferWithdrawn"));
  EXPECT_THAT(sequences, ElementsAre(1, 2, 3, 4));
  lv1::OfferWithdrawn event;
  ASSERT_TRUE(event.ParseFromString(transactor_.events().back().payload));
  EXPECT_EQ(event.reason(), "licensed elsewhere");
}

TEST_F(ListingsHandlerTest, APublishedOfferReachesThisReplicasReadModel) {
  const lv1::Offer published = PublishedOffer();
  std::optional<lv1::Offer> held = model_.FindOffer(published.id());
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->version(), 2);
}

TEST_F(ListingsHandlerTest, ADemandIsCreatedAndPublished) {
  lv1::CreateDemandRequest request;
  request.set_request_id("d1");
  request.set_seeker_org_id(owner_);
  *request.mutable_demand() = GoodDemand();
  lv1::Demand demand, published;
  ASSERT_TRUE(stub_->CreateDemand(CallAs(wuhan_key_).get(), request, &demand).ok());
  EXPECT_EQ(demand.status(), lv1::DEMAND_STATUS_DRAFT);
  EXPECT_EQ(demand.seeker_org_id(), owner_);
  grpc::Status s = stub_->PublishDemand(CallAs(wuhan_key_).get(),
                                        ChangeRequest("d2", demand.id(), 1), &published);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(published.status(), lv1::DEMAND_STATUS_PUBLISHED);
  EXPECT_THAT(*transactor_.state().demand(demand.id()), EqualsProto(published));
  const std::vector<EmittedEvent> events = transactor_.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].aggregate.type, "demand");
  EXPECT_EQ(events[1].aggregate.id, demand.id());
  EXPECT_EQ(events[1].sequence, 2);
  EXPECT_EQ(events[1].type, "techtrade.listings.v1.DemandPublished");
}

}  // namespace
}  // namespace techtrade::testing
