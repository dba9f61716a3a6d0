// The API-key parser (common/auth.h ParseApiKey). Besides not crashing: a key it accepts is
// exactly "tt_" + key id + "_" + secret, of the documented lengths, and anything else is
// UNAUTHENTICATED.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/auth.h"

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "api_key_fuzzer: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<techtrade::ParsedApiKey> key = techtrade::ParseApiKey(text);
  if (!key.ok()) {
    if (key.status().code() != absl::StatusCode::kUnauthenticated) {
      Fail("rejected with a code other than UNAUTHENTICATED");
    }
    return 0;
  }
  if (key->key_id.size() != 16 || key->secret.size() != 64) Fail("accepted a key of other lengths");
  if ("tt_" + key->key_id + "_" + key->secret != text) Fail("accepted a key that is not the parts");
  return 0;
}
