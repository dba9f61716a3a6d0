// The one error model: absl::Status inside (this header, free of any transport), mapped to the
// gRPC status at the edge (common/grpc_status.h, used by the server and the clients).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace techtrade {

// INVALID_ARGUMENT whose message starts with the offending field, so callers can tell which.
inline absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

// A status message travels in a response header, which clients bound (8–16 KB): a longer one
// would reach the caller as RESOURCE_EXHAUSTED instead of the error. Messages are cut here.
inline constexpr size_t kMaxStatusMessageBytes = 1024;
std::string BoundedStatusMessage(absl::string_view message);

}  // namespace techtrade

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define TT_RETURN_IF_ERROR(expr)                              \
  do {                                                        \
    if (absl::Status tt_status_ = (expr); !tt_status_.ok()) { \
      return tt_status_;                                      \
    }                                                         \
  } while (0)

#define TT_CONCAT_INNER(a, b) a##b
#define TT_CONCAT(a, b) TT_CONCAT_INNER(a, b)
// `TT_ASSIGN_OR_RETURN(auto x, StatusOrExpr());`
#define TT_ASSIGN_OR_RETURN(lhs, expr) \
  TT_ASSIGN_OR_RETURN_IMPL(TT_CONCAT(tt_or_, __LINE__), lhs, expr)
#define TT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(*tmp)
