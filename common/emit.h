// The one way a handler or a consumer emits events: into the outbox, in the transaction that made
// the change (common/outbox.h), each event carrying its cause (the request that led to it and its
// trace) and its aggregate's version after it as the sequence (docs/events.md).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/strings/string_view.h"
#include "common/command.h"
#include "common/db.h"
#include "google/protobuf/message.h"

namespace techtrade {

// Appends `event` for `aggregate` at `sequence` (the aggregate's version after it). For a chained
// aggregate, returns the SHA-256 of its envelope bytes; else empty.
std::string Emit(Tx& tx, absl::string_view producer, const EventCause& cause,
                 const AggregateRef& aggregate, int64_t sequence,
                 const google::protobuf::Message& event);

// A decision's events in order: events[i] at sequences[i], chained as UnitOfWork's EmitAll.
std::string EmitAll(Tx& tx, absl::string_view producer, const EventCause& cause,
                    const AggregateRef& aggregate,
                    std::span<const std::unique_ptr<google::protobuf::Message>> events,
                    std::span<const int64_t> sequences);

}  // namespace techtrade
