// Dead letters: the events a consumer could not apply and parked in inbox_dead_letter
// (common/inbox.h), made visible and actionable — a gauge of the unresolved ones per consumer and
// topic, and what the operators' DeadLetterService (proto/techtrade/ops/v1/dead_letters.proto,
// common/dead_letter_service.h) does: list, inspect, replay through the consumer's own inbox
// path, or discard with a reason. Every write to inbox_dead_letter is here; rows are never
// deleted, so a resolved one stays on record with who resolved it, when and how.
#pragma once

#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/db.h"
#include "common/inbox.h"
#include "common/metrics.h"
#include "common/pg_transactor.h"
#include "common/server.h"
#include "techtrade/ops/v1/dead_letters.pb.h"

namespace techtrade {

// One event a consumer gives up on.
struct ParkedEvent {
  std::string consumer;
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string event_id;  // empty when the message was not an EventEnvelope
  std::string error;
  std::string message;  // the Kafka message value as consumed
  int attempts = 1;
};

// Records `parked` as an UNRESOLVED dead letter in `tx`.
void ParkDeadLetter(Tx& tx, const ParkedEvent& parked);

// The dead letters of one service's database, and the consumers of this process that can replay
// theirs. Thread-safe.
class DeadLetters {
 public:
  DeadLetters(PgPool& db, Metrics& metrics);

  // Makes `consumer`'s dead letters replayable here and shows them on the gauge from now on
  // (at 0 when there are none). Call before the consumer starts; it must outlive this object's
  // use.
  void AddConsumer(EventConsumer& consumer);

  // Reads the unresolved counts into the gauge techtrade_inbox_dead_letters{consumer,topic}.
  absl::Status RefreshGauge();

  absl::StatusOr<techtrade::ops::v1::ListDeadLettersResponse> List(
      const techtrade::ops::v1::ListDeadLettersRequest& request);
  // With its envelope (or raw message). NOT_FOUND for an unknown id.
  absl::StatusOr<techtrade::ops::v1::DeadLetter> Get(int64_t id);
  // See DeadLetterService.ReplayDeadLetter; idempotent by request_id.
  absl::StatusOr<techtrade::ops::v1::DeadLetter> Replay(
      const CallContext& call, const techtrade::ops::v1::ReplayDeadLetterRequest& request);
  // See DeadLetterService.DiscardDeadLetter; idempotent by request_id.
  absl::StatusOr<techtrade::ops::v1::DeadLetter> Discard(
      const CallContext& call, const techtrade::ops::v1::DiscardDeadLetterRequest& request);

 private:
  EventConsumer* FindConsumer(const std::string& name);
  // Refreshes the gauge after a change; a failure only leaves it for the next refresh.
  void RefreshGaugeAfterChange();
  // One more failed attempt for dead letter `id`, with its error.
  void RecordFailedReplay(int64_t id, const absl::Status& error);

  PgPool& db_;
  TxTransactor transactor_;  // the idempotent replays and discards
  const std::string service_;
  prometheus::Family<prometheus::Gauge>& gauge_;
  std::mutex mutex_;
  // (consumer, topic) → its series; guarded by mutex_
  std::map<std::pair<std::string, std::string>, prometheus::Gauge*> series_;
  std::map<std::string, EventConsumer*> consumers_;  // by name; guarded by mutex_
};

}  // namespace techtrade
