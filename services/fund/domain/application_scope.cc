#include "services/fund/domain/application_scope.h"

#include "absl/strings/str_cat.h"

namespace techtrade::fund {

namespace reg = techtrade::registry::v1;

std::optional<std::string> ApplicationPartnerScope(const reg::Principal& caller) {
  if (caller.role() != reg::API_CLIENT_ROLE_PARTNER) return std::nullopt;
  return caller.api_client_id();
}

bool InApplicationPartnerScope(const reg::Principal& caller, const v1::Application& application) {
  if (caller.role() != reg::API_CLIENT_ROLE_PARTNER) return true;
  return !caller.api_client_id().empty() &&
         application.finance_partner_id() == caller.api_client_id();
}

absl::Status ApplicationNotFound(absl::string_view field, absl::string_view id) {
  return absl::NotFoundError(absl::StrCat(field, ": no application ", id));
}

absl::Status CheckApplicationPartnerScope(const reg::Principal& caller,
                                          const v1::Application& application,
                                          absl::string_view field) {
  if (InApplicationPartnerScope(caller, application)) return absl::OkStatus();
  return ApplicationNotFound(field, application.id());
}

}  // namespace techtrade::fund
