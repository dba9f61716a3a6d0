// The registry authenticates API keys from its own table, through the cache. The key loader reads
// the table directly (PgPool): it serves every call's authentication, outside any handler.
#pragma once

#include "common/auth.h"
#include "common/cache.h"
#include "common/command.h"
#include "common/db.h"
#include "services/registry/store/registry_store.h"

namespace techtrade::registry {

// What authentication needs of a stored key: active only while neither the key nor its client is
// revoked.
ApiKeyRecord KeyRecordOf(const StoredApiKey& stored);

// How long a key load's read may run. With the pool's wait and InTransaction's attempts it
// bounds the load far below kOwnerMarkTtl.
inline constexpr absl::Duration kKeyLoadStatementTimeout = absl::Seconds(2);

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
absl::Status EnsureBootstrapOperatorKey(Transactor<RegistryStore>& transactor,
                                        const std::string& api_key);

}  // namespace techtrade::registry
