// Unified Social Credit Code (GB 32100-2015): the 18-character identifier of every Chinese
// organisation. Pure functions, no I/O.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace techtrade::registry {

// OK, or INVALID_ARGUMENT naming "credit_code" and saying what is wrong: length, a character
// outside the code's alphabet (digits and upper-case letters without I, O, Z, S, V), the
// registration authority or organisation category, or the check character.
absl::Status ValidateCreditCode(absl::string_view code);

// The check character for the first 17 characters (which must be in the alphabet).
char CreditCodeCheckCharacter(absl::string_view first17);

}  // namespace techtrade::registry
