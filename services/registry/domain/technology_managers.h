// Technology managers (技术经理人) as commands make and change them, pure and without I/O.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "techtrade/registry/v1/registry.pb.h"

namespace techtrade::registry {

// The request's fields, and a certificate that has not expired by `now`.
absl::Status ValidateRegisterTechnologyManager(const v1::RegisterTechnologyManagerRequest& r,
                                               absl::Time now);

// A manager's affiliation must be VERIFIED: FAILED_PRECONDITION naming organization_id otherwise.
absl::Status CheckAffiliation(const v1::Organization& organization);

// A new CERTIFIED manager `id` at version 1, affiliated with `organization` (and its city).
v1::TechnologyManager NewTechnologyManager(const v1::RegisterTechnologyManagerRequest& r,
                                           const v1::Organization& organization,
                                           const std::string& id, absl::Time now);

// `manager` REVOKED for `reason` at the next version. ABORTED if it is no longer at
// `expected_version`, else FAILED_PRECONDITION if it is revoked already.
absl::StatusOr<v1::TechnologyManager> RevokeTechnologyManager(const v1::TechnologyManager& manager,
                                                              int64_t expected_version,
                                                              const std::string& reason,
                                                              absl::Time now);

}  // namespace techtrade::registry
