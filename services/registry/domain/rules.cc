#include "services/registry/domain/rules.h"

#include "absl/strings/str_cat.h"
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

absl::Status ValidateCreatePilotCity(const v1::CreatePilotCityRequest& r) {
  TT_RETURN_IF_ERROR(ValidateCityId("id", r.id()));
  TT_RETURN_IF_ERROR(CheckText("name", r.name(), 1, 200));
  if (!v1::PilotCityKind_IsValid(r.kind()) || r.kind() == v1::PILOT_CITY_KIND_UNSPECIFIED) {
    return FieldError("kind", "must be CITY or PARK");
  }
  bool six_digits = r.division_code().size() == 6;
  for (char c : r.division_code()) six_digits = six_digits && c >= '0' && c <= '9';
  if (!six_digits)
    return FieldError("division_code", "must be a six-digit administrative division code");
  return absl::OkStatus();
}

absl::Status ValidateRegisterOrganization(const v1::RegisterOrganizationRequest& r) {
  TT_RETURN_IF_ERROR(ValidateCreditCode(r.credit_code()));
  TT_RETURN_IF_ERROR(CheckText("name", r.name(), 1, 200));
  if (!v1::OrganizationKind_IsValid(r.kind()) || r.kind() == v1::ORGANIZATION_KIND_UNSPECIFIED) {
    return FieldError("kind", "must be one of the organisation kinds");
  }
  TT_RETURN_IF_ERROR(ValidateCityId("city_id", r.city_id()));
  TT_RETURN_IF_ERROR(CheckText("address", r.address(), 0, 500));
  TT_RETURN_IF_ERROR(CheckEmail("contact_email", r.contact_email()));
  TT_RETURN_IF_ERROR(CheckText("description", r.description(), 0, 4000));
  return absl::OkStatus();
}

absl::Status ValidateUpdateOrganization(const v1::UpdateOrganizationRequest& r) {
  TT_RETURN_IF_ERROR(CheckUuid("id", r.id()));
  TT_RETURN_IF_ERROR(CheckExpectedVersion(r.expected_version()));
  if (!r.has_name() && !r.has_address() && !r.has_contact_email() && !r.has_description()) {
    return FieldError("name",
                      "nothing to update: set at least one of name, address, "
                      "contact_email, description");
  }
  if (r.has_name()) TT_RETURN_IF_ERROR(CheckText("name", r.name(), 1, 200));
  if (r.has_address()) TT_RETURN_IF_ERROR(CheckText("address", r.address(), 0, 500));
  if (r.has_contact_email()) TT_RETURN_IF_ERROR(CheckEmail("contact_email", r.contact_email()));
  if (r.has_description()) TT_RETURN_IF_ERROR(CheckText("description", r.description(), 0, 4000));
  return absl::OkStatus();
}

absl::Status ValidateSuspendOrganization(const v1::SuspendOrganizationRequest& r) {
  TT_RETURN_IF_ERROR(CheckUuid("id", r.id()));
  TT_RETURN_IF_ERROR(CheckExpectedVersion(r.expected_version()));
  return CheckText("reason", r.reason(), 1, 500);
}

absl::Status ValidateIssueApiKey(const v1::IssueApiKeyRequest& r) {
  TT_RETURN_IF_ERROR(CheckText("name", r.name(), 1, 200));
  switch (r.role()) {
    case v1::API_CLIENT_ROLE_CITY_SYSTEM:
      return ValidateCityId("city_id", r.city_id());
    case v1::API_CLIENT_ROLE_OPERATOR:
    case v1::API_CLIENT_ROLE_PARTNER:
      if (!r.city_id().empty())
        return FieldError("city_id", "only CITY_SYSTEM clients have a city");
      return absl::OkStatus();
    default:
      return FieldError("role", "must be OPERATOR, CITY_SYSTEM or PARTNER");
  }
}

}  // namespace techtrade::registry
