// Declared settings (common/settings.h): defaults, bounds, checks, and every bad value listed.
#include "common/settings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "tests/support/settings_lookup.h"

namespace techtrade {
namespace {

using ::testing::HasSubstr;

std::vector<SettingSpec> Specs() {
  SettingSpec weights = StringSetting("TECHTRADE_WEIGHTS", "ipc=1", "weights");
  weights.check = [](absl::string_view v) {
    return v.find('=') == absl::string_view::npos ? absl::InvalidArgumentError("name=value")
                                                  : absl::OkStatus();
  };
  return {StringSetting("TECHTRADE_GROUP", "fund.events", "consumer group"),
          RequiredSetting("TECHTRADE_PEER_ADDR", "host:port of the peer"),
          IntegerSetting("TECHTRADE_BATCH", 100, 1, 1000, "rows per batch"), weights};
}

TEST(SettingsTest, DefaultsApplyWhereNothingIsGiven) {
  absl::StatusOr<Settings> s =
      Settings::Load(Specs(), testing::LookupFrom({{"TECHTRADE_PEER_ADDR", "h:1"}}));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->String("TECHTRADE_GROUP"), "fund.events");
  EXPECT_EQ(s->String("TECHTRADE_PEER_ADDR"), "h:1");
  EXPECT_EQ(s->Int("TECHTRADE_BATCH"), 100);
  EXPECT_EQ(s->String("TECHTRADE_WEIGHTS"), "ipc=1");
}

TEST(SettingsTest, GivenValuesWinWithinTheirBounds) {
  absl::StatusOr<Settings> s =
      Settings::Load(Specs(), testing::LookupFrom({{"TECHTRADE_PEER_ADDR", "h:1"},
                                                   {"TECHTRADE_GROUP", "g"},
                                                   {"TECHTRADE_BATCH", "1000"},
                                                   {"TECHTRADE_WEIGHTS", "text=2"}}));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->String("TECHTRADE_GROUP"), "g");
  EXPECT_EQ(s->Int("TECHTRADE_BATCH"), 1000);
  EXPECT_EQ(s->String("TECHTRADE_WEIGHTS"), "text=2");
}

TEST(SettingsTest, EveryBadValueIsListedByName) {
  absl::StatusOr<Settings> s = Settings::Load(
      Specs(), testing::LookupFrom({{"TECHTRADE_BATCH", "1001"}, {"TECHTRADE_WEIGHTS", "heavy"}}));
  ASSERT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(s.status().message());
  EXPECT_THAT(message, HasSubstr("TECHTRADE_PEER_ADDR: required (host:port of the peer)"));
  EXPECT_THAT(message, HasSubstr("TECHTRADE_BATCH: 1001 is outside 1..1000"));
  EXPECT_THAT(message, HasSubstr("TECHTRADE_WEIGHTS: name=value"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("TECHTRADE_GROUP")));
}

TEST(SettingsTest, AnIntegerSettingRefusesText) {
  absl::StatusOr<Settings> s = Settings::Load(
      Specs(), testing::LookupFrom({{"TECHTRADE_PEER_ADDR", "h:1"}, {"TECHTRADE_BATCH", "ten"}}));
  EXPECT_THAT(s.status().message(), HasSubstr("TECHTRADE_BATCH: not an integer: 'ten'"));
}

TEST(SettingsDeathTest, ReadingAnUndeclaredSettingAborts) {
  absl::StatusOr<Settings> s =
      Settings::Load(Specs(), testing::LookupFrom({{"TECHTRADE_PEER_ADDR", "h:1"}}));
  ASSERT_TRUE(s.ok());
  EXPECT_DEATH((void)s->String("TECHTRADE_TYPO"), "TECHTRADE_TYPO read but never declared");
}

}  // namespace
}  // namespace techtrade
