#include "common/auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"

namespace techtrade {
namespace {

using techtrade::registry::v1::API_CLIENT_ROLE_CITY_SYSTEM;
using techtrade::registry::v1::API_CLIENT_ROLE_OPERATOR;
using techtrade::registry::v1::API_CLIENT_ROLE_PARTNER;

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<ParsedApiKey> ParseApiKey(absl::string_view api_key) {
  // tt_ + 16 + _ + 64
  if (api_key.size() != 3 + 16 + 1 + 64 || !absl::StartsWith(api_key, "tt_") || api_key[19] != '_' ||
      !IsLowerHex(api_key.substr(3, 16)) || !IsLowerHex(api_key.substr(20))) {
    return absl::UnauthenticatedError("malformed API key");
  }
  return ParsedApiKey{std::string(api_key.substr(3, 16)), std::string(api_key.substr(20))};
}

std::string NewApiKey(std::string key_id) {
  if (key_id.empty()) key_id = RandomHex(8);
  return absl::StrCat("tt_", key_id, "_", RandomHex(32));
}

std::string ApiKeyFromMetadata(const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    absl::string_view value(it->second.data(), it->second.size());
    if (absl::StartsWithIgnoreCase(value, "bearer ")) {
      return std::string(absl::StripAsciiWhitespace(value.substr(7)));
    }
  }
  if (auto it = metadata.find("x-api-key"); it != metadata.end()) {
    return std::string(absl::StripAsciiWhitespace(absl::string_view(it->second.data(), it->second.size())));
  }
  return "";
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
