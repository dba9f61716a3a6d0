// The services' PostgreSQL role against the audit log it writes (deploy/sql/seal_audit_log.sql,
// deploy/local/lib/postgres.sh): no superuser, and after the seal it appends and reads audit_log
// but can neither change nor drop it, nor switch off or replace its triggers, nor become the role
// that owns it; and each service's certificate reaches its own database only.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <pqxx/pqxx>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/audit.h"
#include "common/db.h"
#include "common/migrations.h"
#include "common/outbox.h"
#include "techtrade/common/v1/common.pb.h"
#include "tests/support/harness.h"
#include "tests/support/test_pki.h"

namespace techtrade::testing {
namespace {

using ::testing::HasSubstr;

// `url` (postgresql://techtrade@host:port/db) as libpq sees it with identity `name`'s
// certificate of the stack's PKI dir instead of PGSSLCERT's, logging in as `user`.
std::string UrlAs(const std::string& url, const std::string& name,
                  const std::string& user = "techtrade") {
  return absl::StrCat(absl::StrReplaceAll(url, {{"//techtrade@", absl::StrCat("//", user, "@")}}),
                      "?sslcert=", StackCertificate(name).cert,
                      "&sslkey=", StackCertificate(name).key);
}

std::string SealSql() {
  std::ifstream in(SourceDir() + "/deploy/sql/seal_audit_log.sql");
  std::stringstream sql;
  sql << in.rdbuf();
  return sql.str();
}

class DatabaseRolesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    db_ = std::make_unique<ScratchDatabase>(stack_, "roles");
    name_ = db_->url().substr(db_->url().rfind('/') + 1);
    pool_ = *PgPool::Create(db_->url(), 2);
    ASSERT_TRUE(ApplyMigrations(*pool_, "common", CommonMigrations()).ok());
    ASSERT_TRUE(Append("deal-before-seal", {"wuhan"}, "bank-a").ok());
  }

  void TearDown() override {
    pool_.reset();
    if (!sealed_) return;
    // The seal gave the database to techtrade_audit; ScratchDatabase drops it as techtrade.
    pqxx::connection admin(UrlAs(db_->url(), "admin", "postgres"));
    pqxx::nontransaction tx(admin);
    tx.exec(absl::StrCat("ALTER DATABASE ", name_, " OWNER TO techtrade"));
  }

  // As the admin (a superuser), what stack.sh runs after the services started.
  void Seal() {
    pqxx::connection admin(UrlAs(db_->url(), "admin", "postgres"));
    pqxx::nontransaction tx(admin);
    const std::string sql = SealSql();
    ASSERT_THAT(sql, HasSubstr("ALTER TABLE public.audit_log OWNER TO techtrade_audit"));
    tx.exec(sql);
    sealed_ = true;
    EXPECT_EQ(tx.exec1("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'")[0]
                  .as<std::string>(),
              "techtrade_audit");
  }

  absl::Status Append(const std::string& aggregate, const std::vector<std::string>& cities,
                      const std::string& partner) {
    return InTransaction(*pool_, [&](Tx& tx) -> absl::Status {
      common::v1::Actor actor;
      actor.set_api_client_id("city-system");
      actor.set_role("city_system");
      common::v1::Money payload;
      payload.set_currency("CNY");
      payload.set_amount_minor(1);
      AppendToOutbox(tx, "transactions",
                     {.aggregate_type = "deal",
                      .aggregate_id = aggregate,
                      .sequence = 1,
                      .payload = &payload,
                      .causation_request_id = "req-" + aggregate,
                      .actor = &actor,
                      .city_ids = &cities,
                      .partner_id = partner});
      return absl::OkStatus();
    });
  }

  // How `sql` fails as the services' role: kInsufficientPrivilege, another error's message, or
  // "" when it succeeds (then rolled back, so nothing it did stays). libpqxx 6.4 leaves
  // sqlstate() empty but throws the matching class.
  std::string ErrorOf(const std::string& sql) {
    pqxx::connection conn(db_->url());
    try {
      pqxx::work tx(conn);
      tx.exec(sql);
      tx.abort();
      return "";
    } catch (const pqxx::insufficient_privilege&) {
      return kInsufficientPrivilege;
    } catch (const pqxx::sql_error& e) {
      return e.what();
    }
  }

  std::vector<std::string> AggregatesSeenBy(const AuditScope& scope) {
    absl::StatusOr<audit::v1::QueryAuditResponse> page = QueryAuditLog(*pool_, {}, scope);
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<std::string> seen;
    if (page.ok()) {
      for (const audit::v1::AuditRecord& r : page->records()) seen.push_back(r.aggregate_id());
    }
    return seen;
  }

  static constexpr char kInsufficientPrivilege[] = "insufficient privilege";
  Stack stack_;
  std::unique_ptr<ScratchDatabase> db_;
  std::string name_;
  std::unique_ptr<PgPool> pool_;
  bool sealed_ = false;
};

TEST_F(DatabaseRolesTest, TheServicesRoleIsNoSuperuser) {
  pqxx::connection conn(db_->url());
  pqxx::work tx(conn);
  EXPECT_EQ(tx.exec1("SELECT current_user")[0].as<std::string>(), "techtrade");
  EXPECT_FALSE(
      tx.exec1("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0].as<bool>());
}

TEST_F(DatabaseRolesTest, AfterTheSealTheServicesRoleCannotChangeTheAuditLogInAnyWay) {
  Seal();
  // Refused for want of privilege, not merely by the triggers its owner could switch off.
  EXPECT_EQ(ErrorOf("UPDATE audit_log SET partner_id = 'bank-b'"), kInsufficientPrivilege);
  EXPECT_EQ(ErrorOf("DELETE FROM audit_log"), kInsufficientPrivilege);
  EXPECT_EQ(ErrorOf("TRUNCATE audit_log"), kInsufficientPrivilege);
  EXPECT_EQ(ErrorOf("ALTER TABLE audit_log DISABLE TRIGGER ALL"), kInsufficientPrivilege);
  EXPECT_EQ(ErrorOf("DROP TRIGGER audit_log_append_only ON audit_log"), kInsufficientPrivilege);
  EXPECT_EQ(ErrorOf("CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger "
                    "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"),
            kInsufficientPrivilege);
  EXPECT_EQ(ErrorOf("DROP FUNCTION audit_log_refuse_change() CASCADE"), kInsufficientPrivilege);
  EXPECT_EQ(ErrorOf("SELECT setval('audit_log_position_seq', 1)"), kInsufficientPrivilege);
  EXPECT_EQ(ErrorOf("SET ROLE techtrade_audit"), kInsufficientPrivilege);
  // As the owner of the schema or the database it could drop the table or the whole database.
  EXPECT_EQ(ErrorOf("DROP TABLE audit_log"), kInsufficientPrivilege);
  EXPECT_EQ(ErrorOf("ALTER TABLE audit_log RENAME TO audit_log_old"), kInsufficientPrivilege);
  {
    pqxx::connection conn(absl::StrCat(db_->url().substr(0, db_->url().rfind('/')), "/postgres"));
    pqxx::nontransaction tx(conn);
    try {
      tx.exec(absl::StrCat("DROP DATABASE ", name_));
      ADD_FAILURE() << "DROP DATABASE succeeded";
    } catch (const pqxx::insufficient_privilege&) {
    }
  }
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM audit_log WHERE partner_id = 'bank-a'"), 1);
}

TEST_F(DatabaseRolesTest, AfterTheSealTheServicesStillAppendQueryAndMigrate) {
  Seal();
  Seal();  // idempotent: stack.sh runs it on every start
  ASSERT_TRUE(Append("deal-after-seal", {"shenzhen", "wuhan"}, "bank-b").ok());
  EXPECT_THAT(AggregatesSeenBy({.everything = true}),
              ::testing::ElementsAre("deal-before-seal", "deal-after-seal"));
  EXPECT_THAT(AggregatesSeenBy({.city_id = "shenzhen"}), ::testing::ElementsAre("deal-after-seal"));
  EXPECT_THAT(AggregatesSeenBy({.partner_id = "bank-a"}),
              ::testing::ElementsAre("deal-before-seal"));
  // Migrations run again at every start, and new ones create their tables in the public schema.
  EXPECT_TRUE(ApplyMigrations(*pool_, "common", CommonMigrations()).ok());
  EXPECT_EQ(ErrorOf("CREATE TABLE later_migration (id int); ALTER TABLE outbox ADD COLUMN x int"),
            "");
}

TEST_F(DatabaseRolesTest, AServiceCertificateReachesItsOwnDatabaseOnly) {
  const std::string server = db_->url().substr(0, db_->url().rfind('/'));
  const std::string registry_db = server + "/techtrade_registry";
  try {
    pqxx::connection other(UrlAs(registry_db, "listings"));
    ADD_FAILURE() << "listings' certificate reached techtrade_registry";
  } catch (const pqxx::broken_connection& e) {
    EXPECT_THAT(e.what(), HasSubstr("certificate authentication failed")) << e.what();
  }
  EXPECT_NO_THROW(pqxx::connection(UrlAs(registry_db, "registry")));
  EXPECT_NO_THROW(pqxx::connection(UrlAs(registry_db, "dev")));
  // The scratch databases of the tests take the platform's certificates, never a partner's.
  EXPECT_NO_THROW(pqxx::connection(UrlAs(db_->url(), "listings")));
  const std::string dir = ::testing::TempDir();
  CertificateAuthority::OfStack().Issue("bank-roles-test", dir, "bank-roles-test");
  EXPECT_THROW(
      pqxx::connection(absl::StrCat(db_->url(), "?sslcert=", dir,
                                    "/bank-roles-test.crt&sslkey=", dir, "/bank-roles-test.key")),
      pqxx::broken_connection);
}

}  // namespace
}  // namespace techtrade::testing
