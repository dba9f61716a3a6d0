// Who caused an event (EventCause's actor, common/command.h) and who may read its audit record
// (the scope rule, common/audit_scope.h), on every combination of caller and record.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/audit_scope.h"
#include "common/command.h"

namespace techtrade {
namespace {

namespace reg = techtrade::registry::v1;

reg::Principal Caller(reg::ApiClientRole role, const std::string& id, const std::string& city) {
  reg::Principal p;
  p.set_api_client_id(id);
  p.set_role(role);
  p.set_city_id(city);
  return p;
}

TEST(EventCauseTest, ARequestsCauseNamesTheCallerAsItsActor) {
  struct Case {
    reg::Principal caller;
    std::string role;
    std::string city;
  };
  for (const Case& c :
       {Case{Caller(reg::API_CLIENT_ROLE_OPERATOR, "op1", ""), "operator", ""},
        Case{Caller(reg::API_CLIENT_ROLE_CITY_SYSTEM, "wh1", "wuhan"), "city_system", "wuhan"},
        Case{Caller(reg::API_CLIENT_ROLE_PARTNER, "bank1", ""), "partner", ""},
        Case{Caller(reg::API_CLIENT_ROLE_UNSPECIFIED, "", ""), "unknown", ""}}) {
    EventCause cause = EventCause::OfRequest("req-1", "00-trace", c.caller);
    EXPECT_EQ(cause.request_id, "req-1");
    EXPECT_EQ(cause.traceparent, "00-trace");
    EXPECT_EQ(cause.actor.api_client_id(), c.caller.api_client_id());
    EXPECT_EQ(cause.actor.role(), c.role);
    EXPECT_EQ(cause.actor.city_id(), c.city);
  }
}

TEST(EventCauseTest, AnOperatorsOrPartnersCityIsNotTheirs) {
  // Only a city system acts for a city; a stray city id on another principal is not copied.
  EventCause cause =
      EventCause::OfRequest("r", "", Caller(reg::API_CLIENT_ROLE_OPERATOR, "op1", "wuhan"));
  EXPECT_EQ(cause.actor.city_id(), "");
}

TEST(EventCauseTest, AConsumersCauseKeepsTheConsumedEventsActorAndRequest) {
  common::v1::EventEnvelope consumed;
  consumed.set_causation_request_id("req-7");
  consumed.set_producer("transactions");
  consumed.mutable_trace()->set_traceparent(
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  consumed.mutable_actor()->set_api_client_id("wh1");
  consumed.mutable_actor()->set_role("city_system");
  consumed.mutable_actor()->set_city_id("wuhan");
  EventCause cause = EventCause::OfEvent(consumed);
  EXPECT_EQ(cause.request_id, "req-7");
  EXPECT_EQ(cause.actor.api_client_id(), "wh1");
  EXPECT_EQ(cause.actor.role(), "city_system");
  EXPECT_EQ(cause.actor.city_id(), "wuhan");
  // And so on down the chain: the next consumer's cause still names the same actor.
  common::v1::EventEnvelope next;
  *next.mutable_actor() = cause.actor;
  next.set_causation_request_id(cause.request_id);
  EXPECT_EQ(EventCause::OfEvent(next).actor.api_client_id(), "wh1");
}

TEST(EventCauseTest, ASystemActionNamesTheServiceAsASystemActor) {
  EventCause cause = EventCause::OfSystem("registry");
  EXPECT_EQ(cause.request_id, "");
  EXPECT_EQ(cause.actor.api_client_id(), "registry");
  EXPECT_EQ(cause.actor.role(), "system");
  EXPECT_EQ(cause.actor.city_id(), "");
  EXPECT_EQ(SystemActor("fund").api_client_id(), "fund");
}

TEST(AuditScopeTest, OnlyOperatorsCitySystemsAndPartnersHaveAScope) {
  absl::StatusOr<AuditScope> op = AuditScopeOf(Caller(reg::API_CLIENT_ROLE_OPERATOR, "op1", ""));
  ASSERT_TRUE(op.ok());
  EXPECT_TRUE(op->everything);
  absl::StatusOr<AuditScope> city =
      AuditScopeOf(Caller(reg::API_CLIENT_ROLE_CITY_SYSTEM, "wh1", "wuhan"));
  ASSERT_TRUE(city.ok());
  EXPECT_FALSE(city->everything);
  EXPECT_EQ(city->city_id, "wuhan");
  EXPECT_EQ(city->partner_id, "");
  absl::StatusOr<AuditScope> partner =
      AuditScopeOf(Caller(reg::API_CLIENT_ROLE_PARTNER, "bank1", "wuhan"));
  ASSERT_TRUE(partner.ok());
  EXPECT_FALSE(partner->everything);
  EXPECT_EQ(partner->partner_id, "bank1");
  EXPECT_EQ(partner->city_id, "");  // a partner's stray city gives it nothing
  for (const reg::Principal& refused : {Caller(reg::API_CLIENT_ROLE_UNSPECIFIED, "x", "wuhan"),
                                        Caller(reg::API_CLIENT_ROLE_CITY_SYSTEM, "wh1", ""),
                                        Caller(reg::API_CLIENT_ROLE_PARTNER, "", ""),
                                        Caller(static_cast<reg::ApiClientRole>(9), "x", "wuhan")}) {
    EXPECT_EQ(AuditScopeOf(refused).status().code(), absl::StatusCode::kPermissionDenied)
        << refused.ShortDebugString();
  }
}

// Every kind of caller against every kind of record.
TEST(AuditScopeTest, EachCallerSeesExactlyTheRecordsInItsScope) {
  struct Record {
    std::string name;
    std::vector<std::string> cities;
    std::string partner;
  };
  const std::vector<Record> records = {
      {"no scope", {}, ""},
      {"wuhan", {"wuhan"}, ""},
      {"hefei", {"hefei"}, ""},
      {"hefei and wuhan", {"hefei", "wuhan"}, ""},
      {"bank1's", {}, "bank1"},
      {"bank2's", {}, "bank2"},
      {"hefei, bank1's", {"hefei"}, "bank1"},
      {"wuhan, bank2's", {"wuhan"}, "bank2"},
  };
  struct Caller {
    std::string name;
    AuditScope scope;
    std::vector<std::string> sees;  // record names, in the order above
  };
  const std::vector<Caller> callers = {
      {"operator",
       {.everything = true},
       {"no scope", "wuhan", "hefei", "hefei and wuhan", "bank1's", "bank2's", "hefei, bank1's",
        "wuhan, bank2's"}},
      {"wuhan's system", {.city_id = "wuhan"}, {"wuhan", "hefei and wuhan", "wuhan, bank2's"}},
      {"hefei's system", {.city_id = "hefei"}, {"hefei", "hefei and wuhan", "hefei, bank1's"}},
      {"chengdu's system", {.city_id = "chengdu"}, {}},
      {"bank1", {.partner_id = "bank1"}, {"bank1's", "hefei, bank1's"}},
      {"bank3", {.partner_id = "bank3"}, {}},
      {"an empty scope", {}, {}},
  };
  for (const Caller& caller : callers) {
    std::vector<std::string> seen;
    for (const Record& r : records) {
      if (InAuditScope(caller.scope, r.cities, r.partner)) seen.push_back(r.name);
    }
    EXPECT_EQ(seen, caller.sees) << caller.name;
  }
}

TEST(AuditScopeTest, AnEmptyCityOrPartnerNeverMatchesARecordWithoutOne) {
  // A record with an empty city or partner (an emit path that knew none) is no one's but the
  // operators'.
  const std::vector<std::string> blank = {""};
  EXPECT_FALSE(InAuditScope(AuditScope{}, blank, ""));
  EXPECT_FALSE(InAuditScope(AuditScope{.city_id = "wuhan"}, blank, ""));
  EXPECT_FALSE(InAuditScope(AuditScope{.partner_id = "bank1"}, blank, ""));
  EXPECT_TRUE(InAuditScope(AuditScope{.everything = true}, blank, ""));
}

}  // namespace
}  // namespace techtrade
