// The registry's store on PostgreSQL: one instance per transaction attempt (PgTransactor), or on
// a transaction of its own for code that is not a handler (the authenticator, start-up).
#pragma once

#include "common/db.h"
#include "services/registry/store/registry_store.h"

namespace techtrade::registry {

// Writes are staged (Tx::StageWrite/StageRow): they reach the database with the transaction's
// commit, and a violated constraint fails the commit with the error RegistryConstraintErrors()
// names. Records arrive complete, ids and timestamps included, so nothing has to be read back,
// except for API clients, whose create and revoke times the database sets.
class PgRegistryStore final : public RegistryStore {
 public:
  explicit PgRegistryStore(Tx& tx) : tx_(tx) {}

  absl::Status InsertPilotCity(const v1::PilotCity& city) override;
  absl::StatusOr<v1::PilotCity> GetPilotCity(const std::string& id) override;
  Page<v1::PilotCity> ListPilotCities(int64_t after, int limit) override;

  absl::Status InsertOrganization(const v1::Organization& org) override;
  absl::StatusOr<v1::Organization> GetOrganization(const std::string& id) override;
  absl::StatusOr<LockedOrganization> LockOrganization(const std::string& id) override;
  void SaveOrganization(const v1::Organization& org) override;
  Page<v1::Organization> ListOrganizations(const OrganizationFilter& filter, int64_t after,
                                           int limit) override;

  absl::Status InsertTechnologyManager(const v1::TechnologyManager& manager) override;
  absl::StatusOr<v1::TechnologyManager> GetTechnologyManager(const std::string& id,
                                                             bool lock) override;
  void SaveTechnologyManager(const v1::TechnologyManager& manager) override;
  Page<v1::TechnologyManager> ListTechnologyManagers(const TechnologyManagerFilter& filter,
                                                     int64_t after, int limit) override;

  absl::StatusOr<v1::ApiClient> InsertApiClient(const v1::ApiClient& client,
                                                const std::string& secret_hash) override;
  absl::StatusOr<StoredApiClient> GetApiClient(const std::string& id) override;
  absl::StatusOr<StoredApiClient> LockApiClient(const std::string& id) override;
  v1::ApiClient SaveRevokedApiClient(const v1::ApiClient& client) override;
  Page<v1::ApiClient> ListApiClients(int64_t after, int limit) override;
  void SaveApiClientVersion(const v1::ApiClient& client) override;

  absl::StatusOr<v1::ApiKey> InsertApiKey(const v1::ApiKey& key,
                                          const std::string& secret_hash) override;
  absl::StatusOr<StoredApiKey> GetApiKey(const std::string& key_id) override;
  std::vector<v1::ApiKey> ListUnrevokedApiKeys(const std::string& client_id) override;
  std::vector<v1::ApiKey> ListApiKeys(const std::string& client_id) override;
  void SaveApiKeyExpiry(const v1::ApiKey& key) override;
  std::vector<v1::ApiKey> RevokeApiKeys(const std::string& client_id) override;

 private:
  absl::StatusOr<LockedOrganization> ReadOrganization(const std::string& id, bool lock);
  absl::StatusOr<StoredApiClient> ReadApiClient(const std::string& id, bool lock);

  Tx& tx_;
};

}  // namespace techtrade::registry
