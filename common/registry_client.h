// What every service other than the registry needs from it: who is behind an API key, and an
// organisation's current record — both through the shared Redis cache, so the registry is
// called only on a miss — and a pilot city. The cache entries are the registry's own (it writes
// them too, and deletes them when the record changes).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth.h"
#include "common/cache.h"
#include "common/cache_keys.h"
#include "common/grpc_status.h"
#include "common/organization_directory.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"

namespace techtrade {

class RegistryClient final : public OrganizationDirectory {
 public:
  // `address` is host:port of the registry (TECHTRADE_REGISTRY_ADDR).
  RegistryClient(const std::string& address, Cache& cache, absl::Duration deadline);

  absl::StatusOr<techtrade::registry::v1::Organization> GetOrganization(
      const std::string& organization_id, const std::string& caller_api_key) override;
  absl::StatusOr<techtrade::registry::v1::Organization> GetReferencedOrganization(
      absl::string_view field, const std::string& organization_id,
      const std::string& caller_api_key) override;
  absl::StatusOr<techtrade::registry::v1::PilotCity> GetPilotCity(
      const std::string& city_id, const std::string& caller_api_key) override;
  absl::StatusOr<techtrade::registry::v1::FinancePartner> GetFinancePartner(
      const std::string& partner_id, const std::string& caller_api_key) override;
  absl::StatusOr<techtrade::registry::v1::TechnologyManager> GetTechnologyManager(
      absl::string_view field, const std::string& manager_id,
      const std::string& caller_api_key) override;

  techtrade::registry::v1::RegistryService::Stub& stub() { return *stub_; }
  absl::Duration deadline() const { return deadline_; }

 private:
  Cache& cache_;
  const absl::Duration deadline_;
  std::unique_ptr<techtrade::registry::v1::RegistryService::Stub> stub_;
};

// Authenticates keys through the registry's Authenticate call on a cache miss.
class RemoteAuthenticator : public CachedKeyAuthenticator {
 public:
  RemoteAuthenticator(RegistryClient& registry, Cache& cache)
      : CachedKeyAuthenticator(cache), registry_(registry) {}

 protected:
  absl::StatusOr<ApiKeyRecord> Load(const ParsedApiKey& key) override;

 private:
  RegistryClient& registry_;
};

}  // namespace techtrade
