#include "services/registry/api/authenticator.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/outbox.h"
#include "common/status.h"
#include "services/registry/store/registry_store.h"

namespace techtrade::registry {
namespace {

constexpr absl::Duration kKeyTtl = absl::Seconds(60);
constexpr char kUnknownKey[] = "unknown or revoked API key";

}  // namespace

std::string LocalAuthenticator::CacheKey(absl::string_view key_id) {
  return absl::StrCat("registry:apikey:", key_id);
}

absl::StatusOr<Principal> LocalAuthenticator::Authenticate(absl::string_view api_key) {
  TT_ASSIGN_OR_RETURN(ParsedApiKey key, ParseApiKey(api_key));
  const std::string cache_key = CacheKey(key.key_id);
  nlohmann::json record;
  if (std::optional<std::string> cached = cache_.Get(cache_key)) {
    record = nlohmann::json::parse(*cached, nullptr, /*allow_exceptions=*/false);
  }
  if (!record.is_object()) {
    absl::StatusOr<store::StoredApiClient> stored = InTransaction(
        db_, [&](Tx& tx) { return store::GetApiClient(tx, key.key_id, false); });
    if (absl::IsNotFound(stored.status())) return absl::UnauthenticatedError(kUnknownKey);
    if (!stored.ok()) return stored.status();
    record = {{"hash", stored->secret_hash},
              {"role", static_cast<int>(stored->client.role())},
              {"city", stored->client.city_id()},
              {"active", stored->client.status() == v1::API_CLIENT_STATUS_ACTIVE}};
    cache_.Set(cache_key, record.dump(), kKeyTtl);
  }
  if (!record.value("active", false) ||
      !ConstantTimeEquals(Sha256Hex(key.secret), record.value("hash", std::string()))) {
    return absl::UnauthenticatedError(kUnknownKey);
  }
  Principal principal;
  principal.set_api_client_id(key.key_id);
  principal.set_role(static_cast<v1::ApiClientRole>(record.value("role", 0)));
  principal.set_city_id(record.value("city", std::string()));
  return principal;
}

absl::Status EnsureBootstrapOperatorKey(PgPool& db, const std::string& api_key) {
  absl::StatusOr<ParsedApiKey> key = ParseApiKey(api_key);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        "TECHTRADE_BOOTSTRAP_OPERATOR_KEY: not an API key (tt_<16 hex>_<64 hex>)");
  }
  return InTransaction(db, [&](Tx& tx) -> absl::Status {
    v1::IssueApiKeyRequest request;
    request.set_name("bootstrap operator");
    request.set_role(v1::API_CLIENT_ROLE_OPERATOR);
    absl::StatusOr<v1::ApiClient> client =
        store::InsertApiClient(tx, key->key_id, request, Sha256Hex(key->secret));
    if (absl::IsAlreadyExists(client.status())) return absl::OkStatus();
    if (!client.ok()) return client.status();
    v1::ApiKeyIssued event;
    *event.mutable_api_client() = *client;
    AppendToOutbox(tx, "registry",
                   {.aggregate_type = "api_client",
                    .aggregate_id = client->id(),
                    .sequence = client->version(),
                    .payload = &event});
    log::Info("bootstrap operator key registered", {{"api_client_id", client->id()}});
    return absl::OkStatus();
  });
}

}  // namespace techtrade::registry
