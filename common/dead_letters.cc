#include "common/dead_letters.h"

#include <google/protobuf/util/time_util.h>

#include <optional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/paging.h"
#include "common/pg_transactor.h"
#include "common/status.h"

namespace techtrade {
namespace {

using google::protobuf::util::TimeUtil;

ops::v1::DeadLetterStatus StatusFromText(const std::string& text) {
  if (text == "UNRESOLVED") return ops::v1::DEAD_LETTER_STATUS_UNRESOLVED;
  if (text == "RESOLVED") return ops::v1::DEAD_LETTER_STATUS_RESOLVED;
  if (text == "DISCARDED") return ops::v1::DEAD_LETTER_STATUS_DISCARDED;
  return ops::v1::DEAD_LETTER_STATUS_UNSPECIFIED;
}

std::string TextOf(ops::v1::DeadLetterStatus status) {
  switch (status) {
    case ops::v1::DEAD_LETTER_STATUS_UNRESOLVED:
      return "UNRESOLVED";
    case ops::v1::DEAD_LETTER_STATUS_RESOLVED:
      return "RESOLVED";
    case ops::v1::DEAD_LETTER_STATUS_DISCARDED:
      return "DISCARDED";
    default:
      return "";
  }
}

const std::string& Columns() {
  static const std::string* columns = new std::string(absl::StrCat(
      "id, consumer, topic, partition, \"offset\", coalesce(event_id, ''), error, status, "
      "attempts, ",
      EpochMicros("created_at"), ", ", EpochMicros("last_attempt_at"), ", ",
      EpochMicros("resolved_at"),
      ", coalesce(resolved_by, ''), coalesce(resolution, ''), payload"));
  return *columns;
}

// A row of Columns() as a DeadLetter; with the envelope (or raw message) when `full`.
ops::v1::DeadLetter FromRow(const pqxx::row& row, bool full) {
  ops::v1::DeadLetter d;
  d.set_id(row[0].as<int64_t>());
  d.set_consumer(row[1].as<std::string>());
  d.set_topic(row[2].as<std::string>());
  d.set_partition(row[3].as<int32_t>());
  d.set_offset(row[4].as<int64_t>());
  d.set_event_id(row[5].as<std::string>());
  d.set_error(row[6].as<std::string>());
  d.set_status(StatusFromText(row[7].as<std::string>()));
  d.set_attempts(row[8].as<int32_t>());
  *d.mutable_parked_time() = TimeUtil::MicrosecondsToTimestamp(row[9].as<int64_t>());
  *d.mutable_last_attempt_time() = TimeUtil::MicrosecondsToTimestamp(row[10].as<int64_t>());
  if (!row[11].is_null()) {
    *d.mutable_resolved_time() = TimeUtil::MicrosecondsToTimestamp(row[11].as<int64_t>());
  }
  d.set_resolved_by(row[12].as<std::string>());
  d.set_resolution(row[13].as<std::string>());
  if (row[14].is_null()) return d;
  pqxx::binarystring bytes(row[14]);
  techtrade::common::v1::EventEnvelope envelope;
  if (!d.event_id().empty() &&
      envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    d.set_event_type(envelope.event_type());
    d.set_aggregate_type(envelope.aggregate_type());
    d.set_aggregate_id(envelope.aggregate_id());
    if (full) *d.mutable_envelope() = std::move(envelope);
  } else if (full) {
    d.set_raw_message(bytes.str());
  }
  return d;
}

// The dead letter `id`, locked for the rest of `tx`; NOT_FOUND if there is none, and
// FAILED_PRECONDITION unless it is UNRESOLVED.
absl::StatusOr<ops::v1::DeadLetter> LockUnresolved(Tx& tx, int64_t id) {
  pqxx::result rows = tx.exec_params(
      absl::StrCat("SELECT ", Columns(), " FROM inbox_dead_letter WHERE id = $1 FOR UPDATE"), id);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("id: no dead letter ", id));
  ops::v1::DeadLetter d = FromRow(rows[0], /*full=*/true);
  if (d.status() != ops::v1::DEAD_LETTER_STATUS_UNRESOLVED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "id: dead letter ", id, " is already ", TextOf(d.status()), " (", d.resolution(), ")"));
  }
  return d;
}

// Dead letter `id` as it is now in `tx`, without its envelope (what a mutation answers).
ops::v1::DeadLetter Reread(Tx& tx, int64_t id) {
  pqxx::result rows = tx.exec_params(
      absl::StrCat("SELECT ", Columns(), " FROM inbox_dead_letter WHERE id = $1"), id);
  return FromRow(rows.at(0), /*full=*/false);
}

}  // namespace

void ParkDeadLetter(Tx& tx, const ParkedEvent& parked) {
  tx.exec_params(
      "INSERT INTO inbox_dead_letter (consumer, topic, partition, \"offset\", event_id, error, "
      "payload, attempts) VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $8)",
      parked.consumer, parked.topic, parked.partition, parked.offset, parked.event_id, parked.error,
      pqxx::binarystring(parked.message), parked.attempts);
}

DeadLetters::DeadLetters(PgPool& db, Metrics& metrics)
    : db_(db),
      transactor_(db),
      service_(metrics.service()),
      gauge_(prometheus::BuildGauge()
                 .Name("techtrade_inbox_dead_letters")
                 .Help("Events a consumer could not apply and parked, neither replayed nor "
                       "discarded yet, by consumer and topic")
                 .Register(metrics.registry())) {}

void DeadLetters::AddConsumer(EventConsumer& consumer) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    consumers_[consumer.consumer()] = &consumer;
    for (const std::string& topic : consumer.topics()) {
      auto key = std::make_pair(consumer.consumer(), topic);
      if (series_.count(key) == 0) {
        series_[key] =
            &gauge_.Add({{"service", service_}, {"consumer", key.first}, {"topic", key.second}});
      }
    }
  }
  consumer.OnDeadLettered([this] { RefreshGaugeAfterChange(); });
}

absl::Status DeadLetters::RefreshGauge() {
  using Counts = std::vector<std::pair<std::pair<std::string, std::string>, int64_t>>;
  TT_ASSIGN_OR_RETURN(Counts counts, InTransaction(db_, [](Tx& tx) -> absl::StatusOr<Counts> {
                        Counts out;
                        for (const pqxx::row& row :
                             tx.exec("SELECT consumer, topic, count(*) FROM inbox_dead_letter "
                                     "WHERE status = 'UNRESOLVED' GROUP BY consumer, topic")) {
                          out.push_back({{row[0].as<std::string>(), row[1].as<std::string>()},
                                         row[2].as<int64_t>()});
                        }
                        return out;
                      }));
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [key, series] : series_) series->Set(0);
  for (const auto& [key, count] : counts) {
    prometheus::Gauge*& series = series_[key];
    if (series == nullptr) {
      series = &gauge_.Add({{"service", service_}, {"consumer", key.first}, {"topic", key.second}});
    }
    series->Set(static_cast<double>(count));
  }
  return absl::OkStatus();
}

void DeadLetters::RefreshGaugeAfterChange() {
  if (absl::Status s = RefreshGauge(); !s.ok()) {
    log::Warn("dead-letter gauge not refreshed", {{"error", s.ToString()}});
  }
}

EventConsumer* DeadLetters::FindConsumer(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = consumers_.find(name);
  return it == consumers_.end() ? nullptr : it->second;
}

absl::StatusOr<ops::v1::ListDeadLettersResponse> DeadLetters::List(
    const ops::v1::ListDeadLettersRequest& request) {
  TT_ASSIGN_OR_RETURN(int limit, ResolvePageSize(request.page_size()));
  TT_ASSIGN_OR_RETURN(int64_t after, DecodePageToken("ListDeadLetters", request));
  return InTransaction(db_, [&](Tx& tx) -> absl::StatusOr<ops::v1::ListDeadLettersResponse> {
    pqxx::result rows = tx.exec_params(
        absl::StrCat("SELECT ", Columns(),
                     " FROM inbox_dead_letter WHERE id > $1 AND ($2 = '' OR status = $2) "
                     "AND ($3 = '' OR topic = $3) AND ($4 = '' OR consumer = $4) "
                     "ORDER BY id LIMIT $5"),
        after, TextOf(request.status()), request.topic(), request.consumer(), limit + 1);
    ops::v1::ListDeadLettersResponse response;
    for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
      *response.add_dead_letters() = FromRow(rows[i], /*full=*/false);
    }
    if (static_cast<int>(rows.size()) > limit) {
      response.set_next_page_token(
          EncodePageToken("ListDeadLetters", request,
                          response.dead_letters(response.dead_letters_size() - 1).id()));
    }
    return response;
  });
}

absl::StatusOr<ops::v1::DeadLetter> DeadLetters::Get(int64_t id) {
  return InTransaction(db_, [&](Tx& tx) -> absl::StatusOr<ops::v1::DeadLetter> {
    pqxx::result rows = tx.exec_params(
        absl::StrCat("SELECT ", Columns(), " FROM inbox_dead_letter WHERE id = $1"), id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("id: no dead letter ", id));
    return FromRow(rows[0], /*full=*/true);
  });
}

absl::StatusOr<ops::v1::DeadLetter> DeadLetters::Replay(
    const CallContext& call, const ops::v1::ReplayDeadLetterRequest& request) {
  const int64_t id = request.id();
  // Set when the consumer's own path failed (as opposed to the replay's checks): that failure is
  // the dead letter's new error.
  std::optional<absl::Status> refused;
  absl::StatusOr<ops::v1::DeadLetter> replayed = RunIdempotent<ops::v1::DeadLetter>(
      transactor_, IdempotencyKeyFor(call, request.request_id(), "ReplayDeadLetter"), request,
      [&](TxAccess& access, UnitOfWork&) -> absl::StatusOr<ops::v1::DeadLetter> {
        Tx& tx = access.tx;
        refused.reset();
        TT_ASSIGN_OR_RETURN(ops::v1::DeadLetter d, LockUnresolved(tx, id));
        EventConsumer* consumer = FindConsumer(d.consumer());
        if (consumer == nullptr) {
          return absl::FailedPreconditionError(absl::StrCat(
              "id: dead letter ", id, " belongs to consumer '", d.consumer(),
              "', which does not run in this ", service_, " process; replay it where it runs"));
        }
        if (!d.has_envelope()) {
          return absl::FailedPreconditionError(
              absl::StrCat("id: dead letter ", id,
                           " is not a techtrade EventEnvelope and cannot be replayed; discard it"));
        }
        absl::StatusOr<bool> applied;
        try {
          applied = consumer->ApplyOnce(tx, d.envelope());
        } catch (const std::exception& e) {
          refused = absl::InternalError(e.what());
          throw;
        }
        if (!applied.ok()) {
          refused = applied.status();
          return applied.status();
        }
        // Every copy of the event this consumer parked is settled by it (a crash between parking
        // and the offset commit parks a redelivery again).
        tx.exec_params(
            "UPDATE inbox_dead_letter SET status = 'RESOLVED', "
            "attempts = attempts + CASE WHEN id = $1 THEN 1 ELSE 0 END, "
            "last_attempt_at = CASE WHEN id = $1 THEN now() ELSE last_attempt_at END, "
            "resolved_at = now(), resolved_by = $2, resolution = $3 "
            "WHERE status = 'UNRESOLVED' AND (id = $1 OR (consumer = $4 AND event_id = $5))",
            id, call.caller.api_client_id(),
            *applied ? std::string("replayed")
                     : std::string("replayed: the consumer had applied the event already"),
            d.consumer(), d.event_id());
        return Reread(tx, id);
      });
  if (replayed.ok()) {
    log::Info("dead letter replayed", {{"id", id}, {"by", call.caller.api_client_id()}});
    RefreshGaugeAfterChange();
    return replayed;
  }
  const absl::Status& failure = replayed.status();
  if (!refused.has_value() || absl::StartsWith(failure.message(), "request_id:")) return failure;
  RecordFailedReplay(id, failure);
  if (failure.code() == absl::StatusCode::kUnavailable) return failure;
  return absl::FailedPreconditionError(
      absl::StrCat("id: dead letter ", id, " failed again and stays parked: ", failure.ToString()));
}

void DeadLetters::RecordFailedReplay(int64_t id, const absl::Status& error) {
  absl::Status recorded = InTransaction(db_, [&](Tx& tx) -> absl::Status {
    tx.exec_params(
        "UPDATE inbox_dead_letter SET attempts = attempts + 1, last_attempt_at = now(), "
        "error = $2 WHERE id = $1 AND status = 'UNRESOLVED'",
        id, error.ToString());
    return absl::OkStatus();
  });
  if (!recorded.ok()) {
    log::Warn("failed replay not recorded", {{"id", id}, {"error", recorded.ToString()}});
  }
  log::Warn("dead letter replay failed", {{"id", id}, {"error", error.ToString()}});
}

absl::StatusOr<ops::v1::DeadLetter> DeadLetters::Discard(
    const CallContext& call, const ops::v1::DiscardDeadLetterRequest& request) {
  const int64_t id = request.id();
  absl::StatusOr<ops::v1::DeadLetter> discarded = RunIdempotent<ops::v1::DeadLetter>(
      transactor_, IdempotencyKeyFor(call, request.request_id(), "DiscardDeadLetter"), request,
      [&](TxAccess& access, UnitOfWork&) -> absl::StatusOr<ops::v1::DeadLetter> {
        Tx& tx = access.tx;
        TT_RETURN_IF_ERROR(LockUnresolved(tx, id).status());
        tx.exec_params(
            "UPDATE inbox_dead_letter SET status = 'DISCARDED', resolved_at = now(), "
            "resolved_by = $2, resolution = $3 WHERE id = $1",
            id, call.caller.api_client_id(), request.reason());
        return Reread(tx, id);
      });
  if (discarded.ok()) {
    log::Info("dead letter discarded",
              {{"id", id}, {"by", call.caller.api_client_id()}, {"reason", request.reason()}});
    RefreshGaugeAfterChange();
  }
  return discarded;
}

}  // namespace techtrade
