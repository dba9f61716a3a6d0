// The one way to consume: at-least-once delivery from Kafka made effectively-once by an inbox of
// processed event ids, written in the same transaction as the effect. Offsets are committed only
// after that transaction commits.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/db.h"
#include "common/kafka.h"
#include "common/kafka_statistics.h"
#include "common/metrics.h"
#include "common/worker.h"
#include "techtrade/common/v1/common.pb.h"

namespace techtrade {

// Records that `consumer` processed `event_id`. Returns false if it already had (the caller
// then skips the effect). Waits for a concurrent transaction claiming the same event.
bool ClaimInboxEvent(Tx& tx, absl::string_view consumer, absl::string_view event_id);

// Applies one event's effect inside the transaction that also claims the event id.
using EventHandler =
    std::function<absl::Status(Tx& tx, const techtrade::common::v1::EventEnvelope& event)>;

// techtrade_inbox_consumer_lag{consumer_group,topic,partition}: the events of each partition a
// consumer group member is assigned that it has not applied yet, as librdkafka's statistics report
// them. Only the partitions of the latest report have a series, so a partition revoked by a
// rebalance, or whose lag became unknown, drops out instead of keeping a stale figure.
class ConsumerLagGauge {
 public:
  ConsumerLagGauge(Metrics& metrics, std::string consumer_group);
  ~ConsumerLagGauge();  // removes its series

  // One statistics report (KafkaConsumer's StatisticsCallback); an unreadable one changes nothing.
  void Report(const std::string& statistics_json);
  void Set(const std::vector<PartitionLag>& lags);
  // Removes every series: the member left the group.
  void Clear();

 private:
  prometheus::Family<prometheus::Gauge>& family_;
  const std::string service_;
  const std::string consumer_group_;
  std::mutex mutex_;
  std::map<std::pair<std::string, int32_t>, prometheus::Gauge*> series_;  // guarded by mutex_
};

struct EventConsumerOptions {
  std::string consumer;  // inbox name and Kafka consumer group, e.g. "listings.registry-events"
  std::string brokers;
  std::vector<std::string> topics;
  int max_attempts = 5;  // then the event goes to inbox_dead_letter and consumption moves on
  // Events that arrived together are applied in one transaction (one commit, one fsync); if any
  // of them fails, the batch is rolled back and its events are applied one by one.
  int max_batch = 100;
  // Event types (EventEnvelope.event_type) the handler acts on; others are skipped without a
  // database transaction. Empty: every event goes to the handler.
  std::vector<std::string> event_types;
  KafkaConfig overrides;
  // Where techtrade_inbox_consumer_lag goes (ConsumerLagGauge); none when null.
  Metrics* metrics = nullptr;
};

class EventConsumer : public LoopWorker {
 public:
  EventConsumer(EventConsumerOptions options, PgPool& db, EventHandler handler);
  ~EventConsumer() override;

  const std::string& consumer() const { return options_.consumer; }
  const std::vector<std::string>& topics() const { return options_.topics; }
  // Applies `event` in `tx` together with its inbox record: the path of every event this
  // consumer reads, and of an operator's replay of one it parked (common/dead_letters.h). False,
  // and nothing done, when the inbox already has the event.
  absl::StatusOr<bool> ApplyOnce(Tx& tx, const techtrade::common::v1::EventEnvelope& event);
  // Runs on the consumer's thread after it parked an event; set before Start.
  void OnDeadLettered(std::function<void()> hook) { on_dead_lettered_ = std::move(hook); }

 private:
  void Run() override;
  // Applies a batch in one transaction and commits its offsets; false (nothing applied) if any
  // event fails or is unreadable.
  bool ProcessBatch(KafkaConsumer& consumer,
                    const std::vector<std::unique_ptr<RdKafka::Message>>& batch);
  // Processes one message until it is applied, skipped as a duplicate or dead-lettered.
  void Process(KafkaConsumer& consumer, const RdKafka::Message& message);
  bool Wanted(const techtrade::common::v1::EventEnvelope& event) const;

  const EventConsumerOptions options_;
  std::unique_ptr<ConsumerLagGauge> lag_;  // when options_.metrics is set
  PgPool& db_;
  EventHandler handler_;
  std::function<void()> on_dead_lettered_;
};

}  // namespace techtrade
