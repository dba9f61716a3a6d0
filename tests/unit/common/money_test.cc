// Money as a type (common/money.h): the ISO 4217 table, formatting with each currency's own
// exponent, parsing, and overflow-safe sums.
#include "common/money.h"

#include <gtest/gtest.h>

#include <limits>

namespace techtrade {
namespace {

TEST(MoneyTest, TheTableKnowsActiveCodesAndTheirExponents) {
  EXPECT_EQ(FindCurrency("CNY")->exponent, 2);
  EXPECT_EQ(FindCurrency("JPY")->exponent, 0);
  EXPECT_EQ(FindCurrency("KWD")->exponent, 3);
  EXPECT_EQ(FindCurrency("AED")->exponent, 2);  // first entry
  EXPECT_EQ(FindCurrency("ZWL")->exponent, 2);  // last entry
  for (const char* code : {"ZZZ", "cny", "CN", "CNYY", "", "XAU", "XTS"}) {
    EXPECT_FALSE(FindCurrency(code).has_value()) << code;
  }
}

TEST(MoneyTest, FormatsWithTheCurrencysExponentNeverThroughDouble) {
  EXPECT_EQ(FormatMoney("CNY", 123450), "CNY 1,234.50");
  EXPECT_EQ(FormatMoney("JPY", 1200), "JPY 1,200");
  EXPECT_EQ(FormatMoney("KWD", 1250), "KWD 1.250");
  EXPECT_EQ(FormatMoney("CNY", 5), "CNY 0.05");
  EXPECT_EQ(FormatMoney("CNY", -5), "CNY -0.05");
  EXPECT_EQ(FormatAmount("CNY", 100'000'000'000'001), "1000000000000.01");
  EXPECT_EQ(FormatAmount("CNY", std::numeric_limits<int64_t>::min()), "-92233720368547758.08");
}

TEST(MoneyTest, ParsesAmountsOfEachExponent) {
  EXPECT_EQ(*ParseAmount("CNY", "1,234.5"), 123450);
  EXPECT_EQ(*ParseAmount("CNY", "12"), 1200);
  EXPECT_EQ(*ParseAmount("JPY", "1200"), 1200);
  EXPECT_EQ(*ParseAmount("KWD", "1.25"), 1250);
  EXPECT_FALSE(ParseAmount("JPY", "1.5").ok());
  EXPECT_FALSE(ParseAmount("CNY", "1.005").ok());
  EXPECT_FALSE(ParseAmount("CNY", "1e5").ok());
  EXPECT_FALSE(ParseAmount("CNY", "").ok());
  EXPECT_FALSE(ParseAmount("CNY", "99999999999999999999").ok());
  EXPECT_FALSE(ParseAmount("CNY", "1000000000001").ok());  // past kMaxAmountMinor
}

TEST(MoneyTest, SumsReportOverflowInsteadOfWrapping) {
  EXPECT_EQ(*AddAmounts(kMaxAmountMinor, kMaxAmountMinor), 2 * kMaxAmountMinor);
  EXPECT_FALSE(AddAmounts(std::numeric_limits<int64_t>::max(), 1).has_value());
}

}  // namespace
}  // namespace techtrade
