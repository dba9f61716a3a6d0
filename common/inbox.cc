#include "common/inbox.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/dead_letters.h"
#include "common/failpoint.h"
#include "common/log.h"
#include "common/status.h"

namespace techtrade {

bool ClaimInboxEvent(Tx& tx, absl::string_view consumer, absl::string_view event_id) {
  // Breaks exactly-once on purpose, for the fault checker's own tests.
  if (!failpoint::Hit("inbox.skip_claim").ok()) return true;
  pqxx::result r = tx.exec_params(
      "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
      std::string(consumer), std::string(event_id));
  return r.affected_rows() == 1;
}

ConsumerLagGauge::ConsumerLagGauge(Metrics& metrics, std::string consumer_group)
    : family_(prometheus::BuildGauge()
                  .Name("techtrade_inbox_consumer_lag")
                  .Help("Events of a partition assigned to this consumer group member that it "
                        "has not applied yet (librdkafka's consumer_lag_stored, else "
                        "consumer_lag), by consumer group, topic and partition")
                  .Register(metrics.registry())),
      service_(metrics.service()),
      consumer_group_(std::move(consumer_group)) {}

ConsumerLagGauge::~ConsumerLagGauge() { Clear(); }

void ConsumerLagGauge::Report(const std::string& statistics_json) {
  absl::StatusOr<std::vector<PartitionLag>> lags = ConsumerLagFromStatistics(statistics_json);
  if (!lags.ok()) {
    log::Warn("consumer: unreadable kafka statistics",
              {{"consumer_group", consumer_group_}, {"error", lags.status().ToString()}});
    return;
  }
  Set(*lags);
}

void ConsumerLagGauge::Set(const std::vector<PartitionLag>& lags) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<std::pair<std::string, int32_t>, prometheus::Gauge*> current;
  for (const PartitionLag& lag : lags) {
    auto key = std::make_pair(lag.topic, lag.partition);
    auto it = series_.find(key);
    prometheus::Gauge* gauge = nullptr;
    if (it != series_.end()) {
      gauge = it->second;
      series_.erase(it);
    } else {
      gauge = &family_.Add({{"service", service_},
                            {"consumer_group", consumer_group_},
                            {"topic", lag.topic},
                            {"partition", absl::StrCat(lag.partition)}});
    }
    gauge->Set(static_cast<double>(lag.events));
    current[key] = gauge;
  }
  // What is left was in the previous report only.
  for (const auto& [key, gauge] : series_) family_.Remove(gauge);
  series_ = std::move(current);
}

void ConsumerLagGauge::Clear() { Set({}); }

EventConsumer::EventConsumer(EventConsumerOptions options, PgPool& db, EventHandler handler)
    : LoopWorker(absl::StrCat("consumer ", options.consumer)),
      options_(std::move(options)),
      db_(db),
      handler_(std::move(handler)) {
  if (options_.metrics != nullptr) {
    auto group = options_.overrides.find("group.id");
    lag_ = std::make_unique<ConsumerLagGauge>(
        *options_.metrics, group != options_.overrides.end() ? group->second : options_.consumer);
  }
}

EventConsumer::~EventConsumer() { Stop(); }

bool EventConsumer::Wanted(const techtrade::common::v1::EventEnvelope& event) const {
  return options_.event_types.empty() ||
         std::find(options_.event_types.begin(), options_.event_types.end(), event.event_type()) !=
             options_.event_types.end();
}

absl::StatusOr<bool> EventConsumer::ApplyOnce(Tx& tx,
                                              const techtrade::common::v1::EventEnvelope& event) {
  if (!ClaimInboxEvent(tx, options_.consumer, event.event_id())) return false;
  // `error`: the handler refuses the event (not a transient failure), so that a test can make
  // one end as a dead letter.
  if (!failpoint::Hit("inbox.apply").ok()) {
    return absl::FailedPreconditionError("failpoint inbox.apply: the handler refused the event");
  }
  TT_RETURN_IF_ERROR(handler_(tx, event));
  return true;
}

void EventConsumer::Run() {
  while (!stopping()) {
    KafkaConsumer::StatisticsCallback on_statistics;
    if (lag_ != nullptr) {
      on_statistics = [this](const std::string& json) { lag_->Report(json); };
    }
    absl::StatusOr<std::unique_ptr<KafkaConsumer>> consumer =
        KafkaConsumer::Create(options_.brokers, options_.consumer, options_.topics,
                              options_.overrides, std::move(on_statistics));
    if (!consumer.ok()) {
      log::Error("consumer: cannot start",
                 {{"consumer", options_.consumer}, {"error", consumer.status().ToString()}});
      SleepFor(absl::Seconds(1));
      continue;
    }
    std::vector<std::unique_ptr<RdKafka::Message>> batch;
    while (!stopping()) {
      // A consumer keeps the TLS files it was made with: closed (committing what it stored) and
      // made again when they change.
      if ((*consumer)->TlsFilesChanged()) {
        log::Info("consumer: replacing Kafka consumer: its TLS files changed",
                  {{"consumer", options_.consumer}});
        break;
      }
      // Whatever has arrived, up to max_batch, without waiting once the first one is there.
      batch.clear();
      for (absl::Duration wait = absl::Milliseconds(200);
           static_cast<int>(batch.size()) < options_.max_batch; wait = absl::ZeroDuration()) {
        std::unique_ptr<RdKafka::Message> message = (*consumer)->Poll(wait);
        if (message == nullptr) break;
        batch.push_back(std::move(message));
      }
      if (batch.empty()) continue;
      if (ProcessBatch(**consumer, batch)) continue;
      // Something in the batch failed: one event at a time, each with its own outcome.
      for (const auto& message : batch) {
        if (stopping()) break;
        Process(**consumer, *message);
      }
    }
    // Out of the group: no partition is this member's any more.
    batch.clear();
    consumer->reset();
    if (lag_ != nullptr) lag_->Clear();
  }
}

bool EventConsumer::ProcessBatch(KafkaConsumer& consumer,
                                 const std::vector<std::unique_ptr<RdKafka::Message>>& batch) {
  if (batch.size() == 1) return false;
  std::vector<techtrade::common::v1::EventEnvelope> events(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!events[i].ParseFromArray(batch[i]->payload(), static_cast<int>(batch[i]->len())) ||
        events[i].event_id().empty()) {
      return false;
    }
  }
  if (std::none_of(events.begin(), events.end(), [&](const auto& e) { return Wanted(e); })) {
    for (const auto& message : batch) (void)consumer.Commit(*message);
    return true;
  }
  absl::Status status = InTransaction(db_, [&](Tx& tx) -> absl::Status {
    for (const auto& event : events) {
      if (!Wanted(event)) continue;
      TT_RETURN_IF_ERROR(ApplyOnce(tx, event).status());
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return false;
  log::Debug("consumer: events applied in one transaction",
             {{"consumer", options_.consumer}, {"events", batch.size()}});
  // `error`: the offsets stay uncommitted, and the events come again after a restart.
  if (!failpoint::Hit("inbox.after_commit").ok()) return true;
  for (const auto& message : batch) {
    if (absl::Status committed = consumer.Commit(*message); !committed.ok()) {
      log::Warn("consumer: offset commit failed", {{"error", committed.ToString()}});
    }
  }
  return true;
}

void EventConsumer::Process(KafkaConsumer& consumer, const RdKafka::Message& message) {
  techtrade::common::v1::EventEnvelope event;
  absl::Status status;
  int failures = 0;
  if (!event.ParseFromArray(message.payload(), static_cast<int>(message.len())) ||
      event.event_id().empty()) {
    status = absl::InvalidArgumentError("not a techtrade EventEnvelope");
  } else {
    while (!stopping() && Wanted(event)) {
      status =
          InTransaction(db_, [&](Tx& tx) -> absl::Status { return ApplyOnce(tx, event).status(); });
      if (status.ok()) break;
      // The database being away is no reason to give up on an event: wait for it. Any other
      // failure is retried a few times, then parked.
      bool transient = status.code() == absl::StatusCode::kUnavailable ||
                       status.code() == absl::StatusCode::kAborted;
      if (!transient && ++failures >= options_.max_attempts) break;
      log::Warn("consumer: event not applied; retrying", {{"consumer", options_.consumer},
                                                          {"event_id", event.event_id()},
                                                          {"error", status.ToString()}});
      SleepFor(absl::Milliseconds(100) * (1 << std::min(failures + 1, 5)));
    }
  }
  // Not applied and shutting down: the offset stays, the event is redelivered after restart.
  if (!status.ok() && stopping()) return;
  if (!status.ok()) {
    // Parked, not lost: an operator inspects, replays or discards it (common/dead_letters.h).
    absl::Status parked;
    do {
      parked = InTransaction(db_, [&](Tx& tx) -> absl::Status {
        ParkDeadLetter(
            tx, {.consumer = options_.consumer,
                 .topic = message.topic_name(),
                 .partition = message.partition(),
                 .offset = message.offset(),
                 .event_id = event.event_id(),
                 .error = status.ToString(),
                 .message = std::string(static_cast<const char*>(message.payload()), message.len()),
                 .attempts = std::max(failures, 1)});
        return absl::OkStatus();
      });
      if (!parked.ok()) SleepFor(absl::Seconds(1));
    } while (!parked.ok() && !stopping());
    if (!parked.ok()) return;
    log::Error("consumer: event dead-lettered", {{"consumer", options_.consumer},
                                                 {"offset", message.offset()},
                                                 {"error", status.ToString()}});
    if (on_dead_lettered_) on_dead_lettered_();
  }
  if (!failpoint::Hit("inbox.after_commit").ok()) return;
  if (absl::Status committed = consumer.Commit(message); !committed.ok()) {
    // The inbox makes the redelivery harmless.
    log::Warn("consumer: offset commit failed", {{"error", committed.ToString()}});
  }
}

}  // namespace techtrade
