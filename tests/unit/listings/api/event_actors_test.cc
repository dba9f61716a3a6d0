// Every event the listings emit names who caused it and the pilot city it concerns (the audit
// log's actor and scope): a request's caller, or, for a reaction to another service's event, that
// event's actor.
#include "common/auth.h"
#include "tests/unit/listings/api/listings_handler_fixture.h"

namespace techtrade::testing {
namespace {

using techtrade::common::v1::EventEnvelope;

class ListingsEventActorsTest : public ListingsHandlerTest {};

TEST_F(ListingsEventActorsTest, AListingsEventNamesTheCallerAndTheListingsCity) {
  lv1::Offer offer = NewOffer();
  std::vector<EmittedEvent> events = transactor_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].cause.actor.api_client_id(), ParseApiKey(wuhan_key_)->key_id);
  EXPECT_EQ(events[0].cause.actor.role(), "city_system");
  EXPECT_EQ(events[0].cause.actor.city_id(), kWuhan);
  EXPECT_EQ(events[0].aggregate.id, offer.id());
  EXPECT_EQ(events[0].aggregate.city_ids, std::vector<std::string>{kWuhan});
  EXPECT_EQ(events[0].aggregate.partner_id, "");
}

TEST_F(ListingsEventActorsTest, AReactionToARegistryEventKeepsThatEventsActor) {
  reg::OrganizationSuspended suspended;
  suspended.mutable_organization()->set_id(owner_);
  suspended.mutable_organization()->set_city_id(kWuhan);
  EventEnvelope event;
  event.set_aggregate_type("organization");
  event.set_aggregate_id(owner_);
  event.set_sequence(4);
  event.set_causation_request_id("suspend-1");
  event.mutable_actor()->set_api_client_id("op-1");
  event.mutable_actor()->set_role("operator");
  event.mutable_payload()->PackFrom(suspended);
  ASSERT_TRUE(transactor_
                  .Run([&](listings::store::ListingsStore& store, UnitOfWork& work) {
                    return service_->HandleRegistryEvent(store, work, event);
                  })
                  .ok());
  std::vector<EmittedEvent> events = transactor_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].cause.request_id, "suspend-1");
  EXPECT_EQ(events[0].cause.actor.api_client_id(), "op-1");
  EXPECT_EQ(events[0].cause.actor.role(), "operator");
  EXPECT_EQ(events[0].aggregate.city_ids, std::vector<std::string>{kWuhan});
}

}  // namespace
}  // namespace techtrade::testing
