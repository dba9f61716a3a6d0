// The registry's domain rules, pure and without I/O: request validation and the organisation
// status machine.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "techtrade/registry/v1/registry.pb.h"

namespace techtrade::registry {

enum class OrganizationAction { kVerify, kSuspend, kReinstate };

// The status after `action`, or FAILED_PRECONDITION if the action is not allowed from `current`.
// A reinstated organisation returns to VERIFIED if it was ever verified, else to PENDING.
absl::StatusOr<v1::OrganizationStatus> NextStatus(v1::OrganizationStatus current,
                                                  OrganizationAction action, bool ever_verified);

absl::Status ValidateCreatePilotCity(const v1::CreatePilotCityRequest& request);
absl::Status ValidateRegisterOrganization(const v1::RegisterOrganizationRequest& request);
absl::Status ValidateUpdateOrganization(const v1::UpdateOrganizationRequest& request);
absl::Status ValidateSuspendOrganization(const v1::SuspendOrganizationRequest& request);
absl::Status ValidateIssueApiKey(const v1::IssueApiKeyRequest& request);
// A registration body's organisation: GOVERNMENT, in the body's city (INVALID_ARGUMENT naming
// organization_id otherwise).
absl::Status CheckBodyOrganization(const v1::IssueApiKeyRequest& r, const v1::Organization& org);
absl::Status ValidateRotateApiKey(const v1::RotateApiKeyRequest& request);
// A pilot city slug: 2–40 of [a-z0-9-], starting with a letter.
absl::Status ValidateCityId(absl::string_view field, absl::string_view city_id);

}  // namespace techtrade::registry
