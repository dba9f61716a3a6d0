// API-key authentication and the authorization rules every service shares. Keys look like
// "tt_<16 hex key id>_<64 hex secret>"; only SHA-256(secret) is ever stored.
#pragma once

#include <grpcpp/server_context.h>

#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "techtrade/registry/v1/registry.pb.h"

namespace techtrade {

using Principal = techtrade::registry::v1::Principal;

struct ParsedApiKey {
  std::string key_id;
  std::string secret;
};

// UNAUTHENTICATED if the text is not shaped like a key.
absl::StatusOr<ParsedApiKey> ParseApiKey(absl::string_view api_key);
// A new random key for `key_id` (random too when empty).
std::string NewApiKey(std::string key_id = "");

// The key from "authorization: Bearer <key>" (or "x-api-key: <key>"); UNAUTHENTICATED saying
// what is wrong when it is absent, empty or not in that form.
absl::StatusOr<std::string> ApiKeyFromMetadata(const grpc::ServerContext& context);

// Who is behind an API key. Implementations cache; UNAUTHENTICATED for unknown or revoked keys.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual absl::StatusOr<Principal> Authenticate(absl::string_view api_key) = 0;
};

// What the cache holds for an API key, under ApiKeyCacheKey(key id), shared by every service:
// added by whichever service loads it first where there is no entry, overwritten by the registry
// when the key changes (MarkApiKeyRevoked, MarkApiKeyChanged).
struct ApiKeyRecord {
  std::string secret_hash;  // SHA-256 of the secret, hex
  techtrade::registry::v1::ApiClientRole role = {};
  std::string city_id;
  bool active = false;  // neither the key nor its client revoked
  // The client the key belongs to (empty: the key's own id, as for a client's first key).
  std::string client_id;
  // ApiClient.organization_id: a registration body's own organisation, else empty.
  std::string organization_id;
  // From then on the key is refused ("API key expired").
  absl::Time expire_time = absl::InfiniteFuture();
};

class Cache;

// Authenticates against the shared cache entry, loading the record on a miss (from the
// registry's table in the registry, through the registry's Authenticate RPC elsewhere). The
// principal is the key's client; a key past its expire time is UNAUTHENTICATED "API key expired".
class CachedKeyAuthenticator : public Authenticator {
 public:
  explicit CachedKeyAuthenticator(Cache& cache) : cache_(cache) {}
  absl::StatusOr<Principal> Authenticate(absl::string_view api_key) override;

 protected:
  // The record for `key`; UNAUTHENTICATED for an unknown key.
  virtual absl::StatusOr<ApiKeyRecord> Load(const ParsedApiKey& key) = 0;

 private:
  Cache& cache_;
};

// The registry's side of the shared entry, once a change to the key has committed. Both write
// unconditionally, and a loader only adds an entry where there is none, so a load that read the
// key before the change can never put the old record back (each run again on an idempotent
// replay, in case the first write was lost).
// Both stand for kOwnerMarkTtl, well beyond any loader's bound (RemoteAuthenticator: the peer
// call's deadline; the registry's LocalAuthenticator: its statement timeout).
// A revoked key: a tombstone refusing it (revocation is final).
void MarkApiKeyRevoked(Cache& cache, absl::string_view key_id);
// A key changed otherwise (its expiry, by a rotation): a marker sending every reader to the
// registry, with nothing cached meanwhile.
void MarkApiKeyChanged(Cache& cache, absl::string_view key_id);

// Remembers successful authentications in process memory for a short time in front of another
// Authenticator, so that the hot path of every call costs no network round trip. A revocation is
// effective at once on the replica that forgets the key, and within `ttl` on the others; a key is
// never remembered past its expire time (Principal.api_key_expire_time).
class MemoizingAuthenticator : public Authenticator {
 public:
  MemoizingAuthenticator(Authenticator& inner, absl::Duration ttl, size_t max_entries = 10000)
      : inner_(inner), ttl_(ttl), max_entries_(max_entries) {}
  absl::StatusOr<Principal> Authenticate(absl::string_view api_key) override;
  // Drops every remembered key with this key id.
  void Forget(absl::string_view key_id);
  // Whether Authenticate would answer `api_key` from memory, with no look-up.
  bool Remembers(absl::string_view api_key) const;

 private:
  struct Entry {
    Principal principal;
    absl::Time expires;
  };
  Authenticator& inner_;
  const absl::Duration ttl_;
  const size_t max_entries_;
  mutable std::mutex mutex_;
  absl::flat_hash_map<std::string, Entry> entries_;  // guarded by mutex_
  // Moved on by every Forget: an authentication that began before one is not remembered.
  uint64_t generation_ = 0;  // guarded by mutex_
};

// Who may do what, the same in every service (docs/api.md, "Who may call what").
bool IsOperator(const Principal& caller);
// The pilot city a caller's reads are confined to: a city system's or registration body's own;
// empty for operators and
// finance partners, who are not confined by city (a partner's own scope is its deals). Any other
// caller, a city system without a city among them, is PERMISSION_DENIED: an empty scope means
// "every city", so it is never the answer for a caller that was not meant to have it.
absl::StatusOr<std::string> CityScope(const Principal& caller);
// PERMISSION_DENIED unless the caller is an operator.
absl::Status RequireOperator(const Principal& caller);
// PERMISSION_DENIED unless the caller is an operator or a finance partner (audit reads).
absl::Status RequireAuditor(const Principal& caller);
// PERMISSION_DENIED unless the caller is an operator or the system of `city_id`.
absl::Status RequireCityAccess(const Principal& caller, absl::string_view city_id);
// PERMISSION_DENIED for read-only callers (finance partners).
absl::Status RequireWriter(const Principal& caller);

}  // namespace techtrade
