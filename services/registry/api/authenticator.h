// The registry authenticates API keys from its own table, through the cache.
#pragma once

#include "common/auth.h"
#include "common/cache.h"
#include "common/db.h"

namespace techtrade::registry {

class LocalAuthenticator : public CachedKeyAuthenticator {
 public:
  LocalAuthenticator(PgPool& db, Cache& cache) : CachedKeyAuthenticator(cache), db_(db) {}

 protected:
  absl::StatusOr<ApiKeyRecord> Load(const ParsedApiKey& key) override;

 private:
  PgPool& db_;
};

// Makes sure the operator key given at start-up exists (an existing or revoked one is left as
// it is). Emits ApiKeyIssued the first time.
absl::Status EnsureBootstrapOperatorKey(PgPool& db, const std::string& api_key);

}  // namespace techtrade::registry
