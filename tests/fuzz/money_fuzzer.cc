// Money parsing (common/money.h ParseAmount) and printing. The first byte picks a currency (with
// its exponent, or none the table knows), the rest is the amount text. Besides not crashing: an
// accepted amount has a digit and is within kMaxAmountMinor, and printing it and parsing the print
// gives it back.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/money.h"

namespace {

constexpr const char* kCurrencies[] = {"CNY", "JPY", "KWD", "USD", "EUR", "CLF", "XXX", "", "cny"};

[[noreturn]] void Fail(const char* what, const std::string& currency, const std::string& text) {
  std::fprintf(stderr, "money_fuzzer: %s: %s '%s'\n", what, currency.c_str(), text.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string currency = kCurrencies[data[0] % (sizeof(kCurrencies) / sizeof(*kCurrencies))];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  absl::StatusOr<int64_t> amount = techtrade::ParseAmount(currency, text);
  if (!amount.ok()) {
    if (amount.status().code() != absl::StatusCode::kInvalidArgument) {
      Fail("rejected with a code other than INVALID_ARGUMENT", currency, text);
    }
    return 0;
  }
  if (text.find_first_of("0123456789") == std::string::npos) {
    Fail("accepted an amount without a digit", currency, text);
  }
  if (*amount > techtrade::kMaxAmountMinor || *amount < -techtrade::kMaxAmountMinor) {
    Fail("accepted an amount past kMaxAmountMinor", currency, text);
  }
  const std::string printed = techtrade::FormatAmount(currency, *amount);
  absl::StatusOr<int64_t> again = techtrade::ParseAmount(currency, printed);
  if (!again.ok() || *again != *amount) Fail("FormatAmount does not parse back", currency, text);
  const std::string grouped = techtrade::FormatMoney(currency, *amount);
  const std::string grouped_amount = grouped.substr(currency.size() + 1);
  again = techtrade::ParseAmount(currency, grouped_amount);
  if (!again.ok() || *again != *amount) Fail("FormatMoney does not parse back", currency, text);
  (void)techtrade::AddAmounts(*amount, *amount);
  return 0;
}
