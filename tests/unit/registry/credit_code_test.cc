#include "services/registry/domain/credit_code.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace techtrade::registry {
namespace {

using ::testing::HasSubstr;

// Builds a code with a correct check character from its first 17 characters.
std::string WithCheck(std::string first17) { return first17 + CreditCodeCheckCharacter(first17); }

TEST(CreditCodeTest, AcceptsPublishedExample) {
  // The example printed in GB 32100-2015 style documentation.
  EXPECT_TRUE(ValidateCreditCode("91350100M000100Y43").ok());
}

TEST(CreditCodeTest, AcceptsGeneratedCodesOfEveryAuthority) {
  for (char authority : std::string("123456789ANY")) {
    std::string code =
        WithCheck(absl::StrCat(absl::string_view(&authority, 1), "1420100MA4K0E8X3"));
    EXPECT_TRUE(ValidateCreditCode(code).ok()) << code;
  }
}

TEST(CreditCodeTest, CheckCharacterZeroWhenSumIsMultipleOf31) {
  // Find a prefix whose weighted sum is a multiple of 31: its check character is '0', not 'Y'+1.
  for (int n = 0; n < 100000; ++n) {
    std::string prefix = "9142010" + std::to_string(1000000000 + n);
    if (CreditCodeCheckCharacter(prefix) == '0') {
      EXPECT_TRUE(ValidateCreditCode(prefix + "0").ok());
      return;
    }
  }
  FAIL() << "no prefix with check character 0 found";
}

TEST(CreditCodeTest, RejectsEveryWrongCheckCharacter) {
  std::string good = "91350100M000100Y43";
  for (char c : std::string("0123456789ABCDEFGHJKLMNPQRTUWXY")) {
    if (c == good[17]) continue;
    std::string bad = good;
    bad[17] = c;
    absl::Status s = ValidateCreditCode(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.message()), HasSubstr("check character"));
  }
}

TEST(CreditCodeTest, DetectsSingleCharacterTypos) {
  std::string good = "91350100M000100Y43";
  int undetected = 0;
  for (size_t i = 8; i < 17; ++i) {
    std::string bad = good;
    bad[i] = bad[i] == '1' ? '2' : '1';
    if (ValidateCreditCode(bad).ok()) ++undetected;
  }
  EXPECT_EQ(undetected, 0);
}

TEST(CreditCodeTest, RejectsWrongLength) {
  EXPECT_THAT(std::string(ValidateCreditCode("91350100M000100Y4").message()),
              HasSubstr("18 characters, got 17"));
  EXPECT_FALSE(ValidateCreditCode("").ok());
  EXPECT_FALSE(ValidateCreditCode("91350100M000100Y433").ok());
}

TEST(CreditCodeTest, RejectsLettersOutsideAlphabet) {
  for (char c : std::string("IOZSVi-")) {
    std::string bad = "91350100M000100Y43";
    bad[10] = c;
    absl::Status s = ValidateCreditCode(bad);
    EXPECT_THAT(std::string(s.message()), HasSubstr("character 11")) << c;
    EXPECT_THAT(std::string(s.message()), HasSubstr("credit_code: "));
  }
}

TEST(CreditCodeTest, RejectsUnknownAuthorityCategoryAndDivision) {
  EXPECT_THAT(std::string(ValidateCreditCode(WithCheck("B1350100M000100Y4")).message()),
              HasSubstr("registration authority"));
  EXPECT_THAT(std::string(ValidateCreditCode(WithCheck("90350100M000100Y4")).message()),
              HasSubstr("organisation category"));
  EXPECT_THAT(std::string(ValidateCreditCode(WithCheck("913A0100M000100Y4")).message()),
              HasSubstr("division"));
}

}  // namespace
}  // namespace techtrade::registry
