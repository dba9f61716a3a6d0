// Failed authentications held to a budget per peer address, on a clock the test
// moves.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/rate_limit.h"
#include "tests/support/fake_clock.h"
#include "tests/support/settings_lookup.h"

namespace techtrade {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(PeerHostTest, IsTheAddressWithoutThePort) {
  EXPECT_EQ(PeerHost("ipv4:10.0.0.7:52344"), "10.0.0.7");
  EXPECT_EQ(PeerHost("ipv4:127.0.0.1:1"), "127.0.0.1");
  EXPECT_EQ(PeerHost("ipv6:[::1]:52344"), "::1");
  EXPECT_EQ(PeerHost("ipv6:[2001:db8::5]:443"), "2001:db8::5");
  // gRPC writes the brackets percent-encoded, as in a URI.
  EXPECT_EQ(PeerHost("ipv6:%5B::1%5D:52344"), "::1");
  EXPECT_EQ(PeerHost("ipv6:%5bfe80::1%5d:1"), "fe80::1");
  EXPECT_EQ(PeerHost("ipv6:::1"), "::1");  // not bracketed: no port to tell apart
  EXPECT_EQ(PeerHost("ipv4:10.0.0.7"), "10.0.0.7");
  EXPECT_EQ(PeerHost("unix:/run/x.sock"), "unix:/run/x.sock");
  EXPECT_EQ(PeerHost(""), "");
}

class FailedAuthLimiterTest : public ::testing::Test {
 protected:
  testing::FakeClock clock_;
  FailedAuthLimiter limiter_{RateLimit{2, 3}, clock_};
};

TEST_F(FailedAuthLimiterTest, APeerIsRefusedOnceItsFailuresSpendTheBurstUntilOneRefills) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(limiter_.Check("10.0.0.7").ok()) << i;
    limiter_.RecordFailure("10.0.0.7");
  }
  absl::Duration wait;
  absl::Status s = limiter_.Check("10.0.0.7", &wait);
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_THAT(std::string(s.message()),
              StartsWith("rate limit: too many failed authentications from this address"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("retry after 500 ms"));
  EXPECT_EQ(wait, absl::Milliseconds(500));
  // Checking takes nothing, and more failures while refused take nothing either.
  EXPECT_FALSE(limiter_.Check("10.0.0.7", &wait).ok());
  limiter_.RecordFailure("10.0.0.7");
  EXPECT_FALSE(limiter_.Check("10.0.0.7", &wait).ok());
  EXPECT_EQ(wait, absl::Milliseconds(500));
  clock_.Advance(absl::Milliseconds(500));
  EXPECT_TRUE(limiter_.Check("10.0.0.7").ok());
}

TEST_F(FailedAuthLimiterTest, OtherAddressesAndSuccessesAreNotLimited) {
  for (int i = 0; i < 5; ++i) limiter_.RecordFailure("10.0.0.7");
  EXPECT_FALSE(limiter_.Check("10.0.0.7").ok());
  EXPECT_TRUE(limiter_.Check("10.0.0.8").ok());
  // Calls that authenticate record nothing: any number of them is let through.
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter_.Check("10.0.0.9").ok()) << i;
}

TEST_F(FailedAuthLimiterTest, FailuresElsewhereNeverLockAnAddressOut) {
  // Whoever fails from other addresses, with whatever key id, takes nothing from this one.
  for (int i = 0; i < 50; ++i) limiter_.RecordFailure(absl::StrCat("10.1.0.", i));
  EXPECT_TRUE(limiter_.Check("10.1.0.99").ok());
}

// A client's first calls on a cold replica all look its key up at once: an address that has not
// failed reserves nothing, so none of them is refused, however many there are.
TEST_F(FailedAuthLimiterTest, FirstLookUpsOfAnAddressWithoutFailuresAreNeverRefused) {
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<bool> reserved = limiter_.Reserve("10.0.0.7");
    ASSERT_TRUE(reserved.ok()) << i << ": " << reserved.status();
    EXPECT_FALSE(*reserved) << i;
  }
  EXPECT_TRUE(limiter_.Check("10.0.0.7").ok());
}

// Look-ups in flight at once from an address that has failed: each reserves a token before it
// starts, so no more than what is left of the budget run before any ends.
TEST_F(FailedAuthLimiterTest, AfterAFailureLookUpsInFlightAtOnceCannotShareOneToken) {
  limiter_.RecordFailure("10.0.0.7");
  int admitted = 0;
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<bool> reserved = limiter_.Reserve("10.0.0.7");
    if (reserved.ok()) {
      EXPECT_TRUE(*reserved) << i;
      ++admitted;
    }
  }
  EXPECT_EQ(admitted, 2);
  absl::Duration wait;
  absl::Status s = limiter_.Reserve("10.0.0.7", &wait).status();
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_THAT(std::string(s.message()),
              StartsWith("rate limit: too many failed authentications from this address"));
  EXPECT_EQ(wait, absl::Milliseconds(500));
}

TEST_F(FailedAuthLimiterTest, ALookUpThatAuthenticatesGivesItsTokenBack) {
  limiter_.RecordFailure("10.0.0.7");
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<bool> reserved = limiter_.Reserve("10.0.0.7");
    ASSERT_TRUE(reserved.ok() && *reserved) << i;
    limiter_.Return("10.0.0.7");
  }
  // Failures spend the budget as before; a return never fills it past full.
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(limiter_.Reserve("10.0.0.7").ok()) << i;
  EXPECT_FALSE(limiter_.Reserve("10.0.0.7").ok());
  limiter_.Return("10.0.0.7");
  EXPECT_TRUE(limiter_.Reserve("10.0.0.7").ok());
  EXPECT_FALSE(limiter_.Check("10.0.0.7").ok());
  // Refilled to full, the address reserves nothing again.
  clock_.Advance(absl::Seconds(2));
  absl::StatusOr<bool> reserved = limiter_.Reserve("10.0.0.7");
  ASSERT_TRUE(reserved.ok());
  EXPECT_FALSE(*reserved);
}

TEST(PeerBudgetTest, IsAnIpv6AddressesSlash64AndAnIpv4AddressItself) {
  EXPECT_EQ(PeerBudget("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(PeerBudget("2001:db8:1:2::7"), "2001:db8:1:2::/64");
  EXPECT_EQ(PeerBudget("fe80::1%eth0"), "fe80::/64");
  // An IPv4 client of a dual-stack port is its own address, not the /64 of ::ffff:0:0.
  EXPECT_EQ(PeerBudget("::ffff:10.0.0.7"), "10.0.0.7");
  EXPECT_EQ(PeerBudget("10.0.0.7"), "10.0.0.7");
  EXPECT_EQ(PeerBudget("unix:/run/x.sock"), "unix:/run/x.sock");
  EXPECT_EQ(PeerBudget("not:an:address"), "not:an:address");
}

TEST_F(FailedAuthLimiterTest, AddressesInOneIpv6Slash64ShareABudget) {
  // A client given a /64 rotating through its addresses.
  for (int i = 1; i <= 3; ++i) limiter_.RecordFailure(absl::StrCat("2001:db8:0:1::", i));
  EXPECT_FALSE(limiter_.Check("2001:db8:0:1:ffff::9").ok());
  EXPECT_TRUE(limiter_.Check("2001:db8:0:2::1").ok());
  // IPv4 clients of a dual-stack port stay apart.
  for (int i = 0; i < 3; ++i) limiter_.RecordFailure("::ffff:10.0.0.7");
  EXPECT_FALSE(limiter_.Check("10.0.0.7").ok());
  EXPECT_TRUE(limiter_.Check("::ffff:10.0.0.8").ok());
}

TEST(FailedAuthLimiterBoundTest, ManyNewAddressesDoNotUnlockALockedOne) {
  testing::FakeClock clock;
  FailedAuthLimiter limiter(RateLimit{1, 3}, clock, /*max_budgets=*/8);
  for (int i = 0; i < 3; ++i) limiter.RecordFailure("10.0.0.7");
  ASSERT_FALSE(limiter.Check("10.0.0.7").ok());
  for (int i = 0; i < 100; ++i) {
    clock.Advance(absl::Milliseconds(1));
    limiter.RecordFailure(absl::StrCat("10.1.", i / 250, ".", i % 250));
  }
  EXPECT_FALSE(limiter.Check("10.0.0.7").ok());
}

TEST(FailedAuthLimiterUnlimitedTest, ANoLimitNeverRefuses) {
  testing::FakeClock clock;
  FailedAuthLimiter limiter(RateLimit{}, clock);
  for (int i = 0; i < 100; ++i) limiter.RecordFailure("10.0.0.7");
  EXPECT_TRUE(limiter.Check("10.0.0.7").ok());
}

TEST(FailedAuthLimitSettingTest, DefaultsToASmallBudgetAndIsASetting) {
  std::map<std::string, std::string> given = {{"TECHTRADE_PG_URL", "postgresql://h/db"},
                                              {"TECHTRADE_REDIS_URL", "redis://h:1"},
                                              {"TECHTRADE_KAFKA_BROKERS", "h:9092"}};
  absl::StatusOr<ServiceConfig> c = ServiceConfigFrom("registry", testing::LookupFrom(given));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(FormatRateLimit(c->rate_limits.at("UNAUTHENTICATED")), "5/20");
  given["TECHTRADE_RATE_LIMIT_UNAUTHENTICATED"] = "1/3";
  c = ServiceConfigFrom("listings", testing::LookupFrom(given));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(FormatRateLimit(c->rate_limits.at("UNAUTHENTICATED")), "1/3");
  given["TECHTRADE_RATE_LIMIT_UNAUTHENTICATED"] = "lots";
  c = ServiceConfigFrom("listings", testing::LookupFrom(given));
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("TECHTRADE_RATE_LIMIT_UNAUTHENTICATED: "));
}

}  // namespace
}  // namespace techtrade
