// techtrade_inbox_consumer_lag against the real broker: an inbox consumer that stops applying
// events (its handler fails while the database is "away") shows the events piling up behind it,
// and its lag falls back to 0 once it has applied them.
#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "common/ids.h"
#include "common/inbox.h"
#include "common/kafka.h"
#include "common/migrations.h"
#include "tests/support/harness.h"
#include "tests/support/polling.h"

namespace techtrade::testing {
namespace {

class ConsumerLagTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    db_ = std::make_unique<ScratchDatabase>(stack_, "consumer_lag");
    pool_ = *PgPool::Create(db_->url(), 4);
    ASSERT_TRUE(ApplyMigrations(*pool_, "common", CommonMigrations()).ok());
    topic_ = absl::StrCat("test.consumer-lag.", RandomHex(4));
    absl::StatusOr<std::unique_ptr<KafkaProducer>> producer =
        KafkaProducer::Create(stack_.kafka_brokers, {}, [this](void*, const absl::Status& result) {
          if (result.ok()) ++delivered_;
        });
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
    absl::Status created = producer_->CreateTopic(topic_, absl::Seconds(10));
    ASSERT_TRUE(created.ok()) << created;
    // A new topic answers once its partitions have leaders.
    ASSERT_TRUE(Eventually(
        [&] {
          absl::StatusOr<std::map<int32_t, int64_t>> ends =
              KafkaConsumer::EndOffsets(stack_.kafka_brokers, topic_, absl::Seconds(5));
          return ends.ok() && !ends->empty();
        },
        absl::Seconds(30)));
  }

  // Publishes `count` events, each of an aggregate of its own (so every partition has some),
  // and waits for the broker's acknowledgements.
  void Publish(int count) {
    const int target = delivered_ + count;
    for (int i = 0; i < count; ++i) {
      techtrade::common::v1::EventEnvelope event;
      event.set_event_id(RandomHex(16));
      event.set_event_type("techtrade.test.v1.Happened");
      event.set_aggregate_id(RandomHex(8));
      event.set_sequence(1);
      ASSERT_TRUE(
          producer_->Produce(topic_, event.aggregate_id(), event.SerializeAsString(), {}, nullptr)
              .ok());
    }
    ASSERT_TRUE(Eventually(
        [&] {
          producer_->Poll(absl::Milliseconds(50));
          return delivered_ >= target;
        },
        absl::Seconds(30)));
  }

  // Series of techtrade_inbox_consumer_lag, by partition.
  std::map<std::string, double> Lag() {
    std::map<std::string, double> lag;
    for (const prometheus::MetricFamily& family : metrics_.registry().Collect()) {
      if (family.name != "techtrade_inbox_consumer_lag") continue;
      for (const prometheus::ClientMetric& m : family.metric) {
        std::map<std::string, std::string> labels;
        for (const prometheus::ClientMetric::Label& l : m.label) labels[l.name] = l.value;
        EXPECT_EQ(labels["consumer_group"], group_);
        EXPECT_EQ(labels["topic"], topic_);
        lag[labels["partition"]] = m.gauge.value;
      }
    }
    return lag;
  }

  double TotalLag() {
    double total = 0;
    for (const auto& [partition, events] : Lag()) total += events;
    return total;
  }

  Stack stack_;
  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<PgPool> pool_;
  std::string topic_;
  std::unique_ptr<KafkaProducer> producer_;
  std::atomic<int> delivered_{0};
  Metrics metrics_{"lag-test"};
  const std::string group_ = absl::StrCat("lag-test-", RandomHex(4));
};

TEST_F(ConsumerLagTest, RisesWhileTheConsumerAppliesNothingAndFallsToZeroOnceItHas) {
  Publish(20);
  std::atomic<bool> database_away{false};
  std::atomic<int> applied{0};
  EventConsumer consumer({.consumer = "lag-test",
                          .brokers = stack_.kafka_brokers,
                          .topics = {topic_},
                          .overrides = {{"group.id", group_}, {"statistics.interval.ms", "200"}},
                          .metrics = &metrics_},
                         *pool_,
                         [&](Tx&, const techtrade::common::v1::EventEnvelope&) -> absl::Status {
                           // UNAVAILABLE is waited out, never parked: the consumer stays on the
                           // event.
                           if (database_away)
                             return absl::UnavailableError("the test's database is away");
                           ++applied;
                           return absl::OkStatus();
                         });
  consumer.Start();
  // Caught up: every partition the member holds (both got some of the 20) reports 0.
  ASSERT_TRUE(Eventually([&] { return applied >= 20 && Lag().size() >= 2 && TotalLag() == 0; },
                         absl::Seconds(60)))
      << "applied " << applied << ", lag series " << Lag().size() << ", total " << TotalLag();

  database_away = true;
  Publish(30);
  // Every one of the 30 is behind the member's stored positions, whatever the member is doing.
  EXPECT_TRUE(Eventually([&] { return TotalLag() >= 30; }, absl::Seconds(30)))
      << "lag " << TotalLag();
  EXPECT_EQ(applied, 20);

  database_away = false;
  EXPECT_TRUE(Eventually([&] { return applied >= 50 && TotalLag() == 0; }, absl::Seconds(60)))
      << "applied " << applied << ", lag " << TotalLag();
  EXPECT_GE(Lag().size(), 2u);

  // A member that left the group holds no partition: nothing of it stays.
  consumer.Stop();
  EXPECT_TRUE(Lag().empty());
}

}  // namespace
}  // namespace techtrade::testing
