// The registry's records as commands make and change them, pure and without I/O: what a new
// pilot city, organisation or API client holds, and every change of an organisation or a key
// (its fields, status, version and times). A change refused is an error and builds nothing.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/registry/domain/rules.h"
#include "techtrade/registry/v1/registry.pb.h"

namespace techtrade::registry {

// A city's PilotCity.contract_registration_days when its creation names none.
inline constexpr int kDefaultContractRegistrationDays = 30;

// A new pilot city at version 1, created `now`.
v1::PilotCity NewPilotCity(const v1::CreatePilotCityRequest& r, absl::Time now);

// A new organisation `id`, PENDING at version 1, registered `now`.
v1::Organization NewOrganization(const v1::RegisterOrganizationRequest& r, const std::string& id,
                                 absl::Time now);

// `org` with the fields `r` sets, at the next version. ABORTED (naming expected_version) if `org`
// is no longer at r.expected_version().
absl::StatusOr<v1::Organization> UpdateOrganization(const v1::Organization& org,
                                                    const v1::UpdateOrganizationRequest& r,
                                                    absl::Time now);

// `org` after `action` (NextStatus), at the next version: a suspension records `reason`, any
// other action clears it; an organisation verified for the first time gets its verify time.
// ABORTED if `org` is no longer at `expected_version`, else FAILED_PRECONDITION if the action is
// not allowed.
absl::StatusOr<v1::Organization> TransitionOrganization(const v1::Organization& org,
                                                        bool ever_verified,
                                                        OrganizationAction action,
                                                        int64_t expected_version,
                                                        const std::string& reason, absl::Time now);

// A new ACTIVE API client `id` at version 1 (its create time is the store's).
v1::ApiClient NewApiClient(const v1::IssueApiKeyRequest& r, const std::string& id);

// `client` REVOKED at the next version (its revoke time is the store's). ABORTED if it is no
// longer at `expected_version`, else FAILED_PRECONDITION if it is already revoked.
absl::StatusOr<v1::ApiClient> RevokeApiClient(const v1::ApiClient& client,
                                              int64_t expected_version);

}  // namespace techtrade::registry
