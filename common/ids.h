// Random identifiers and digests, from OpenSSL's CSPRNG and SHA-256.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace techtrade {

// Random RFC 4122 version-4 UUID, lowercase, e.g. "3f0c…-4…".
std::string NewUuid();
// `bytes` random bytes as lowercase hex (2 × bytes characters).
std::string RandomHex(int bytes);
// SHA-256 of `data` as lowercase hex.
std::string Sha256Hex(absl::string_view data);
// Compares in time independent of where the strings differ (for secrets).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace techtrade
