// The listings' reads and their reaction to other services' events, in process.
#include "techtrade/transactions/v1/transactions.pb.h"
#include "tests/unit/listings/api/listings_handler_fixture.h"

namespace techtrade::testing {
namespace {

namespace tv1 = techtrade::transactions::v1;
using techtrade::common::v1::EventEnvelope;

class ListingsReadsAndEventsTest : public ListingsHandlerTest {
 protected:
  // Runs the registry or transactions consumer's handler on `event` in one unit of work.
  absl::Status Consume(const EventEnvelope& event, bool registry) {
    return transactor_.Run([&](listings::store::ListingsStore& store, UnitOfWork& work) {
      return registry ? service_->HandleRegistryEvent(store, work, event)
                      : service_->HandleTransactionsEvent(store, work, event);
    });
  }
  static EventEnvelope RegistryEvent(const std::string& org, int64_t sequence, bool suspended) {
    EventEnvelope event;
    event.set_aggregate_type("organization");
    event.set_aggregate_id(org);
    event.set_sequence(sequence);
    event.set_causation_request_id("suspend-1");
    if (suspended) {
      event.mutable_payload()->PackFrom(reg::OrganizationSuspended());
    } else {
      event.mutable_payload()->PackFrom(reg::OrganizationReinstated());
    }
    return event;
  }
  // Event `Event` of deal `deal_id` (a new one if empty) at `version` on an offer (or a demand).
  template <class Event>
  static EventEnvelope DealEvent(const std::string& listing_id, lv1::TransferMode mode,
                                 std::string deal_id = "", int64_t version = 9,
                                 lv1::ListingKind kind = lv1::LISTING_KIND_OFFER) {
    Event e;
    tv1::Deal* deal = e.mutable_deal();
    deal->set_id(deal_id.empty() ? NewUuid() : std::move(deal_id));
    deal->set_version(version);
    deal->set_listing_id(listing_id);
    deal->set_listing_kind(kind);
    deal->add_terms()->set_transfer_mode(lv1::TRANSFER_MODE_NON_EXCLUSIVE_LICENSE);
    deal->add_terms()->set_transfer_mode(mode);
    deal->set_agreed_terms_version(2);
    EventEnvelope event;
    event.set_aggregate_id(deal->id());
    event.set_causation_request_id("complete-1");
    event.mutable_payload()->PackFrom(e);
    return event;
  }
  static EventEnvelope DealCompleted(const std::string& offer_id, lv1::TransferMode mode) {
    return DealEvent<tv1::DealCompleted>(offer_id, mode);
  }
  grpc::Status GetOffer(const std::string& key, const std::string& id, lv1::Offer* out) {
    lv1::GetListingRequest request;
    request.set_id(id);
    return stub_->GetOffer(CallAs(key).get(), request, out);
  }
  std::vector<std::string> ListedOffers(const std::string& key) {
    lv1::ListOffersResponse response;
    grpc::Status s = stub_->ListOffers(CallAs(key).get(), lv1::ListListingsRequest(), &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> ids;
    for (const lv1::Offer& o : response.offers()) ids.push_back(o.id());
    return ids;
  }
};

using ::testing::ElementsAre;

TEST_F(ListingsReadsAndEventsTest, ADraftIsReadOnlyByItsCityAndOperators) {
  const lv1::Offer draft = NewOffer();
  lv1::Offer out;
  EXPECT_TRUE(GetOffer(wuhan_key_, draft.id(), &out).ok());
  EXPECT_TRUE(GetOffer(operator_key_, draft.id(), &out).ok());
  EXPECT_EQ(GetOffer(shenzhen_key_, draft.id(), &out).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetOffer(partner_key_, draft.id(), &out).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetOffer("", draft.id(), &out).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(GetOffer(wuhan_key_, "not-a-uuid", &out), InvalidField("id"));
}

TEST_F(ListingsReadsAndEventsTest, ListsShowDraftsOnlyToTheirCityAndPageInOrder) {
  const lv1::Offer draft = NewOffer();
  const lv1::Offer published = PublishedOffer();
  EXPECT_THAT(ListedOffers(wuhan_key_), ElementsAre(draft.id(), published.id()));
  EXPECT_THAT(ListedOffers(shenzhen_key_), ElementsAre(published.id()));

  lv1::ListListingsRequest request;
  request.set_page_size(1);
  lv1::ListOffersResponse first, second;
  ASSERT_TRUE(stub_->ListOffers(CallAs(operator_key_).get(), request, &first).ok());
  ASSERT_EQ(first.offers_size(), 1);
  EXPECT_EQ(first.offers(0).id(), draft.id());
  ASSERT_FALSE(first.next_page_token().empty());
  request.set_page_token(first.next_page_token());
  ASSERT_TRUE(stub_->ListOffers(CallAs(operator_key_).get(), request, &second).ok());
  ASSERT_EQ(second.offers_size(), 1);
  EXPECT_EQ(second.offers(0).id(), published.id());
  EXPECT_TRUE(second.next_page_token().empty());

  lv1::ListListingsRequest bad;
  bad.set_owner_org_id("nobody");
  EXPECT_THAT(stub_->ListOffers(CallAs(operator_key_).get(), bad, &first),
              InvalidField("owner_org_id"));
}

TEST_F(ListingsReadsAndEventsTest, ASuspensionHidesTheOwnersListingsOnceInOrder) {
  const lv1::Offer published = PublishedOffer();
  const size_t before = transactor_.events().size();
  ASSERT_TRUE(Consume(RegistryEvent(owner_, 5, /*suspended=*/true), true).ok());

  const std::optional<listings::Visibility> stored = transactor_.state().GetVisibility(owner_);
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(stored->hidden);
  EXPECT_EQ(stored->registry_sequence, 5);
  EXPECT_EQ(stored->version, 1);
  std::vector<EmittedEvent> events = transactor_.events();
  ASSERT_EQ(events.size(), before + 1);
  EXPECT_EQ(events.back().aggregate.type, "organization_visibility");
  EXPECT_EQ(events.back().aggregate.id, owner_);
  EXPECT_EQ(events.back().sequence, 1);
  EXPECT_EQ(events.back().type, "techtrade.listings.v1.OrganizationListingsHidden");
  EXPECT_EQ(events.back().cause.request_id, "suspend-1");
  lv1::Offer out;
  ASSERT_TRUE(GetOffer(wuhan_key_, published.id(), &out).ok());
  EXPECT_FALSE(out.visible());

  // An older registry event, or the same one again, changes nothing.
  ASSERT_TRUE(Consume(RegistryEvent(owner_, 4, /*suspended=*/false), true).ok());
  ASSERT_TRUE(Consume(RegistryEvent(owner_, 5, /*suspended=*/true), true).ok());
  EXPECT_EQ(transactor_.events().size(), before + 1);
  EXPECT_TRUE(model_.IsHidden(owner_));

  ASSERT_TRUE(Consume(RegistryEvent(owner_, 6, /*suspended=*/false), true).ok());
  events = transactor_.events();
  EXPECT_EQ(events.back().sequence, 2);
  EXPECT_EQ(events.back().type, "techtrade.listings.v1.OrganizationListingsShown");
  EXPECT_FALSE(model_.IsHidden(owner_));
}

TEST_F(ListingsReadsAndEventsTest, OtherRegistryEventsAreIgnored) {
  EventEnvelope event = RegistryEvent(owner_, 3, true);
  event.mutable_payload()->PackFrom(reg::OrganizationVerified());
  ASSERT_TRUE(Consume(event, true).ok());
  EXPECT_FALSE(transactor_.state().GetVisibility(owner_).has_value());
  EXPECT_TRUE(transactor_.events().empty());
}

TEST_F(ListingsReadsAndEventsTest, AnAssignmentTransfersTheOfferOnce) {
  const lv1::Offer published = PublishedOffer();
  const EventEnvelope event = DealCompleted(published.id(), lv1::TRANSFER_MODE_ASSIGNMENT);
  ASSERT_TRUE(Consume(event, false).ok());
  const lv1::Offer stored = *StoredOffer(published.id());
  EXPECT_EQ(stored.status(), lv1::OFFER_STATUS_TRANSFERRED);
  EXPECT_EQ(stored.version(), 3);
  const std::vector<EmittedEvent> events = transactor_.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].aggregate.type, "offer");
  EXPECT_EQ(events[2].aggregate.id, published.id());
  EXPECT_EQ(events[2].sequence, 3);
  EXPECT_EQ(events[2].type, "techtrade.listings.v1.OfferTransferred");
  EXPECT_EQ(events[2].cause.request_id, "complete-1");
  lv1::OfferTransferred transferred;
  ASSERT_TRUE(transferred.ParseFromString(events[2].payload));
  tv1::DealCompleted completed;
  ASSERT_TRUE(event.payload().UnpackTo(&completed));
  EXPECT_EQ(transferred.deal_id(), completed.deal().id());
  // No longer published: out of this replica's search and matchmaking.
  EXPECT_FALSE(model_.FindOffer(published.id()).has_value());

  // The same deal again, or another, finds the offer transferred: nothing changes.
  ASSERT_TRUE(Consume(event, false).ok());
  EXPECT_EQ(transactor_.events().size(), 3u);
}

TEST_F(ListingsReadsAndEventsTest, ANonExclusiveLicenceOrAnotherServicesListingTransfersNothing) {
  const lv1::Offer published = PublishedOffer();
  ASSERT_TRUE(
      Consume(DealCompleted(published.id(), lv1::TRANSFER_MODE_NON_EXCLUSIVE_LICENSE), false).ok());
  ASSERT_TRUE(Consume(DealCompleted(NewUuid(), lv1::TRANSFER_MODE_ASSIGNMENT), false).ok());
  EXPECT_EQ(StoredOffer(published.id())->status(), lv1::OFFER_STATUS_PUBLISHED);
  EXPECT_EQ(transactor_.events().size(), 2u);
}

TEST_F(ListingsReadsAndEventsTest, AnOfferIsUnderNegotiationUntilItsLastOpenDealEnds) {
  const lv1::Offer published = PublishedOffer();
  const std::string first = NewUuid(), second = NewUuid();
  const auto mode = lv1::TRANSFER_MODE_NON_EXCLUSIVE_LICENSE;
  auto status = [&] { return StoredOffer(published.id())->status(); };
  ASSERT_TRUE(Consume(DealEvent<tv1::DealOpened>(published.id(), mode, first, 1), false).ok());
  EXPECT_EQ(status(), lv1::OFFER_STATUS_UNDER_NEGOTIATION);
  // Still in search and matching, as it is: others may still make an offer.
  ASSERT_TRUE(model_.FindOffer(published.id()).has_value());
  EXPECT_EQ(model_.FindOffer(published.id())->status(), lv1::OFFER_STATUS_UNDER_NEGOTIATION);
  ASSERT_TRUE(Consume(DealEvent<tv1::DealOpened>(published.id(), mode, second, 1), false).ok());
  // A redelivered older event of the first deal cannot reopen it once it ended.
  ASSERT_TRUE(Consume(DealEvent<tv1::DealCancelled>(published.id(), mode, first, 4), false).ok());
  ASSERT_TRUE(Consume(DealEvent<tv1::DealOpened>(published.id(), mode, first, 1), false).ok());
  EXPECT_EQ(status(), lv1::OFFER_STATUS_UNDER_NEGOTIATION);  // the second is open
  ASSERT_TRUE(Consume(DealEvent<tv1::DealCompleted>(published.id(), mode, second, 12), false).ok());
  EXPECT_EQ(status(), lv1::OFFER_STATUS_PUBLISHED);  // licensed, on the market for the next
  const std::vector<EmittedEvent> events = transactor_.events();
  ASSERT_EQ(events.size(), 4u);  // created, published, negotiation started and ended
  EXPECT_EQ(events[2].type, "techtrade.listings.v1.OfferNegotiationStarted");
  EXPECT_EQ(events[2].sequence, 3);
  EXPECT_EQ(events[3].type, "techtrade.listings.v1.OfferNegotiationEnded");
  EXPECT_EQ(events[3].sequence, 4);
  lv1::OfferNegotiationEnded ended;
  ASSERT_TRUE(ended.ParseFromString(events[3].payload));
  EXPECT_EQ(ended.deal_id(), second);
  EXPECT_EQ(ended.offer().status(), lv1::OFFER_STATUS_PUBLISHED);
}

TEST_F(ListingsReadsAndEventsTest, ACompletedDealFulfilsItsDemand) {
  const lv1::Demand demand = PublishedDemand();
  const size_t before = transactor_.events().size();
  const auto mode = lv1::TRANSFER_MODE_TECHNICAL_SERVICE;
  ASSERT_TRUE(
      Consume(DealEvent<tv1::DealOpened>(demand.id(), mode, "", 1, lv1::LISTING_KIND_DEMAND), false)
          .ok());
  EXPECT_EQ(StoredDemand(demand.id())->status(), lv1::DEMAND_STATUS_PUBLISHED);
  ASSERT_TRUE(
      Consume(DealEvent<tv1::DealCompleted>(demand.id(), mode, "", 9, lv1::LISTING_KIND_DEMAND),
              false)
          .ok());
  EXPECT_EQ(StoredDemand(demand.id())->status(), lv1::DEMAND_STATUS_FULFILLED);
  const std::vector<EmittedEvent> events = transactor_.events();
  ASSERT_EQ(events.size(), before + 1);
  EXPECT_EQ(events.back().type, "techtrade.listings.v1.DemandFulfilled");
  EXPECT_EQ(events.back().aggregate.type, "demand");
  EXPECT_FALSE(model_.FindDemand(demand.id()).has_value());  // out of search and matching
}

TEST_F(ListingsReadsAndEventsTest, TheSweepExpiresEachDemandPastItsDeadlineOnce) {
  const lv1::Demand first = PublishedDemand();
  const lv1::Demand second = PublishedDemand();
  const lv1::Demand draft = [&] {
    lv1::CreateDemandRequest r;
    r.set_request_id(NewUuid());
    r.set_seeker_org_id(owner_);
    *r.mutable_demand() = GoodDemand();
    lv1::Demand created;
    EXPECT_TRUE(stub_->CreateDemand(CallAs(wuhan_key_).get(), r, &created).ok());
    return created;
  }();
  // A second replica on the same store, whose read model also holds both demands.
  listings::ReadModel other_model;
  listings::ListingsServiceImpl other(transactor_, server_.cache(), server_.runner(), directory_,
                                      other_model);
  other_model.ApplyDemand(first);
  other_model.ApplyDemand(second);
  const size_t before = transactor_.events().size();
  const absl::Time past_deadline = absl::Now() + absl::Hours(24 * 91);

  EXPECT_EQ(service_->ExpireDueDemands(absl::Now(), 10), 0);   // deadlines ahead
  EXPECT_EQ(service_->ExpireDueDemands(past_deadline, 1), 1);  // bounded per sweep
  EXPECT_EQ(service_->ExpireDueDemands(past_deadline, 10), 1);
  EXPECT_EQ(service_->ExpireDueDemands(past_deadline, 10), 0);
  // The other replica's model has not seen the events: the store decides, nothing twice.
  EXPECT_EQ(other_model.DemandsDueToExpire(past_deadline, 10).size(), 2u);
  EXPECT_EQ(other.ExpireDueDemands(past_deadline, 10), 0);

  for (const lv1::Demand* d : {&first, &second}) {
    EXPECT_EQ(StoredDemand(d->id())->status(), lv1::DEMAND_STATUS_EXPIRED);
    EXPECT_FALSE(model_.FindDemand(d->id()).has_value());  // out of search and matching
  }
  EXPECT_EQ(StoredDemand(draft.id())->status(), lv1::DEMAND_STATUS_DRAFT);
  const std::vector<EmittedEvent> events = transactor_.events();
  ASSERT_EQ(events.size(), before + 2);
  for (size_t i = before; i < events.size(); ++i) {
    EXPECT_EQ(events[i].type, "techtrade.listings.v1.DemandExpired");
    EXPECT_EQ(events[i].aggregate.type, "demand");
    EXPECT_EQ(events[i].sequence, 3);  // created 1, published 2, expired 3
    EXPECT_EQ(events[i].cause.actor.role(), "system");
  }
  // Read through the API (and its cache), it is expired.
  lv1::GetListingRequest get;
  get.set_id(first.id());
  lv1::Demand read;
  ASSERT_TRUE(stub_->GetDemand(CallAs(wuhan_key_).get(), get, &read).ok());
  EXPECT_EQ(read.status(), lv1::DEMAND_STATUS_EXPIRED);
}

}  // namespace
}  // namespace techtrade::testing
