#include "services/transactions/domain/deal_scope.h"

#include "absl/strings/str_cat.h"

namespace techtrade::transactions {

namespace reg = techtrade::registry::v1;

std::string PartnerScope(const reg::Principal& caller) {
  if (caller.role() != reg::API_CLIENT_ROLE_PARTNER) return "";
  return caller.api_client_id();
}

bool InPartnerScope(const reg::Principal& caller, const v1::Deal& deal) {
  if (caller.role() != reg::API_CLIENT_ROLE_PARTNER) return true;
  // A deal that names no partner (opened before deals named one) is no partner's.
  return !caller.api_client_id().empty() && deal.finance_partner_id() == caller.api_client_id();
}

absl::Status DealNotFound(absl::string_view field, absl::string_view deal_id) {
  return absl::NotFoundError(absl::StrCat(field, ": no deal ", deal_id));
}

absl::Status CheckPartnerScope(const reg::Principal& caller, const v1::Deal& deal,
                               absl::string_view field) {
  if (InPartnerScope(caller, deal)) return absl::OkStatus();
  return DealNotFound(field, deal.id());
}

}  // namespace techtrade::transactions
