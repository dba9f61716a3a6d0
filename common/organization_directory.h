// What the services other than the registry read from it on a caller's behalf: an
// organisation's current record, a pilot city, a finance partner and a technology manager.
// RegistryClient (common/registry_client.h) reads them through the shared cache and the registry's
// API; handler tests use an in-memory directory (tests/support/fake_directories.h).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "techtrade/registry/v1/registry.pb.h"

namespace techtrade {

class OrganizationDirectory {
 public:
  virtual ~OrganizationDirectory() = default;
  // The organisation, as the caller (whose key is forwarded) may read it. NOT_FOUND for an
  // unknown id; UNAVAILABLE when the registry cannot be reached and the cache has no copy.
  virtual absl::StatusOr<techtrade::registry::v1::Organization> GetOrganization(
      const std::string& organization_id, const std::string& caller_api_key) = 0;
  // The same for an organisation a request refers to in `field`: an unknown id is the request's
  // fault (INVALID_ARGUMENT naming the field), not NOT_FOUND.
  virtual absl::StatusOr<techtrade::registry::v1::Organization> GetReferencedOrganization(
      absl::string_view field, const std::string& organization_id,
      const std::string& caller_api_key) = 0;
  // NOT_FOUND for an unknown city.
  virtual absl::StatusOr<techtrade::registry::v1::PilotCity> GetPilotCity(
      const std::string& city_id, const std::string& caller_api_key) = 0;
  // The active finance partner `partner_id` names (an API client of role PARTNER); NOT_FOUND if
  // it is none (unknown, revoked, or not a partner).
  virtual absl::StatusOr<techtrade::registry::v1::FinancePartner> GetFinancePartner(
      const std::string& partner_id, const std::string& caller_api_key) = 0;
  // The technology manager a request names in `field`, as the registry has it now (never a
  // cached copy: a revoked certificate stops at once). An unknown id is INVALID_ARGUMENT naming
  // the field.
  virtual absl::StatusOr<techtrade::registry::v1::TechnologyManager> GetTechnologyManager(
      absl::string_view field, const std::string& manager_id,
      const std::string& caller_api_key) = 0;
};

}  // namespace techtrade
