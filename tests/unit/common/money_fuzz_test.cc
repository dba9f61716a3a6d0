// Inputs the money fuzzer (tests/fuzz/money_fuzzer.cc) found, each kept in its seed corpus too
// (tests/fuzz/corpus/money/crash_*).
#include <gtest/gtest.h>

#include "common/money.h"

namespace techtrade {
namespace {

// A decimal point or grouping commas without a digit were taken as zero.
TEST(MoneyFuzzTest, AnAmountWithoutADigitIsRefused) {
  for (const char* text : {".", ",", ",.", "-.", ",,,"}) {
    absl::StatusOr<int64_t> amount = ParseAmount("CNY", text);
    EXPECT_FALSE(amount.ok()) << "'" << text << "' parsed as " << *amount;
    EXPECT_EQ(amount.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
  EXPECT_FALSE(ParseAmount("XXX", ".").ok());
  EXPECT_EQ(*ParseAmount("CNY", ".5"), 50);
  EXPECT_EQ(*ParseAmount("CNY", "1."), 100);
}

}  // namespace
}  // namespace techtrade
