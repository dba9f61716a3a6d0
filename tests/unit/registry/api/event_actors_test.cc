// Every event the registry emits names who caused it and the pilot city it concerns (the audit
// log's actor and scope): the caller of the request, or the registry itself for its start-up's
// own change.
#include "common/auth.h"
#include "services/registry/api/authenticator.h"
#include "tests/unit/registry/api/registry_handler_fixture.h"

namespace techtrade::registry {
namespace {

using RegistryEventActors = RegistryHandlerTest;

TEST_F(RegistryEventActors, AnOrganisationsEventNamesTheCallerAndItsCity) {
  v1::Organization org;
  ASSERT_TRUE(Register(wuhan_key_, Registration("r1", "wuhan"), &org).ok());
  std::vector<testing::EmittedEvent> events = transactor_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].cause.request_id, "r1");
  EXPECT_EQ(events[0].cause.actor.api_client_id(), ParseApiKey(wuhan_key_)->key_id);
  EXPECT_EQ(events[0].cause.actor.role(), "city_system");
  EXPECT_EQ(events[0].cause.actor.city_id(), "wuhan");
  EXPECT_EQ(events[0].aggregate.city_ids, std::vector<std::string>{"wuhan"});
}

TEST_F(RegistryEventActors, AnOperatorsCommandNamesTheOperator) {
  Registered("hefei");
  std::vector<testing::EmittedEvent> events = transactor_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].cause.actor.api_client_id(), ParseApiKey(operator_key_)->key_id);
  EXPECT_EQ(events[0].cause.actor.role(), "operator");
  EXPECT_EQ(events[0].cause.actor.city_id(), "");
  EXPECT_EQ(events[0].aggregate.city_ids, std::vector<std::string>{"hefei"});
}

TEST_F(RegistryEventActors, TheBootstrapKeyIsTheRegistrysOwnAction) {
  ASSERT_TRUE(EnsureBootstrapOperatorKey(transactor_, NewApiKey()).ok());
  std::vector<testing::EmittedEvent> events = transactor_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].cause.actor.api_client_id(), "registry");
  EXPECT_EQ(events[0].cause.actor.role(), "system");
}

}  // namespace
}  // namespace techtrade::registry
