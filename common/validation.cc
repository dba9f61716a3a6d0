#include "common/validation.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace techtrade {

size_t CodePoints(absl::string_view utf8) {
  size_t count = 0;
  for (unsigned char c : utf8) {
    if ((c & 0xC0) != 0x80) ++count;  // every byte that does not continue a sequence
  }
  return count;
}

absl::Status CheckText(absl::string_view field, absl::string_view value, size_t min_chars,
                       size_t max_chars) {
  size_t chars = CodePoints(value);
  if (chars < min_chars) {
    return FieldError(field, min_chars == 1 ? std::string("required")
                                            : absl::StrCat("at least ", min_chars, " characters"));
  }
  if (chars > max_chars) {
    return FieldError(field, absl::StrCat("at most ", max_chars, " characters, got ", chars));
  }
  for (unsigned char c : value) {
    if (c < 0x20 && c != '\n' && c != '\t')
      return FieldError(field, "control characters are not allowed");
  }
  return absl::OkStatus();
}

absl::Status CheckUuid(absl::string_view field, absl::string_view value) {
  if (value.empty()) return FieldError(field, "required");
  bool ok = value.size() == 36;
  for (size_t i = 0; ok && i < value.size(); ++i) {
    char c = value[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    ok = dash ? c == '-' : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }
  return ok ? absl::OkStatus() : FieldError(field, "not a valid id");
}

absl::Status CheckExpectedVersion(int64_t expected_version) {
  if (expected_version < 1) {
    return FieldError("expected_version", "required: the version you read (1 or more)");
  }
  return absl::OkStatus();
}

absl::Status CheckEmail(absl::string_view field, absl::string_view value) {
  if (value.empty()) return absl::OkStatus();
  size_t at = value.find('@');
  if (value.size() > 254 || at == absl::string_view::npos || at == 0 || at + 1 >= value.size() ||
      value.find('@', at + 1) != absl::string_view::npos ||
      value.find('.', at) == absl::string_view::npos ||
      value.find(' ') != absl::string_view::npos) {
    return FieldError(field, "not an e-mail address");
  }
  return absl::OkStatus();
}

absl::Status CheckVersionIsCurrent(int64_t expected_version, int64_t current_version) {
  if (expected_version == current_version) return absl::OkStatus();
  return absl::AbortedError(absl::StrCat("expected_version ", expected_version,
                                         " is stale: the record is at version ", current_version,
                                         "; read it again and retry"));
}

absl::Status CheckCurrency(absl::string_view field, absl::string_view currency) {
  if (currency.size() != 3 ||
      !std::all_of(currency.begin(), currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return FieldError(field, "ISO 4217 code of three capital letters required, e.g. CNY");
  }
  return absl::OkStatus();
}

absl::Status CheckMoney(absl::string_view field, const techtrade::common::v1::Money& money,
                        bool allow_zero) {
  TT_RETURN_IF_ERROR(CheckCurrency(absl::StrCat(field, ".currency"), money.currency()));
  if (money.amount_minor() < 0 || (!allow_zero && money.amount_minor() == 0)) {
    return FieldError(absl::StrCat(field, ".amount_minor"),
                      allow_zero ? "must not be negative" : "must be positive");
  }
  return absl::OkStatus();
}

}  // namespace techtrade
