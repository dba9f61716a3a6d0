#include "common/paging.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace techtrade {

absl::StatusOr<int> ResolvePageSize(int32_t requested) {
  if (requested == 0) return kDefaultPageSize;
  if (requested < 0 || requested > kMaxPageSize) {
    return FieldError("page_size", absl::StrCat("must be 1..", kMaxPageSize,
                                                " (0 = ", kDefaultPageSize, "), got ", requested));
  }
  return requested;
}

std::string EncodePageToken(int64_t after) {
  return absl::WebSafeBase64Escape(absl::StrCat("p1:", after));
}

absl::StatusOr<int64_t> DecodePageToken(absl::string_view token) {
  if (token.empty()) return 0;
  std::string decoded;
  int64_t after = 0;
  if (!absl::WebSafeBase64Unescape(token, &decoded) || !absl::StartsWith(decoded, "p1:") ||
      !absl::SimpleAtoi(absl::string_view(decoded).substr(3), &after) || after < 0) {
    return FieldError("page_token", "not a token returned by this service");
  }
  return after;
}

}  // namespace techtrade
