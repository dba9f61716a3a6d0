#include "common/emit.h"

#include "common/outbox.h"

namespace techtrade {

std::string Emit(Tx& tx, absl::string_view producer, const EventCause& cause,
                 const AggregateRef& aggregate, int64_t sequence,
                 const google::protobuf::Message& event) {
  std::string hash;
  AppendToOutbox(tx, producer,
                 {.aggregate_type = aggregate.type,
                  .aggregate_id = aggregate.id,
                  .sequence = sequence,
                  .payload = &event,
                  .causation_request_id = cause.request_id,
                  .traceparent = cause.traceparent,
                  .actor = &cause.actor,
                  .city_ids = &aggregate.city_ids,
                  .partner_id = aggregate.partner_id,
                  .also_topic = aggregate.also_topic,
                  .previous_event_hash = aggregate.previous_event_hash,
                  .event_hash = aggregate.chained ? &hash : nullptr});
  return hash;
}

std::string EmitAll(Tx& tx, absl::string_view producer, const EventCause& cause,
                    const AggregateRef& aggregate,
                    std::span<const std::unique_ptr<google::protobuf::Message>> events,
                    std::span<const int64_t> sequences) {
  AggregateRef link = aggregate;
  for (size_t i = 0; i < events.size(); ++i) {
    std::string hash = Emit(tx, producer, cause, link, sequences[i], *events[i]);
    if (link.chained) link.previous_event_hash = std::move(hash);
  }
  return link.chained ? link.previous_event_hash : std::string();
}

}  // namespace techtrade
