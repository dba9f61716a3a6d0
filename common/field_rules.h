// Enforces the rules each request field declares in the proto
// (proto/techtrade/common/v1/field_rules.proto) and the rules every field obeys, by walking the
// message through its descriptor, so that a field added later is checked without new code.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "techtrade/common/v1/field_rules.pb.h"

namespace techtrade {

inline constexpr uint32_t kDefaultMaxChars = 256;
inline constexpr uint32_t kDefaultMaxItems = 100;

// OK, or INVALID_ARGUMENT "<path>: <problem>" for the first violation in declaration order,
// depth first; the path names nested and repeated fields ("milestones[1].amount.currency").
// The message never repeats the rejected value, so it stays short whatever was sent.
// `path_prefix` names where `message` sits in a request, e.g. "offer." for a nested draft.
absl::Status CheckFieldRules(const google::protobuf::Message& message,
                             absl::string_view path_prefix = "");

// The rules that hold for `field`: what it declares, with the defaults filled in.
techtrade::common::v1::FieldRules EffectiveRules(const google::protobuf::FieldDescriptor* field);

// Why `text` is not acceptable in a string field with `rules` (control, bidirectional or invalid
// UTF-8 characters, length, format), or "" when it is.
std::string TextProblem(absl::string_view text, const techtrade::common::v1::FieldRules& rules);

}  // namespace techtrade
