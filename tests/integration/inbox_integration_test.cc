// The one way to consume (common/inbox.h) against the real broker and database: events are
// applied exactly once even when a second consumer group replays the topic, an event whose
// handler keeps failing is parked in inbox_dead_letter while the others go through, and a
// renewed certificate reaches the brokers without a restart.
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/auth.h"
#include "common/db.h"
#include "common/ids.h"
#include "common/inbox.h"
#include "common/migrations.h"
#include "common/outbox.h"
#include "common/tls_files.h"
#include "services/registry/domain/credit_code.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"
#include "tests/support/harness.h"
#include "tests/support/test_pki.h"

namespace techtrade::testing {
namespace {

namespace v1 = techtrade::registry::v1;

class InboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    // Real events: a registry on its own database registers a few organisations.
    registry_db_ = std::make_unique<ScratchDatabase>(stack_, "inbox_src");
    key_ = NewApiKey();
    const std::string& key = key_;
    registry_ = std::make_unique<ServiceProcess>(
        "registry",
        std::map<std::string, std::string>{{"TECHTRADE_PG_URL", registry_db_->url()},
                                           {"TECHTRADE_KAFKA_BROKERS", stack_.kafka_brokers},
                                           {"TECHTRADE_REDIS_URL", stack_.redis_url},
                                           {"TECHTRADE_BOOTSTRAP_OPERATOR_KEY", key}});
    ASSERT_TRUE(registry_->WaitUntilServing());
    auto stub = v1::RegistryService::NewStub(registry_->channel());
    v1::CreatePilotCityRequest city;
    city.set_request_id("c");
    city.set_id("inbox-city");
    city.set_name("Inbox City");
    city.set_kind(v1::PILOT_CITY_KIND_CITY);
    city.set_division_code("420100");
    v1::PilotCity created;
    ASSERT_TRUE(stub->CreatePilotCity(AuthedContext(key).get(), city, &created).ok());
    const std::string run = RandomHex(3);
    run_ = std::stoi(run.substr(0, 4), nullptr, 16) % 10000;
    for (int i = 0; i < 5; ++i) {
      absl::StatusOr<std::string> id = Register(i);
      ASSERT_TRUE(id.ok()) << id.status();
      ids_.insert(*id);
    }
    // The consuming side: its own database with the shared tables and an effects table.
    db_ = std::make_unique<ScratchDatabase>(stack_, "inbox_dst");
    pool_ = *PgPool::Create(db_->url(), 4);
    ASSERT_TRUE(ApplyMigrations(*pool_, "common", CommonMigrations()).ok());
    ASSERT_TRUE(
        InTransaction(*pool_, [](Tx& tx) -> absl::Status {
          // No unique constraint: an effect applied twice would show as two rows.
          tx.exec("CREATE TABLE effects (aggregate_id text NOT NULL, sequence bigint NOT NULL)");
          return absl::OkStatus();
        }).ok());
  }

  void TearDown() override {
    SetProcessTls(TlsFilesFromEnvironment());
    registry_.reset();
    pool_.reset();
    db_.reset();
    registry_db_.reset();
  }

  // Registers this run's organisation number `i`; its id.
  absl::StatusOr<std::string> Register(int i) {
    auto stub = v1::RegistryService::NewStub(registry_->channel());
    std::string first17 = absl::StrFormat("9142010%04d%06d", run_, i);
    v1::RegisterOrganizationRequest req;
    req.set_request_id(absl::StrCat("r", i));
    req.set_credit_code(first17 + registry::CreditCodeCheckCharacter(first17));
    req.set_name(absl::StrCat("Org ", i));
    req.set_kind(v1::ORGANIZATION_KIND_ENTERPRISE);
    req.set_city_id("inbox-city");
    v1::Organization org;
    grpc::Status s = stub->RegisterOrganization(AuthedContext(key_).get(), req, &org);
    if (!s.ok()) return absl::InternalError(s.error_message());
    return org.id();
  }

  // Applies our organisations' events; `poison` (if set) always fails.
  EventHandler Handler(const std::string& poison = "") {
    return [this, poison](Tx& tx, const techtrade::common::v1::EventEnvelope& e) -> absl::Status {
      if (!ids_.contains(e.aggregate_id())) return absl::OkStatus();
      if (e.aggregate_id() == poison) return absl::InternalError("poisoned for the test");
      tx.exec_params("INSERT INTO effects VALUES ($1, $2)", e.aggregate_id(), e.sequence());
      return absl::OkStatus();
    };
  }

  EventConsumerOptions Options(const std::string& group_suffix) {
    return {.consumer = "inbox-test",
            .brokers = stack_.kafka_brokers,
            .topics = {"techtrade.registry.events.v1"},
            .max_attempts = 2,
            .overrides = {{"group.id", "inbox-test-" + group_suffix + "-" + RandomHex(4)}}};
  }

  bool WaitFor(const std::string& sql, int64_t expected) {
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      if (db_->QueryInt(sql) >= expected) return true;
      absl::SleepFor(absl::Milliseconds(200));
    }
    return false;
  }

  Stack stack_;
  std::unique_ptr<ScratchDatabase> registry_db_, db_;
  std::unique_ptr<ServiceProcess> registry_;
  std::unique_ptr<PgPool> pool_;
  std::string key_;
  int run_ = 0;
  // An id the handler of a test learns while its consumer runs.
  std::mutex later_mutex_;
  std::string later_id_;
  std::set<std::string> ids_;  // read by consumers' threads: set before they start
};

TEST_F(InboxTest, ReplayByASecondGroupChangesNothing) {
  {
    EventConsumer first(Options("a"), *pool_, Handler());
    first.Start();
    ASSERT_TRUE(WaitFor("SELECT count(*) FROM effects", 5));
  }
  // Another group reads the topic from the beginning: every event again, same inbox. Beside it,
  // a control group with an inbox of its own applies every event once more: when the control's
  // effects are in, the replay (started first, reading the same partitions) has had the same
  // events, and any effect it applied twice would show.
  EventConsumer replay(Options("b"), *pool_, Handler());
  replay.Start();
  EventConsumerOptions control_options = Options("control");
  control_options.consumer = "inbox-control";
  EventConsumer control(control_options, *pool_, Handler());
  control.Start();
  ASSERT_TRUE(WaitFor("SELECT count(*) FROM effects", 10));
  absl::SleepFor(absl::Seconds(2));
  replay.Stop();
  control.Stop();
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM effects"), 10);
  EXPECT_EQ(db_->QueryInt("SELECT count(DISTINCT aggregate_id) FROM effects"), 5);
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM inbox_dead_letter"), 0);
}

TEST_F(InboxTest, AnEventThatKeepsFailingIsParkedAndTheRestGoThrough) {
  const std::string poison = *ids_.begin();
  EventConsumer consumer(Options("c"), *pool_, Handler(poison));
  consumer.Start();
  ASSERT_TRUE(WaitFor("SELECT count(*) FROM effects", 4));
  ASSERT_TRUE(WaitFor(
      absl::StrCat("SELECT count(*) FROM inbox_dead_letter WHERE event_id IS NOT NULL"), 1));
  consumer.Stop();
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM effects"), 4);
  EXPECT_EQ(db_->QueryInt(
                absl::StrCat("SELECT count(*) FROM effects WHERE aggregate_id = '", poison, "'")),
            0);
}

// librdkafka reads its certificate once, when a consumer is made. A renewed certificate (a
// Secret's files swapped as the kubelet does) must reach the brokers without a restart: the
// consumer is replaced when its files change.
TEST_F(InboxTest, ReplacesItsConsumerWhenItsTlsFilesChange) {
  ASSERT_TRUE(ProcessTls().enabled()) << "the test stack runs with TLS: source its env file";
  TlsFiles fast = ProcessTls();
  fast.refresh = absl::Milliseconds(500);
  SetProcessTls(fast);
  const std::string dir = absl::StrCat(::testing::TempDir(), "/inbox-tls-", RandomHex(6));
  SecretDir secret(dir + "/secret");
  const CertificateAuthority stack_ca = CertificateAuthority::OfStack();
  const std::string ca_file = ProcessTls().ca;
  // dev: the identity the stack's ACLs let read the topics and join any group.
  secret.Publish(stack_ca.Issue("dev", dir, "first"), ca_file);
  EventConsumerOptions options = Options("tls");
  options.overrides["ssl.ca.location"] = secret.ca();
  options.overrides["ssl.certificate.location"] = secret.cert();
  options.overrides["ssl.key.location"] = secret.key();
  EventConsumer consumer(
      options, *pool_, [&](Tx& tx, const techtrade::common::v1::EventEnvelope& e) -> absl::Status {
        std::lock_guard lock(later_mutex_);
        if (!ids_.contains(e.aggregate_id()) && e.aggregate_id() != later_id_) {
          return absl::OkStatus();
        }
        tx.exec_params("INSERT INTO effects VALUES ($1, $2)", e.aggregate_id(), e.sequence());
        return absl::OkStatus();
      });
  consumer.Start();
  ASSERT_TRUE(WaitFor("SELECT count(*) FROM effects", 5));

  // A certificate the brokers refuse (a CA they do not trust): taken up within a look at the
  // files and a poll, after which nothing more is consumed.
  const CertificateAuthority stranger = CertificateAuthority::SelfSigned("stranger", dir);
  secret.Publish(stranger.Issue("dev", dir, "refused"), ca_file);
  absl::SleepFor(absl::Seconds(3));
  absl::StatusOr<std::string> later = Register(5);
  ASSERT_TRUE(later.ok()) << later.status();
  {
    std::lock_guard lock(later_mutex_);
    later_id_ = *later;
  }
  absl::SleepFor(absl::Seconds(4));
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM effects"), 5)
      << "consumed with a certificate the brokers do not trust: the consumer kept the one it was "
         "made with";

  // Renewed again, valid: the next consumer reads on from the group's position.
  secret.Publish(stack_ca.Issue("dev", dir, "renewed"), ca_file);
  EXPECT_TRUE(WaitFor("SELECT count(*) FROM effects", 6));
  consumer.Stop();
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM effects"), 6);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace
}  // namespace techtrade::testing
