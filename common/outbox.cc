#include "common/outbox.h"

#include <google/protobuf/any.pb.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/audit.h"
#include "common/command.h"
#include "common/envelope.h"
#include "common/failpoint.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/status.h"
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

}  // namespace

std::string AppendToOutbox(Tx& tx, absl::string_view producer, const OutboxEvent& event) {
  int64_t now_us = absl::ToUnixMicros(absl::Now());
  const techtrade::common::v1::EventEnvelope envelope =
      BuildEnvelope(producer,
                    {.aggregate_type = event.aggregate_type,
                     .aggregate_id = event.aggregate_id,
                     .sequence = event.sequence,
                     .payload = event.payload,
                     .causation_request_id = event.causation_request_id,
                     .traceparent = event.traceparent,
                     .actor = event.actor,
                     .previous_event_hash = event.previous_event_hash},
                    now_us);

  std::string payload = envelope.SerializeAsString();
  // The chain links these exact bytes: what the relay publishes and audit_log keeps.
  if (event.event_hash != nullptr) *event.event_hash = EnvelopeHash(payload);
  // Staged before the outbox row, which takes the serialized envelope; both are rows that group
  // commit merges with those of concurrent transactions.
  StageAuditRow(tx, envelope, now_us, payload,
                event.city_ids != nullptr ? *event.city_ids : std::vector<std::string>(),
                event.partner_id);
  // One row per topic, the relay's first (topic NULL); the rows of every transaction share one
  // statement shape, so that group commit merges them.
  auto stage = [&](std::string bytes, const std::string& topic) {
    tx.StageRow(
        "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, sequence, occurred_at, "
        "producer, traceparent, topic) VALUES ",
        "($1::uuid, $2, $3, $4, $5::bytea, $6::bigint, "
        "to_timestamp($7::double precision / 1000000), $8, $9, $10)",
        "",
        {SqlText(envelope.event_id()), SqlText(event.aggregate_type), SqlText(event.aggregate_id),
         SqlText(envelope.event_type()), SqlBytes(std::move(bytes)), SqlText(event.sequence),
         SqlText(now_us), SqlText(envelope.producer()), SqlText(envelope.trace().traceparent()),
         topic.empty() ? SqlNull() : SqlText(topic)});
  };
  std::string also = event.also_topic.empty() ? std::string() : payload;
  stage(std::move(payload), "");
  if (!event.also_topic.empty()) stage(std::move(also), event.also_topic);
  tx.OnCommit(WakeRelays);
  return envelope.event_id();
}

OutboxRelay::OutboxRelay(OutboxRelayOptions options, Metrics& metrics)
    : LoopWorker(absl::StrCat("outbox relay ", options.service)),
      options_(std::move(options)),
      lease_({.service = options_.service, .job = "outbox_relay", .ttl = options_.lease_ttl}) {
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
                             .Help(
                                 "Kafka producers replaced after a fatal error or for "
                                 "renewed TLS files")
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
                       .Help("1 while this replica holds the relay's lease and publishes")
                       .Register(reg)
                       .Add(labels);
}

OutboxRelay::~OutboxRelay() { Stop(); }

void OutboxRelay::OnStopRequested() {
  hard_stop_at_ns_ = NowNanos() + absl::ToInt64Nanoseconds(options_.stop_grace);
  // WaitForWork sleeps on the commits' wake-up, not on the worker's own.
  WakeRelays();
}

absl::Status OutboxRelay::EnsureTopic(const std::string& topic) {
  if (topic == options_.topic) return absl::OkStatus();
  // Asking again at once would cost each batch a broker round trip (up to the timeout) for an
  // answer that does not change within seconds (a missing ACL, a refused name).
  if (auto failed = failed_topics_.find(topic);
      failed != failed_topics_.end() && absl::Now() < failed->second.retry_at) {
    return failed->second.error;
  }
  if (created_topics_.contains(topic)) return absl::OkStatus();
  // Only the replica holding the relay lease gets here, and creating a topic that exists is
  // success: a takeover in the middle only asks once more.
  absl::Status created = producer_->CreateTopic(topic, absl::Seconds(10));
  if (!created.ok()) {
    log::Warn("outbox: cannot create topic; its aggregates' events wait",
              {{"topic", topic}, {"error", created.ToString()}});
    BackOffTopic(topic, created);
    return created;
  }
  created_topics_.insert(topic);
  return absl::OkStatus();
}

void OutboxRelay::BackOffTopic(const std::string& topic, const absl::Status& error) {
  auto failed = failed_topics_.find(topic);
  const absl::Duration backoff =
      failed == failed_topics_.end()
          ? options_.topic_retry_initial
          : std::min(failed->second.backoff * 2, options_.topic_retry_max);
  log::Warn("outbox: topic backs off",
            {{"topic", topic}, {"retry_in", absl::FormatDuration(backoff)}});
  failed_topics_[topic] = TopicFailure{error, backoff, absl::Now() + backoff};
  // A topic deleted since it was made is made again: creating one that exists is success.
  created_topics_.erase(topic);
}

std::string OutboxRelay::TopicsInBackoff() {
  std::vector<std::string> topics;
  const absl::Time now = absl::Now();
  for (const auto& [topic, failure] : failed_topics_) {
    if (now >= failure.retry_at) continue;
    // An array element quoted, as a topic name could hold any character.
    std::string quoted = "\"";
    for (char c : topic) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    topics.push_back(quoted + "\"");
  }
  return absl::StrCat("{", absl::StrJoin(topics, ","), "}");
}

bool OutboxRelay::EnsureProducer() {
  if (producer_ != nullptr && !producer_->fatal() && !producer_->TlsFilesChanged()) return true;
  if (producer_ != nullptr) {
    // librdkafka 2.0's idempotent producer can fail fatally after a disconnect, and a producer
    // keeps the TLS files it was made with: a fresh producer resumes, and the rows that were not
    // acknowledged drive the retry.
    if (producer_->fatal()) {
      log::Warn("outbox: replacing Kafka producer after a fatal error");
    } else {
      log::Info("outbox: replacing Kafka producer: its TLS files changed");
    }
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
                  [&] { return g_generation != seen || stopping(); });
}

void OutboxRelay::Run() {
  while (!stopping()) {
    try {
      pqxx::connection conn(options_.pg_url);
      RunConnected(conn);
    } catch (const std::exception& e) {
      log::Warn("outbox relay: database error; reconnecting", {{"error", e.what()}});
    }
    StepDown(nullptr);
    SleepFor(absl::Seconds(1));
  }
  producer_.reset();
}

void OutboxRelay::StepDown(pqxx::connection* conn) {
  if (leader_) {
    log::Info("outbox relay: this replica stops publishing", {{"topic", options_.topic}});
  }
  leader_ = false;
  leader_gauge_->Set(0);
  // The leader's gauges speak for the service; a replica that does not publish reports none, so
  // that an aggregation over replicas is not held up by what one saw when it last led.
  pending_->Set(0);
  oldest_pending_age_->Set(0);
  // Acknowledged rows may go whoever leads (the next leader would only send them again).
  if (conn != nullptr) DeleteAcknowledged(*conn);
}

void OutboxRelay::RunConnected(pqxx::connection& conn) {
  // This connection only reads the outbox and deletes published rows. Losing a delete in a crash
  // only re-sends events, which consumers drop by event id; an fsync per batch would cost more.
  conn.set_variable("synchronous_commit", "off");
  // Between vacuums the outbox is mostly dead rows (published and deleted). Seeing few live rows,
  // the planner read the whole table and sorted it for every batch — a hundred full scans a
  // second under load; the primary key's order is what the relay wants.
  conn.set_variable("enable_seqscan", "off");
  auto last_gauges = std::chrono::steady_clock::now() - std::chrono::hours(1);
  while (!stopping()) {
    // The fence: no batch starts unless the lease holds by this replica's clock.
    if (!lease_.KeepAlive(conn)) {
      if (leader_) StepDown(&conn);
      // Another replica publishes; local commits are no reason to ask again sooner.
      SleepFor(std::min(absl::Seconds(1), lease_.retry_interval()));
      continue;
    }
    if (!leader_) {
      leader_ = true;
      leader_gauge_->Set(1);
      log::Info("outbox relay: this replica publishes now", {{"topic", options_.topic}});
    }
    if (!EnsureProducer()) {
      SleepFor(absl::Seconds(1));
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
    if (read < options_.batch_size && !stopping()) {
      WaitForWork(generation, options_.idle_poll);
      // Woken by a commit: let the next batch gather what commits meanwhile.
      const auto next_start = batch_start + absl::ToChronoNanoseconds(options_.min_batch_interval);
      const auto now_after_wait = std::chrono::steady_clock::now();
      if (read > 0 && now_after_wait < next_start) {
        SleepFor(absl::FromChrono(next_start - now_after_wait));
      }
    }
  }
  DeleteAcknowledged(conn);
  lease_.Release(conn);
}

pqxx::result OutboxRelay::ReadNextBatch(pqxx::connection& conn) {
  const std::string columns =
      "SELECT position, id::text, aggregatetype, aggregateid, type, payload, sequence, " +
      EpochMicros("occurred_at") + ", producer, traceparent, topic FROM outbox ";
  const std::string waiting_topics = TopicsInBackoff();
  last_read_skipped_ = waiting_topics != "{}";
  pqxx::result rows;
  if (!last_read_skipped_) {
    conn.prepare("techtrade_outbox_next",
                 "WITH published AS (DELETE FROM outbox WHERE position = ANY($1::bigint[])) " +
                     columns + "WHERE position <> ALL($1::bigint[]) ORDER BY position LIMIT $2");
    pqxx::nontransaction tx(conn);
    // The SELECT sees the rows as before the DELETE, hence the filter.
    rows = tx.exec_prepared("techtrade_outbox_next", acknowledged_, options_.batch_size);
  } else {
    // The aggregates waiting for a topic would otherwise fill every batch once they are more
    // than a batch, and stall the rest again. Finding them costs a pass over the outbox, paid
    // only while a topic cannot be created.
    conn.prepare("techtrade_outbox_next_skipping",
                 "WITH published AS (DELETE FROM outbox WHERE position = ANY($1::bigint[])), "
                 "waiting AS (SELECT DISTINCT aggregateid FROM outbox WHERE topic = "
                 "ANY($3::text[])) " +
                     columns +
                     "WHERE position <> ALL($1::bigint[]) AND aggregateid NOT IN (SELECT "
                     "aggregateid FROM waiting) ORDER BY position LIMIT $2");
    pqxx::nontransaction tx(conn);
    rows = tx.exec_prepared("techtrade_outbox_next_skipping", acknowledged_, options_.batch_size,
                            waiting_topics);
  }
  acknowledged_ = "{}";
  return rows;
}

void OutboxRelay::Produce(const pqxx::result& rows, std::vector<BatchRow>& batch) {
  // Aggregates with a row that cannot go in this batch: their later rows wait with it, so that
  // each aggregate's events stay in order, on every topic. A deal's service-topic rows wait for
  // its partner's topic too: both streams carry one sequence, and the partner's is hash-chained,
  // so neither may run ahead of the other with a gap.
  absl::flat_hash_map<std::string, Held> held;
  // A row naming its own topic (a partner's stream) waits until that topic exists, and so does
  // every row of its event: the event's service-topic row, which comes first, included.
  absl::flat_hash_set<std::string> events_waiting;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!EnsureTopic(batch[i].topic).ok()) events_waiting.insert(rows[i][1].as<std::string>());
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const std::string& aggregate = batch[i].aggregate;
    const std::string& topic = batch[i].topic;
    if (auto it = held.find(aggregate); it != held.end()) {
      batch[i].held = it->second;
      continue;
    }
    if (events_waiting.contains(r[1].as<std::string>())) {
      batch[i].held = held[aggregate] = Held::kForTopic;
      continue;
    }
    pqxx::binarystring payload(r[5]);
    // docs/events.md, "Kafka record": each header repeats the envelope field of its name. Rows
    // written before the header columns existed have them empty.
    std::string producer = r[8].as<std::string>(), traceparent = r[9].as<std::string>();
    std::vector<KafkaHeader> headers = {
        {"event_id", r[1].as<std::string>()},
        {"event_type", r[4].as<std::string>()},
        {"aggregate_type", r[2].as<std::string>()},
        {"aggregate_id", aggregate},
        {"sequence", r[6].as<std::string>()},
        {"producer", producer.empty() ? options_.service : std::move(producer)},
    };
    if (!traceparent.empty()) headers.push_back({"traceparent", std::move(traceparent)});
    absl::Status enqueued =
        producer_->Produce(topic, aggregate, absl::string_view(payload.get(), payload.size()),
                           headers, &batch[i].result);
    if (enqueued.ok()) {
      batch[i].produced = true;
      continue;
    }
    log::Warn("outbox: produce failed", {{"topic", topic}, {"error", enqueued.ToString()}});
    if (enqueued.code() == absl::StatusCode::kResourceExhausted || producer_->fatal()) {
      // A full queue or a failed producer refuses every row alike: the rest waits for the next
      // batch, after the acknowledgements made room (or the producer was replaced).
      for (size_t j = i; j < rows.size(); ++j) {
        if (batch[j].held == Held::kNo) batch[j].held = Held::kRetrySoon;
      }
      return;
    }
    // Refused for this row or its topic alone (too large, unknown topic): the others go on.
    batch[i].held = held[aggregate] = Held::kRetrySoon;
  }
}

void OutboxRelay::AwaitAcknowledgements(pqxx::connection& conn,
                                        const std::vector<BatchRow>& batch) {
  auto outstanding = [&] {
    for (const BatchRow& row : batch) {
      if (row.produced && row.result.code() == absl::StatusCode::kUnknown) return true;
    }
    return false;
  };
  // Renewed TLS files while acknowledgements wait: a producer whose old certificate still works
  // finishes its batch and is replaced before the next; one the brokers refuse (the old
  // certificate expired) would wait for ever, so after a grace the rest is sent again by a
  // producer with the new files.
  constexpr absl::Duration kTlsRenewalGrace = absl::Seconds(5);
  std::optional<absl::Time> tls_changed_at;
  while (outstanding() && !producer_->fatal()) {
    producer_->Poll(absl::Milliseconds(50));
    if (producer_->TlsFilesChanged()) {
      const absl::Time now = absl::Now();
      if (!tls_changed_at.has_value()) tls_changed_at = now;
      if (now - *tls_changed_at > kTlsRenewalGrace) {
        producer_->Purge();
        break;
      }
    }
    if (stopping() && NowNanos() > hard_stop_at_ns_) {
      producer_->Purge();  // reports the rest as failed; they stay unpublished
      break;
    }
    // Another replica may be granted the lease soon: the rows not acknowledged yet stay for it.
    if (!lease_.KeepAlive(conn)) {
      producer_->Purge();
      break;
    }
  }
}

void OutboxRelay::Settle(const std::vector<BatchRow>& batch) {
  std::vector<std::string> acked;
  int64_t now_us = absl::ToUnixMicros(absl::Now());
  bool retry_soon = false;
  // Aggregates with a row that stays. Their later rows stay too, even those the broker took: the
  // outbox never deletes past an event still to be published, so a partner's hash-chained stream
  // and the service's topic get every event; the copies sent again are dropped by event id.
  absl::flat_hash_set<std::string> unsettled;
  absl::flat_hash_map<std::string, absl::Status> refusing;  // topic: the first refusal
  for (const BatchRow& row : batch) {
    if (row.produced && row.result.ok() && !unsettled.contains(row.aggregate)) {
      acked.push_back(absl::StrCat(row.position));
      publish_latency_->Observe(static_cast<double>(now_us - row.occurred_us) / 1e6);
      if (row.topic != options_.topic) failed_topics_.erase(row.topic);
      continue;
    }
    unsettled.insert(row.aggregate);
    if (row.produced && !row.result.ok()) {
      failed_->Increment();
      // A partner's topic refusing deliveries (an ACL removed, the topic deleted) backs off like
      // one that cannot be created: its aggregates are not sent again with every batch.
      if (row.topic != options_.topic && !stopping()) refusing.emplace(row.topic, row.result);
    }
    // Rows waiting for a topic are paced by its back-off, and the next reads skip them.
    if (row.held != Held::kForTopic) retry_soon = true;
    if (last_unpublished_++ == 0) oldest_unpublished_us_ = row.occurred_us;
  }
  for (const auto& [topic, error] : refusing) BackOffTopic(topic, error);
  rows_deleted_.fetch_add(static_cast<int64_t>(acked.size()), std::memory_order_relaxed);
  if (!acked.empty()) {
    // Kafka is the log from here on: the rows go, with the next read (or DeleteAcknowledged), which
    // keeps the table and its index small.
    acknowledged_ = absl::StrCat("{", absl::StrJoin(acked, ","), "}");
    published_->Increment(static_cast<double>(acked.size()));
  }
  if (retry_soon && !stopping()) {
    log::Warn("outbox: some events not acknowledged; retrying",
              {{"acknowledged", acked.size()}, {"read", batch.size()}});
    SleepFor(absl::Milliseconds(200));
  }
}

int OutboxRelay::PublishBatch(pqxx::connection& conn) {
  pqxx::result rows = ReadNextBatch(conn);
  last_read_ = static_cast<int>(rows.size());
  last_unpublished_ = 0;
  oldest_unpublished_us_ = 0;
  if (rows.empty()) return 0;

  std::vector<BatchRow> batch;
  batch.reserve(rows.size());
  for (const auto& r : rows) {
    batch.push_back(BatchRow{.position = r[0].as<int64_t>(),
                             .occurred_us = r[7].as<int64_t>(),
                             .aggregate = r[3].as<std::string>(),
                             .topic = r[10].is_null() ? options_.topic : r[10].as<std::string>()});
  }
  if (!failpoint::Hit("outbox.drop").ok()) {
    // Breaks the outbox's promise on purpose (for the fault checker's own tests): the rows go
    // with the next read, never published.
    std::vector<std::string> dropped;
    for (const BatchRow& row : batch) dropped.push_back(absl::StrCat(row.position));
    acknowledged_ = absl::StrCat("{", absl::StrJoin(dropped, ","), "}");
    return static_cast<int>(rows.size());
  }
  if (!failpoint::Hit("outbox.producer_fatal").ok()) {
    producer_->InjectFatalError("failpoint outbox.producer_fatal");
  }
  Produce(rows, batch);
  AwaitAcknowledgements(conn, batch);
  // Acknowledged, not yet deleted. `error`: the rows stay and are published again (consumers
  // drop the copies by event id).
  if (!failpoint::Hit("outbox.after_ack").ok()) return static_cast<int>(rows.size());
  Settle(batch);
  return static_cast<int>(rows.size());
}

void OutboxRelay::DeleteAcknowledged(pqxx::connection& conn) {
  if (acknowledged_ == "{}") return;
  pqxx::nontransaction tx(conn);
  tx.exec_params("DELETE FROM outbox WHERE position = ANY($1::bigint[])", acknowledged_);
  acknowledged_ = "{}";
}

void OutboxRelay::RefreshLagGauges(pqxx::connection& conn) {
  if (last_read_ < options_.batch_size && !last_read_skipped_) {
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
