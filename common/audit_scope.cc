#include "common/audit_scope.h"

#include <algorithm>

namespace techtrade {

using registry::v1::API_CLIENT_ROLE_CITY_SYSTEM;
using registry::v1::API_CLIENT_ROLE_OPERATOR;
using registry::v1::API_CLIENT_ROLE_PARTNER;

absl::StatusOr<AuditScope> AuditScopeOf(const registry::v1::Principal& caller) {
  switch (caller.role()) {
    case API_CLIENT_ROLE_OPERATOR:
      return AuditScope{.everything = true};
    case API_CLIENT_ROLE_CITY_SYSTEM:
    case registry::v1::API_CLIENT_ROLE_REGISTRATION_BODY:
      if (!caller.city_id().empty()) return AuditScope{.city_id = caller.city_id()};
      break;
    case API_CLIENT_ROLE_PARTNER:
      if (!caller.api_client_id().empty()) {
        return AuditScope{.partner_id = caller.api_client_id()};
      }
      break;
    default:
      break;
  }
  return absl::PermissionDeniedError(
      "the audit log is for operators, city systems, registration bodies and finance partners "
      "only");
}

bool InAuditScope(const AuditScope& scope, std::span<const std::string> city_ids,
                  absl::string_view partner_id) {
  if (scope.everything) return true;
  if (!scope.city_id.empty() &&
      std::find(city_ids.begin(), city_ids.end(), scope.city_id) != city_ids.end()) {
    return true;
  }
  return !scope.partner_id.empty() && partner_id == scope.partner_id;
}

}  // namespace techtrade
