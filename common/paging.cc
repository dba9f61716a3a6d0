#include "common/paging.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace techtrade {

absl::StatusOr<int> ResolvePageSize(int32_t requested) {
  if (requested == 0) return kDefaultPageSize;
  if (requested < 0 || requested > kMaxPageSize) {
    return FieldError("page_size", absl::StrCat("must be 1..", kMaxPageSize,
                                                " (0 = ", kDefaultPageSize, "), got ", requested));
  }
  return requested;
}

namespace {

const std::string& PageTokenKey() {
  static const std::string key = [] {
    const char* value = std::getenv("TECHTRADE_PAGE_TOKEN_KEY");
    return std::string(value != nullptr && *value != '\0' ? value
                                                          : "techtrade development page token key");
  }();
  return key;
}

// MAC over the list, the request's filters and the position: the first 12 bytes of
// HMAC-SHA256, hex.
std::string Seal(absl::string_view list, const google::protobuf::Message& request, int64_t after) {
  std::unique_ptr<google::protobuf::Message> filters(request.New());
  filters->CopyFrom(request);
  const google::protobuf::Descriptor* type = filters->GetDescriptor();
  for (const char* paging_field : {"page_token", "page_size"}) {
    if (const auto* field = type->FindFieldByName(paging_field); field != nullptr) {
      filters->GetReflection()->ClearField(filters.get(), field);
    }
  }
  std::string data = absl::StrCat(list, "\n", type->full_name(), "\n", after, "\n");
  {
    google::protobuf::io::StringOutputStream stream(&data);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    filters->SerializeToCodedStream(&out);
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  const std::string& key = PageTokenKey();
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &mac_size);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(mac), std::min(mac_size, 12u)));
}

// In constant time, so that a forger learns nothing from how long a refusal takes.
bool SameSeal(absl::string_view given, const std::string& expected) {
  return given.size() == expected.size() &&
         CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

}  // namespace

std::string EncodePageToken(absl::string_view list, const google::protobuf::Message& request,
                            int64_t after) {
  return absl::WebSafeBase64Escape(absl::StrCat("p2:", after, ":", Seal(list, request, after)));
}

absl::StatusOr<int64_t> DecodePageToken(absl::string_view list,
                                        const google::protobuf::Message& request) {
  const google::protobuf::FieldDescriptor* field =
      request.GetDescriptor()->FindFieldByName("page_token");
  const std::string token =
      field == nullptr ? "" : request.GetReflection()->GetString(request, field);
  if (token.empty()) return 0;
  std::string decoded;
  int64_t after = 0;
  std::vector<absl::string_view> parts;
  if (absl::WebSafeBase64Unescape(token, &decoded)) parts = absl::StrSplit(decoded, ':');
  if (parts.size() != 3 || parts[0] != "p2" || !absl::SimpleAtoi(parts[1], &after) || after < 0 ||
      !SameSeal(parts[2], Seal(list, request, after))) {
    return FieldError("page_token",
                      "not a token this list handed out for these filters: start from an empty "
                      "page_token, or repeat the filters of the call that returned it");
  }
  return after;
}

}  // namespace techtrade
