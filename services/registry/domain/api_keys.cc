#include "services/registry/domain/api_keys.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace techtrade::registry {
namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp Ts(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

absl::Time TimeOf(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(ts));
}

}  // namespace

v1::ApiKey NewClientKey(const std::string& client_id, const std::string& key_id, absl::Time now,
                        absl::Duration ttl) {
  v1::ApiKey key;
  key.set_id(key_id);
  key.set_api_client_id(client_id);
  if (ttl > absl::ZeroDuration()) *key.mutable_expire_time() = Ts(now + ttl);
  return key;
}

bool IsLive(const v1::ApiKey& key, absl::Time now) {
  if (key.has_revoke_time()) return false;
  return !key.has_expire_time() || TimeOf(key.expire_time()) > now;
}

absl::Duration RotationOverlap(const v1::RotateApiKeyRequest& request) {
  return request.has_overlap_seconds() ? absl::Seconds(request.overlap_seconds())
                                       : kDefaultRotationOverlap;
}

absl::StatusOr<KeyRotation> RotateKeys(const v1::ApiClient& client,
                                       const std::vector<v1::ApiKey>& keys,
                                       const std::string& key_id, absl::Time now,
                                       absl::Duration overlap, absl::Duration ttl) {
  if (client.status() != v1::API_CLIENT_STATUS_ACTIVE) {
    return absl::FailedPreconditionError("id: the API client is revoked");
  }
  std::vector<v1::ApiKey> live;
  for (const v1::ApiKey& key : keys) {
    if (IsLive(key, now)) live.push_back(key);
  }
  if (live.size() >= kMaxLiveKeys) {
    return absl::FailedPreconditionError(absl::StrCat(
        "id: the API client already holds ", kMaxLiveKeys,
        " live keys, the most a rollover needs; rotate again once the older one expires (",
        TimeUtil::ToString(live.front().expire_time()), ")"));
  }
  KeyRotation rotation;
  rotation.client = client;
  rotation.client.set_version(client.version() + 1);
  rotation.key = NewClientKey(client.id(), key_id, now, ttl);
  if (!live.empty()) {
    v1::ApiKey previous = live.front();
    absl::Time until = now + std::max(overlap, absl::ZeroDuration());
    if (previous.has_expire_time()) until = std::min(until, TimeOf(previous.expire_time()));
    *previous.mutable_expire_time() = Ts(until);
    rotation.previous_key = std::move(previous);
  }
  return rotation;
}

}  // namespace techtrade::registry
