#include "common/command.h"

#include "common/trace.h"

namespace techtrade {

EventCause EventCause::OfRequest(absl::string_view request_id, absl::string_view traceparent) {
  return {std::string(request_id), std::string(traceparent)};
}

EventCause EventCause::OfEvent(const common::v1::EventEnvelope& consumed) {
  return {consumed.causation_request_id(), ChildTraceparent(consumed.trace().traceparent())};
}

absl::Status ValidateRequestId(absl::string_view request_id) {
  if (request_id.empty()) return FieldError("request_id", "required for every mutation");
  if (request_id.size() > 64) return FieldError("request_id", "longer than 64 characters");
  for (char c : request_id) {
    if (c < 0x21 || c > 0x7e) return FieldError("request_id", "only printable ASCII allowed");
  }
  return absl::OkStatus();
}

void EmitAll(UnitOfWork& work, absl::string_view producer, const EventCause& cause,
             const AggregateRef& aggregate,
             std::span<const std::unique_ptr<google::protobuf::Message>> events,
             std::span<const int64_t> sequences) {
  for (size_t i = 0; i < events.size(); ++i) {
    work.Emit(producer, cause, aggregate, sequences[i], *events[i]);
  }
}

}  // namespace techtrade
