// The token bucket and the per-client limiter, on a clock the test moves.
#include "common/rate_limit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "tests/support/fake_clock.h"
#include "tests/support/settings_lookup.h"

namespace techtrade {
namespace {

using ::testing::HasSubstr;

RateLimit Limit(double per_second, double burst) { return RateLimit{per_second, burst}; }

TEST(RateLimitParseTest, ReadsRateAndBurstOrZeroForUnlimited) {
  absl::StatusOr<RateLimit> limit = ParseRateLimit("50/100");
  ASSERT_TRUE(limit.ok()) << limit.status();
  EXPECT_EQ(limit->per_second, 50);
  EXPECT_EQ(limit->burst, 100);
  limit = ParseRateLimit("0.5/2");
  ASSERT_TRUE(limit.ok()) << limit.status();
  EXPECT_EQ(limit->per_second, 0.5);
  EXPECT_TRUE(ParseRateLimit("0")->unlimited());
  EXPECT_TRUE(ParseRateLimit("0/10")->unlimited());
  EXPECT_EQ(FormatRateLimit(*ParseRateLimit("50/100")), "50/100");
  EXPECT_EQ(FormatRateLimit(RateLimit{}), "0");
}

TEST(RateLimitParseTest, RefusesWhatIsNotALimit) {
  for (const char* bad : {"", "50", "50/", "/10", "a/b", "-1/10", "10/0.5", "10/0", "1/2/3",
                          "inf/10", "nan/10", "10/nan"}) {
    absl::StatusOr<RateLimit> limit = ParseRateLimit(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(limit.status())) << "'" << bad << "'";
    EXPECT_THAT(std::string(limit.status().message()), HasSubstr("<calls per second>/<burst>"))
        << bad;
  }
}

TEST(TokenBucketTest, ANewBucketServesItsBurstThenRefusesWithTheWaitForOneToken) {
  const RateLimit limit = Limit(10, 3);
  TokenBucket bucket(limit, 0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.Take(limit, 0), absl::ZeroDuration()) << i;
  EXPECT_EQ(bucket.Take(limit, 0), absl::Milliseconds(100));
  // A refused call takes nothing: the wait only shrinks as time passes.
  EXPECT_EQ(bucket.Take(limit, absl::ToInt64Nanoseconds(absl::Milliseconds(40))),
            absl::Milliseconds(60));
}

TEST(TokenBucketTest, RefillsAtTheRateAndNeverBeyondTheBurst) {
  const RateLimit limit = Limit(2, 2);
  TokenBucket bucket(limit, 0);
  EXPECT_EQ(bucket.Take(limit, 0), absl::ZeroDuration());
  EXPECT_EQ(bucket.Take(limit, 0), absl::ZeroDuration());
  EXPECT_GT(bucket.Take(limit, 0), absl::ZeroDuration());
  const int64_t half_second = absl::ToInt64Nanoseconds(absl::Milliseconds(500));
  EXPECT_EQ(bucket.Take(limit, half_second), absl::ZeroDuration());  // one token back
  EXPECT_GT(bucket.Take(limit, half_second), absl::ZeroDuration());
  // An hour of silence fills the bucket to its burst, not to 7200 tokens.
  const int64_t hour = half_second + absl::ToInt64Nanoseconds(absl::Hours(1));
  EXPECT_TRUE(bucket.Full(limit, hour));
  EXPECT_EQ(bucket.Take(limit, hour), absl::ZeroDuration());
  EXPECT_EQ(bucket.Take(limit, hour), absl::ZeroDuration());
  EXPECT_EQ(bucket.Take(limit, hour), absl::Milliseconds(500));
}

TEST(TokenBucketTest, HoldsTheLongRunRateUnderSteadyPressure) {
  const RateLimit limit = Limit(100, 10);
  TokenBucket bucket(limit, 0);
  int served = 0;
  // A call every millisecond for ten seconds: the burst plus 100 a second.
  for (int ms = 0; ms < 10'000; ++ms) {
    if (bucket.Take(limit, absl::ToInt64Nanoseconds(absl::Milliseconds(ms))) ==
        absl::ZeroDuration()) {
      ++served;
    }
  }
  EXPECT_GE(served, 10 + 999);
  EXPECT_LE(served, 10 + 1000);
}

TEST(TokenBucketTest, AFractionalRateWaitsWholeSecondsAndALoweredBurstCapsTheBucket) {
  const RateLimit slow = Limit(0.5, 1);
  TokenBucket bucket(slow, 0);
  EXPECT_EQ(bucket.Take(slow, 0), absl::ZeroDuration());
  EXPECT_EQ(bucket.Take(slow, 0), absl::Seconds(2));
  TokenBucket big(Limit(1, 100), 0);
  const RateLimit lowered = Limit(1, 2);
  EXPECT_EQ(big.Take(lowered, 0), absl::ZeroDuration());
  EXPECT_EQ(big.Take(lowered, 0), absl::ZeroDuration());
  EXPECT_GT(big.Take(lowered, 0), absl::ZeroDuration());
}

TEST(TokenBucketTest, AClockThatStepsBackRefillsNothing) {
  const RateLimit limit = Limit(1, 1);
  TokenBucket bucket(limit, 5'000'000'000);
  EXPECT_EQ(bucket.Take(limit, 5'000'000'000), absl::ZeroDuration());
  EXPECT_GT(bucket.Take(limit, 1'000'000'000), absl::ZeroDuration());
}

TEST(RateLimiterTest, KeepsABucketPerClientAndNamesTheLimitAndTheWait) {
  testing::FakeClock clock;
  RateLimiter limiter(clock);
  const RateLimit limit = Limit(5, 2);
  EXPECT_TRUE(limiter.Take("a", limit).ok());
  EXPECT_TRUE(limiter.Take("a", limit).ok());
  absl::Duration wait;
  absl::Status refused = limiter.Take("a", limit, &wait);
  EXPECT_TRUE(absl::IsResourceExhausted(refused)) << refused;
  EXPECT_EQ(wait, absl::Milliseconds(200));
  EXPECT_THAT(std::string(refused.message()), HasSubstr("5 calls a second (bursts of 2)"));
  EXPECT_THAT(std::string(refused.message()), HasSubstr("retry after 200 ms"));
  EXPECT_TRUE(limiter.Take("b", limit).ok());  // another client has its own bucket
  clock.Advance(absl::Milliseconds(199));
  EXPECT_TRUE(absl::IsResourceExhausted(limiter.Take("a", limit, &wait)));
  EXPECT_EQ(RetryAfterMillis(wait), 1);
  clock.Advance(absl::Milliseconds(1));
  EXPECT_TRUE(limiter.Take("a", limit, &wait).ok());
  EXPECT_EQ(wait, absl::ZeroDuration());
}

TEST(RateLimiterTest, AnUnlimitedRoleIsNeverRefusedNorRemembered) {
  testing::FakeClock clock;
  RateLimiter limiter(clock);
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(limiter.Take("operator", RateLimit{}).ok());
  EXPECT_EQ(limiter.buckets(), 0u);
}

TEST(RateLimiterTest, DropsIdleBucketsSoMemoryStaysBounded) {
  testing::FakeClock clock;
  RateLimiter limiter(clock, /*max_buckets=*/100, /*sweep_every=*/50);
  const RateLimit limit = Limit(10, 1);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(limiter.Take(absl::StrCat("c", i), limit).ok());
  EXPECT_EQ(limiter.buckets(), 40u);
  clock.Advance(absl::Milliseconds(100));  // every bucket has its token back
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter.Take(absl::StrCat("d", i), limit).ok());
  EXPECT_LE(limiter.buckets(), 10u);
  // Clients that are still waiting are kept by a sweep: their refusal stands.
  ASSERT_TRUE(limiter.Take("busy", limit).ok());
  for (int i = 0; i < 60; ++i) limiter.Take(absl::StrCat("e", i), limit).IgnoreError();
  EXPECT_TRUE(absl::IsResourceExhausted(limiter.Take("busy", limit)));
  // However many clients arrive at once, no more than the bound are held.
  for (int i = 0; i < 1000; ++i) limiter.Take(absl::StrCat("f", i), limit).IgnoreError();
  EXPECT_LE(limiter.buckets(), 100u);
}

TEST(RateLimiterTest, ARefusalAfterDroppingIsNeverStricterThanAFreshBucket) {
  testing::FakeClock clock;
  RateLimiter limiter(clock, /*max_buckets=*/2, /*sweep_every=*/1000);
  const RateLimit limit = Limit(1, 1);
  ASSERT_TRUE(limiter.Take("a", limit).ok());
  ASSERT_TRUE(limiter.Take("b", limit).ok());
  // At the bound with nothing idle: state is forgotten, and "c" is served like any newcomer.
  EXPECT_TRUE(limiter.Take("c", limit).ok());
  EXPECT_LE(limiter.buckets(), 2u);
}

std::map<std::string, std::string> Required() {
  return {{"TECHTRADE_PG_URL", "postgresql://h/db"},
          {"TECHTRADE_REDIS_URL", "redis://h:1"},
          {"TECHTRADE_KAFKA_BROKERS", "h:9092"}};
}

TEST(LimitSettingsTest, DefaultsLimitCitiesAndPartnersGenerouslyAndNotTheOperator) {
  absl::StatusOr<ServiceConfig> c = ServiceConfigFrom("registry", testing::LookupFrom(Required()));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->rate_limits.at("OPERATOR").unlimited());
  EXPECT_EQ(FormatRateLimit(c->rate_limits.at("CITY_SYSTEM")), "2000/4000");
  EXPECT_EQ(FormatRateLimit(c->rate_limits.at("PARTNER")), "2000/4000");
  EXPECT_EQ(c->grpc_max_receive_message_bytes, 1 << 20);
}

TEST(LimitSettingsTest, EachRoleIsConfiguredAndABadValueIsRefusedByName) {
  std::map<std::string, std::string> given = Required();
  given["TECHTRADE_RATE_LIMIT_PARTNER"] = "5/10";
  given["TECHTRADE_GRPC_MAX_RECEIVE_MESSAGE_BYTES"] = "65536";
  absl::StatusOr<ServiceConfig> c = ServiceConfigFrom("fund", testing::LookupFrom(given));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(FormatRateLimit(c->rate_limits.at("PARTNER")), "5/10");
  EXPECT_EQ(c->grpc_max_receive_message_bytes, 65536);

  given["TECHTRADE_RATE_LIMIT_CITY_SYSTEM"] = "fast";
  given["TECHTRADE_GRPC_MAX_RECEIVE_MESSAGE_BYTES"] = "100";
  c = ServiceConfigFrom("fund", testing::LookupFrom(given));
  EXPECT_TRUE(absl::IsInvalidArgument(c.status()));
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("TECHTRADE_RATE_LIMIT_CITY_SYSTEM: "));
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("TECHTRADE_GRPC_MAX_RECEIVE_MESSAGE_BYTES: "));
}

}  // namespace
}  // namespace techtrade
