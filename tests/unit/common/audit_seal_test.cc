// The seal's settings (--seal-audit-log, TECHTRADE_SEAL_*, TECHTRADE_GRANT_TO_ROLE) and the SQL
// compiled into the binaries (common/audit_seal.h): exactly deploy/sql/seal_audit_log.sql.
#include "common/audit_seal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "tests/support/settings_lookup.h"

namespace techtrade {
namespace {

absl::StatusOr<ServiceConfig> ConfigWith(std::map<std::string, std::string> extra) {
  extra.merge(std::map<std::string, std::string>{{"TECHTRADE_PG_URL", "postgresql://h/db"},
                                                 {"TECHTRADE_REDIS_URL", "redis://h:1"},
                                                 {"TECHTRADE_KAFKA_BROKERS", "h:9092"}});
  return ServiceConfigFrom("registry", testing::LookupFrom(std::move(extra)));
}

TEST(AuditSealSettingsTest, DefaultsSealForTheLocalRoleAndGrantNothing) {
  absl::StatusOr<ServiceConfig> c = ConfigWith({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->seal_audit_log);
  EXPECT_EQ(c->seal_service_role, "techtrade");
  EXPECT_EQ(c->seal_schema_role, "");
  EXPECT_EQ(c->grant_to_role, "");
}

TEST(AuditSealSettingsTest, ReadsTheRolesAndTheMode) {
  absl::StatusOr<ServiceConfig> c = ConfigWith({{"TECHTRADE_SEAL_AUDIT_LOG", "true"},
                                                {"TECHTRADE_SEAL_SERVICE_ROLE", "app"},
                                                {"TECHTRADE_SEAL_SCHEMA_ROLE", "migrator"},
                                                {"TECHTRADE_GRANT_TO_ROLE", "app"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->seal_audit_log);
  EXPECT_EQ(c->seal_service_role, "app");
  EXPECT_EQ(c->seal_schema_role, "migrator");
  EXPECT_EQ(c->grant_to_role, "app");
  EXPECT_THAT(ConfigWith({{"TECHTRADE_SEAL_AUDIT_LOG", "yes"}}).status().message(),
              ::testing::HasSubstr("TECHTRADE_SEAL_AUDIT_LOG"));
}

TEST(AuditSealSqlTest, IsTheFileByteForByte) {
  std::ifstream in(absl::StrCat(TECHTRADE_SOURCE_DIR, "/deploy/sql/seal_audit_log.sql"),
                   std::ios::binary);
  std::stringstream file;
  file << in.rdbuf();
  ASSERT_FALSE(file.str().empty());
  EXPECT_EQ(AuditSealSql(), file.str());
}

}  // namespace
}  // namespace techtrade
