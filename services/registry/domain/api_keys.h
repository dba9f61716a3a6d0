// The rules of an API client's keys, pure and without I/O: when a key works, and what a rotation
// makes of a client's keys. A client holds at most two live keys, so that it can roll a new key
// out while the one it replaces still works, and no more.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "techtrade/registry/v1/registry.pb.h"

namespace techtrade::registry {

inline constexpr int kMaxLiveKeys = 2;
// How long the replaced key keeps working when a rotation does not say.
inline constexpr absl::Duration kDefaultRotationOverlap = absl::Hours(24);

// Key `key_id` of client `client_id`, expiring `ttl` after `now` (never when `ttl` is zero); its
// create time is the store's.
v1::ApiKey NewClientKey(const std::string& client_id, const std::string& key_id, absl::Time now,
                        absl::Duration ttl);

// Whether `key` works at `now`: not revoked, and not at or past its expire time.
bool IsLive(const v1::ApiKey& key, absl::Time now);

// How long the replaced key keeps working: overlap_seconds when given, else the default.
absl::Duration RotationOverlap(const v1::RotateApiKeyRequest& request);

struct KeyRotation {
  v1::ApiClient client;  // at its next version
  v1::ApiKey key;        // the new key
  // The live key the client held, now expiring at min(its expiry, now + overlap); none when the
  // client held no live key.
  std::optional<v1::ApiKey> previous_key;
};

// A new key `key_id` for `client`, whose unrevoked keys are `keys`. FAILED_PRECONDITION naming
// `id` if the client is revoked or already holds kMaxLiveKeys live keys.
absl::StatusOr<KeyRotation> RotateKeys(const v1::ApiClient& client,
                                       const std::vector<v1::ApiKey>& keys,
                                       const std::string& key_id, absl::Time now,
                                       absl::Duration overlap, absl::Duration ttl);

}  // namespace techtrade::registry
