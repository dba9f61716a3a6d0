#include "common/money.h"

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace techtrade {
namespace {

// Active ISO 4217 codes (list one, as published by the maintenance agency), fund and precious-
// metal codes (XAU, XDR, BOV, …) left out: they are not currencies a contract is priced in.
constexpr std::array kCurrencies = {
    CurrencyInfo{"AED", 2}, CurrencyInfo{"AFN", 2}, CurrencyInfo{"ALL", 2}, CurrencyInfo{"AMD", 2},
    CurrencyInfo{"ANG", 2}, CurrencyInfo{"AOA", 2}, CurrencyInfo{"ARS", 2}, CurrencyInfo{"AUD", 2},
    CurrencyInfo{"AWG", 2}, CurrencyInfo{"AZN", 2}, CurrencyInfo{"BAM", 2}, CurrencyInfo{"BBD", 2},
    CurrencyInfo{"BDT", 2}, CurrencyInfo{"BGN", 2}, CurrencyInfo{"BHD", 3}, CurrencyInfo{"BIF", 0},
    CurrencyInfo{"BMD", 2}, CurrencyInfo{"BND", 2}, CurrencyInfo{"BOB", 2}, CurrencyInfo{"BRL", 2},
    CurrencyInfo{"BSD", 2}, CurrencyInfo{"BTN", 2}, CurrencyInfo{"BWP", 2}, CurrencyInfo{"BYN", 2},
    CurrencyInfo{"BZD", 2}, CurrencyInfo{"CAD", 2}, CurrencyInfo{"CDF", 2}, CurrencyInfo{"CHF", 2},
    CurrencyInfo{"CLP", 0}, CurrencyInfo{"CNY", 2}, CurrencyInfo{"COP", 2}, CurrencyInfo{"CRC", 2},
    CurrencyInfo{"CUP", 2}, CurrencyInfo{"CVE", 2}, CurrencyInfo{"CZK", 2}, CurrencyInfo{"DJF", 0},
    CurrencyInfo{"DKK", 2}, CurrencyInfo{"DOP", 2}, CurrencyInfo{"DZD", 2}, CurrencyInfo{"EGP", 2},
    CurrencyInfo{"ERN", 2}, CurrencyInfo{"ETB", 2}, CurrencyInfo{"EUR", 2}, CurrencyInfo{"FJD", 2},
    CurrencyInfo{"FKP", 2}, CurrencyInfo{"GBP", 2}, CurrencyInfo{"GEL", 2}, CurrencyInfo{"GHS", 2},
    CurrencyInfo{"GIP", 2}, CurrencyInfo{"GMD", 2}, CurrencyInfo{"GNF", 0}, CurrencyInfo{"GTQ", 2},
    CurrencyInfo{"GYD", 2}, CurrencyInfo{"HKD", 2}, CurrencyInfo{"HNL", 2}, CurrencyInfo{"HTG", 2},
    CurrencyInfo{"HUF", 2}, CurrencyInfo{"IDR", 2}, CurrencyInfo{"ILS", 2}, CurrencyInfo{"INR", 2},
    CurrencyInfo{"IQD", 3}, CurrencyInfo{"IRR", 2}, CurrencyInfo{"ISK", 0}, CurrencyInfo{"JMD", 2},
    CurrencyInfo{"JOD", 3}, CurrencyInfo{"JPY", 0}, CurrencyInfo{"KES", 2}, CurrencyInfo{"KGS", 2},
    CurrencyInfo{"KHR", 2}, CurrencyInfo{"KMF", 0}, CurrencyInfo{"KPW", 2}, CurrencyInfo{"KRW", 0},
    CurrencyInfo{"KWD", 3}, CurrencyInfo{"KYD", 2}, CurrencyInfo{"KZT", 2}, CurrencyInfo{"LAK", 2},
    CurrencyInfo{"LBP", 2}, CurrencyInfo{"LKR", 2}, CurrencyInfo{"LRD", 2}, CurrencyInfo{"LSL", 2},
    CurrencyInfo{"LYD", 3}, CurrencyInfo{"MAD", 2}, CurrencyInfo{"MDL", 2}, CurrencyInfo{"MGA", 2},
    CurrencyInfo{"MKD", 2}, CurrencyInfo{"MMK", 2}, CurrencyInfo{"MNT", 2}, CurrencyInfo{"MOP", 2},
    CurrencyInfo{"MRU", 2}, CurrencyInfo{"MUR", 2}, CurrencyInfo{"MVR", 2}, CurrencyInfo{"MWK", 2},
    CurrencyInfo{"MXN", 2}, CurrencyInfo{"MYR", 2}, CurrencyInfo{"MZN", 2}, CurrencyInfo{"NAD", 2},
    CurrencyInfo{"NGN", 2}, CurrencyInfo{"NIO", 2}, CurrencyInfo{"NOK", 2}, CurrencyInfo{"NPR", 2},
    CurrencyInfo{"NZD", 2}, CurrencyInfo{"OMR", 3}, CurrencyInfo{"PAB", 2}, CurrencyInfo{"PEN", 2},
    CurrencyInfo{"PGK", 2}, CurrencyInfo{"PHP", 2}, CurrencyInfo{"PKR", 2}, CurrencyInfo{"PLN", 2},
    CurrencyInfo{"PYG", 0}, CurrencyInfo{"QAR", 2}, CurrencyInfo{"RON", 2}, CurrencyInfo{"RSD", 2},
    CurrencyInfo{"RUB", 2}, CurrencyInfo{"RWF", 0}, CurrencyInfo{"SAR", 2}, CurrencyInfo{"SBD", 2},
    CurrencyInfo{"SCR", 2}, CurrencyInfo{"SDG", 2}, CurrencyInfo{"SEK", 2}, CurrencyInfo{"SGD", 2},
    CurrencyInfo{"SHP", 2}, CurrencyInfo{"SLE", 2}, CurrencyInfo{"SOS", 2}, CurrencyInfo{"SRD", 2},
    CurrencyInfo{"SSP", 2}, CurrencyInfo{"STN", 2}, CurrencyInfo{"SVC", 2}, CurrencyInfo{"SYP", 2},
    CurrencyInfo{"SZL", 2}, CurrencyInfo{"THB", 2}, CurrencyInfo{"TJS", 2}, CurrencyInfo{"TMT", 2},
    CurrencyInfo{"TND", 3}, CurrencyInfo{"TOP", 2}, CurrencyInfo{"TRY", 2}, CurrencyInfo{"TTD", 2},
    CurrencyInfo{"TWD", 2}, CurrencyInfo{"TZS", 2}, CurrencyInfo{"UAH", 2}, CurrencyInfo{"UGX", 0},
    CurrencyInfo{"USD", 2}, CurrencyInfo{"UYU", 2}, CurrencyInfo{"UZS", 2}, CurrencyInfo{"VES", 2},
    CurrencyInfo{"VND", 0}, CurrencyInfo{"VUV", 0}, CurrencyInfo{"WST", 2}, CurrencyInfo{"XAF", 0},
    CurrencyInfo{"XCD", 2}, CurrencyInfo{"XOF", 0}, CurrencyInfo{"XPF", 0}, CurrencyInfo{"YER", 2},
    CurrencyInfo{"ZAR", 2}, CurrencyInfo{"ZMW", 2}, CurrencyInfo{"ZWL", 2},
};

constexpr bool Sorted() {
  for (size_t i = 1; i < kCurrencies.size(); ++i) {
    if (!(kCurrencies[i - 1].code < kCurrencies[i].code)) return false;
  }
  return true;
}
static_assert(Sorted(), "kCurrencies must stay sorted by code for the binary search");

int ExponentOf(absl::string_view currency) {
  auto info = FindCurrency(currency);
  return info ? info->exponent : 2;
}

// Built front to back: GCC 12 reports a false -Wrestrict (an error under -Werror) when commas are
// inserted into the string in place.
std::string Grouped(absl::string_view digits) {
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string Format(absl::string_view currency, int64_t amount_minor, bool grouping) {
  const int exponent = ExponentOf(currency);
  // Magnitude as unsigned so that INT64_MIN prints too.
  uint64_t magnitude = amount_minor < 0 ? 0 - static_cast<uint64_t>(amount_minor)
                                        : static_cast<uint64_t>(amount_minor);
  std::string digits = std::to_string(magnitude);
  if (digits.size() <= static_cast<size_t>(exponent)) {
    digits.insert(0, exponent + 1 - digits.size(), '0');
  }
  std::string whole = digits.substr(0, digits.size() - exponent);
  std::string out = amount_minor < 0 ? "-" : "";
  absl::StrAppend(&out, grouping ? Grouped(whole) : whole);
  if (exponent > 0) absl::StrAppend(&out, ".", digits.substr(digits.size() - exponent));
  return out;
}

}  // namespace

std::optional<CurrencyInfo> FindCurrency(absl::string_view code) {
  size_t lo = 0, hi = kCurrencies.size();
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (kCurrencies[mid].code < code) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo < kCurrencies.size() && kCurrencies[lo].code == code) return kCurrencies[lo];
  return std::nullopt;
}

std::optional<int64_t> AddAmounts(int64_t a, int64_t b) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) return std::nullopt;
  return sum;
}

std::string FormatMoney(const techtrade::common::v1::Money& money) {
  return FormatMoney(money.currency(), money.amount_minor());
}

std::string FormatMoney(absl::string_view currency, int64_t amount_minor) {
  return absl::StrCat(currency, " ", Format(currency, amount_minor, /*grouping=*/true));
}

std::string FormatAmount(absl::string_view currency, int64_t amount_minor) {
  return Format(currency, amount_minor, /*grouping=*/false);
}

absl::StatusOr<int64_t> ParseAmount(absl::string_view currency, absl::string_view text) {
  const int exponent = ExponentOf(currency);
  bool negative = absl::ConsumePrefix(&text, "-");
  if (text.empty()) return absl::InvalidArgumentError("an amount needs digits");
  int64_t whole = 0, fraction = 0;
  int fraction_digits = -1;  // -1: no decimal point yet
  bool any_digit = false;    // "." or "," alone is no amount
  for (char c : text) {
    if (c == ',' && fraction_digits < 0) continue;
    if (c == '.' && fraction_digits < 0) {
      fraction_digits = 0;
      continue;
    }
    if (!absl::ascii_isdigit(c)) {
      return absl::InvalidArgumentError(absl::StrCat("'", std::string(1, c), "' in an amount"));
    }
    any_digit = true;
    if (fraction_digits >= 0) {
      if (++fraction_digits > exponent) {
        return absl::InvalidArgumentError(
            absl::StrCat(currency, " has ", exponent, " decimal places"));
      }
      fraction = fraction * 10 + (c - '0');
    } else {
      whole = whole * 10 + (c - '0');
      if (whole > kMaxAmountMinor) return absl::InvalidArgumentError("amount too large");
    }
  }
  if (!any_digit) return absl::InvalidArgumentError("an amount needs digits");
  int64_t minor = whole;
  for (int i = 0; i < exponent; ++i) minor *= 10;  // whole <= 10^14, exponent <= 4: no overflow
  for (int i = std::max(fraction_digits, 0); i < exponent; ++i) fraction *= 10;
  minor += fraction;
  if (minor > kMaxAmountMinor) return absl::InvalidArgumentError("amount too large");
  return negative ? -minor : minor;
}

}  // namespace techtrade
