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
#include <span>
#include <string>
#include <thread>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/db.h"
#include "common/kafka.h"
#include "common/metrics.h"

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
};

// Writes the event (as a techtrade.common.v1.EventEnvelope) into `tx`, with what the relay's Kafka
// headers repeat (docs/events.md, "Kafka record"); when the transaction (run by InTransaction)
// commits, this process's relay wakes at once. Returns the event id.
std::string AppendToOutbox(Tx& tx, absl::string_view producer, const OutboxEvent& event);

struct OutboxRelayOptions {
  std::string service;  // also names the advisory lock: one active relay per service
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
  // Adds at most this much to an event's latency. At 2,000 events/s on a 2-core machine, 10 ms
  // instead of 5 halved the broker's CPU per event; p99 commit-to-ack at 500/s stays near 20 ms.
  absl::Duration min_batch_interval = absl::Milliseconds(10);
  // The leader also sweeps what the shared tables no longer need: idempotency records older than
  // this (a client retrying later than that gets a new effect), and inbox entries older than
  // `inbox_retention` (longer than the topics keep events, so a replay is still deduplicated).
  absl::Duration idempotency_retention = absl::Hours(24 * 7);
  absl::Duration inbox_retention = absl::Hours(24 * 14);
  absl::Duration sweep_interval = absl::Minutes(10);
  KafkaConfig producer_overrides;
};

class OutboxRelay {
 public:
  OutboxRelay(OutboxRelayOptions options, Metrics& metrics);
  ~OutboxRelay();

  void Start();
  // Stops taking new batches, waits up to `grace` for the batch in flight, then stops. Rows not
  // acknowledged by then stay unpublished and are sent by the next relay.
  void Stop(absl::Duration grace);

 private:
  void Run();
  void RunConnected(pqxx::connection& conn);
  // Publishes one batch; returns the number of rows it read.
  int PublishBatch(pqxx::connection& conn);
  void RefreshLagGauges(pqxx::connection& conn);
  // VACUUMs the outbox once enough published rows were deleted (see RunConnected).
  void VacuumIfDue(pqxx::connection& conn);
  void DeleteAcknowledged(pqxx::connection& conn);
  void SweepRetention(pqxx::connection& conn);
  bool EnsureProducer();
  // Sleeps until a local commit moved the wake-up generation past `seen`, `timeout` passes, or
  // Stop().
  static uint64_t WakeGeneration();
  void WaitForWork(uint64_t seen, absl::Duration timeout);

  const OutboxRelayOptions options_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> hard_stop_at_ns_{0};
  std::atomic<bool> leader_{false};
  std::thread thread_;
  std::unique_ptr<KafkaProducer> producer_;
  // Positions acknowledged by the broker and not yet deleted (a PostgreSQL array literal).
  std::string acknowledged_ = "{}";
  // What the last batch left unpublished (rows read but not acknowledged), for the lag gauges.
  int last_read_ = 0;
  int last_unpublished_ = 0;
  int64_t oldest_unpublished_us_ = 0;
  int64_t deleted_since_vacuum_ = 0;
  std::chrono::steady_clock::time_point last_vacuum_ = std::chrono::steady_clock::now();
  bool vacuum_refused_ = false;  // a VACUUM failed: autovacuum's job alone from then on

  prometheus::Counter* published_;
  prometheus::Counter* failed_;
  prometheus::Counter* producer_recreated_;
  prometheus::Histogram* publish_latency_;
  prometheus::Gauge* pending_;
  prometheus::Gauge* oldest_pending_age_;
  prometheus::Gauge* leader_gauge_;
};

// Tables shared by every service: outbox, inbox, inbox dead letters and idempotency keys.
std::span<const Migration> CommonMigrations();

}  // namespace techtrade
