#include "common/envelope.h"

#include <openssl/sha.h>

#include "absl/time/clock.h"
#include "common/command.h"
#include "common/ids.h"
#include "common/status.h"
#include "common/trace.h"
#include "google/protobuf/util/time_util.h"

namespace techtrade {

common::v1::EventEnvelope BuildEnvelope(absl::string_view producer, const EnvelopeFields& fields,
                                        int64_t occurred_us) {
  common::v1::EventEnvelope envelope;
  envelope.set_event_id(NewUuid());
  envelope.set_event_type(fields.payload->GetDescriptor()->full_name());
  envelope.set_aggregate_type(fields.aggregate_type);
  envelope.set_aggregate_id(fields.aggregate_id);
  envelope.set_sequence(fields.sequence);
  *envelope.mutable_occurred_at() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(occurred_us);
  envelope.set_producer(std::string(producer));
  // Every event names a trace: one without a request or a causing event starts its own.
  envelope.mutable_trace()->set_traceparent(TraceparentOrNew(fields.traceparent));
  envelope.set_causation_request_id(fields.causation_request_id);
  envelope.mutable_payload()->PackFrom(*fields.payload);
  if (fields.actor != nullptr && !fields.actor->api_client_id().empty()) {
    *envelope.mutable_actor() = *fields.actor;
  } else {
    *envelope.mutable_actor() = SystemActor(producer);
  }
  envelope.set_previous_event_hash(fields.previous_event_hash);
  return envelope;
}

std::string EnvelopeHash(absl::string_view envelope_bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(envelope_bytes.data()), envelope_bytes.size(),
         digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

absl::StatusOr<common::v1::EventEnvelope> DecodeEnvelope(absl::string_view bytes) {
  common::v1::EventEnvelope envelope;
  if (!envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return FieldError("envelope", "not a techtrade EventEnvelope");
  }
  if (envelope.event_id().empty()) return FieldError("event_id", "missing");
  if (envelope.event_type().empty()) return FieldError("event_type", "missing");
  if (envelope.aggregate_type().empty()) return FieldError("aggregate_type", "missing");
  if (envelope.aggregate_id().empty()) return FieldError("aggregate_id", "missing");
  if (envelope.sequence() < 1) return FieldError("sequence", "missing or below 1");
  if (!envelope.has_payload()) return FieldError("payload", "missing");
  return envelope;
}

}  // namespace techtrade
