// common/cache against the stack's real Redis.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "common/cache.h"
#include "common/ids.h"
#include "tests/support/harness.h"

namespace techtrade {
namespace {

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<RedisOptions> options =
        ParseRedisUrl(testing::Stack::FromEnvironment().redis_url);
    ASSERT_TRUE(options.ok()) << options.status();
    cache_ = std::make_unique<Cache>(*options);
    prefix_ = "cache-test:" + NewUuid() + ":";
  }

  std::unique_ptr<Cache> cache_;
  std::string prefix_;
};

TEST_F(CacheTest, APrefetchServesEachKeyOnceAndMissesAsMisses) {
  cache_->Set(prefix_ + "a", "alpha", absl::Seconds(60));
  cache_->Set(prefix_ + "b", "beta", absl::Seconds(60));
  cache_->Prefetch({prefix_ + "a", prefix_ + "b", prefix_ + "none"});
  // Changed in Redis behind the prefetch (another process): the prefetched value is served once.
  cache_->Set(prefix_ + "a", "alpha 2", absl::Seconds(60));
  EXPECT_EQ(cache_->Get(prefix_ + "a"), "alpha");
  EXPECT_EQ(cache_->Get(prefix_ + "a"), "alpha 2");  // then from Redis again
  EXPECT_EQ(cache_->Get(prefix_ + "b"), "beta");
  EXPECT_EQ(cache_->Get(prefix_ + "none"), std::nullopt);
}

TEST_F(CacheTest, AnInvalidationInThisProcessDropsWhatWasPrefetched) {
  cache_->Set(prefix_ + "a", "alpha", absl::Seconds(60));
  cache_->Set(prefix_ + "b", "beta", absl::Seconds(60));
  cache_->Prefetch({prefix_ + "a", prefix_ + "b"});
  cache_->Invalidate(prefix_ + "a");
  EXPECT_EQ(cache_->Get(prefix_ + "a"), std::nullopt);
  cache_->Set(prefix_ + "b", "beta 2", absl::Seconds(60));
  EXPECT_EQ(cache_->Get(prefix_ + "b"), "beta 2");  // read afresh, not the prefetched copy
  // Another thread's reads never see this thread's prefetch.
  cache_->Prefetch({prefix_ + "b"});
  cache_->Set(prefix_ + "b", "beta 3", absl::Seconds(60));
  std::optional<std::string> elsewhere;
  std::thread([&] { elsewhere = cache_->Get(prefix_ + "b"); }).join();
  EXPECT_EQ(elsewhere, "beta 3");
}

// Commands that find every connection in use wait for one instead of missing: a miss would send
// each of them to the record's owner.
TEST_F(CacheTest, CommandsWaitForABusyConnectionInsteadOfMissing) {
  absl::StatusOr<RedisOptions> options = ParseRedisUrl(testing::Stack::FromEnvironment().redis_url);
  ASSERT_TRUE(options.ok());
  options->pool_size = 1;
  Cache cache(*options);
  cache.Set(prefix_ + "shared", "value", absl::Seconds(60));
  std::atomic<int> misses{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (cache.Get(prefix_ + "shared") != "value") ++misses;
      }
    });
  }
  for (auto& r : readers) r.join();
  EXPECT_EQ(misses.load(), 0);
  EXPECT_EQ(cache.errors(), 0u);
}

}  // namespace
}  // namespace techtrade
