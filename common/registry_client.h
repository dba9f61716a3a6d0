// What every service other than the registry needs from it: who is behind an API key, and an
// organisation's current record — both through the shared Redis cache, so the registry is
// called only on a miss. The cache entries are the registry's own (it writes them too, and
// deletes them when the record changes).
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
#include "techtrade/registry/v1/registry.grpc.pb.h"

namespace techtrade {

class RegistryClient {
 public:
  // `address` is host:port of the registry (TECHTRADE_REGISTRY_ADDR).
  RegistryClient(const std::string& address, Cache& cache, absl::Duration deadline);

  // The organisation, as the caller (whose key is forwarded) may read it. NOT_FOUND for an
  // unknown id; UNAVAILABLE when the registry cannot be reached and the cache has no copy.
  absl::StatusOr<techtrade::registry::v1::Organization> GetOrganization(
      const std::string& organization_id, const std::string& caller_api_key);

  // The same for an organisation a request refers to in `field`: an unknown id is the request's
  // fault (INVALID_ARGUMENT naming the field), not NOT_FOUND.
  absl::StatusOr<techtrade::registry::v1::Organization> GetReferencedOrganization(
      absl::string_view field, const std::string& organization_id,
      const std::string& caller_api_key);

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
