// Money as a type: the ISO 4217 currencies the platform accepts, each with its minor-unit
// exponent, the bound on any single amount, and the one way to print an amount.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "techtrade/common/v1/common.pb.h"

namespace techtrade {

struct CurrencyInfo {
  absl::string_view code;  // "CNY"
  int exponent;            // digits after the decimal point: CNY 2, JPY 0, KWD 3
};

// The active ISO 4217 currency, or nullopt for anything else ("ZZZ", "cny", fund codes).
std::optional<CurrencyInfo> FindCurrency(absl::string_view code);

// No single amount may exceed this many minor units (10^14: a trillion yuan in fen). Every
// request amount is bounded by it, so that a sum of up to 92,233 amounts stays inside int64;
// wider sums (reports over many deals) are added with AddAmounts, never with a bare +.
inline constexpr int64_t kMaxAmountMinor = 100'000'000'000'000;

// a + b, or nullopt when the sum leaves int64.
std::optional<int64_t> AddAmounts(int64_t a, int64_t b);

// "CNY 1,234.50", "JPY 1,200", "KWD 1.250" with the currency's own exponent; an unknown code
// prints its minor units with exponent 2. Never through floating point.
std::string FormatMoney(const techtrade::common::v1::Money& money);
std::string FormatMoney(absl::string_view currency, int64_t amount_minor);
// The decimal part alone, without the code or grouping: "1234.50".
std::string FormatAmount(absl::string_view currency, int64_t amount_minor);

// "1234.5" or "1,234.50" (grouping commas allowed) in `currency` → minor units; more decimals
// than the currency has, or an amount past kMaxAmountMinor, is an error naming the problem.
absl::StatusOr<int64_t> ParseAmount(absl::string_view currency, absl::string_view text);

}  // namespace techtrade
