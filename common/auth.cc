#include "common/auth.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/cache.h"
#include "common/cache_keys.h"
#include "common/ids.h"
#include "common/status.h"

namespace techtrade {
namespace {

using techtrade::registry::v1::API_CLIENT_ROLE_CITY_SYSTEM;
using techtrade::registry::v1::API_CLIENT_ROLE_OPERATOR;
using techtrade::registry::v1::API_CLIENT_ROLE_PARTNER;
using techtrade::registry::v1::API_CLIENT_ROLE_REGISTRATION_BODY;

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<ParsedApiKey> ParseApiKey(absl::string_view api_key) {
  // tt_ + 16 + _ + 64
  if (api_key.size() != 3 + 16 + 1 + 64 || !absl::StartsWith(api_key, "tt_") ||
      api_key[19] != '_' || !IsLowerHex(api_key.substr(3, 16)) || !IsLowerHex(api_key.substr(20))) {
    return absl::UnauthenticatedError("malformed API key");
  }
  return ParsedApiKey{std::string(api_key.substr(3, 16)), std::string(api_key.substr(20))};
}

std::string NewApiKey(std::string key_id) {
  if (key_id.empty()) key_id = RandomHex(8);
  return absl::StrCat("tt_", key_id, "_", RandomHex(32));
}

absl::StatusOr<std::string> ApiKeyFromMetadata(const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    absl::string_view value(it->second.data(), it->second.size());
    if (!absl::StartsWithIgnoreCase(value, "bearer ")) {
      return absl::UnauthenticatedError(
          "authorization: expected 'Bearer <api key>' (the word Bearer, a space, then the key)");
    }
    std::string key(absl::StripAsciiWhitespace(value.substr(7)));
    if (key.empty())
      return absl::UnauthenticatedError("authorization: the key after Bearer is empty");
    return key;
  }
  if (auto it = metadata.find("x-api-key"); it != metadata.end()) {
    std::string key(
        absl::StripAsciiWhitespace(absl::string_view(it->second.data(), it->second.size())));
    if (key.empty()) return absl::UnauthenticatedError("x-api-key: empty");
    return key;
  }
  return absl::UnauthenticatedError("missing API key: send metadata 'authorization: Bearer <key>'");
}

absl::StatusOr<Principal> MemoizingAuthenticator::Authenticate(absl::string_view api_key) {
  const absl::Time now = absl::Now();
  uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    generation = generation_;
    if (auto it = entries_.find(api_key); it != entries_.end()) {
      if (it->second.expires > now) return it->second.principal;
      entries_.erase(it);
    }
  }
  absl::StatusOr<Principal> principal = inner_.Authenticate(api_key);
  if (principal.ok()) {
    absl::Time expires = now + ttl_;
    if (principal->has_api_key_expire_time()) {
      expires =
          std::min(expires, absl::FromUnixSeconds(principal->api_key_expire_time().seconds()) +
                                absl::Nanoseconds(principal->api_key_expire_time().nanos()));
    }
    std::lock_guard lock(mutex_);
    // A key forgotten during the call may have been revoked after `inner_` read it.
    if (generation_ != generation) return principal;
    if (entries_.size() >= max_entries_) entries_.clear();  // crude, bounded, rare
    entries_[std::string(api_key)] = Entry{*principal, expires};
  }
  return principal;
}

bool MemoizingAuthenticator::Remembers(absl::string_view api_key) const {
  const absl::Time now = absl::Now();
  std::lock_guard lock(mutex_);
  auto it = entries_.find(api_key);
  return it != entries_.end() && it->second.expires > now;
}

void MemoizingAuthenticator::Forget(absl::string_view key_id) {
  const std::string prefix = absl::StrCat("tt_", key_id, "_");
  std::lock_guard lock(mutex_);
  ++generation_;
  absl::erase_if(entries_,
                 [&](const auto& entry) { return absl::StartsWith(entry.first, prefix); });
}

void MarkApiKeyRevoked(Cache& cache, absl::string_view key_id) {
  cache.Replace(ApiKeyCacheKey(key_id), nlohmann::json{{"active", false}}.dump(), kOwnerMarkTtl);
}

void MarkApiKeyChanged(Cache& cache, absl::string_view key_id) {
  // kReloadMarker: {"reload":true}, which CachedKeyAuthenticator reads as "ask the registry".
  cache.MarkChanged(ApiKeyCacheKey(key_id));
}

absl::StatusOr<Principal> CachedKeyAuthenticator::Authenticate(absl::string_view api_key) {
  constexpr char kUnknownKey[] = "unknown or revoked API key";
  constexpr char kExpiredKey[] = "API key expired";
  TT_ASSIGN_OR_RETURN(ParsedApiKey key, ParseApiKey(api_key));
  const std::string cache_key = ApiKeyCacheKey(key.key_id);
  ApiKeyRecord record;
  nlohmann::json cached;
  if (std::optional<std::string> text = cache_.Get(cache_key)) {
    cached = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  }
  const bool reload = cached.is_object() && cached.contains("reload");
  if (cached.is_object() && !reload) {
    record.secret_hash = cached.value("hash", std::string());
    record.role = static_cast<techtrade::registry::v1::ApiClientRole>(cached.value("role", 0));
    record.city_id = cached.value("city", std::string());
    record.active = cached.value("active", false);
    record.client_id = cached.value("client", std::string());
    record.organization_id = cached.value("org", std::string());
    if (cached.contains("expires")) {
      record.expire_time = absl::FromUnixMicros(cached.value("expires", int64_t{0}));
    }
  } else {
    absl::StatusOr<ApiKeyRecord> loaded = Load(key);
    if (absl::IsUnauthenticated(loaded.status())) {
      // The registry says so for a key it knows to be expired.
      if (absl::StrContains(loaded.status().message(), kExpiredKey)) {
        return absl::UnauthenticatedError(kExpiredKey);
      }
      return absl::UnauthenticatedError(kUnknownKey);
    }
    if (!loaded.ok()) return loaded.status();
    record = *std::move(loaded);
    nlohmann::json entry{{"hash", record.secret_hash}, {"role", static_cast<int>(record.role)},
                         {"city", record.city_id},     {"active", record.active},
                         {"client", record.client_id}, {"org", record.organization_id}};
    if (record.expire_time != absl::InfiniteFuture()) {
      entry["expires"] = absl::ToUnixMicros(record.expire_time);
    }
    // Never over the registry's word: a revocation committed since Load read the key must win.
    if (!reload) cache_.SetIfAbsent(cache_key, entry.dump(), kSharedCacheTtl);
  }
  if (!record.active || !ConstantTimeEquals(Sha256Hex(key.secret), record.secret_hash)) {
    return absl::UnauthenticatedError(kUnknownKey);
  }
  // Checked on every call, whatever the cache holds: an entry outlives no key's expiry.
  if (absl::Now() >= record.expire_time) return absl::UnauthenticatedError(kExpiredKey);
  Principal principal;
  principal.set_api_client_id(record.client_id.empty() ? key.key_id : record.client_id);
  principal.set_role(record.role);
  principal.set_city_id(record.city_id);
  principal.set_organization_id(record.organization_id);
  principal.set_api_key_id(key.key_id);
  if (record.expire_time != absl::InfiniteFuture()) {
    const int64_t micros = absl::ToUnixMicros(record.expire_time);
    principal.mutable_api_key_expire_time()->set_seconds(micros / 1'000'000);
    principal.mutable_api_key_expire_time()->set_nanos(static_cast<int32_t>(micros % 1'000'000) *
                                                       1000);
  }
  return principal;
}

bool IsOperator(const Principal& caller) { return caller.role() == API_CLIENT_ROLE_OPERATOR; }

absl::StatusOr<std::string> CityScope(const Principal& caller) {
  switch (caller.role()) {
    case API_CLIENT_ROLE_OPERATOR:
      return std::string();
    case API_CLIENT_ROLE_PARTNER:
      if (!caller.api_client_id().empty()) return std::string();
      break;
    case API_CLIENT_ROLE_CITY_SYSTEM:
    case API_CLIENT_ROLE_REGISTRATION_BODY:
      if (!caller.city_id().empty()) return caller.city_id();
      break;
    default:
      break;
  }
  return absl::PermissionDeniedError("this API client may read no pilot city's data");
}

absl::Status RequireAuditor(const Principal& caller) {
  if (caller.role() == API_CLIENT_ROLE_OPERATOR || caller.role() == API_CLIENT_ROLE_PARTNER) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError("operators and finance partners only");
}

absl::Status RequireOperator(const Principal& caller) {
  if (caller.role() == API_CLIENT_ROLE_OPERATOR) return absl::OkStatus();
  return absl::PermissionDeniedError("only a platform operator may do this");
}

absl::Status RequireCityAccess(const Principal& caller, absl::string_view city_id) {
  if (caller.role() == API_CLIENT_ROLE_OPERATOR) return absl::OkStatus();
  if (caller.role() == API_CLIENT_ROLE_CITY_SYSTEM && caller.city_id() == city_id) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("this API client may not act for pilot city '", city_id, "'"));
}

absl::Status RequireWriter(const Principal& caller) {
  if (caller.role() == API_CLIENT_ROLE_OPERATOR || caller.role() == API_CLIENT_ROLE_CITY_SYSTEM) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError("this API client has read-only access");
}

}  // namespace techtrade
