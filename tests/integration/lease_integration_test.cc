// Leadership by a lease row (common/lease.h) against the real database: of two holders exactly
// one leads; a holder that went without releasing is taken over only once its lease expired; and
// an outbox relay whose renewals fail stops publishing before its lease expires (the fence), and
// publishes again once it can renew.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/lease.h"
#include "common/metrics.h"
#include "common/migrations.h"
#include "common/outbox.h"
#include "techtrade/common/v1/common.pb.h"
#include "tests/support/harness.h"
#include "tests/support/polling.h"

namespace techtrade::testing {
namespace {

class LeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    db_ = std::make_unique<ScratchDatabase>(stack_, "lease");
    pool_ = *PgPool::Create(db_->url(), 2);
    ASSERT_TRUE(ApplyMigrations(*pool_, "common", CommonMigrations()).ok());
    service_ = absl::StrCat("lease-test-", RandomHex(4));
  }

  LeaseOptions Holder(const std::string& holder) {
    return {.service = service_, .job = "test", .ttl = absl::Seconds(3), .holder = holder};
  }

  // Whether the server sees the lease row `name` unexpired right now.
  bool ServerSaysHeld(const std::string& name) {
    return db_->QueryInt(absl::StrCat("SELECT count(*) FROM leases WHERE name = '", name,
                                      "' AND expires_at > clock_timestamp()")) == 1;
  }

  Stack stack_;
  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<PgPool> pool_;
  std::string service_;
};

TEST_F(LeaseTest, OfTwoHoldersExactlyOneLeads) {
  pqxx::connection conn_a(db_->url()), conn_b(db_->url());
  LeaderLease a(Holder("a")), b(Holder("b"));
  ASSERT_TRUE(a.KeepAlive(conn_a));
  // Through several renewals (every second), asked in turn as two replicas would.
  const absl::Time end = absl::Now() + absl::Seconds(4);
  while (absl::Now() < end) {
    EXPECT_TRUE(a.KeepAlive(conn_a));
    EXPECT_FALSE(b.KeepAlive(conn_b));
    absl::SleepFor(absl::Milliseconds(100));
  }
  // A clean stop hands over at once.
  a.Release(conn_a);
  EXPECT_FALSE(a.Held());
  EXPECT_TRUE(Eventually([&] { return b.KeepAlive(conn_b); }, absl::Seconds(2)));
  EXPECT_FALSE(a.KeepAlive(conn_a));
}

TEST_F(LeaseTest, AHolderThatWentWithoutReleasingIsTakenOverOnlyAfterItsTtl) {
  auto conn_a = std::make_unique<pqxx::connection>(db_->url());
  pqxx::connection conn_b(db_->url());
  {
    LeaderLease a(Holder("a"));
    ASSERT_TRUE(a.KeepAlive(*conn_a));
  }  // killed: neither released nor renewed, its session gone
  conn_a.reset();
  const std::string name = absl::StrCat("test:", service_);
  ASSERT_TRUE(ServerSaysHeld(name));
  LeaderLease b(Holder("b"));
  // Asked all along, it is refused while the server keeps a's lease...
  while (ServerSaysHeld(name)) {
    ASSERT_FALSE(b.KeepAlive(conn_b)) << "granted before the lease expired";
    absl::SleepFor(absl::Milliseconds(50));
  }
  // ...and granted once it expired.
  EXPECT_TRUE(Eventually([&] { return b.KeepAlive(conn_b); }, absl::Seconds(3)));
  EXPECT_EQ(db_->QueryInt(absl::StrCat("SELECT count(*) FROM leases WHERE name = '", name,
                                       "' AND holder = 'b'")),
            1);
}

// A relay that cannot renew its lease (the row locked by another session, so every renewal runs
// into its timeout) must stop publishing before the server would let another replica lead, and
// publish nothing until it renews.
TEST_F(LeaseTest, ARelayWhoseRenewalsFailStopsPublishingBeforeItsLeaseExpires) {
  const std::string topic = absl::StrCat("test.lease-fence.", RandomHex(4));
  {
    auto admin = KafkaProducer::Create(stack_.kafka_brokers, {}, [](void*, const absl::Status&) {});
    ASSERT_TRUE(admin.ok()) << admin.status();
    ASSERT_TRUE((*admin)->CreateTopic(topic, absl::Seconds(20)).ok());
  }
  // A new topic answers once its partitions have leaders.
  ASSERT_TRUE(Eventually(
      [&] {
        auto ends = KafkaConsumer::EndOffsets(stack_.kafka_brokers, topic, absl::Seconds(5));
        return ends.ok() && !ends->empty();
      },
      absl::Seconds(30)));
  TopicReader reader(stack_.kafka_brokers, topic);
  Metrics metrics("replica-a");
  OutboxRelay relay({.service = service_,
                     .pg_url = db_->url(),
                     .brokers = stack_.kafka_brokers,
                     .topic = topic,
                     .lease_ttl = absl::Seconds(3)},
                    metrics);
  relay.Start();
  ASSERT_TRUE(Eventually([&] { return relay.leader(); }, absl::Seconds(10)));
  int64_t sequence = 0;
  auto append = [&](int count) {
    ASSERT_TRUE(InTransaction(*pool_, [&](Tx& tx) -> absl::Status {
                  for (int i = 0; i < count; ++i) {
                    techtrade::common::v1::Money payload;
                    payload.set_currency("CNY");
                    AppendToOutbox(tx, service_,
                                   {.aggregate_type = "test",
                                    .aggregate_id = "deal-1",
                                    .sequence = ++sequence,
                                    .payload = &payload});
                  }
                  return absl::OkStatus();
                }).ok());
  };
  auto outbox_rows = [&] { return db_->QueryInt("SELECT count(*) FROM outbox"); };
  append(3);
  ASSERT_TRUE(Eventually([&] { return outbox_rows() == 0; }, absl::Seconds(20)));

  // Another session locks the lease row: renewals wait on it until their timeout.
  const std::string name = absl::StrCat("outbox_relay:", service_);
  pqxx::connection blocker_conn(db_->url());
  auto blocker = std::make_unique<pqxx::work>(blocker_conn);
  blocker->exec("SELECT 1 FROM leases WHERE name = " + blocker->quote(name) + " FOR UPDATE");

  ASSERT_TRUE(Eventually([&] { return !relay.leader(); }, absl::Seconds(5)));
  // It stepped down while the server still counts the lease as its own.
  EXPECT_TRUE(ServerSaysHeld(name)) << "the relay led past its lease";
  EXPECT_EQ(GaugeValue(metrics, "techtrade_outbox_relay_leader"), 0);
  // A replica that does not publish reports no backlog of its own.
  EXPECT_EQ(GaugeValue(metrics, "techtrade_outbox_pending_events"), 0);
  EXPECT_EQ(GaugeValue(metrics, "techtrade_outbox_lag_seconds"), 0);

  // Nothing is published while it cannot renew, also past the lease's expiry.
  append(3);
  absl::SleepFor(absl::Seconds(3));
  EXPECT_EQ(outbox_rows(), 3);
  EXPECT_FALSE(relay.leader());

  // Once the row is free the relay leads again and publishes the rest, in order.
  blocker->abort();
  blocker.reset();
  EXPECT_TRUE(Eventually([&] { return outbox_rows() == 0; }, absl::Seconds(20)));
  EXPECT_TRUE(relay.leader());
  EXPECT_EQ(GaugeValue(metrics, "techtrade_outbox_relay_leader"), 1);
  reader.ReadUntil(
      [&](const std::vector<TopicReader::Event>& events) {
        return !events.empty() && events.back().envelope.sequence() >= 6;
      },
      absl::Seconds(20));
  int64_t next = 1;
  for (const TopicReader::Event& e : reader.ForAggregate("deal-1")) {
    if (e.envelope.sequence() == next) ++next;
    EXPECT_LE(e.envelope.sequence(), next) << "an event ran ahead of an earlier one";
  }
  EXPECT_EQ(next, 7);
  relay.Stop();
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM leases"), 0) << "a clean stop releases";
}

}  // namespace
}  // namespace techtrade::testing
