// Transactional outbox: an event row is written in the same PostgreSQL transaction as the state
// change it describes (AppendToOutbox), and a relay publishes unpublished rows to Kafka, keyed by
// aggregate id, deleting them only after the broker acknowledged them (OutboxRelay).
// Columns follow Debezium's outbox convention (id, aggregatetype, aggregateid, type, payload), so
// the relay could be swapped for Debezium's outbox event router by configuration.
#pragma once

#include <google/protobuf/message.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/db.h"
#include "common/kafka.h"
#include "common/lease.h"
#include "common/metrics.h"
#include "common/worker.h"
#include "techtrade/common/v1/common.pb.h"

namespace techtrade {

struct OutboxEvent {
  std::string aggregate_type;  // e.g. "organization"
  std::string aggregate_id;
  // Per-aggregate, gapless, starting at 1. The caller holds the aggregate's row lock, so the
  // order of sequences is the order of commits.
  int64_t sequence = 0;
  const google::protobuf::Message* payload = nullptr;
  std::string causation_request_id;
  // W3C traceparent of the cause: the request's, or for an event a consumer emits in reaction to
  // another, ChildTraceparent(that event's) (common/trace.h). Empty or invalid: a new trace.
  std::string traceparent;
  // Who caused it; unset (no api_client_id): the producer itself, as a system actor.
  const common::v1::Actor* actor = nullptr;
  // The audit scope (AggregateRef): the pilot cities the aggregate concerns, its finance partner.
  const std::vector<std::string>* city_ids = nullptr;
  std::string partner_id;
  // A second topic for the same envelope (another outbox row with the same event id), besides the
  // relay's; empty: none. The relay creates it on first use (OutboxRelay::EnsureTopic).
  std::string also_topic;
  // A hash-chained aggregate (docs/events.md, "Hash chain"): the SHA-256 of its previous
  // envelope (empty for its first event), carried in the envelope; and where the SHA-256 of this
  // event's envelope bytes goes (nullptr: the aggregate is not chained).
  std::string previous_event_hash;
  std::string* event_hash = nullptr;
};

// Writes the event (as a techtrade.common.v1.EventEnvelope) into `tx`, with what the relay's Kafka
// headers repeat (docs/events.md, "Kafka record"), and its audit_log row (common/audit.h); when
// the transaction (run by InTransaction) commits, this process's relay wakes at once. Returns the
// event id.
std::string AppendToOutbox(Tx& tx, absl::string_view producer, const OutboxEvent& event);

struct OutboxRelayOptions {
  std::string service;  // also names the lease: one active relay per service (common/lease.h)
  std::string pg_url;
  std::string brokers;
  std::string topic;
  int batch_size = 500;
  // Commits in this process wake the relay at once; rows committed by other replicas are found
  // by polling this often. (Not LISTEN/NOTIFY: NOTIFY serialises every committing transaction
  // on a global lock.)
  absl::Duration idle_poll = absl::Milliseconds(20);
  // Under load, batches start at most this often, so that each carries more events: every batch
  // costs a database round trip, a produce request per partition it touches (librdkafka 2.0
  // sends one partition per request) and their wake-ups in four processes whatever its size.
  // Adds at most this much to an event's latency: fewer, fuller batches cut the broker's CPU per
  // event; keep it well under the event-latency target (docs/benchmarks.md).
  absl::Duration min_batch_interval = absl::Milliseconds(10);
  // Once stop is requested, how long the batch in flight may still wait for acknowledgements.
  // Rows not acknowledged by then stay unpublished and are sent by the next relay.
  absl::Duration stop_grace = absl::ZeroDuration();
  // A topic the relay could not create (OutboxEvent::also_topic: ACL missing, name refused,
  // broker policy) is asked for again after this, doubling per failure up to
  // topic_retry_max; meanwhile its rows and every later row of their aggregates wait, and the
  // rest of the outbox is published.
  absl::Duration topic_retry_initial = absl::Seconds(1);
  absl::Duration topic_retry_max = absl::Minutes(1);
  KafkaConfig producer_overrides;
  // The relay's lease: how long a replica that stopped renewing (killed, cut off) keeps the others
  // from publishing.
  absl::Duration lease_ttl = absl::Seconds(15);
};

// Publishes the outbox while this replica holds the service's relay lease (VACUUM and retention
// sweeps of the shared tables: common/maintenance.h).
//
// One publisher at a time, and the handover: the leader checks its lease before every batch and
// while it waits for acknowledgements, and gives up before the server would grant the lease to
// another replica (LeaseTerm). A batch the old leader had in flight then may still reach the
// broker after the new leader read the same rows (they are deleted only once acknowledged): the
// new leader publishes them again. Each producer sends an aggregate's events in order, so the
// first copy of every event still arrives in sequence order; the copies are duplicates, which
// consumers drop by event id (the inbox). A duplicate is acceptable; a lost event is not.
class OutboxRelay : public LoopWorker {
 public:
  OutboxRelay(OutboxRelayOptions options, Metrics& metrics);
  ~OutboxRelay() override;

  // Published rows this relay deleted so far (what makes the outbox worth a VACUUM).
  int64_t rows_deleted() const { return rows_deleted_.load(std::memory_order_relaxed); }
  bool leader() const { return leader_.load(); }

 private:
  void Run() override;
  void OnStopRequested() override;
  void RunConnected(pqxx::connection& conn);
  // Gauges and the acknowledged rows' deletion when this replica stops publishing.
  void StepDown(pqxx::connection* conn);
  // Why a row of the batch was not handed to the producer.
  enum class Held {
    kNo,
    kForTopic,   // its topic (or one of its aggregate's earlier rows' topic) cannot be created
    kRetrySoon,  // the producer refused it or the batch stopped early
  };
  // A row of the batch in flight: its position, when it was written, its aggregate and topic,
  // whether the producer took it, and the broker's answer.
  struct BatchRow {
    int64_t position;
    int64_t occurred_us;
    std::string aggregate;
    std::string topic;
    bool produced = false;
    Held held = Held::kNo;
    absl::Status result = absl::UnknownError("not acknowledged");
  };
  // A topic that could not be created or refused a delivery: the error, and when to try again.
  struct TopicFailure {
    absl::Status error;
    absl::Duration backoff;
    absl::Time retry_at;
  };
  // Publishes one batch; returns the number of rows it read.
  int PublishBatch(pqxx::connection& conn);
  // Deletes the rows acknowledged last time and reads the next batch, in one round trip.
  pqxx::result ReadNextBatch(pqxx::connection& conn);
  // Hands the rows to the producer in order, marking those it took. A row that cannot go holds
  // back the later rows of its aggregate (so that an aggregate's events stay in order), not
  // those of other aggregates; a full queue stops the batch.
  void Produce(const pqxx::result& rows, std::vector<BatchRow>& batch);
  // Waits for the broker's answers to the produced rows (or the stop's hard deadline, or the end
  // of the lease, which it renews meanwhile).
  void AwaitAcknowledgements(pqxx::connection& conn, const std::vector<BatchRow>& batch);
  // Records what the broker acknowledged (deleted with the next read) and what stays: a row
  // whose aggregate has an earlier row that stays, stays too.
  void Settle(const std::vector<BatchRow>& batch);
  void RefreshLagGauges(pqxx::connection& conn);
  void DeleteAcknowledged(pqxx::connection& conn);
  bool EnsureProducer();
  // Creates a topic an outbox row names (OutboxEvent::also_topic) the first time this relay sees
  // it; the service's own topic is provisioned with the deployment. A failure is remembered
  // (returned without asking the broker) until its back-off ends.
  absl::Status EnsureTopic(const std::string& topic);
  // Starts or doubles `topic`'s back-off after `error`; the topic is created again after it.
  void BackOffTopic(const std::string& topic, const absl::Status& error);
  // The topics whose back-off runs now (a PostgreSQL array literal; "{}": none).
  std::string TopicsInBackoff();
  // Sleeps until a local commit moved the wake-up generation past `seen`, `timeout` passes, or
  // stop is requested.
  static uint64_t WakeGeneration();
  void WaitForWork(uint64_t seen, absl::Duration timeout);

  const OutboxRelayOptions options_;
  std::atomic<int64_t> hard_stop_at_ns_{0};
  std::atomic<bool> leader_{false};
  LeaderLease lease_;
  std::atomic<int64_t> rows_deleted_{0};
  std::unique_ptr<KafkaProducer> producer_;
  absl::flat_hash_set<std::string> created_topics_;
  absl::flat_hash_map<std::string, TopicFailure> failed_topics_;
  // The last read skipped the aggregates waiting for a topic, so it did not see every pending row.
  bool last_read_skipped_ = false;
  // Positions acknowledged by the broker and not yet deleted (a PostgreSQL array literal).
  std::string acknowledged_ = "{}";
  // What the last batch left unpublished (rows read but not acknowledged), for the lag gauges.
  int last_read_ = 0;
  int last_unpublished_ = 0;
  int64_t oldest_unpublished_us_ = 0;

  prometheus::Counter* published_;
  prometheus::Counter* failed_;
  prometheus::Counter* producer_recreated_;
  prometheus::Histogram* publish_latency_;
  prometheus::Gauge* pending_;
  prometheus::Gauge* oldest_pending_age_;
  prometheus::Gauge* leader_gauge_;
};

}  // namespace techtrade
