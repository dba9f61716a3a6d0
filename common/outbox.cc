#include "common/outbox.h"

#include <google/protobuf/any.pb.h>
#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/failpoint.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/trace.h"
#include "techtrade/common/v1/common.pb.h"

namespace techtrade {
namespace {

// Local commits bump the generation and wake every relay of the process.
std::mutex g_wake_mutex;
std::condition_variable g_wake;
uint64_t g_generation = 0;  // guarded by g_wake_mutex

void WakeRelays() {
  {
    std::lock_guard lock(g_wake_mutex);
    ++g_generation;
  }
  g_wake.notify_all();
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

const Migration kCommonMigrations[] = {
    {1, "outbox",
     R"sql(
-- One index only (the relay's order): every index costs each committing mutation. Nothing looks
-- rows up by id, and per-aggregate sequences are guaranteed by the aggregate's row lock.
CREATE TABLE outbox (
  position      bigserial   PRIMARY KEY,
  id            uuid        NOT NULL,
  aggregatetype text        NOT NULL,
  aggregateid   text        NOT NULL,
  type          text        NOT NULL,
  payload       bytea       NOT NULL,  -- a serialized techtrade.common.v1.EventEnvelope
  sequence      bigint      NOT NULL,
  occurred_at   timestamptz NOT NULL
);
-- Rows are deleted once Kafka has them, so the table stays small; vacuum it eagerly.
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
                        autovacuum_vacuum_cost_delay = 0);
)sql"},
    {2, "inbox",
     R"sql(
CREATE TABLE inbox (
  consumer     text        NOT NULL,
  event_id     text        NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
CREATE TABLE inbox_dead_letter (
  id         bigserial   PRIMARY KEY,
  consumer   text        NOT NULL,
  topic      text        NOT NULL,
  partition  int         NOT NULL,
  "offset"   bigint      NOT NULL,
  event_id   text,
  error      text        NOT NULL,
  payload    bytea,
  created_at timestamptz NOT NULL DEFAULT now()
);
)sql"},
    {3, "idempotency_keys",
     R"sql(
CREATE TABLE idempotency_keys (
  client_id    text        NOT NULL,
  request_id   text        NOT NULL,
  method       text        NOT NULL,
  request_hash text        NOT NULL,
  response     bytea,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, request_id)
);
-- BRIN: nearly free to maintain on an append-mostly table, enough for the retention sweep.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys USING brin (created_at);
)sql"},
    {4, "inbox retention index",
     R"sql(
CREATE INDEX inbox_processed_at ON inbox USING brin (processed_at);
)sql"},
    {5, "optimistic writes",
     R"sql(
-- `WITH changed AS (UPDATE … WHERE id = … AND version = <as read> RETURNING 1)
--  SELECT techtrade_expect_one_row(count(*)) FROM changed` fails the transaction with a
-- serialization failure if the row changed since it was read; InTransaction then runs the unit
-- again from its read.
CREATE FUNCTION techtrade_expect_one_row(n bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF n <> 1 THEN
    RAISE EXCEPTION 'the row changed since it was read' USING ERRCODE = 'serialization_failure';
  END IF;
END
$$;
)sql"},
    {6, "optimistic writes of several rows",
     R"sql(
-- The same for a statement that changes several rows at once (group commit merges concurrent
-- callers' guarded writes into one): fails unless every row it was given changed.
CREATE FUNCTION techtrade_expect_rows(changed bigint, expected bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF changed <> expected THEN
    RAISE EXCEPTION 'a row changed since it was read' USING ERRCODE = 'serialization_failure';
  END IF;
END
$$;
)sql"},
    {7, "dead letters an operator acts on",
     R"sql(
-- common/dead_letters.h: a replayed or discarded event keeps its row, with who resolved it, when
-- and why (the audit trail); only UNRESOLVED ones count as dead letters.
ALTER TABLE inbox_dead_letter
  ADD COLUMN status text NOT NULL DEFAULT 'UNRESOLVED'
    CHECK (status IN ('UNRESOLVED', 'RESOLVED', 'DISCARDED')),
  ADD COLUMN attempts int NOT NULL DEFAULT 1,
  ADD COLUMN last_attempt_at timestamptz,
  ADD COLUMN resolved_at timestamptz,
  ADD COLUMN resolved_by text,
  ADD COLUMN resolution text;
UPDATE inbox_dead_letter SET last_attempt_at = created_at;
ALTER TABLE inbox_dead_letter ALTER COLUMN last_attempt_at SET DEFAULT now(),
                              ALTER COLUMN last_attempt_at SET NOT NULL;
CREATE INDEX inbox_dead_letter_unresolved ON inbox_dead_letter (consumer, topic)
  WHERE status = 'UNRESOLVED';
)sql"},
    {8, "outbox header columns",
     R"sql(
-- What the Kafka headers repeat beside the Debezium columns (docs/events.md, "Kafka record"), so
-- that the relay sets them without parsing the envelope.
ALTER TABLE outbox ADD COLUMN producer text NOT NULL DEFAULT '',
                   ADD COLUMN traceparent text NOT NULL DEFAULT '';
)sql"},
};

}  // namespace

std::span<const Migration> CommonMigrations() { return kCommonMigrations; }

std::string AppendToOutbox(Tx& tx, absl::string_view producer, const OutboxEvent& event) {
  techtrade::common::v1::EventEnvelope envelope;
  envelope.set_event_id(NewUuid());
  envelope.set_event_type(event.payload->GetDescriptor()->full_name());
  envelope.set_aggregate_type(event.aggregate_type);
  envelope.set_aggregate_id(event.aggregate_id);
  envelope.set_sequence(event.sequence);
  int64_t now_us = absl::ToUnixMicros(absl::Now());
  *envelope.mutable_occurred_at() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(now_us);
  envelope.set_producer(std::string(producer));
  // Every event names a trace: one without a request or a causing event starts its own.
  envelope.mutable_trace()->set_traceparent(TraceparentOrNew(event.traceparent));
  envelope.set_causation_request_id(event.causation_request_id);
  envelope.mutable_payload()->PackFrom(*event.payload);

  std::string payload = envelope.SerializeAsString();
  tx.StageRow(
      "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, sequence, occurred_at, "
      "producer, traceparent) VALUES ",
      "($1::uuid, $2, $3, $4, $5::bytea, $6::bigint, to_timestamp($7::double precision / 1000000), "
      "$8, $9)",
      "",
      {SqlText(envelope.event_id()), SqlText(event.aggregate_type), SqlText(event.aggregate_id),
       SqlText(envelope.event_type()), SqlBytes(std::move(payload)), SqlText(event.sequence),
       SqlText(now_us), SqlText(envelope.producer()), SqlText(envelope.trace().traceparent())});
  tx.OnCommit(WakeRelays);
  return envelope.event_id();
}

OutboxRelay::OutboxRelay(OutboxRelayOptions options, Metrics& metrics)
    : options_(std::move(options)) {
  auto& reg = metrics.registry();
  prometheus::Labels labels = {{"service", options_.service}, {"topic", options_.topic}};
  published_ = &prometheus::BuildCounter()
                    .Name("techtrade_outbox_published_total")
                    .Help("Outbox events acknowledged by Kafka")
                    .Register(reg)
                    .Add(labels);
  failed_ = &prometheus::BuildCounter()
                 .Name("techtrade_outbox_publish_failures_total")
                 .Help("Outbox events whose delivery failed (they are retried)")
                 .Register(reg)
                 .Add(labels);
  producer_recreated_ = &prometheus::BuildCounter()
                             .Name("techtrade_outbox_producer_recreated_total")
                             .Help("Kafka producers replaced after a fatal error")
                             .Register(reg)
                             .Add(labels);
  publish_latency_ = &prometheus::BuildHistogram()
                          .Name("techtrade_outbox_publish_latency_seconds")
                          .Help("From the event's commit to the broker's acknowledgement")
                          .Register(reg)
                          .Add(labels, Metrics::LatencyBuckets());
  pending_ = &prometheus::BuildGauge()
                  .Name("techtrade_outbox_pending_events")
                  .Help("Outbox rows not yet published")
                  .Register(reg)
                  .Add(labels);
  oldest_pending_age_ = &prometheus::BuildGauge()
                             .Name("techtrade_outbox_lag_seconds")
                             .Help("Age of the oldest unpublished outbox row (0 when none)")
                             .Register(reg)
                             .Add(labels);
  leader_gauge_ = &prometheus::BuildGauge()
                       .Name("techtrade_outbox_relay_leader")
                       .Help("1 while this replica holds the relay lock and publishes")
                       .Register(reg)
                       .Add(labels);
}

OutboxRelay::~OutboxRelay() { Stop(absl::ZeroDuration()); }

void OutboxRelay::Start() {
  thread_ = std::thread([this] { Run(); });
}

void OutboxRelay::Stop(absl::Duration grace) {
  if (!thread_.joinable()) return;
  hard_stop_at_ns_ = NowNanos() + absl::ToInt64Nanoseconds(grace);
  stopping_ = true;
  WakeRelays();
  thread_.join();
}

bool OutboxRelay::EnsureProducer() {
  if (producer_ != nullptr && !producer_->fatal()) return true;
  if (producer_ != nullptr) {
    // librdkafka 2.0's idempotent producer can fail fatally after a disconnect; a fresh producer
    // resumes, and the rows that were not acknowledged drive the retry.
    log::Warn("outbox: replacing Kafka producer after a fatal error");
    producer_.reset();
    producer_recreated_->Increment();
  }
  absl::StatusOr<std::unique_ptr<KafkaProducer>> producer = KafkaProducer::Create(
      options_.brokers, options_.producer_overrides, [](void* opaque, const absl::Status& result) {
        *static_cast<absl::Status*>(opaque) = result;
      });
  if (!producer.ok()) {
    log::Error("outbox: cannot create Kafka producer", {{"error", producer.status().ToString()}});
    return false;
  }
  producer_ = std::move(*producer);
  return true;
}

uint64_t OutboxRelay::WakeGeneration() {
  std::lock_guard lock(g_wake_mutex);
  return g_generation;
}

void OutboxRelay::WaitForWork(uint64_t seen, absl::Duration timeout) {
  std::unique_lock lock(g_wake_mutex);
  g_wake.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                  [&] { return g_generation != seen || stopping_; });
}

void OutboxRelay::Run() {
  while (!stopping_) {
    try {
      pqxx::connection conn(options_.pg_url);
      RunConnected(conn);
    } catch (const std::exception& e) {
      log::Warn("outbox relay: database error; reconnecting", {{"error", e.what()}});
    }
    leader_ = false;
    leader_gauge_->Set(0);
    for (int i = 0; i < 10 && !stopping_; ++i) absl::SleepFor(absl::Milliseconds(100));
  }
  producer_.reset();
}

void OutboxRelay::RunConnected(pqxx::connection& conn) {
  // This connection only reads the outbox and deletes published rows. Losing a delete in a crash
  // only re-sends events, which consumers drop by event id; an fsync per batch would cost more.
  conn.set_variable("synchronous_commit", "off");
  // Between vacuums the outbox is mostly dead rows (published and deleted). Seeing few live rows,
  // the planner read the whole table and sorted it for every batch — a hundred full scans a
  // second under load; the primary key's order is what the relay wants.
  conn.set_variable("enable_seqscan", "off");
  const std::string lock_name = absl::StrCat("techtrade_outbox_relay:", options_.service);
  auto last_gauges = std::chrono::steady_clock::now() - std::chrono::hours(1);
  auto last_sweep = std::chrono::steady_clock::now();
  while (!stopping_) {
    if (!leader_) {
      pqxx::nontransaction tx(conn);
      // Session-level lock: held while this connection lives, released if this process dies.
      bool acquired =
          tx.exec_params1("SELECT pg_try_advisory_lock(hashtext($1))", lock_name)[0].as<bool>();
      tx.commit();
      if (!acquired) {
        // Another replica publishes; local commits are no reason to ask again sooner.
        for (int i = 0; i < 10 && !stopping_; ++i) absl::SleepFor(absl::Milliseconds(100));
        continue;
      }
      leader_ = true;
      leader_gauge_->Set(1);
      log::Info("outbox relay: this replica publishes now", {{"topic", options_.topic}});
    }
    if (!EnsureProducer()) {
      absl::SleepFor(absl::Seconds(1));
      continue;
    }
    // Taken before reading, so that a commit during the batch is not a lost wake-up.
    const uint64_t generation = WakeGeneration();
    const auto batch_start = std::chrono::steady_clock::now();
    int read = PublishBatch(conn);
    auto now = std::chrono::steady_clock::now();
    if (now - last_gauges > std::chrono::seconds(1)) {
      RefreshLagGauges(conn);
      last_gauges = now;
    }
    VacuumIfDue(conn);
    if (now - last_sweep > absl::ToChronoNanoseconds(options_.sweep_interval)) {
      SweepRetention(conn);
      last_sweep = now;
    }
    if (read < options_.batch_size && !stopping_) {
      WaitForWork(generation, options_.idle_poll);
      // Woken by a commit: let the next batch gather what commits meanwhile.
      const auto next_start = batch_start + absl::ToChronoNanoseconds(options_.min_batch_interval);
      if (read > 0 && !stopping_ && std::chrono::steady_clock::now() < next_start) {
        std::this_thread::sleep_until(next_start);
      }
    }
  }
  DeleteAcknowledged(conn);
}

int OutboxRelay::PublishBatch(pqxx::connection& conn) {
  struct Row {
    int64_t position;
    int64_t occurred_us;
    absl::Status result = absl::UnknownError("not acknowledged");
  };
  pqxx::result rows;
  {
    conn.prepare(
        "techtrade_outbox_next",
        "WITH published AS (DELETE FROM outbox WHERE position = ANY($1::bigint[])) "
        "SELECT position, id::text, aggregatetype, aggregateid, type, payload, sequence, " +
            EpochMicros("occurred_at") +
            ", producer, traceparent FROM outbox WHERE position <> ALL($1::bigint[]) "
            "ORDER BY position LIMIT $2");
    pqxx::nontransaction tx(conn);
    // One round trip: delete what the broker acknowledged last time, read what comes next (the
    // SELECT sees the rows as before the DELETE, hence the filter).
    rows = tx.exec_prepared("techtrade_outbox_next", acknowledged_, options_.batch_size);
    acknowledged_ = "{}";
  }
  last_read_ = static_cast<int>(rows.size());
  last_unpublished_ = 0;
  oldest_unpublished_us_ = 0;
  if (rows.empty()) return 0;

  std::vector<Row> batch;
  batch.reserve(rows.size());
  for (const auto& r : rows) {
    batch.push_back(Row{r[0].as<int64_t>(), r[7].as<int64_t>()});
  }
  if (!failpoint::Hit("outbox.drop").ok()) {
    // Breaks the outbox's promise on purpose (for the fault checker's own tests): the rows go
    // with the next read, never published.
    std::vector<std::string> dropped;
    for (const Row& row : batch) dropped.push_back(absl::StrCat(row.position));
    acknowledged_ = absl::StrCat("{", absl::StrJoin(dropped, ","), "}");
    return static_cast<int>(rows.size());
  }
  size_t produced = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    pqxx::binarystring payload(r[5]);
    // docs/events.md, "Kafka record": each header repeats the envelope field of its name. Rows
    // written before the header columns existed have them empty.
    std::string producer = r[8].as<std::string>(), traceparent = r[9].as<std::string>();
    std::vector<KafkaHeader> headers = {
        {"event_id", r[1].as<std::string>()},
        {"event_type", r[4].as<std::string>()},
        {"aggregate_type", r[2].as<std::string>()},
        {"aggregate_id", r[3].as<std::string>()},
        {"sequence", r[6].as<std::string>()},
        {"producer", producer.empty() ? options_.service : std::move(producer)},
    };
    if (!traceparent.empty()) headers.push_back({"traceparent", std::move(traceparent)});
    absl::Status enqueued = producer_->Produce(options_.topic, r[3].as<std::string>(),
                                               absl::string_view(payload.get(), payload.size()),
                                               headers, &batch[i].result);
    if (!enqueued.ok()) {
      // Stop here: producing later rows now could put an aggregate's events out of order.
      log::Warn("outbox: produce failed", {{"error", enqueued.ToString()}});
      break;
    }
    ++produced;
  }
  auto outstanding = [&] {
    for (size_t i = 0; i < produced; ++i) {
      if (batch[i].result.code() == absl::StatusCode::kUnknown) return true;
    }
    return false;
  };
  while (outstanding() && !producer_->fatal()) {
    producer_->Poll(absl::Milliseconds(50));
    if (stopping_ && NowNanos() > hard_stop_at_ns_) {
      producer_->Purge();  // reports the rest as failed; they stay unpublished
      break;
    }
  }

  // Acknowledged, not yet deleted. `error`: the rows stay and are published again (consumers
  // drop the copies by event id).
  if (!failpoint::Hit("outbox.after_ack").ok()) return static_cast<int>(rows.size());
  std::vector<std::string> acked;
  int64_t now_us = absl::ToUnixMicros(absl::Now());
  for (size_t i = 0; i < batch.size(); ++i) {
    if (i < produced && batch[i].result.ok()) {
      acked.push_back(absl::StrCat(batch[i].position));
      publish_latency_->Observe(static_cast<double>(now_us - batch[i].occurred_us) / 1e6);
      continue;
    }
    if (i < produced) failed_->Increment();
    if (last_unpublished_++ == 0) oldest_unpublished_us_ = batch[i].occurred_us;
  }
  deleted_since_vacuum_ += static_cast<int64_t>(acked.size());
  if (!acked.empty()) {
    // Kafka is the log from here on: the rows go, with the next read (or DeleteAcknowledged), which
    // keeps the table and its index small.
    acknowledged_ = absl::StrCat("{", absl::StrJoin(acked, ","), "}");
    published_->Increment(static_cast<double>(acked.size()));
  }
  if (acked.size() < rows.size() && !stopping_) {
    log::Warn("outbox: some events not acknowledged; retrying",
              {{"acknowledged", acked.size()}, {"read", rows.size()}});
    absl::SleepFor(absl::Milliseconds(200));
  }
  return static_cast<int>(rows.size());
}

void OutboxRelay::DeleteAcknowledged(pqxx::connection& conn) {
  if (acknowledged_ == "{}") return;
  pqxx::nontransaction tx(conn);
  tx.exec_params("DELETE FROM outbox WHERE position = ANY($1::bigint[])", acknowledged_);
  acknowledged_ = "{}";
}

void OutboxRelay::SweepRetention(pqxx::connection& conn) {
  struct Sweep {
    const char* table;
    const char* column;
    absl::Duration keep;
  };
  for (const Sweep& sweep :
       {Sweep{"idempotency_keys", "created_at", options_.idempotency_retention},
        Sweep{"inbox", "processed_at", options_.inbox_retention}}) {
    // Small batches: a sweep must never hold locks or I/O long enough for callers to notice.
    for (int round = 0; round < 100 && !stopping_; ++round) {
      pqxx::nontransaction tx(conn);
      pqxx::result r = tx.exec_params(
          absl::StrCat("DELETE FROM ", sweep.table, " WHERE ctid = ANY(ARRAY(SELECT ctid FROM ",
                       sweep.table, " WHERE ", sweep.column,
                       " < now() - make_interval(secs => $1) LIMIT 5000))"),
          static_cast<double>(absl::ToInt64Seconds(sweep.keep)));
      if (r.affected_rows() > 0) {
        log::Info("retention sweep", {{"table", sweep.table}, {"rows", r.affected_rows()}});
      }
      if (r.affected_rows() < 5000) break;
    }
  }
}

void OutboxRelay::VacuumIfDue(pqxx::connection& conn) {
  // Autovacuum visits a table at most once a minute (its default naptime), while a busy relay
  // deletes thousands of rows a second; every batch's index scan steps over what is not yet
  // vacuumed. A vacuum of the small live part costs milliseconds.
  constexpr int64_t kDeletedRows = 20000;
  constexpr auto kMinInterval = std::chrono::seconds(5);
  const auto now = std::chrono::steady_clock::now();
  if (vacuum_refused_ || deleted_since_vacuum_ < kDeletedRows ||
      now - last_vacuum_ < kMinInterval) {
    return;
  }
  last_vacuum_ = now;
  deleted_since_vacuum_ = 0;
  DeleteAcknowledged(conn);
  try {
    pqxx::nontransaction tx(conn);
    tx.exec("VACUUM outbox");
  } catch (const pqxx::sql_error& e) {
    vacuum_refused_ = true;
    log::Warn("outbox relay: cannot VACUUM the outbox; leaving it to autovacuum",
              {{"error", e.what()}});
  }
}

void OutboxRelay::RefreshLagGauges(pqxx::connection& conn) {
  if (last_read_ < options_.batch_size) {
    // The last batch read everything pending then: what it could not publish is the backlog.
    pending_->Set(last_unpublished_);
    oldest_pending_age_->Set(
        last_unpublished_ == 0
            ? 0.0
            : static_cast<double>(absl::ToUnixMicros(absl::Now()) - oldest_unpublished_us_) / 1e6);
    return;
  }
  pqxx::nontransaction tx(conn);
  pqxx::row r = tx.exec1(
      "SELECT count(*), COALESCE(extract(epoch from now() - min(occurred_at)), 0)::double "
      "precision "
      "FROM outbox");
  pending_->Set(r[0].as<double>());
  oldest_pending_age_->Set(r[1].as<double>());
}

}  // namespace techtrade
