// The registry against the real local stack: PostgreSQL, Redis and a Kafka broker (KRaft).
// Each test starts its own registry process on its own scratch database.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/auth.h"
#include "common/cache_keys.h"
#include "common/tls.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/registry/domain/credit_code.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"
#include "tests/support/harness.h"

namespace techtrade::testing {
namespace {

namespace v1 = techtrade::registry::v1;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kTopic[] = "techtrade.registry.events.v1";

// A valid credit code, distinct per n.
std::string CreditCode(int n) {
  std::string first17 = absl::StrFormat("91420100%09d", n);
  return first17 + registry::CreditCodeCheckCharacter(first17);
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    db_ = std::make_unique<ScratchDatabase>(stack_, "registry_it");
    operator_key_ = NewApiKey();
    StartRegistry();
    city_ = CreateCity("wuhan-east-lake");
    other_city_ = CreateCity("shenzhen");
  }

  void TearDown() override {
    registry_.reset();
    db_.reset();
  }

  void StartRegistry() {
    registry_ = std::make_unique<ServiceProcess>(
        "registry", RegistryEnv(stack_, db_->url(), operator_key_,
                                {{"TECHTRADE_RETENTION_SWEEP_SECONDS", "1"}}));
    ASSERT_TRUE(registry_->WaitUntilServing()) << "log: " << registry_->log_path();
    stub_ = v1::RegistryService::NewStub(registry_->channel());
  }

  std::string CreateCity(const std::string& id) {
    v1::CreatePilotCityRequest req;
    req.set_request_id("city-" + id);
    req.set_id(id);
    req.set_name(id);
    req.set_kind(v1::PILOT_CITY_KIND_CITY);
    req.set_division_code("420100");
    v1::PilotCity city;
    grpc::Status s = stub_->CreatePilotCity(AuthedContext(operator_key_).get(), req, &city);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return id;
  }

  v1::RegisterOrganizationRequest Registration(int n, const std::string& city) {
    v1::RegisterOrganizationRequest req;
    req.set_request_id(absl::StrCat("reg-", n));
    req.set_credit_code(CreditCode(n));
    req.set_name(absl::StrCat("华中科技大学 ", n));
    req.set_kind(v1::ORGANIZATION_KIND_UNIVERSITY);
    req.set_city_id(city);
    req.set_contact_email("tto@hust.edu.cn");
    return req;
  }

  grpc::Status Register(const v1::RegisterOrganizationRequest& req, v1::Organization* org,
                        const std::string& key = "") {
    return stub_->RegisterOrganization(AuthedContext(key.empty() ? operator_key_ : key).get(), req,
                                       org);
  }

  std::string IssueKey(v1::ApiClientRole role, const std::string& city,
                       v1::ApiClient* client = nullptr) {
    v1::IssueApiKeyRequest req;
    req.set_request_id("key-" + NewApiKey().substr(3, 8));
    req.set_name("test client");
    req.set_role(role);
    req.set_city_id(city);
    v1::IssueApiKeyResponse resp;
    grpc::Status s = stub_->IssueApiKey(AuthedContext(operator_key_).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (client != nullptr) *client = resp.api_client();
    return resp.api_key();
  }

  // Waits until every aggregate in `ids` has an event, then a while longer for any (wrong)
  // second one, and expects exactly one each.
  static void ExpectOneEventEach(TopicReader& reader, const std::vector<std::string>& ids) {
    reader.ReadUntil(
        [&](auto&) {
          for (const auto& id : ids) {
            if (reader.ForAggregate(id).empty()) return false;
          }
          return true;
        },
        absl::Seconds(30));
    reader.ReadUntil([](auto&) { return false; }, absl::Seconds(2));
    for (const auto& id : ids) EXPECT_EQ(reader.ForAggregate(id).size(), 1u) << id;
  }

  int64_t Count(const std::string& table) { return db_->QueryInt("SELECT count(*) FROM " + table); }
  // Outbox inserts ever executed (published rows are deleted, the sequence stays; an insert in a
  // transaction that rolled back still counts, so this shows that nothing was even attempted).
  int64_t OutboxInserts() {
    return db_->QueryInt(
        "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM outbox_position_seq");
  }

  Stack stack_;
  std::unique_ptr<ScratchDatabase> db_;
  std::string operator_key_;
  std::unique_ptr<ServiceProcess> registry_;
  std::unique_ptr<v1::RegistryService::Stub> stub_;
  std::string city_, other_city_;
};

TEST_F(RegistryTest, RegisterPublishesEventWithCompleteEnvelope) {
  TopicReader reader(stack_.kafka_brokers, kTopic);
  v1::Organization org;
  auto ctx = AuthedContext(operator_key_);
  const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  ctx->AddMetadata("traceparent", traceparent);
  v1::RegisterOrganizationRequest req = Registration(1, city_);
  ASSERT_TRUE(stub_->RegisterOrganization(ctx.get(), req, &org).ok());
  EXPECT_EQ(org.status(), v1::ORGANIZATION_STATUS_PENDING);
  EXPECT_EQ(org.version(), 1);

  reader.ReadUntil([&](auto&) { return !reader.ForAggregate(org.id()).empty(); },
                   absl::Seconds(20));
  std::vector<TopicReader::Event> events = reader.ForAggregate(org.id());
  ASSERT_EQ(events.size(), 1u);
  const auto& e = events[0];
  EXPECT_EQ(e.key, org.id());
  EXPECT_EQ(e.envelope.event_type(), "techtrade.registry.v1.OrganizationRegistered");
  EXPECT_EQ(e.envelope.aggregate_type(), "organization");
  EXPECT_EQ(e.envelope.sequence(), 1);
  EXPECT_EQ(e.envelope.producer(), "registry");
  EXPECT_EQ(e.envelope.event_id().size(), 36u);
  EXPECT_EQ(e.envelope.causation_request_id(), req.request_id());
  EXPECT_EQ(e.envelope.trace().traceparent(), traceparent);
  EXPECT_GT(e.envelope.occurred_at().seconds(), 1700000000);
  EXPECT_EQ(e.headers.at("event_id"), e.envelope.event_id());
  EXPECT_EQ(e.headers.at("sequence"), "1");
  v1::OrganizationRegistered payload;
  ASSERT_TRUE(e.envelope.payload().UnpackTo(&payload));
  EXPECT_EQ(payload.organization().credit_code(), req.credit_code());
  EXPECT_EQ(payload.organization().id(), org.id());
}

TEST_F(RegistryTest, RetryWithSameRequestIdReturnsFirstResultOneRowOneEvent) {
  TopicReader reader(stack_.kafka_brokers, kTopic);
  v1::RegisterOrganizationRequest req = Registration(2, city_);
  v1::Organization first, second;
  ASSERT_TRUE(Register(req, &first).ok());
  ASSERT_TRUE(Register(req, &second).ok());
  EXPECT_EQ(first.id(), second.id());
  EXPECT_EQ(first.SerializeAsString(), second.SerializeAsString());
  // Concurrent retries of another request: still one row.
  v1::RegisterOrganizationRequest concurrent = Registration(3, city_);
  std::vector<std::thread> threads;
  std::vector<std::string> ids(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      v1::Organization o;
      if (Register(concurrent, &o).ok()) ids[i] = o.id();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
  EXPECT_FALSE(ids[0].empty());
  EXPECT_EQ(Count("organizations"), 2);
  ExpectOneEventEach(reader, {first.id(), ids[0]});
}

TEST_F(RegistryTest, RequestIdReusedForDifferentRequestIsRefused) {
  v1::RegisterOrganizationRequest req = Registration(5, city_);
  v1::Organization org;
  ASSERT_TRUE(Register(req, &org).ok());
  req.set_name("something else");
  grpc::Status s = Register(req, &org);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("request_id: "));
}

TEST_F(RegistryTest, StaleExpectedVersionChangesNothing) {
  v1::Organization org;
  ASSERT_TRUE(Register(Registration(6, city_), &org).ok());
  v1::VerifyOrganizationRequest verify;
  verify.set_request_id("verify-6");
  verify.set_id(org.id());
  verify.set_expected_version(1);
  v1::Organization verified;
  ASSERT_TRUE(
      stub_->VerifyOrganization(AuthedContext(operator_key_).get(), verify, &verified).ok());
  EXPECT_EQ(verified.status(), v1::ORGANIZATION_STATUS_VERIFIED);
  EXPECT_EQ(verified.version(), 2);

  int64_t outbox_before = OutboxInserts();
  v1::UpdateOrganizationRequest update;
  update.set_request_id("update-6");
  update.set_id(org.id());
  update.set_expected_version(1);  // stale
  update.set_name("Renamed");
  v1::Organization updated;
  grpc::Status s = stub_->UpdateOrganization(AuthedContext(operator_key_).get(), update, &updated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(s.error_message(), HasSubstr("expected_version 1 is stale"));

  v1::GetOrganizationRequest get;
  get.set_id(org.id());
  v1::Organization now;
  ASSERT_TRUE(stub_->GetOrganization(AuthedContext(operator_key_).get(), get, &now).ok());
  EXPECT_EQ(now.version(), 2);
  EXPECT_EQ(now.name(), org.name());
  EXPECT_EQ(OutboxInserts(), outbox_before);

  // An illegal transition is refused the same way: nothing changes.
  verify.set_request_id("verify-6-again");
  verify.set_expected_version(2);
  s = stub_->VerifyOrganization(AuthedContext(operator_key_).get(), verify, &verified);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(OutboxInserts(), outbox_before);
}

TEST_F(RegistryTest, InvalidInputsNameTheFieldAndWriteNothing) {
  int64_t orgs_before = Count("organizations");
  int64_t outbox_before = OutboxInserts();
  int64_t keys_before = Count("idempotency_keys");
  struct Case {
    std::function<void(v1::RegisterOrganizationRequest&)> mutate;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](auto& r) { r.set_credit_code("91420100000000007X"); }, "credit_code"},
      {[](auto& r) { r.set_credit_code("123"); }, "credit_code"},
      {[](auto& r) { r.set_name(""); }, "name"},
      {[](auto& r) { r.set_name(std::string(10000, 'x')); }, "name"},
      {[](auto& r) { r.set_city_id("atlantis"); }, "city_id"},
      {[](auto& r) { r.set_description(std::string(5000, 'x')); }, "description"},
      {[](auto& r) { r.set_address(std::string(600, 'x')); }, "address"},
      {[](auto& r) { r.set_kind(static_cast<v1::OrganizationKind>(99)); }, "kind"},
      {[](auto& r) { r.clear_request_id(); }, "request_id"},
  };
  int n = 100;
  for (const Case& c : cases) {
    v1::RegisterOrganizationRequest req = Registration(++n, city_);
    c.mutate(req);
    v1::Organization org;
    grpc::Status s = Register(req, &org);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.field << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), StartsWith(c.field + ": "));
  }
  EXPECT_EQ(Count("organizations"), orgs_before);
  EXPECT_EQ(OutboxInserts(), outbox_before);
  EXPECT_EQ(Count("idempotency_keys"), keys_before);
}

TEST_F(RegistryTest, WrongMissingOrRevokedKeyIsUnauthenticated) {
  v1::GetPilotCityRequest get;
  get.set_id(city_);
  v1::PilotCity city;
  EXPECT_EQ(stub_->GetPilotCity(AuthedContext("").get(), get, &city).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stub_->GetPilotCity(AuthedContext("not-a-key").get(), get, &city).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stub_->GetPilotCity(AuthedContext(NewApiKey()).get(), get, &city).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Right key id, wrong secret.
  std::string forged = operator_key_.substr(0, 20) + std::string(64, 'a');
  EXPECT_EQ(stub_->GetPilotCity(AuthedContext(forged).get(), get, &city).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  v1::ApiClient client;
  std::string key = IssueKey(v1::API_CLIENT_ROLE_PARTNER, "", &client);
  ASSERT_TRUE(stub_->GetPilotCity(AuthedContext(key).get(), get, &city).ok());  // now cached
  v1::RevokeApiKeyRequest revoke;
  revoke.set_request_id("revoke-1");
  revoke.set_id(client.id());
  revoke.set_expected_version(client.version());
  v1::ApiClient revoked;
  ASSERT_TRUE(stub_->RevokeApiKey(AuthedContext(operator_key_).get(), revoke, &revoked).ok());
  EXPECT_EQ(revoked.status(), v1::API_CLIENT_STATUS_REVOKED);
  grpc::Status s = stub_->GetPilotCity(AuthedContext(key).get(), get, &city);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  v1::AuthenticateRequest auth;
  auth.set_api_key(key);
  v1::Principal principal;
  // As the other services ask it: only their certificates may.
  auto as_service =
      v1::RegistryService::NewStub(ServiceIdentityChannel(registry_->address(), "listings"));
  EXPECT_EQ(as_service->Authenticate(AuthedContext("").get(), auth, &principal).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  auth.set_api_key(operator_key_);
  ASSERT_TRUE(as_service->Authenticate(AuthedContext("").get(), auth, &principal).ok());
  EXPECT_EQ(principal.role(), v1::API_CLIENT_ROLE_OPERATOR);
}

TEST_F(RegistryTest, IssuedSecretIsShownOnceAndStoredOnlyAsHash) {
  v1::IssueApiKeyRequest req;
  req.set_request_id("issue-once");
  req.set_name("Wuhan portal");
  req.set_role(v1::API_CLIENT_ROLE_CITY_SYSTEM);
  req.set_city_id(city_);
  v1::IssueApiKeyResponse first, retry;
  ASSERT_TRUE(stub_->IssueApiKey(AuthedContext(operator_key_).get(), req, &first).ok());
  ASSERT_TRUE(stub_->IssueApiKey(AuthedContext(operator_key_).get(), req, &retry).ok());
  EXPECT_FALSE(first.api_key().empty());
  EXPECT_TRUE(retry.api_key().empty());
  EXPECT_EQ(first.api_client().id(), retry.api_client().id());
  std::string secret = first.api_key().substr(20);
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM api_clients WHERE secret_hash = '" + secret + "'"),
            0);
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM idempotency_keys WHERE position('" + secret +
                          "' in encode(response, 'escape')) > 0"),
            0);
}

TEST_F(RegistryTest, CitySystemActsOnlyForItsOwnCity) {
  std::string wuhan_key = IssueKey(v1::API_CLIENT_ROLE_CITY_SYSTEM, city_);
  std::string partner_key = IssueKey(v1::API_CLIENT_ROLE_PARTNER, "");
  v1::Organization own, other;
  ASSERT_TRUE(Register(Registration(20, city_), &own, wuhan_key).ok());
  grpc::Status s = Register(Registration(21, other_city_), &other, wuhan_key);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Register(Registration(22, city_), &other, partner_key).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Changing an organisation of another city is refused as well.
  v1::Organization shenzhen_org;
  ASSERT_TRUE(Register(Registration(23, other_city_), &shenzhen_org).ok());
  v1::VerifyOrganizationRequest verify;
  verify.set_request_id("verify-other");
  verify.set_id(shenzhen_org.id());
  verify.set_expected_version(1);
  v1::Organization result;
  EXPECT_EQ(stub_->VerifyOrganization(AuthedContext(wuhan_key).get(), verify, &result).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  verify.set_id(own.id());
  EXPECT_TRUE(stub_->VerifyOrganization(AuthedContext(wuhan_key).get(), verify, &result).ok());
  // Only operators create cities or issue keys.
  v1::CreatePilotCityRequest city;
  city.set_request_id("c");
  city.set_id("hefei");
  city.set_name("Hefei");
  city.set_kind(v1::PILOT_CITY_KIND_CITY);
  city.set_division_code("340100");
  v1::PilotCity created;
  EXPECT_EQ(stub_->CreatePilotCity(AuthedContext(wuhan_key).get(), city, &created).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM organizations WHERE city_id = 'shenzhen'"), 1);
}

TEST_F(RegistryTest, ReadsStayCorrectWhileRedisIsDown) {
  v1::Organization org;
  ASSERT_TRUE(Register(Registration(30, city_), &org).ok());
  v1::GetOrganizationRequest get;
  get.set_id(org.id());
  v1::Organization read;
  ASSERT_TRUE(stub_->GetOrganization(AuthedContext(operator_key_).get(), get, &read).ok());
  ASSERT_TRUE(
      stub_->GetOrganization(AuthedContext(operator_key_).get(), get, &read).ok());  // cached

  ComponentOutage redis_outage(stack_, "redis");
  v1::UpdateOrganizationRequest update;
  update.set_request_id("update-30");
  update.set_id(org.id());
  update.set_expected_version(1);
  update.set_name("Renamed while Redis is down");
  v1::Organization updated;
  grpc::Status s = stub_->UpdateOrganization(AuthedContext(operator_key_).get(), update, &updated);
  EXPECT_TRUE(s.ok()) << s.error_message();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(stub_->GetOrganization(AuthedContext(operator_key_).get(), get, &read).ok());
    EXPECT_EQ(read.name(), "Renamed while Redis is down");
    EXPECT_EQ(read.version(), 2);
  }
  redis_outage.End();
  absl::SleepFor(absl::Milliseconds(1200));  // past the cache's cool-down
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(stub_->GetOrganization(AuthedContext(operator_key_).get(), get, &read).ok());
    EXPECT_EQ(read.name(), "Renamed while Redis is down");
  }
}

TEST_F(RegistryTest, EventsCommittedWhileKafkaIsDownArriveInOrderOnceItReturns) {
  TopicReader reader(stack_.kafka_brokers, kTopic);
  ComponentOutage kafka_outage(stack_, "kafka");
  constexpr int kOrgs = 20;
  std::vector<v1::Organization> orgs(kOrgs);
  for (int i = 0; i < kOrgs; ++i) {
    grpc::Status s = Register(Registration(200 + i, city_), &orgs[i]);
    ASSERT_TRUE(s.ok()) << s.error_message();
    // A second event per organisation, to check per-aggregate order.
    v1::VerifyOrganizationRequest verify;
    verify.set_request_id(absl::StrCat("verify-", i));
    verify.set_id(orgs[i].id());
    verify.set_expected_version(1);
    v1::Organization verified;
    ASSERT_TRUE(
        stub_->VerifyOrganization(AuthedContext(operator_key_).get(), verify, &verified).ok());
  }
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM outbox WHERE aggregatetype = 'organization'"),
            2 * kOrgs);
  kafka_outage.End();
  auto all_arrived = [&](const std::vector<TopicReader::Event>&) {
    for (const auto& o : orgs) {
      if (reader.ForAggregate(o.id()).size() < 2) return false;
    }
    return true;
  };
  reader.ReadUntil(all_arrived, absl::Seconds(60));
  // Give any duplicate the chance to show up before counting.
  reader.ReadUntil([](auto&) { return false; }, absl::Seconds(2));
  std::set<std::string> event_ids;
  for (const auto& o : orgs) {
    std::vector<TopicReader::Event> events = reader.ForAggregate(o.id());
    ASSERT_EQ(events.size(), 2u) << "organisation " << o.id();
    EXPECT_EQ(events[0].envelope.sequence(), 1);
    EXPECT_EQ(events[0].envelope.event_type(), "techtrade.registry.v1.OrganizationRegistered");
    EXPECT_EQ(events[1].envelope.sequence(), 2);
    EXPECT_EQ(events[1].envelope.event_type(), "techtrade.registry.v1.OrganizationVerified");
    EXPECT_EQ(events[0].partition, events[1].partition);
    EXPECT_LT(events[0].offset, events[1].offset);
    for (const auto& e : events) EXPECT_TRUE(event_ids.insert(e.envelope.event_id()).second);
  }
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM outbox"), 0);
}

TEST_F(RegistryTest, TwoReplicasPublishEachEventOnce) {
  TopicReader reader(stack_.kafka_brokers, kTopic);
  auto second = std::make_unique<ServiceProcess>(
      "registry",
      std::map<std::string, std::string>{{"TECHTRADE_PG_URL", db_->url()},
                                         {"TECHTRADE_KAFKA_BROKERS", stack_.kafka_brokers},
                                         {"TECHTRADE_REDIS_URL", stack_.redis_url}});
  ASSERT_TRUE(second->WaitUntilServing());
  auto second_stub = v1::RegistryService::NewStub(second->channel());
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    v1::Organization org;
    auto ctx = AuthedContext(operator_key_);
    grpc::Status s = (i % 2 == 0 ? stub_.get() : second_stub.get())
                         ->RegisterOrganization(ctx.get(), Registration(300 + i, city_), &org);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ids.push_back(org.id());
  }
  ExpectOneEventEach(reader, ids);
}

// Each replica keeps near copies of organisations it read (250 ms here, as by default). Its own
// changes drop them at once; another replica's change reaches its plain reads within the near
// copy's lifetime, and its fresh reads (what other services fill Redis with) at once.
TEST_F(RegistryTest, ReplicasSeeEachOthersChangesWithinTheNearCopyLifetime) {
  auto second = std::make_unique<ServiceProcess>(
      "registry",
      std::map<std::string, std::string>{{"TECHTRADE_PG_URL", db_->url()},
                                         {"TECHTRADE_KAFKA_BROKERS", stack_.kafka_brokers},
                                         {"TECHTRADE_REDIS_URL", stack_.redis_url},
                                         {"TECHTRADE_CACHE_NEAR_COPY_MS", "250"}});
  ASSERT_TRUE(second->WaitUntilServing());
  auto second_stub = v1::RegistryService::NewStub(second->channel());
  v1::Organization org;
  ASSERT_TRUE(Register(Registration(800, city_), &org).ok());
  v1::GetOrganizationRequest get;
  get.set_id(org.id());
  auto read = [&](v1::RegistryService::Stub& stub, bool fresh) {
    auto ctx = AuthedContext(operator_key_);
    if (fresh) ctx->AddMetadata(kFreshReadMetadata, "1");
    v1::Organization o;
    grpc::Status s = stub.GetOrganization(ctx.get(), get, &o);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return o.version();
  };
  EXPECT_EQ(read(*second_stub, false), 1);  // now near in the second replica
  EXPECT_EQ(read(*second_stub, false), 1);

  v1::VerifyOrganizationRequest verify;
  verify.set_request_id("verify-800");
  verify.set_id(org.id());
  verify.set_expected_version(1);
  ASSERT_TRUE(stub_->VerifyOrganization(AuthedContext(operator_key_).get(), verify, &org).ok());
  EXPECT_EQ(read(*stub_, false), 2);        // the replica that changed it
  EXPECT_EQ(read(*second_stub, true), 2);   // a fresh read: from Redis or the database
  absl::SleepFor(absl::Milliseconds(300));  // past the near copy's lifetime
  EXPECT_EQ(read(*second_stub, false), 2);

  v1::SuspendOrganizationRequest suspend;
  suspend.set_request_id("suspend-800");
  suspend.set_id(org.id());
  suspend.set_expected_version(2);
  suspend.set_reason("audit");
  ASSERT_TRUE(
      second_stub->SuspendOrganization(AuthedContext(operator_key_).get(), suspend, &org).ok());
  EXPECT_EQ(read(*second_stub, false), 3);  // its own change: the near copy is gone at once
}

TEST_F(RegistryTest, RetentionSweepDropsOnlyExpiredIdempotencyAndInboxRecords) {
  v1::Organization org;
  ASSERT_TRUE(Register(Registration(700, city_), &org).ok());
  {
    pqxx::connection conn(db_->url());
    pqxx::work tx(conn);
    tx.exec(
        "INSERT INTO idempotency_keys (client_id, request_id, method, request_hash, created_at) "
        "SELECT 'old', 'r' || g, 'M', 'h', now() - interval '8 days' FROM generate_series(1, 7000) "
        "g");
    tx.exec(
        "INSERT INTO inbox (consumer, event_id, processed_at) "
        "SELECT 'c', 'e' || g, now() - interval '15 days' FROM generate_series(1, 100) g");
    tx.exec("INSERT INTO inbox (consumer, event_id) VALUES ('c', 'recent')");
    tx.commit();
  }
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline &&
         Count("idempotency_keys WHERE client_id = 'old'") + Count("inbox WHERE consumer = 'c'") >
             1) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(Count("idempotency_keys WHERE client_id = 'old'"), 0);
  EXPECT_EQ(Count("inbox WHERE consumer = 'c'"), 1);  // the recent one stays
  // The real request's record is recent and stays: a retry still replays.
  v1::Organization again;
  ASSERT_TRUE(Register(Registration(700, city_), &again).ok());
  EXPECT_EQ(again.id(), org.id());
}

TEST_F(RegistryTest, ListsPageThroughEveryOrganisationOnce) {
  for (int i = 0; i < 7; ++i) {
    v1::Organization org;
    ASSERT_TRUE(Register(Registration(400 + i, i < 5 ? city_ : other_city_), &org).ok());
  }
  v1::ListOrganizationsRequest list;
  list.set_page_size(2);
  list.set_city_id(city_);
  std::set<std::string> seen;
  int pages = 0;
  do {
    v1::ListOrganizationsResponse resp;
    ASSERT_TRUE(stub_->ListOrganizations(AuthedContext(operator_key_).get(), list, &resp).ok());
    for (const auto& o : resp.organizations()) {
      EXPECT_EQ(o.city_id(), city_);
      EXPECT_TRUE(seen.insert(o.id()).second);
    }
    list.set_page_token(resp.next_page_token());
    ++pages;
  } while (!list.page_token().empty() && pages < 10);
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(pages, 3);
  list.set_page_token("forged");
  v1::ListOrganizationsResponse resp;
  grpc::Status s = stub_->ListOrganizations(AuthedContext(operator_key_).get(), list, &resp);
  EXPECT_THAT(s.error_message(), StartsWith("page_token: "));
}

TEST_F(RegistryTest, GracefulShutdownOnSigterm) {
  EXPECT_EQ(registry_->Terminate(absl::Seconds(15)), 0);
  // Restart on the same database: migrations are idempotent and data is kept.
  StartRegistry();
  v1::GetPilotCityRequest get;
  get.set_id(city_);
  v1::PilotCity city;
  EXPECT_TRUE(stub_->GetPilotCity(AuthedContext(operator_key_).get(), get, &city).ok());
}

// grpcurl, an independent client, sees the API through reflection and calls it, over mutual TLS
// with the stack's certificates as the README shows.
TEST_F(RegistryTest, GrpcurlListsAndCallsThroughReflection) {
  const TlsFiles& tls = ProcessTls();
  ASSERT_TRUE(tls.enabled()) << "the test stack runs with TLS";
  std::string grpcurl = absl::StrCat(SourceDir(), "/.run/bin/grpcurl -cacert ", tls.ca, " -cert ",
                                     tls.cert, " -key ", tls.key);
  auto run = [&](const std::string& args) {
    std::string cmd = grpcurl + " " + args + " 2>&1";
    std::string out;
    if (FILE* p = popen(cmd.c_str(), "r")) {
      char buf[4096];
      while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
      pclose(p);
    }
    return out;
  };
  std::string addr = registry_->address();
  EXPECT_THAT(run(addr + " list"), HasSubstr("techtrade.registry.v1.RegistryService"));
  EXPECT_THAT(run(addr + " describe techtrade.registry.v1.RegistryService"),
              HasSubstr("rpc RegisterOrganization"));
  EXPECT_THAT(run(addr + " grpc.health.v1.Health/Check"), HasSubstr("SERVING"));
  std::string body =
      absl::StrCat("-H 'authorization: Bearer ", operator_key_, "' -d '{\"id\":\"", city_, "\"}' ",
                   addr, " techtrade.registry.v1.RegistryService/GetPilotCity");
  EXPECT_THAT(run(body), HasSubstr("420100"));
}

}  // namespace
}  // namespace techtrade::testing

namespace techtrade::testing {
namespace {

// Concurrent registrations racing for the same credit code: exactly one wins per code, the others
// get ALREADY_EXISTS naming the field, and every other registration commits with one event.
TEST_F(RegistryTest, ConcurrentRegistrationsWithDuplicatesGetTheirOwnOutcome) {
  TopicReader reader(stack_.kafka_brokers, kTopic);
  constexpr int kCalls = 24;
  std::vector<grpc::Status> statuses(kCalls);
  std::vector<v1::Organization> orgs(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      // Calls 0-3 and 4-7 fight over two credit codes with different request ids.
      int code = i < 4 ? 600 : (i < 8 ? 601 : 600 + i);
      v1::RegisterOrganizationRequest req = Registration(code, city_);
      req.set_request_id(absl::StrCat("dup-", i));
      statuses[i] = Register(req, &orgs[i]);
    });
  }
  for (auto& t : threads) t.join();
  int ok_600 = 0, ok_601 = 0;
  std::vector<std::string> ids;
  for (int i = 0; i < kCalls; ++i) {
    if (i < 8) {
      if (statuses[i].ok()) {
        (i < 4 ? ok_600 : ok_601)++;
        ids.push_back(orgs[i].id());
      } else {
        EXPECT_EQ(statuses[i].error_code(), grpc::StatusCode::ALREADY_EXISTS)
            << statuses[i].error_message();
        EXPECT_THAT(statuses[i].error_message(), StartsWith("credit_code: "));
      }
    } else {
      ASSERT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].error_message();
      ids.push_back(orgs[i].id());
    }
  }
  EXPECT_EQ(ok_600, 1);
  EXPECT_EQ(ok_601, 1);
  EXPECT_EQ(Count("organizations"), kCalls - 8 + 2);
  ExpectOneEventEach(reader, ids);
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM idempotency_keys WHERE request_id LIKE 'dup-%'"),
            kCalls - 8 + 2);
}

}  // namespace
}  // namespace techtrade::testing
