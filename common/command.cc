#include "common/command.h"

#include "common/trace.h"

namespace techtrade {

EventCause EventCause::OfRequest(absl::string_view request_id, absl::string_view traceparent,
                                 const registry::v1::Principal& caller) {
  return {std::string(request_id), std::string(traceparent), ActorOf(caller)};
}

EventCause EventCause::OfEvent(const common::v1::EventEnvelope& consumed) {
  return {consumed.causation_request_id(), ChildTraceparent(consumed.trace().traceparent()),
          consumed.actor()};
}

EventCause EventCause::OfSystem(absl::string_view service) {
  return {"", "", SystemActor(service)};
}

common::v1::Actor ActorOf(const registry::v1::Principal& caller) {
  common::v1::Actor actor;
  actor.set_api_client_id(caller.api_client_id());
  switch (caller.role()) {
    case registry::v1::API_CLIENT_ROLE_OPERATOR:
      actor.set_role("operator");
      break;
    case registry::v1::API_CLIENT_ROLE_CITY_SYSTEM:
      actor.set_role("city_system");
      actor.set_city_id(caller.city_id());
      break;
    case registry::v1::API_CLIENT_ROLE_PARTNER:
      actor.set_role("partner");
      break;
    case registry::v1::API_CLIENT_ROLE_REGISTRATION_BODY:
      actor.set_role("registration_body");
      actor.set_city_id(caller.city_id());
      break;
    default:
      // An unauthenticated call (RunForServices): the id, if any, says who it claimed to be.
      actor.set_role("unknown");
  }
  return actor;
}

common::v1::Actor SystemActor(absl::string_view service) {
  common::v1::Actor actor;
  actor.set_api_client_id(std::string(service));
  actor.set_role("system");
  return actor;
}

absl::Status ValidateRequestId(absl::string_view request_id) {
  if (request_id.empty()) return FieldError("request_id", "required for every mutation");
  if (request_id.size() > 64) return FieldError("request_id", "longer than 64 characters");
  for (char c : request_id) {
    if (c < 0x21 || c > 0x7e) return FieldError("request_id", "only printable ASCII allowed");
  }
  return absl::OkStatus();
}

std::string EmitAll(UnitOfWork& work, absl::string_view producer, const EventCause& cause,
                    const AggregateRef& aggregate,
                    std::span<const std::unique_ptr<google::protobuf::Message>> events,
                    std::span<const int64_t> sequences) {
  if (!aggregate.chained) {
    for (size_t i = 0; i < events.size(); ++i) {
      work.Emit(producer, cause, aggregate, sequences[i], *events[i]);
    }
    return "";
  }
  AggregateRef link = aggregate;
  for (size_t i = 0; i < events.size(); ++i) {
    link.previous_event_hash = work.Emit(producer, cause, link, sequences[i], *events[i]);
  }
  return link.previous_event_hash;
}

}  // namespace techtrade
