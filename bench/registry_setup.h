// Parties for the benchmarks of services that ask the registry about them: a pilot city and
// verified organisations in it, registered as a city's portal would.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"

namespace techtrade::bench {

// Creates pilot city `city_id` and `count` verified organisations of `kind` in it, named
// "<name_prefix> 1", "<name_prefix> 2", …; request ids start with `name_prefix` too.
absl::StatusOr<std::vector<registry::v1::Organization>> RegisterVerifiedOrganizations(
    registry::v1::RegistryService::Stub& registry, const std::string& operator_key,
    const std::string& city_id, registry::v1::OrganizationKind kind, int count,
    const std::string& name_prefix);

}  // namespace techtrade::bench
