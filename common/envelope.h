// The event envelope as bytes (docs/events.md): building one from what the outbox is given,
// decoding one a consumer or a verifier reads, and the hash that chains an aggregate's events.
// Pure: no I/O, so the outbox, the in-memory unit of work of handler tests and the offline
// verifier (common/attestation.h) build and read the same bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "techtrade/common/v1/common.pb.h"

namespace techtrade {

// What an envelope says besides its fresh event id and time.
struct EnvelopeFields {
  std::string aggregate_type;
  std::string aggregate_id;
  int64_t sequence = 0;
  const google::protobuf::Message* payload = nullptr;
  std::string causation_request_id;
  std::string traceparent;  // empty or invalid: a new trace
  // Unset (nullptr or no api_client_id): the producer, as a system actor.
  const common::v1::Actor* actor = nullptr;
  // SHA-256 of the aggregate's previous envelope (EnvelopeHash); empty: none.
  std::string previous_event_hash;
};

// The envelope of a new event at `occurred_us` (Unix microseconds), with a new event id.
common::v1::EventEnvelope BuildEnvelope(absl::string_view producer, const EnvelopeFields& fields,
                                        int64_t occurred_us);

// SHA-256 (32 raw bytes) of an envelope's bytes exactly as published: the link of a hash chain.
std::string EnvelopeHash(absl::string_view envelope_bytes);

// Parses a Kafka record's value as an EventEnvelope with the fields every event has (event_id,
// event_type, aggregate_type, aggregate_id, sequence ≥ 1, payload); INVALID_ARGUMENT naming the
// first one missing, or "envelope: not a techtrade EventEnvelope".
absl::StatusOr<common::v1::EventEnvelope> DecodeEnvelope(absl::string_view bytes);

}  // namespace techtrade
