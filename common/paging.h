// page_size + page_token paging shared by every List call. Tokens are opaque to clients: a
// keyset position (the last row's ordinal), so pages stay stable while rows are added, sealed
// with a MAC over the list's name and the request's filters, so that a token is taken only by
// the list and filters that made it and cannot be forged. The MAC key comes from
// TECHTRADE_PAGE_TOKEN_KEY, which every replica of a service must share (a development key
// otherwise).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace techtrade {

// One page of a List call as a store returns it: the items, the keyset position of the last
// (for EncodePageToken) and whether more follow.
template <class T>
struct Page {
  std::vector<T> items;
  int64_t last_ordinal = 0;
  bool more = false;
};

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;

// 0 → the default; 1..500 as asked; anything else INVALID_ARGUMENT on "page_size".
absl::StatusOr<int> ResolvePageSize(int32_t requested);
// The token of the page after position `after` of `list` (the method, e.g. "ListDeals") for
// `request`, whose fields other than page_token and page_size are its filters.
std::string EncodePageToken(absl::string_view list, const google::protobuf::Message& request,
                            int64_t after);
// The position in request.page_token: 0 (the first page) when empty; INVALID_ARGUMENT
// "page_token" for a token that this list with these filters did not hand out.
absl::StatusOr<int64_t> DecodePageToken(absl::string_view list,
                                        const google::protobuf::Message& request);

}  // namespace techtrade
