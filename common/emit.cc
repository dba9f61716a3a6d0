#include "common/emit.h"

#include "common/outbox.h"

namespace techtrade {

void Emit(Tx& tx, absl::string_view producer, const EventCause& cause,
          const AggregateRef& aggregate, int64_t sequence, const google::protobuf::Message& event) {
  AppendToOutbox(tx, producer,
                 {.aggregate_type = aggregate.type,
                  .aggregate_id = aggregate.id,
                  .sequence = sequence,
                  .payload = &event,
                  .causation_request_id = cause.request_id,
                  .traceparent = cause.traceparent});
}

void EmitAll(Tx& tx, absl::string_view producer, const EventCause& cause,
             const AggregateRef& aggregate,
             std::span<const std::unique_ptr<google::protobuf::Message>> events,
             std::span<const int64_t> sequences) {
  for (size_t i = 0; i < events.size(); ++i) {
    Emit(tx, producer, cause, aggregate, sequences[i], *events[i]);
  }
}

}  // namespace techtrade
