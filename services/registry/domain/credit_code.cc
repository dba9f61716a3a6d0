#include "services/registry/domain/credit_code.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace techtrade::registry {
namespace {

// GB 32100-2015 alphabet: the value of a character is its index here.
constexpr absl::string_view kAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
// Weight of position i is 3^i mod 31.
constexpr int kWeights[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};

int ValueOf(char c) {
  size_t i = kAlphabet.find(c);
  return i == absl::string_view::npos ? -1 : static_cast<int>(i);
}

// Registration authorities (position 1): organisation establishment, foreign affairs, judicial
// administration, culture, civil affairs, tourism, religious affairs, trade unions, market
// regulation, the armed forces, agriculture, other.
constexpr absl::string_view kAuthorities = "123456789ANY";

}  // namespace

char CreditCodeCheckCharacter(absl::string_view first17) {
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += ValueOf(first17[i]) * kWeights[i];
  return kAlphabet[(31 - sum % 31) % 31];
}

absl::Status ValidateCreditCode(absl::string_view code) {
  if (code.size() != 18) {
    return FieldError("credit_code", absl::StrCat("must be 18 characters, got ", code.size()));
  }
  for (size_t i = 0; i < code.size(); ++i) {
    if (ValueOf(code[i]) < 0) {
      return FieldError("credit_code",
                        absl::StrCat("character ", i + 1, " ('", code.substr(i, 1),
                                     "') is not allowed: use digits and upper-case letters "
                                     "other than I, O, Z, S, V"));
    }
  }
  if (kAuthorities.find(code[0]) == absl::string_view::npos) {
    return FieldError("credit_code",
                      absl::StrCat("unknown registration authority '", code.substr(0, 1), "'"));
  }
  if (code[1] < '1' || code[1] > '9') {
    return FieldError("credit_code", absl::StrCat("organisation category '", code.substr(1, 1),
                                                  "' must be a digit 1-9"));
  }
  for (size_t i = 2; i < 8; ++i) {
    if (code[i] < '0' || code[i] > '9') {
      return FieldError("credit_code", "characters 3-8 must be the administrative division code");
    }
  }
  char expected = CreditCodeCheckCharacter(code.substr(0, 17));
  if (code[17] != expected) {
    return FieldError("credit_code", absl::StrCat("check character is '", code.substr(17, 1),
                                                  "', expected '", std::string(1, expected), "'"));
  }
  return absl::OkStatus();
}

}  // namespace techtrade::registry
