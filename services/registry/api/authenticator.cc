#include "services/registry/api/authenticator.h"

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/status.h"
#include "services/registry/domain/records.h"
#include "services/registry/store/pg_registry_store.h"

namespace techtrade::registry {
absl::StatusOr<ApiKeyRecord> LocalAuthenticator::Load(const ParsedApiKey& key) {
  absl::StatusOr<StoredApiClient> stored =
      InTransaction(db_, [&](Tx& tx) { return PgRegistryStore(tx).GetApiClient(key.key_id); });
  if (absl::IsNotFound(stored.status())) return absl::UnauthenticatedError("unknown API key");
  if (!stored.ok()) return stored.status();
  return ApiKeyRecord{.secret_hash = stored->secret_hash,
                      .role = stored->client.role(),
                      .city_id = stored->client.city_id(),
                      .active = stored->client.status() == v1::API_CLIENT_STATUS_ACTIVE};
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
    // A start-up's own change: no request caused it.
    work.Emit("registry", EventCause{}, {"api_client", client->id()}, client->version(), event);
    log::Info("bootstrap operator key registered", {{"api_client_id", client->id()}});
    return absl::OkStatus();
  });
}

}  // namespace techtrade::registry
