#include "services/registry/api/authenticator.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/status.h"
#include "services/registry/domain/api_keys.h"
#include "services/registry/domain/records.h"
#include "services/registry/store/pg_registry_store.h"

namespace techtrade::registry {

ApiKeyRecord KeyRecordOf(const StoredApiKey& stored) {
  ApiKeyRecord record{.secret_hash = stored.secret_hash,
                      .role = stored.client.role(),
                      .city_id = stored.client.city_id(),
                      .active = stored.client.status() == v1::API_CLIENT_STATUS_ACTIVE &&
                                !stored.key.has_revoke_time(),
                      .client_id = stored.client.id(),
                      .organization_id = stored.client.organization_id()};
  if (stored.key.has_expire_time()) {
    record.expire_time = absl::FromUnixMicros(
        google::protobuf::util::TimeUtil::TimestampToMicroseconds(stored.key.expire_time()));
  }
  return record;
}

absl::StatusOr<ApiKeyRecord> LocalAuthenticator::Load(const ParsedApiKey& key) {
  absl::StatusOr<StoredApiKey> stored = InTransaction(db_, [&](Tx& tx) {
    // Sent with the read, in its round trip: bounds the load, which must end well within the
    // life of a tombstone the registry writes meanwhile (kOwnerMarkTtl).
    tx.StageWrite(absl::StrCat("SET LOCAL statement_timeout = ",
                               absl::ToInt64Milliseconds(kKeyLoadStatementTimeout)));
    return PgRegistryStore(tx).GetApiKey(key.key_id);
  });
  if (absl::IsNotFound(stored.status())) return absl::UnauthenticatedError("unknown API key");
  if (!stored.ok()) return stored.status();
  return KeyRecordOf(*stored);
}

absl::Status EnsureBootstrapOperatorKey(Transactor<RegistryStore>& transactor,
                                        const std::string& api_key) {
  absl::StatusOr<ParsedApiKey> key = ParseApiKey(api_key);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        "TECHTRADE_BOOTSTRAP_OPERATOR_KEY: not an API key (tt_<16 hex>_<64 hex>)");
  }
  return transactor.Run([&](RegistryStore& store, UnitOfWork& work) -> absl::Status {
    v1::IssueApiKeyRequest request;
    request.set_name("bootstrap operator");
    request.set_role(v1::API_CLIENT_ROLE_OPERATOR);
    absl::StatusOr<v1::ApiClient> client =
        store.InsertApiClient(NewApiClient(request, key->key_id), Sha256Hex(key->secret));
    if (absl::IsAlreadyExists(client.status())) return absl::OkStatus();
    if (!client.ok()) return client.status();
    v1::ApiKeyIssued event;
    *event.mutable_api_client() = *client;
    TT_ASSIGN_OR_RETURN(*event.mutable_key(),
                        store.InsertApiKey(NewClientKey(client->id(), key->key_id, absl::Now(),
                                                        absl::ZeroDuration()),
                                           Sha256Hex(key->secret)));
    // A start-up's own change: no request caused it.
    work.Emit("registry", EventCause::OfSystem("registry"), {"api_client", client->id()},
              client->version(), event);
    log::Info("bootstrap operator key registered", {{"api_client_id", client->id()}});
    return absl::OkStatus();
  });
}

}  // namespace techtrade::registry
