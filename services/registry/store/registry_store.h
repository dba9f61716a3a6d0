// The registry's PostgreSQL store. Every function runs inside the caller's transaction, so a
// handler composes reads, writes and its outbox event into one atomic unit.
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/db.h"
#include "common/paging.h"
#include "techtrade/registry/v1/registry.pb.h"

namespace techtrade::registry::store {

namespace v1 = techtrade::registry::v1;
using techtrade::Tx;

// Constraint violations of the registry's tables as the caller should see them.
std::vector<std::pair<std::string, absl::Status>> RegistryConstraintErrors();

// Writes are staged (Tx::StageWrite): they reach the database with the transaction's commit, and a
// violated constraint fails the commit with the error RegistryConstraintErrors() names. Records
// are built here, ids and timestamps included, so nothing has to be read back.

// Pilot cities.
v1::PilotCity InsertPilotCity(Tx& tx, const v1::CreatePilotCityRequest& r, int64_t now_us);
absl::StatusOr<v1::PilotCity> GetPilotCity(Tx& tx, const std::string& id);
Page<v1::PilotCity> ListPilotCities(Tx& tx, int64_t after, int limit);

// Organisations. GetOrganization with `lock` takes the row lock that orders its events.
v1::Organization InsertOrganization(Tx& tx, const v1::RegisterOrganizationRequest& r,
                                    int64_t now_us);
absl::StatusOr<v1::Organization> GetOrganization(Tx& tx, const std::string& id, bool lock,
                                                 bool* ever_verified = nullptr);
// Writes every mutable field of `org` with version = org.version(); returns the record as stored.
v1::Organization SaveOrganization(Tx& tx, v1::Organization org, int64_t now_us);

struct OrganizationFilter {
  std::string city_id;
  v1::OrganizationKind kind = v1::ORGANIZATION_KIND_UNSPECIFIED;
  v1::OrganizationStatus status = v1::ORGANIZATION_STATUS_UNSPECIFIED;
  std::string credit_code;
};
Page<v1::Organization> ListOrganizations(Tx& tx, const OrganizationFilter& filter, int64_t after,
                                         int limit);

// API clients, with the SHA-256 of their secret.
struct StoredApiClient {
  v1::ApiClient client;
  std::string secret_hash;
};
// ALREADY_EXISTS if the key id is taken (only the bootstrap key can collide: ids are random).
absl::StatusOr<v1::ApiClient> InsertApiClient(Tx& tx, const std::string& id,
                                              const v1::IssueApiKeyRequest& r,
                                              const std::string& secret_hash);
absl::StatusOr<StoredApiClient> GetApiClient(Tx& tx, const std::string& id, bool lock);
v1::ApiClient RevokeApiClient(Tx& tx, const std::string& id, int64_t new_version);
Page<v1::ApiClient> ListApiClients(Tx& tx, int64_t after, int limit);

}  // namespace techtrade::registry::store
