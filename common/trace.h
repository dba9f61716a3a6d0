// W3C trace context (https://www.w3.org/TR/trace-context/) as events carry it: every event names
// the trace of what caused it — the request, or the event a consumer reacted to.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace techtrade {

// Whether `traceparent` is a valid W3C traceparent: version-traceid-parentid-flags in lowercase
// hex, version not ff, ids not all zeros (version 00 exactly 55 characters; later versions may
// append fields).
bool IsValidTraceparent(absl::string_view traceparent);

// A new trace: version 00, random trace and span ids, sampled.
std::string NewTraceparent();

// A span of `parent`'s trace: its trace id and flags with a new span id; a new trace when
// `parent` is not a valid traceparent (W3C: an invalid one is ignored).
std::string ChildTraceparent(absl::string_view parent);

// `traceparent` when valid, else a new trace.
std::string TraceparentOrNew(absl::string_view traceparent);

}  // namespace techtrade
