// The audit log (common/audit.h, migration 0010) on the real PostgreSQL: written in the
// transaction of the change it records or not at all, never changed afterwards, and read only
// within the caller's scope — directly, and through a service's AuditService.
#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/audit.h"
#include "common/auth.h"
#include "common/db.h"
#include "common/migrations.h"
#include "common/outbox.h"
#include "services/registry/domain/credit_code.h"
#include "techtrade/audit/v1/audit.grpc.pb.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"
#include "tests/support/harness.h"

namespace techtrade::testing {
namespace {

namespace av1 = techtrade::audit::v1;
namespace reg = techtrade::registry::v1;
using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;

common::v1::Actor ActorNamed(const std::string& id, const std::string& role,
                             const std::string& city = "") {
  common::v1::Actor actor;
  actor.set_api_client_id(id);
  actor.set_role(role);
  actor.set_city_id(city);
  return actor;
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    db_ = std::make_unique<ScratchDatabase>(stack_, "audit");
    pool_ = *PgPool::Create(db_->url(), 2);
    ASSERT_TRUE(ApplyMigrations(*pool_, "common", CommonMigrations()).ok());
  }

  // Appends one event of `aggregate` as `actor` in `tx`; its event id.
  static std::string Append(Tx& tx, const std::string& type, const std::string& aggregate,
                            int64_t sequence, const common::v1::Actor& actor,
                            const std::vector<std::string>& cities,
                            const std::string& partner = "") {
    common::v1::Money payload;
    payload.set_currency("CNY");
    payload.set_amount_minor(sequence);
    return AppendToOutbox(tx, "transactions",
                          {.aggregate_type = type,
                           .aggregate_id = aggregate,
                           .sequence = sequence,
                           .payload = &payload,
                           .causation_request_id = absl::StrCat("req-", aggregate, "-", sequence),
                           .actor = &actor,
                           .city_ids = &cities,
                           .partner_id = partner});
  }

  absl::Status Commit(const std::function<void(Tx&)>& appends) {
    return InTransaction(*pool_, [&](Tx& tx) -> absl::Status {
      appends(tx);
      return absl::OkStatus();
    });
  }

  std::vector<std::string> AggregatesSeenBy(const AuditScope& scope,
                                            av1::QueryAuditRequest request = {}) {
    absl::StatusOr<av1::QueryAuditResponse> page = QueryAuditLog(*pool_, request, scope);
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<std::string> seen;
    if (!page.ok()) return seen;
    for (const av1::AuditRecord& r : page->records()) {
      seen.push_back(absl::StrCat(r.aggregate_id(), "#", r.sequence()));
    }
    return seen;
  }

  // Deals in Wuhan (settled by bank-1), in Hefei (by bank-2), in both, and a national programme.
  void SeedScopes() {
    const common::v1::Actor op = ActorNamed("op-1", "operator");
    ASSERT_TRUE(Commit([&](Tx& tx) {
                  Append(tx, "deal", "wuhan-deal", 1, op, {"wuhan"}, "bank-1");
                  Append(tx, "deal", "hefei-deal", 1, op, {"hefei"}, "bank-2");
                  Append(tx, "deal", "both-deal", 1, op, {"hefei", "wuhan"});
                  Append(tx, "programme", "national", 1, op, {});
                }).ok());
  }

  int64_t Count(const std::string& table) {
    return db_->QueryInt(absl::StrCat("SELECT count(*) FROM ", table));
  }

  Stack stack_;
  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<PgPool> pool_;
};

TEST_F(AuditLogTest, ACommandsAuditRowsAreWrittenWithItsOutboxRowsInOneTransaction) {
  const common::v1::Actor actor = ActorNamed("wh-1", "city_system", "wuhan");
  std::string first, second;
  ASSERT_TRUE(Commit([&](Tx& tx) {
                first = Append(tx, "deal", "d1", 1, actor, {"wuhan", "hefei", "wuhan", ""}, "b1");
                second = Append(tx, "deal", "d1", 2, actor, {"wuhan"}, "b1");
              }).ok());
  EXPECT_EQ(Count("outbox"), 2);
  EXPECT_EQ(Count("audit_log"), 2);
  pqxx::connection conn(db_->url());
  pqxx::work w(conn);
  pqxx::result rows = w.exec(
      "SELECT a.event_id::text, a.aggregate_type, a.aggregate_id, a.sequence, a.event_type, "
      "a.producer, a.actor_client_id, a.actor_role, a.actor_city_id, a.request_id, "
      "array_to_string(a.city_ids, ','), a.partner_id, a.envelope = o.payload, "
      "a.occurred_at = o.occurred_at FROM audit_log a JOIN outbox o ON o.id = a.event_id "
      "ORDER BY a.position");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].as<std::string>(), first);
  EXPECT_EQ(rows[1][0].as<std::string>(), second);
  EXPECT_EQ(rows[0][1].as<std::string>(), "deal");
  EXPECT_EQ(rows[0][2].as<std::string>(), "d1");
  EXPECT_EQ(rows[0][3].as<int64_t>(), 1);
  EXPECT_EQ(rows[0][4].as<std::string>(), "techtrade.common.v1.Money");
  EXPECT_EQ(rows[0][5].as<std::string>(), "transactions");
  EXPECT_EQ(rows[0][6].as<std::string>(), "wh-1");
  EXPECT_EQ(rows[0][7].as<std::string>(), "city_system");
  EXPECT_EQ(rows[0][8].as<std::string>(), "wuhan");
  EXPECT_EQ(rows[0][9].as<std::string>(), "req-d1-1");
  EXPECT_EQ(rows[0][10].as<std::string>(), "wuhan,hefei");  // blanks and repeats dropped
  EXPECT_EQ(rows[0][11].as<std::string>(), "b1");
  EXPECT_TRUE(rows[0][12].as<bool>());  // the envelope exactly as the outbox publishes it
  EXPECT_TRUE(rows[0][13].as<bool>());
  // The published envelope carries the actor.
  pqxx::binarystring bytes(w.exec1("SELECT payload FROM outbox ORDER BY position LIMIT 1")[0]);
  common::v1::EventEnvelope envelope;
  ASSERT_TRUE(envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  EXPECT_EQ(envelope.actor().api_client_id(), "wh-1");
  EXPECT_EQ(envelope.actor().city_id(), "wuhan");
}

TEST_F(AuditLogTest, AnEventWithoutAnActorIsTheProducersOwn) {
  ASSERT_TRUE(
      Commit([&](Tx& tx) { Append(tx, "programme", "p1", 1, common::v1::Actor(), {}); }).ok());
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM audit_log WHERE actor_client_id = 'transactions' "
                          "AND actor_role = 'system'"),
            1);
}

TEST_F(AuditLogTest, ARolledBackCommandLeavesNoAuditRow) {
  const common::v1::Actor actor = ActorNamed("op-1", "operator");
  // Refused by the unit itself, after it emitted.
  absl::Status refused = InTransaction(*pool_, [&](Tx& tx) -> absl::Status {
    Append(tx, "deal", "d1", 1, actor, {"wuhan"});
    return absl::FailedPreconditionError("state: refused after emitting");
  });
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  // Refused by the database at commit, with the audit row already staged in the same batch.
  absl::Status failed = InTransaction(*pool_, [&](Tx& tx) -> absl::Status {
    Append(tx, "deal", "d2", 1, actor, {"wuhan"});
    tx.StageWrite("INSERT INTO no_such_table VALUES (1)");
    return absl::OkStatus();
  });
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(Count("audit_log"), 0);
  EXPECT_EQ(Count("outbox"), 0);
}

TEST_F(AuditLogTest, UpdateDeleteAndTruncateAreRefused) {
  SeedScopes();
  pqxx::connection conn(db_->url());
  auto refused = [&](const std::string& sql) {
    try {
      pqxx::work w(conn);
      w.exec(sql);
      w.commit();
      return false;
    } catch (const pqxx::sql_error& e) {
      return std::string(e.what()).find("append-only") != std::string::npos;
    }
  };
  EXPECT_TRUE(refused("UPDATE audit_log SET actor_client_id = 'someone-else'"));
  EXPECT_TRUE(refused("UPDATE audit_log SET city_ids = '{}' WHERE aggregate_id = 'wuhan-deal'"));
  EXPECT_TRUE(refused("DELETE FROM audit_log WHERE aggregate_id = 'hefei-deal'"));
  EXPECT_TRUE(refused("TRUNCATE audit_log"));
  EXPECT_EQ(Count("audit_log"), 4);
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM audit_log WHERE actor_client_id = 'op-1'"), 4);
}

TEST_F(AuditLogTest, AQueryFiltersByAggregateActorAndTimeRange) {
  const common::v1::Actor wuhan = ActorNamed("wh-1", "city_system", "wuhan");
  const common::v1::Actor op = ActorNamed("op-1", "operator");
  ASSERT_TRUE(Commit([&](Tx& tx) { Append(tx, "deal", "d1", 1, wuhan, {"wuhan"}); }).ok());
  ASSERT_TRUE(Commit([&](Tx& tx) { Append(tx, "deal", "d2", 1, op, {"wuhan"}); }).ok());
  ASSERT_TRUE(Commit([&](Tx& tx) { Append(tx, "deal", "d1", 2, op, {"wuhan"}); }).ok());
  ASSERT_TRUE(Commit([&](Tx& tx) { Append(tx, "offer", "d1", 1, op, {"wuhan"}); }).ok());
  const AuditScope all{.everything = true};

  av1::QueryAuditRequest by_aggregate;
  by_aggregate.set_aggregate_type("deal");
  by_aggregate.set_aggregate_id("d1");
  EXPECT_THAT(AggregatesSeenBy(all, by_aggregate), ElementsAre("d1#1", "d1#2"));
  by_aggregate.clear_aggregate_type();
  EXPECT_THAT(AggregatesSeenBy(all, by_aggregate), ElementsAre("d1#1", "d1#2", "d1#1"));

  av1::QueryAuditRequest by_actor;
  by_actor.set_actor_client_id("op-1");
  EXPECT_THAT(AggregatesSeenBy(all, by_actor), ElementsAre("d2#1", "d1#2", "d1#1"));

  // The time range, by the records' own times: [second, fourth) holds the second and third.
  absl::StatusOr<av1::QueryAuditResponse> every = QueryAuditLog(*pool_, {}, all);
  ASSERT_TRUE(every.ok());
  ASSERT_EQ(every->records_size(), 4);
  av1::QueryAuditRequest by_time;
  *by_time.mutable_start_time() = every->records(1).occurred_at();
  *by_time.mutable_end_time() = every->records(3).occurred_at();
  EXPECT_THAT(AggregatesSeenBy(all, by_time), ElementsAre("d2#1", "d1#2"));
  by_time.clear_end_time();
  EXPECT_THAT(AggregatesSeenBy(all, by_time), ElementsAre("d2#1", "d1#2", "d1#1"));
  // The record carries the envelope's fields and the actor.
  const av1::AuditRecord& r = every->records(0);
  EXPECT_EQ(r.event_id(), r.envelope().event_id());
  EXPECT_EQ(r.actor().api_client_id(), "wh-1");
  EXPECT_EQ(r.actor().role(), "city_system");
  EXPECT_EQ(r.causation_request_id(), "req-d1-1");
  EXPECT_EQ(r.producer(), "transactions");
  EXPECT_THAT(r.city_ids(), ElementsAre("wuhan"));

  av1::QueryAuditRequest bad;
  bad.mutable_start_time()->set_seconds(-70000000000);
  EXPECT_EQ(QueryAuditLog(*pool_, bad, all).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AuditLogTest, PagesFollowEachOtherAndTheirTokensKeepTheirFilters) {
  SeedScopes();
  av1::QueryAuditRequest request;
  request.set_page_size(3);
  absl::StatusOr<av1::QueryAuditResponse> first =
      QueryAuditLog(*pool_, request, {.everything = true});
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->records_size(), 3);
  ASSERT_FALSE(first->next_page_token().empty());
  request.set_page_token(first->next_page_token());
  absl::StatusOr<av1::QueryAuditResponse> second =
      QueryAuditLog(*pool_, request, {.everything = true});
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->records_size(), 1);
  EXPECT_EQ(second->records(0).aggregate_id(), "national");
  EXPECT_TRUE(second->next_page_token().empty());
  request.set_actor_client_id("op-2");  // another filter: the token is not its
  EXPECT_EQ(QueryAuditLog(*pool_, request, {.everything = true}).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.clear_page_token();
  request.set_page_size(501);
  EXPECT_EQ(QueryAuditLog(*pool_, request, {.everything = true}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AuditLogTest, ACitySystemGetsNoneOfAnotherCitysRecords) {
  SeedScopes();
  EXPECT_THAT(AggregatesSeenBy({.city_id = "wuhan"}), ElementsAre("wuhan-deal#1", "both-deal#1"));
  EXPECT_THAT(AggregatesSeenBy({.city_id = "hefei"}), ElementsAre("hefei-deal#1", "both-deal#1"));
  EXPECT_THAT(AggregatesSeenBy({.city_id = "chengdu"}), ElementsAre());
  // Asking for another city's aggregate by name: an empty page, as for one that does not exist.
  av1::QueryAuditRequest request;
  request.set_aggregate_id("hefei-deal");
  EXPECT_THAT(AggregatesSeenBy({.city_id = "wuhan"}, request), ElementsAre());
  request.set_aggregate_id("no-such-deal");
  EXPECT_THAT(AggregatesSeenBy({.city_id = "wuhan"}, request), ElementsAre());
}

TEST_F(AuditLogTest, APartnerSeesOnlyItsDealsRecords) {
  SeedScopes();
  EXPECT_THAT(AggregatesSeenBy({.partner_id = "bank-1"}), ElementsAre("wuhan-deal#1"));
  EXPECT_THAT(AggregatesSeenBy({.partner_id = "bank-2"}), ElementsAre("hefei-deal#1"));
  EXPECT_THAT(AggregatesSeenBy({.partner_id = "bank-3"}), ElementsAre());
  av1::QueryAuditRequest request;
  request.set_aggregate_id("hefei-deal");
  EXPECT_THAT(AggregatesSeenBy({.partner_id = "bank-1"}, request), ElementsAre());
}

// Through a service process: its AuditService, authenticated by the registry, scoped by caller.
class AuditServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    db_ = std::make_unique<ScratchDatabase>(stack_, "audit_svc");
    operator_key_ = NewApiKey();
    registry_ = std::make_unique<ServiceProcess>("registry",
                                                 RegistryEnv(stack_, db_->url(), operator_key_));
    ASSERT_TRUE(registry_->WaitUntilServing()) << "log: " << registry_->log_path();
    registry_stub_ = reg::RegistryService::NewStub(registry_->channel());
    audit_stub_ = av1::AuditService::NewStub(registry_->channel());
    for (const char* city : {"wuhan", "hefei"}) {
      reg::CreatePilotCityRequest req;
      req.set_request_id(absl::StrCat("city-", city));
      req.set_id(city);
      req.set_name(city);
      req.set_kind(reg::PILOT_CITY_KIND_CITY);
      req.set_division_code("420100");
      reg::PilotCity created;
      grpc::Status s =
          registry_stub_->CreatePilotCity(AuthedContext(operator_key_).get(), req, &created);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
    wuhan_key_ = IssueKey(reg::API_CLIENT_ROLE_CITY_SYSTEM, "wuhan");
    hefei_key_ = IssueKey(reg::API_CLIENT_ROLE_CITY_SYSTEM, "hefei");
    partner_key_ = IssueKey(reg::API_CLIENT_ROLE_PARTNER, "");
  }

  std::string IssueKey(reg::ApiClientRole role, const std::string& city) {
    reg::IssueApiKeyRequest req;
    req.set_request_id(absl::StrCat("key-", role, "-", city));
    req.set_name("test client");
    req.set_role(role);
    req.set_city_id(city);
    reg::IssueApiKeyResponse resp;
    grpc::Status s = registry_stub_->IssueApiKey(AuthedContext(operator_key_).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.api_key();
  }

  grpc::Status Query(const std::string& key, const av1::QueryAuditRequest& request,
                     av1::QueryAuditResponse* response) {
    return audit_stub_->QueryAudit(AuthedContext(key).get(), request, response);
  }

  Stack stack_;
  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<ServiceProcess> registry_;
  std::unique_ptr<reg::RegistryService::Stub> registry_stub_;
  std::unique_ptr<av1::AuditService::Stub> audit_stub_;
  std::string operator_key_, wuhan_key_, hefei_key_, partner_key_;
};

TEST_F(AuditServiceTest, ACommandsRecordNamesItsCallerAndIsSeenOnlyWithinScope) {
  reg::RegisterOrganizationRequest registration;
  registration.set_request_id("reg-1");
  const std::string first17 = "91420100000000042";
  registration.set_credit_code(first17 + registry::CreditCodeCheckCharacter(first17));
  registration.set_name("华中科技大学");
  registration.set_kind(reg::ORGANIZATION_KIND_UNIVERSITY);
  registration.set_city_id("wuhan");
  registration.set_contact_email("tto@hust.edu.cn");
  reg::Organization org;
  grpc::Status s =
      registry_stub_->RegisterOrganization(AuthedContext(wuhan_key_).get(), registration, &org);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // The same registration again is refused (ALREADY_EXISTS): rolled back, it leaves no record.
  registration.set_request_id("reg-2");
  EXPECT_FALSE(
      registry_stub_->RegisterOrganization(AuthedContext(wuhan_key_).get(), registration, &org)
          .ok());

  av1::QueryAuditRequest request;
  request.set_aggregate_type("organization");
  request.set_aggregate_id(org.id());
  av1::QueryAuditResponse page;
  ASSERT_TRUE(Query(operator_key_, request, &page).ok());
  ASSERT_EQ(page.records_size(), 1);
  const av1::AuditRecord& r = page.records(0);
  EXPECT_EQ(r.event_type(), "techtrade.registry.v1.OrganizationRegistered");
  EXPECT_EQ(r.actor().api_client_id(), ParseApiKey(wuhan_key_)->key_id);
  EXPECT_EQ(r.actor().role(), "city_system");
  EXPECT_EQ(r.actor().city_id(), "wuhan");
  EXPECT_EQ(r.causation_request_id(), "reg-1");
  EXPECT_EQ(r.producer(), "registry");
  EXPECT_THAT(r.city_ids(), ElementsAre("wuhan"));
  EXPECT_EQ(r.envelope().actor().api_client_id(), r.actor().api_client_id());

  av1::QueryAuditRequest by_actor;
  by_actor.set_actor_client_id(ParseApiKey(wuhan_key_)->key_id);
  ASSERT_TRUE(Query(operator_key_, by_actor, &page).ok());
  EXPECT_EQ(page.records_size(), 1);  // the refused second registration left none

  ASSERT_TRUE(Query(wuhan_key_, request, &page).ok());
  EXPECT_EQ(page.records_size(), 1);
  // Hefei's system and a partner: an empty page, not an error that would say it exists.
  ASSERT_TRUE(Query(hefei_key_, request, &page).ok());
  EXPECT_EQ(page.records_size(), 0);
  ASSERT_TRUE(Query(hefei_key_, av1::QueryAuditRequest(), &page).ok());
  for (const av1::AuditRecord& seen : page.records()) {
    EXPECT_THAT(seen.city_ids(), ::testing::Contains("hefei")) << seen.ShortDebugString();
  }
  ASSERT_TRUE(Query(partner_key_, request, &page).ok());
  EXPECT_EQ(page.records_size(), 0);
  // Every service caps its pages.
  av1::QueryAuditRequest too_big;
  too_big.set_page_size(501);
  EXPECT_EQ(Query(operator_key_, too_big, &page).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Query("", request, &page).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace techtrade::testing
