// The settings every service reads (common/config.h): defaults, and every bad value listed at
// once with the service's own.
#include "common/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tests/support/settings_lookup.h"

namespace techtrade {
namespace {

using ::testing::HasSubstr;

TEST(ServiceConfigTest, DefaultsApplyWhereOnlyTheRequiredAreGiven) {
  absl::StatusOr<ServiceConfig> c =
      ServiceConfigFrom("registry", testing::LookupFrom({{"TECHTRADE_PG_URL", "postgresql://h/db"},
                                                         {"TECHTRADE_REDIS_URL", "redis://h:1"},
                                                         {"TECHTRADE_KAFKA_BROKERS", "h:9092"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->service, "registry");
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->grpc_port, 0);
  EXPECT_EQ(c->metrics_port, -1);
  EXPECT_EQ(c->db_pool_size, 16);
  EXPECT_EQ(c->grpc_max_threads, 64);
  EXPECT_EQ(c->shutdown_grace, absl::Seconds(10));
  EXPECT_EQ(c->cache_near_copy_ttl, absl::Milliseconds(250));
  EXPECT_EQ(c->log_level, "info");
  EXPECT_EQ(c->pg_url, "postgresql://h/db");
}

TEST(ServiceConfigTest, EveryBadValueIsListedNotOnlyTheFirst) {
  absl::StatusOr<ServiceConfig> c =
      ServiceConfigFrom("fund", testing::LookupFrom({{"TECHTRADE_GRPC_PORT", "70000"},
                                                     {"TECHTRADE_DB_POOL_SIZE", "many"},
                                                     {"TECHTRADE_LOG_LEVEL", "loud"},
                                                     {"TECHTRADE_REDIS_URL", "redis://h:1"}}));
  ASSERT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(c.status().message());
  EXPECT_THAT(message, HasSubstr("TECHTRADE_GRPC_PORT: 70000 is outside 0..65535"));
  EXPECT_THAT(message, HasSubstr("TECHTRADE_DB_POOL_SIZE: not an integer: 'many'"));
  EXPECT_THAT(message, HasSubstr("TECHTRADE_LOG_LEVEL: use debug|info|warn|error"));
  EXPECT_THAT(message, HasSubstr("TECHTRADE_PG_URL: required"));
  EXPECT_THAT(message, HasSubstr("TECHTRADE_KAFKA_BROKERS: required"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("TECHTRADE_REDIS_URL")));
}

}  // namespace
}  // namespace techtrade
