// The listings' domain rules, pure and without I/O: the IPC code format, the industry-field
// vocabulary, request validation and the offer and demand status machines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "techtrade/listings/v1/listings.pb.h"

namespace techtrade::listings {

// An International Patent Classification code, e.g. "G06N 3/08": section G, class 06, subclass N,
// main group 3, subgroup 08. Subclass-level codes ("G06N") have no group.
struct IpcCode {
  char section = 0;
  uint8_t ipc_class = 0;
  char subclass = 0;
  uint16_t main_group = 0;  // 0 = subclass level
  uint32_t subgroup = 0;
  std::string subgroup_digits;  // as written: "08" and "080" are different subgroups

  bool has_group() const { return main_group != 0; }
  std::string ToString() const;  // the canonical form, "G06N 3/08"
};

// Accepts surrounding and inner whitespace variations ("g06n3/08", "G06N  3/08"); INVALID_ARGUMENT
// otherwise.
absl::StatusOr<IpcCode> ParseIpc(absl::string_view text);

// How close two codes are: 1 same main group, 0.75 same subclass, 0.5 same class, 0.25 same
// section, 0 otherwise.
double IpcCloseness(const IpcCode& a, const IpcCode& b);
// Names the level of IpcCloseness for explanations: "main group G06N 3", "subclass G06N", …
std::string IpcClosenessReason(const IpcCode& a, const IpcCode& b);

// The industry-field vocabulary; a field's index is its bit in a FieldMask.
inline constexpr int kFieldCount = 20;
const char* FieldName(int index);
std::optional<int> FieldIndex(absl::string_view name);
using FieldMask = uint32_t;

// Transfer modes as a bit set (bit n = enum value n).
using ModeMask = uint32_t;

// Every field of a draft, each failure naming its field under `prefix` (e.g. "offer.").
absl::Status ValidateOfferDraft(const v1::OfferDraft& draft, absl::string_view prefix);
// `now` bounds the deadline and the challenge's closing date: both must lie in the future.
absl::Status ValidateDemandDraft(const v1::DemandDraft& draft, absl::string_view prefix,
                                 absl::Time now);
// The draft with IPC codes in canonical form and duplicates (codes, fields, modes) removed.
v1::OfferDraft NormalizeOfferDraft(v1::OfferDraft draft);
v1::DemandDraft NormalizeDemandDraft(v1::DemandDraft draft);

enum class ListingAction {
  kUpdate,
  kPublish,
  kWithdraw,
  kStartNegotiation,  // a first deal opened on a published offer
  kEndNegotiation,    // its last open deal ended without taking it off the market
  kTransfer,          // a completed deal transferred the offer or fulfilled the demand
  kExpire,
};

// The status after `action`, or FAILED_PRECONDITION naming the rule. Updates keep the status.
absl::StatusOr<v1::OfferStatus> NextOfferStatus(v1::OfferStatus current, ListingAction action);
absl::StatusOr<v1::DemandStatus> NextDemandStatus(v1::DemandStatus current, ListingAction action);

}  // namespace techtrade::listings
