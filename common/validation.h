// Boundary checks shared by every service's request validation. Each returns INVALID_ARGUMENT
// naming the field, or OK.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "techtrade/common/v1/common.pb.h"

namespace techtrade {

// Text measured in Unicode code points (Chinese names count one per character, not per byte).
absl::Status CheckText(absl::string_view field, absl::string_view value, size_t min_chars,
                       size_t max_chars);
// Canonical lowercase UUID, e.g. an id assigned by a techtrade service.
absl::Status CheckUuid(absl::string_view field, absl::string_view value);
// expected_version must be a version the record could have had (>= 1).
absl::Status CheckExpectedVersion(int64_t expected_version);
// ABORTED unless the caller's expected_version is the record's current version (optimistic
// concurrency: the caller read an older state and must read again).
absl::Status CheckVersionIsCurrent(int64_t expected_version, int64_t current_version);
// Optional e-mail address: empty, or something@domain of at most 254 characters.
absl::Status CheckEmail(absl::string_view field, absl::string_view value);

// An ISO 4217 alphabetic code: three capital letters.
absl::Status CheckCurrency(absl::string_view field, absl::string_view currency);
// A positive (or, with allow_zero, non-negative) amount in a valid currency; the error names
// `field`.currency or `field`.amount_minor.
absl::Status CheckMoney(absl::string_view field, const techtrade::common::v1::Money& money,
                        bool allow_zero = false);

size_t CodePoints(absl::string_view utf8);

}  // namespace techtrade
