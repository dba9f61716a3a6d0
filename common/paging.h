// page_size + page_token paging shared by every List call. Tokens are opaque to clients: an
// encoded keyset position (the last row's ordinal), so pages stay stable while rows are added.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace techtrade {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;

// 0 → the default; 1..500 as asked; anything else INVALID_ARGUMENT on "page_size".
absl::StatusOr<int> ResolvePageSize(int32_t requested);
std::string EncodePageToken(int64_t after);
// "" → 0 (the first page); a token not made by EncodePageToken → INVALID_ARGUMENT "page_token".
absl::StatusOr<int64_t> DecodePageToken(absl::string_view token);

}  // namespace techtrade
