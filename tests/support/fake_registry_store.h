// The registry's store in memory, for handler tests: copyable (FakeTransactor runs each unit on a
// copy), with the tables' constraints (a taken city id or credit code, an unknown city) answered
// at once with the errors PostgreSQL's would map to (RegistryConstraintErrors).
#pragma once

#include <google/protobuf/util/time_util.h>

#include <cstdint>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "services/registry/store/registry_store.h"

namespace techtrade::testing {

class FakeRegistryStore final : public registry::RegistryStore {
 public:
  // The time the store stamps on API clients (the database's now()).
  static constexpr int64_t kStoreTimeMicros = 1'700'000'000'000'000;

  absl::Status InsertPilotCity(const registry::v1::PilotCity& city) override {
    if (cities_.contains(city.id())) return ConstraintError("pilot_cities_pkey");
    cities_[city.id()] = {city, ++ordinal_};
    return absl::OkStatus();
  }
  absl::StatusOr<registry::v1::PilotCity> GetPilotCity(const std::string& id) override {
    auto it = cities_.find(id);
    if (it == cities_.end())
      return absl::NotFoundError(absl::StrCat("pilot city '", id, "' not found"));
    return it->second.record;
  }
  Page<registry::v1::PilotCity> ListPilotCities(int64_t after, int limit) override {
    return PageOf(cities_, after, limit, [](const registry::v1::PilotCity&) { return true; });
  }

  absl::Status InsertOrganization(const registry::v1::Organization& org) override {
    if (!cities_.contains(org.city_id())) return ConstraintError("organizations_city_id_fkey");
    for (const auto& [id, row] : organizations_) {
      if (row.record.credit_code() == org.credit_code()) {
        return ConstraintError("organizations_credit_code_key");
      }
    }
    organizations_[org.id()] = {org, ++ordinal_};
    ever_verified_[org.id()] = false;
    return absl::OkStatus();
  }
  absl::StatusOr<registry::v1::Organization> GetOrganization(const std::string& id) override {
    auto it = organizations_.find(id);
    if (it == organizations_.end())
      return absl::NotFoundError(absl::StrCat("organisation ", id, " not found"));
    return it->second.record;
  }
  absl::StatusOr<registry::LockedOrganization> LockOrganization(const std::string& id) override {
    TT_ASSIGN_OR_RETURN(registry::v1::Organization org, GetOrganization(id));
    return registry::LockedOrganization{org, ever_verified_[id]};
  }
  void SaveOrganization(const registry::v1::Organization& org) override {
    organizations_[org.id()].record = org;
    if (org.status() == registry::v1::ORGANIZATION_STATUS_VERIFIED) ever_verified_[org.id()] = true;
  }
  Page<registry::v1::Organization> ListOrganizations(const registry::OrganizationFilter& f,
                                                     int64_t after, int limit) override {
    return PageOf(organizations_, after, limit, [&](const registry::v1::Organization& o) {
      return (f.city_id.empty() || o.city_id() == f.city_id) &&
             (f.kind == registry::v1::ORGANIZATION_KIND_UNSPECIFIED || o.kind() == f.kind) &&
             (f.status == registry::v1::ORGANIZATION_STATUS_UNSPECIFIED ||
              o.status() == f.status) &&
             (f.credit_code.empty() || o.credit_code() == f.credit_code);
    });
  }

  absl::StatusOr<registry::v1::ApiClient> InsertApiClient(const registry::v1::ApiClient& client,
                                                          const std::string& secret_hash) override {
    if (clients_.contains(client.id())) {
      return absl::AlreadyExistsError(absl::StrCat("api client ", client.id(), " exists"));
    }
    if (!client.city_id().empty() && !cities_.contains(client.city_id())) {
      return ConstraintError("api_clients_city_id_fkey");
    }
    registry::v1::ApiClient stored = client;
    *stored.mutable_create_time() = StoreTime();
    clients_[client.id()] = {stored, ++ordinal_};
    secret_hashes_[client.id()] = secret_hash;
    return stored;
  }
  absl::StatusOr<registry::StoredApiClient> GetApiClient(const std::string& id) override {
    auto it = clients_.find(id);
    if (it == clients_.end())
      return absl::NotFoundError(absl::StrCat("api client ", id, " not found"));
    return registry::StoredApiClient{it->second.record, secret_hashes_[id]};
  }
  absl::StatusOr<registry::StoredApiClient> LockApiClient(const std::string& id) override {
    return GetApiClient(id);
  }
  registry::v1::ApiClient SaveRevokedApiClient(const registry::v1::ApiClient& client) override {
    registry::v1::ApiClient& stored = clients_[client.id()].record;
    stored.set_status(client.status());
    stored.set_version(client.version());
    *stored.mutable_revoke_time() = StoreTime();
    return stored;
  }
  Page<registry::v1::ApiClient> ListApiClients(int64_t after, int limit) override {
    return PageOf(clients_, after, limit, [](const registry::v1::ApiClient&) { return true; });
  }
  void SaveApiClientVersion(const registry::v1::ApiClient& client) override {
    clients_[client.id()].record.set_version(client.version());
  }

  absl::StatusOr<registry::v1::ApiKey> InsertApiKey(const registry::v1::ApiKey& key,
                                                    const std::string& secret_hash) override {
    if (keys_.contains(key.id())) {
      return absl::AlreadyExistsError(absl::StrCat("api key ", key.id(), " exists"));
    }
    registry::v1::ApiKey stored = key;
    *stored.mutable_create_time() = StoreTime();
    keys_[key.id()] = {stored, ++ordinal_};
    secret_hashes_[key.id()] = secret_hash;
    return stored;
  }
  absl::StatusOr<registry::StoredApiKey> GetApiKey(const std::string& key_id) override {
    auto it = keys_.find(key_id);
    if (it == keys_.end())
      return absl::NotFoundError(absl::StrCat("api key ", key_id, " not found"));
    TT_ASSIGN_OR_RETURN(registry::StoredApiClient client,
                        GetApiClient(it->second.record.api_client_id()));
    return registry::StoredApiKey{it->second.record, secret_hashes_[key_id], client.client};
  }
  std::vector<registry::v1::ApiKey> ListUnrevokedApiKeys(const std::string& client_id) override {
    Page<registry::v1::ApiKey> all =
        PageOf(keys_, 0, static_cast<int>(keys_.size()), [&](const registry::v1::ApiKey& k) {
          return k.api_client_id() == client_id && !k.has_revoke_time();
        });
    return all.items;
  }
  std::vector<registry::v1::ApiKey> ListApiKeys(const std::string& client_id) override {
    return PageOf(keys_, 0, static_cast<int>(keys_.size()),
                  [&](const registry::v1::ApiKey& k) { return k.api_client_id() == client_id; })
        .items;
  }
  void SaveApiKeyExpiry(const registry::v1::ApiKey& key) override {
    registry::v1::ApiKey& stored = keys_[key.id()].record;
    if (key.has_expire_time()) {
      *stored.mutable_expire_time() = key.expire_time();
    } else {
      stored.clear_expire_time();
    }
  }
  absl::Status InsertTechnologyManager(const registry::v1::TechnologyManager& m) override {
    for (const auto& [id, row] : managers_) {
      if (row.record.certificate_number() == m.certificate_number()) {
        return ConstraintError("technology_managers_certificate_number_key");
      }
    }
    managers_[m.id()] = {m, ++ordinal_};
    return absl::OkStatus();
  }
  absl::StatusOr<registry::v1::TechnologyManager> GetTechnologyManager(const std::string& id,
                                                                       bool) override {
    auto it = managers_.find(id);
    if (it == managers_.end()) {
      return absl::NotFoundError(absl::StrCat("technology manager ", id, " not found"));
    }
    return it->second.record;
  }
  void SaveTechnologyManager(const registry::v1::TechnologyManager& m) override {
    managers_[m.id()].record = m;
  }
  Page<registry::v1::TechnologyManager> ListTechnologyManagers(
      const registry::TechnologyManagerFilter& f, int64_t after, int limit) override {
    return PageOf(managers_, after, limit, [&](const registry::v1::TechnologyManager& m) {
      return (f.organization_id.empty() || m.organization_id() == f.organization_id) &&
             (f.city_id.empty() || m.city_id() == f.city_id) &&
             (f.status == registry::v1::TECHNOLOGY_MANAGER_STATUS_UNSPECIFIED ||
              m.status() == f.status);
    });
  }

  std::vector<registry::v1::ApiKey> RevokeApiKeys(const std::string& client_id) override {
    std::vector<registry::v1::ApiKey> revoked = ListUnrevokedApiKeys(client_id);
    for (registry::v1::ApiKey& key : revoked) {
      *key.mutable_revoke_time() = StoreTime();
      keys_[key.id()].record = key;
    }
    return revoked;
  }

  // For tests to inspect what was saved.
  std::map<std::string, registry::v1::Organization> organizations() const {
    std::map<std::string, registry::v1::Organization> out;
    for (const auto& [id, row] : organizations_) out[id] = row.record;
    return out;
  }
  size_t city_count() const { return cities_.size(); }
  size_t client_count() const { return clients_.size(); }
  size_t key_count() const { return keys_.size(); }

 private:
  // A row with its insertion order, which List pages by (the tables' ordinal column).
  template <class Record>
  struct Row {
    Record record;
    int64_t ordinal = 0;
  };

  static absl::Status ConstraintError(const std::string& constraint) {
    for (const auto& [name, status] : registry::RegistryConstraintErrors()) {
      if (name == constraint) return status;
    }
    return absl::InternalError(constraint);
  }
  static google::protobuf::Timestamp StoreTime() {
    return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(kStoreTimeMicros);
  }
  template <class Record, class Keep>
  static Page<Record> PageOf(const std::map<std::string, Row<Record>>& table, int64_t after,
                             int limit, Keep keep) {
    std::map<int64_t, const Record*> in_order;
    for (const auto& [id, row] : table) {
      if (row.ordinal > after && keep(row.record)) in_order[row.ordinal] = &row.record;
    }
    Page<Record> page;
    for (const auto& [ordinal, record] : in_order) {
      if (static_cast<int>(page.items.size()) == limit) {
        page.more = true;
        break;
      }
      page.items.push_back(*record);
      page.last_ordinal = ordinal;
    }
    return page;
  }

  int64_t ordinal_ = 0;
  std::map<std::string, Row<registry::v1::PilotCity>> cities_;
  std::map<std::string, Row<registry::v1::Organization>> organizations_;
  std::map<std::string, bool> ever_verified_;
  std::map<std::string, Row<registry::v1::TechnologyManager>> managers_;
  std::map<std::string, Row<registry::v1::ApiClient>> clients_;
  std::map<std::string, Row<registry::v1::ApiKey>> keys_;
  std::map<std::string, std::string> secret_hashes_;  // by client id and by key id
};

}  // namespace techtrade::testing
