// What the registry's handlers read and write, one transaction at a time (common/command.h runs
// them). PostgreSQL implements it in pg_registry_store.h; handler tests use an in-memory one
// (tests/support/fake_registry_store.h). Records arrive built (services/registry/domain/records.h):
// a store keeps them, it decides nothing.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/paging.h"
#include "techtrade/registry/v1/registry.pb.h"

namespace techtrade::registry {

namespace v1 = techtrade::registry::v1;

struct OrganizationFilter {
  std::string city_id;
  v1::OrganizationKind kind = v1::ORGANIZATION_KIND_UNSPECIFIED;
  v1::OrganizationStatus status = v1::ORGANIZATION_STATUS_UNSPECIFIED;
  std::string credit_code;
};

// An organisation as a command that changes it reads it: with what its record does not show.
struct LockedOrganization {
  v1::Organization organization;
  bool ever_verified = false;  // reinstating returns a once-verified organisation to VERIFIED
};

struct TechnologyManagerFilter {
  std::string organization_id;
  std::string city_id;
  v1::TechnologyManagerStatus status = v1::TECHNOLOGY_MANAGER_STATUS_UNSPECIFIED;
};

// An API client with the SHA-256 of its secret.
struct StoredApiClient {
  v1::ApiClient client;
  std::string secret_hash;
};

// A key with the SHA-256 of its secret and the client it belongs to: what authentication reads.
struct StoredApiKey {
  v1::ApiKey key;
  std::string secret_hash;
  v1::ApiClient client;
};

// The errors a violated constraint of the registry's tables stands for, by constraint name: what
// a caller sees when an insert collides (a taken id or credit code, an unknown city).
std::vector<std::pair<std::string, absl::Status>> RegistryConstraintErrors();

class RegistryStore {
 public:
  virtual ~RegistryStore() = default;

  // Inserts return a violated constraint's error (RegistryConstraintErrors) either at once or,
  // where the write is staged for the commit, from the transaction's commit.

  // Pilot cities.
  virtual absl::Status InsertPilotCity(const v1::PilotCity& city) = 0;
  // NOT_FOUND for an unknown id.
  virtual absl::StatusOr<v1::PilotCity> GetPilotCity(const std::string& id) = 0;
  virtual Page<v1::PilotCity> ListPilotCities(int64_t after, int limit) = 0;

  // Organisations.
  virtual absl::Status InsertOrganization(const v1::Organization& org) = 0;
  // NOT_FOUND for an unknown id.
  virtual absl::StatusOr<v1::Organization> GetOrganization(const std::string& id) = 0;
  // The same for a change: holds the organisation until the transaction ends, which orders its
  // versions and events.
  virtual absl::StatusOr<LockedOrganization> LockOrganization(const std::string& id) = 0;
  // Writes every mutable field of `org` at org.version(); a VERIFIED status marks it ever
  // verified.
  virtual void SaveOrganization(const v1::Organization& org) = 0;
  virtual Page<v1::Organization> ListOrganizations(const OrganizationFilter& filter, int64_t after,
                                                   int limit) = 0;

  // Technology managers. ALREADY_EXISTS (technology_managers_certificate_number_key) for a
  // certificate number already registered.
  virtual absl::Status InsertTechnologyManager(const v1::TechnologyManager& manager) = 0;
  // NOT_FOUND for an unknown id; `lock` holds the manager until the transaction ends.
  virtual absl::StatusOr<v1::TechnologyManager> GetTechnologyManager(const std::string& id,
                                                                     bool lock) = 0;
  // Writes the status, revocation reason, version and update time.
  virtual void SaveTechnologyManager(const v1::TechnologyManager& manager) = 0;
  virtual Page<v1::TechnologyManager> ListTechnologyManagers(const TechnologyManagerFilter& filter,
                                                             int64_t after, int limit) = 0;

  // API clients. The stored record is returned: its create and revoke times are the store's.
  // ALREADY_EXISTS if the id is taken (only the bootstrap key can collide: ids are random).
  virtual absl::StatusOr<v1::ApiClient> InsertApiClient(const v1::ApiClient& client,
                                                        const std::string& secret_hash) = 0;
  // NOT_FOUND for an unknown id.
  virtual absl::StatusOr<StoredApiClient> GetApiClient(const std::string& id) = 0;
  virtual absl::StatusOr<StoredApiClient> LockApiClient(const std::string& id) = 0;
  // Writes a revoked client's status and version, stamping its revoke time.
  virtual v1::ApiClient SaveRevokedApiClient(const v1::ApiClient& client) = 0;
  virtual Page<v1::ApiClient> ListApiClients(int64_t after, int limit) = 0;
  // Writes a client's version: a rotation moves it on, ordering the client's events.
  virtual void SaveApiClientVersion(const v1::ApiClient& client) = 0;

  // API keys. A client's first key has the client's id; InsertApiClient does not make it. The
  // stored key is returned: its create time is the store's.
  virtual absl::StatusOr<v1::ApiKey> InsertApiKey(const v1::ApiKey& key,
                                                  const std::string& secret_hash) = 0;
  // NOT_FOUND for an unknown key id.
  virtual absl::StatusOr<StoredApiKey> GetApiKey(const std::string& key_id) = 0;
  // The client's keys that are not revoked, expired ones included, oldest first.
  virtual std::vector<v1::ApiKey> ListUnrevokedApiKeys(const std::string& client_id) = 0;
  // Every key the client has held, revoked ones included, oldest first.
  virtual std::vector<v1::ApiKey> ListApiKeys(const std::string& client_id) = 0;
  // Writes a key's expire time.
  virtual void SaveApiKeyExpiry(const v1::ApiKey& key) = 0;
  // Stamps the revoke time on every key of the client not revoked yet; returns them as stored.
  virtual std::vector<v1::ApiKey> RevokeApiKeys(const std::string& client_id) = 0;
};

}  // namespace techtrade::registry
