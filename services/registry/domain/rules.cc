#include "services/registry/domain/rules.h"

#include "absl/strings/str_cat.h"
#include "common/field_rules.h"
#include "common/status.h"
#include "common/validation.h"
#include "services/registry/domain/credit_code.h"

namespace techtrade::registry {
namespace {

const char* StatusName(v1::OrganizationStatus s) {
  switch (s) {
    case v1::ORGANIZATION_STATUS_PENDING:
      return "PENDING";
    case v1::ORGANIZATION_STATUS_VERIFIED:
      return "VERIFIED";
    case v1::ORGANIZATION_STATUS_SUSPENDED:
      return "SUSPENDED";
    default:
      return "UNSPECIFIED";
  }
}

absl::Status NotAllowed(const char* action, v1::OrganizationStatus current) {
  return absl::FailedPreconditionError(
      absl::StrCat("cannot ", action, " an organisation that is ", StatusName(current)));
}

}  // namespace

absl::StatusOr<v1::OrganizationStatus> NextStatus(v1::OrganizationStatus current,
                                                  OrganizationAction action, bool ever_verified) {
  switch (action) {
    case OrganizationAction::kVerify:
      if (current == v1::ORGANIZATION_STATUS_PENDING) return v1::ORGANIZATION_STATUS_VERIFIED;
      return NotAllowed("verify", current);
    case OrganizationAction::kSuspend:
      if (current == v1::ORGANIZATION_STATUS_PENDING ||
          current == v1::ORGANIZATION_STATUS_VERIFIED) {
        return v1::ORGANIZATION_STATUS_SUSPENDED;
      }
      return NotAllowed("suspend", current);
    case OrganizationAction::kReinstate:
      if (current == v1::ORGANIZATION_STATUS_SUSPENDED) {
        return ever_verified ? v1::ORGANIZATION_STATUS_VERIFIED : v1::ORGANIZATION_STATUS_PENDING;
      }
      return NotAllowed("reinstate", current);
  }
  return absl::InternalError("unknown action");
}

absl::Status ValidateCityId(absl::string_view field, absl::string_view city_id) {
  if (city_id.empty()) return FieldError(field, "required");
  bool ok = city_id.size() >= 2 && city_id.size() <= 40 && city_id[0] >= 'a' && city_id[0] <= 'z';
  for (char c : city_id) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  return ok ? absl::OkStatus()
            : FieldError(field, "2-40 characters of a-z, 0-9 and '-', starting with a letter");
}

// Each validator checks the rules the request's fields declare in the proto (the one source of
// lengths, formats and ranges) and then what relates fields to each other.

absl::Status ValidateCreatePilotCity(const v1::CreatePilotCityRequest& r) {
  return CheckFieldRules(r);
}

absl::Status ValidateRegisterOrganization(const v1::RegisterOrganizationRequest& r) {
  TT_RETURN_IF_ERROR(CheckFieldRules(r));
  return ValidateCreditCode(r.credit_code());
}

absl::Status ValidateUpdateOrganization(const v1::UpdateOrganizationRequest& r) {
  TT_RETURN_IF_ERROR(CheckFieldRules(r));
  if (!r.has_name() && !r.has_address() && !r.has_contact_email() && !r.has_description()) {
    return FieldError("name",
                      "nothing to update: set at least one of name, address, "
                      "contact_email, description");
  }
  return absl::OkStatus();
}

absl::Status ValidateSuspendOrganization(const v1::SuspendOrganizationRequest& r) {
  return CheckFieldRules(r);
}

absl::Status ValidateIssueApiKey(const v1::IssueApiKeyRequest& r) {
  TT_RETURN_IF_ERROR(CheckFieldRules(r));
  if (!r.organization_id().empty() && r.role() != v1::API_CLIENT_ROLE_REGISTRATION_BODY) {
    return FieldError("organization_id", "only REGISTRATION_BODY clients name an organisation");
  }
  switch (r.role()) {
    case v1::API_CLIENT_ROLE_CITY_SYSTEM:
    case v1::API_CLIENT_ROLE_REGISTRATION_BODY:
      return ValidateCityId("city_id", r.city_id());
    default:
      if (!r.city_id().empty()) {
        return FieldError("city_id", "only CITY_SYSTEM and REGISTRATION_BODY clients have a city");
      }
      return absl::OkStatus();
  }
}

absl::Status CheckBodyOrganization(const v1::IssueApiKeyRequest& r, const v1::Organization& org) {
  if (org.kind() != v1::ORGANIZATION_KIND_GOVERNMENT) {
    return FieldError("organization_id",
                      "a registration body's organisation is of kind GOVERNMENT");
  }
  if (org.city_id() != r.city_id()) {
    return FieldError("organization_id",
                      absl::StrCat("the organisation is in pilot city '", org.city_id(),
                                   "', the registration body in '", r.city_id(), "'"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRotateApiKey(const v1::RotateApiKeyRequest& r) { return CheckFieldRules(r); }

}  // namespace techtrade::registry
