// Who may read which audit records (techtrade.audit.v1.AuditService): the one rule, pure, which
// the audit log's query (common/audit.h) applies in SQL in the same terms.
#pragma once

#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "techtrade/registry/v1/registry.pb.h"

namespace techtrade {

// The records a caller may read: every one (operators), those whose cities include `city_id`
// (a city system), or those whose partner id is `partner_id` (a finance partner).
struct AuditScope {
  bool everything = false;
  std::string city_id;
  std::string partner_id;
};

// The caller's scope; PERMISSION_DENIED for any other caller (and for a city system without a
// city or a partner without a client id, whose scope would be nothing).
absl::StatusOr<AuditScope> AuditScopeOf(const registry::v1::Principal& caller);

// Whether a record about an aggregate concerning `city_ids`, settled by `partner_id` ('' when
// none), is in `scope`.
bool InAuditScope(const AuditScope& scope, std::span<const std::string> city_ids,
                  absl::string_view partner_id);

}  // namespace techtrade
