// The registry authenticates API keys from its own table, through the cache.
#pragma once

#include "common/auth.h"
#include "common/cache.h"
#include "common/db.h"

namespace techtrade::registry {

class LocalAuthenticator : public Authenticator {
 public:
  LocalAuthenticator(PgPool& db, Cache& cache) : db_(db), cache_(cache) {}
  absl::StatusOr<Principal> Authenticate(absl::string_view api_key) override;

  static std::string CacheKey(absl::string_view key_id);

 private:
  PgPool& db_;
  Cache& cache_;
};

// Makes sure the operator key given at start-up exists (an existing or revoked one is left as
// it is). Emits ApiKeyIssued the first time.
absl::Status EnsureBootstrapOperatorKey(PgPool& db, const std::string& api_key);

}  // namespace techtrade::registry
