// PgRegistryStore's API keys (table api_keys): each client's keys, their expiry and revocation.
#include <google/protobuf/util/time_util.h>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "services/registry/store/pg_registry_store.h"

namespace techtrade::registry {
namespace {

using google::protobuf::util::TimeUtil;

const std::string kKeyColumns =
    absl::StrCat("id, client_id, ", EpochMicros("create_time"), ", ", EpochMicros("expire_time"),
                 ", ", EpochMicros("revoke_time"), ", secret_hash");

v1::ApiKey KeyFromRow(const pqxx::row& r) {
  v1::ApiKey k;
  k.set_id(r[0].as<std::string>());
  k.set_api_client_id(r[1].as<std::string>());
  // An unset time, not the epoch, stands for NULL ("never").
  if (!r[2].is_null())
    *k.mutable_create_time() = TimeUtil::MicrosecondsToTimestamp(r[2].as<int64_t>());
  if (!r[3].is_null())
    *k.mutable_expire_time() = TimeUtil::MicrosecondsToTimestamp(r[3].as<int64_t>());
  if (!r[4].is_null())
    *k.mutable_revoke_time() = TimeUtil::MicrosecondsToTimestamp(r[4].as<int64_t>());
  return k;
}

std::vector<v1::ApiKey> KeysFromRows(const pqxx::result& rows) {
  std::vector<v1::ApiKey> keys;
  for (const pqxx::row& row : rows) keys.push_back(KeyFromRow(row));
  return keys;
}

// The expire time as a literal: NULL when unset.
std::string ExpiryLiteral(const v1::ApiKey& key) {
  if (!key.has_expire_time()) return "NULL";
  return TimestampLiteral(TimeUtil::TimestampToMicroseconds(key.expire_time()));
}

}  // namespace

void PgRegistryStore::SaveApiClientVersion(const v1::ApiClient& c) {
  tx_.StageWrite(absl::StrCat("UPDATE api_clients SET version = ", c.version(),
                              " WHERE id = ", tx_.quote(c.id())));
}

absl::StatusOr<v1::ApiKey> PgRegistryStore::InsertApiKey(const v1::ApiKey& k,
                                                         const std::string& secret_hash) {
  pqxx::result rows = tx_.exec_params(
      "INSERT INTO api_keys (id, client_id, secret_hash, expire_time) VALUES ($1, $2, $3, " +
          ExpiryLiteral(k) + ") ON CONFLICT (id) DO NOTHING RETURNING " + kKeyColumns,
      k.id(), k.api_client_id(), secret_hash);
  if (rows.empty()) return absl::AlreadyExistsError(absl::StrCat("api key ", k.id(), " exists"));
  return KeyFromRow(rows[0]);
}

absl::StatusOr<StoredApiKey> PgRegistryStore::GetApiKey(const std::string& key_id) {
  pqxx::result rows = tx_.ExecPrepared(
      "registry_key_get", "SELECT " + kKeyColumns + " FROM api_keys WHERE id = $1", key_id);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("api key ", key_id, " not found"));
  StoredApiKey stored{KeyFromRow(rows[0]), rows[0][5].as<std::string>(), {}};
  TT_ASSIGN_OR_RETURN(StoredApiClient client, ReadApiClient(stored.key.api_client_id(), false));
  stored.client = std::move(client.client);
  return stored;
}

std::vector<v1::ApiKey> PgRegistryStore::ListUnrevokedApiKeys(const std::string& client_id) {
  return KeysFromRows(tx_.exec_params("SELECT " + kKeyColumns +
                                          " FROM api_keys WHERE client_id = $1 AND revoke_time "
                                          "IS NULL ORDER BY create_time, id",
                                      client_id));
}

std::vector<v1::ApiKey> PgRegistryStore::ListApiKeys(const std::string& client_id) {
  return KeysFromRows(tx_.exec_params(
      "SELECT " + kKeyColumns + " FROM api_keys WHERE client_id = $1 ORDER BY create_time, id",
      client_id));
}

void PgRegistryStore::SaveApiKeyExpiry(const v1::ApiKey& k) {
  tx_.StageWrite(absl::StrCat("UPDATE api_keys SET expire_time = ", ExpiryLiteral(k),
                              " WHERE id = ", tx_.quote(k.id())));
}

std::vector<v1::ApiKey> PgRegistryStore::RevokeApiKeys(const std::string& client_id) {
  return KeysFromRows(
      tx_.exec_params("UPDATE api_keys SET revoke_time = now() WHERE client_id = "
                      "$1 AND revoke_time IS NULL RETURNING " +
                          kKeyColumns,
                      client_id));
}

}  // namespace techtrade::registry
