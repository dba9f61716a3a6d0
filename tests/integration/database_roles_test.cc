// The services' PostgreSQL role against the audit log it writes (deploy/sql/seal_audit_log.sql,
// deploy/local/lib/postgres.sh): no superuser, and after the seal it appends and reads audit_log
// but can neither change nor drop it, nor switch off or replace its triggers, nor become the role
// that owns it; the seal runs nothing that role planted and keeps nothing it did as the owner;
// and each service's certificate reaches its own database only.
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
    if (roles_altered_) {
      // Roles are the cluster's, not this database's: whatever a test did to them goes, even
      // when the test failed half-way.
      AsAdmin("postgres",
              "ALTER ROLE techtrade NOSUPERUSER; ALTER ROLE techtrade_audit NOLOGIN; "
              "DROP ROLE IF EXISTS roles_test_superuser; "
              "DO $$ BEGIN IF pg_has_role('techtrade', 'techtrade_audit', 'MEMBER') THEN "
              "REVOKE techtrade_audit FROM techtrade; END IF; END $$");
    }
    if (!sealed_) return;
    // The seal gave the database to techtrade_audit; ScratchDatabase drops it as techtrade.
    AsAdmin("postgres", absl::StrCat("ALTER DATABASE ", name_, " OWNER TO techtrade"));
  }

  // `sql` as the admin (a superuser) on database `db` (this test's when empty), committed.
  void AsAdmin(const std::string& db, const std::string& sql) {
    const std::string url = db_->url().substr(0, db_->url().rfind('/') + 1) + db;
    pqxx::connection admin(UrlAs(url, "admin", "postgres"));
    pqxx::nontransaction tx(admin);
    tx.exec(sql);
  }

  // `sql` as the services' role on this test's database, committed.
  void AsServices(const std::string& sql) {
    pqxx::connection conn(db_->url());
    pqxx::work tx(conn);
    tx.exec(sql);
    tx.commit();
  }

  // How the seal fails as the admin: "" when it succeeds, else the error.
  std::string SealError() {
    try {
      AsAdmin(name_, SealSql());
    } catch (const pqxx::sql_error& e) {
      return e.what();
    }
    sealed_ = true;
    return "";
  }

  // How `sql` fails as the admin, a superuser (so privileges are no obstacle), rolled back.
  std::string AdminErrorOf(const std::string& sql) {
    pqxx::connection admin(UrlAs(db_->url(), "admin", "postgres"));
    try {
      pqxx::work tx(admin);
      tx.exec(sql);
      tx.abort();
      return "";
    } catch (const pqxx::sql_error& e) {
      return e.what();
    }
  }

  std::string AdminQuery(const std::string& db, const std::string& sql) {
    const std::string url = db_->url().substr(0, db_->url().rfind('/') + 1) + db;
    pqxx::connection admin(UrlAs(url, "admin", "postgres"));
    pqxx::nontransaction tx(admin);
    return tx.exec1(sql)[0].as<std::string>();
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
  bool roles_altered_ = false;
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

// The seal runs as a superuser in a database whose public schema the services' role creates in
// and whose settings it set as the owner (CVE-2018-1058): nothing it planted may run.
TEST_F(DatabaseRolesTest, TheSealRunsNothingTheServicesRolePlanted) {
  // Each plant would leave a table behind, made by whoever ran it, and otherwise behave.
  AsServices(R"sql(
    CREATE FUNCTION public.format(text, name) RETURNS text LANGUAGE plpgsql AS $$
    BEGIN CREATE TABLE IF NOT EXISTS public.planted_ran (); RETURN pg_catalog.format($1, $2); END $$;
    CREATE FUNCTION public.current_database() RETURNS name LANGUAGE plpgsql AS $$
    BEGIN CREATE TABLE IF NOT EXISTS public.planted_ran (); RETURN pg_catalog.current_database();
    END $$;
    CREATE FUNCTION public.to_regclass(text) RETURNS regclass LANGUAGE plpgsql AS $$
    BEGIN CREATE TABLE IF NOT EXISTS public.planted_ran (); RETURN pg_catalog.to_regclass($1); END $$;
    CREATE FUNCTION public.pg_has_role(name, oid, text) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN CREATE TABLE IF NOT EXISTS public.planted_ran ();
      RETURN pg_catalog.pg_has_role($1, $2, $3); END $$;
  )sql");
  // As the database's owner it may also put public before pg_catalog for every session.
  AsServices(absl::StrCat("ALTER DATABASE ", name_, " SET search_path = public, pg_catalog"));
  EXPECT_EQ(SealError(), "");
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM pg_class WHERE relname = 'planted_ran'"), 0);
  EXPECT_EQ(AdminQuery(name_, "SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'"),
            "techtrade_audit");
  // The database's settings went with its ownership.
  EXPECT_EQ(db_->QueryInt(absl::StrCat("SELECT count(*) FROM pg_db_role_setting s JOIN pg_database "
                                       "d ON d.oid = s.setdatabase WHERE d.datname = '",
                                       name_, "'")),
            0);
}

TEST_F(DatabaseRolesTest, TheSealRunsAsTheAdminWhateverRoleTheDatabaseSets) {
  // A `role` setting makes every session of the database, the admin's too, that role.
  AsServices(absl::StrCat("ALTER DATABASE ", name_, " SET role = techtrade"));
  EXPECT_EQ(SealError(), "");
  EXPECT_EQ(AdminQuery(name_, "SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'"),
            "techtrade_audit");
  EXPECT_EQ(AdminQuery(name_, "SELECT current_user"), "postgres");
}

// What the services' role did to audit_log while it owned it, and what a superuser techtrade
// did to techtrade_audit, does not outlive the seal.
TEST_F(DatabaseRolesTest, TheSealUndoesWhatTheServicesRoleDidAsTheOwner) {
  AsServices(R"sql(
    CREATE FUNCTION public.swallow_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RETURN NULL; END $$;
    CREATE TRIGGER audit_log_swallow BEFORE INSERT ON audit_log
      FOR EACH ROW EXECUTE FUNCTION public.swallow_row();
    ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
    ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
    CREATE POLICY audit_log_hide ON audit_log USING (partner_id <> 'bank-a');
    ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
    ALTER TABLE audit_log ENABLE REPLICA TRIGGER audit_log_no_truncate;
    CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RETURN NULL; END $$;
    ALTER TABLE audit_log SET UNLOGGED;
  )sql");
  roles_altered_ = true;
  AsAdmin("postgres", "GRANT techtrade_audit TO techtrade; ALTER ROLE techtrade_audit LOGIN");
  EXPECT_EQ(SealError(), "");

  // Refused by the triggers themselves, even for a superuser and in replica mode.
  EXPECT_THAT(AdminErrorOf("UPDATE audit_log SET partner_id = 'bank-b'"),
              HasSubstr("audit_log is append-only"));
  EXPECT_THAT(AdminErrorOf("SET session_replication_role = replica; TRUNCATE audit_log"),
              HasSubstr("audit_log is append-only"));
  EXPECT_EQ(AdminQuery(name_,
                       "SELECT string_agg(tgname || ':' || tgenabled::text, ',' ORDER BY tgname) "
                       "FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass"),
            "audit_log_append_only:A,audit_log_no_truncate:A,audit_log_stamp:A");
  EXPECT_EQ(
      AdminQuery(name_,
                 "SELECT relpersistence::text || relrowsecurity::text || relforcerowsecurity::text "
                 "|| (SELECT count(*) FROM pg_policy WHERE polrelid = c.oid) "
                 "FROM pg_class c WHERE oid = 'audit_log'::regclass"),
      "pfalsefalse0");
  // Rows are neither hidden from QueryAudit nor swallowed on the way in.
  ASSERT_TRUE(Append("deal-after-seal", {"wuhan"}, "bank-a").ok());
  EXPECT_THAT(AggregatesSeenBy({.everything = true}),
              ::testing::ElementsAre("deal-before-seal", "deal-after-seal"));
  EXPECT_EQ(ErrorOf("SET ROLE techtrade_audit"), kInsufficientPrivilege);
  EXPECT_EQ(AdminQuery("postgres",
                       "SELECT rolcanlogin::text || pg_has_role('techtrade', oid, 'MEMBER')::text "
                       "FROM pg_roles WHERE rolname = 'techtrade_audit'"),
            "falsefalse");
}

// The services' INSERT right must not choose where a row goes (a gap, before older rows) or when
// the database saw it.
TEST_F(DatabaseRolesTest, AfterTheSealTheDatabaseChoosesPositionAndArrivalTime) {
  Seal();
  const int64_t top = db_->QueryInt("SELECT max(position) FROM audit_log");
  AsServices(R"sql(
    INSERT INTO audit_log (position, event_id, aggregate_type, aggregate_id, sequence, event_type,
                           occurred_at, producer, actor_client_id, actor_role, actor_city_id,
                           request_id, city_ids, partner_id, envelope, recorded_at)
    VALUES (0, gen_random_uuid(), 'deal', 'deal-forged', 1, 'deal.created', '2020-01-01',
            'transactions', 'city-system', 'city_system', '', 'req-forged', '{}', 'bank-a',
            '\x00', '2020-01-01')
  )sql");
  const int64_t forged =
      db_->QueryInt("SELECT position FROM audit_log WHERE aggregate_id = 'deal-forged'");
  EXPECT_GT(forged, top);
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM audit_log WHERE aggregate_id = 'deal-forged' "
                          "AND recorded_at > now() - interval '1 hour'"),
            1);
  // AppendToOutbox inserts without a position and still gets the next one.
  ASSERT_TRUE(Append("deal-after-seal", {"wuhan"}, "bank-a").ok());
  EXPECT_GT(db_->QueryInt("SELECT position FROM audit_log WHERE aggregate_id = 'deal-after-seal'"),
            forged);
}

// A seal is only as good as the demotion of techtrade: while it is, or can SET ROLE to, a
// superuser, the seal fails instead of claiming to hold.
TEST_F(DatabaseRolesTest, TheSealRefusesWhileTheServicesRoleCanBeASuperuser) {
  roles_altered_ = true;
  AsAdmin("postgres", "ALTER ROLE techtrade SUPERUSER");
  EXPECT_THAT(SealError(), HasSubstr("techtrade: is or can become"));
  AsAdmin("postgres",
          "ALTER ROLE techtrade NOSUPERUSER; CREATE ROLE roles_test_superuser SUPERUSER NOLOGIN; "
          "GRANT roles_test_superuser TO techtrade");
  EXPECT_THAT(SealError(), HasSubstr("techtrade: is or can become roles_test_superuser"));
  AsAdmin("postgres", "DROP ROLE roles_test_superuser");
  EXPECT_EQ(SealError(), "");
}

// An expression, operator, operator class, collation or domain on audit_log or its parts runs
// whenever maintenance evaluates it (ANALYZE, REINDEX, the rewrite of the seal's SET LOGGED), as
// the table's owner or the admin: while techtrade can redefine one, the seal changes nothing.
TEST_F(DatabaseRolesTest, TheSealRefusesWhatTheServicesRoleCanRedefineOnTheAuditLog) {
  AsServices(R"sql(
    CREATE FUNCTION public.planted_text(text) RETURNS text IMMUTABLE LANGUAGE sql AS 'SELECT $1';
    CREATE FUNCTION public.planted_bool(text) RETURNS boolean IMMUTABLE LANGUAGE sql
      AS 'SELECT true';
    CREATE FUNCTION public.planted_eq(text, text) RETURNS boolean IMMUTABLE LANGUAGE sql
      AS 'SELECT true';
    CREATE FUNCTION public.planted_cmp(text, text) RETURNS int IMMUTABLE LANGUAGE sql
      AS 'SELECT pg_catalog.bttextcmp($1, $2)';
    CREATE OPERATOR public.### (LEFTARG = text, RIGHTARG = text, FUNCTION = public.planted_eq);
    CREATE COLLATION public.planted_collation FROM "C";
    CREATE DOMAIN public.planted_domain AS text CHECK (public.planted_bool(VALUE));
  )sql");
  // Only a superuser makes an operator class: techtrade as one, once.
  AsAdmin(name_,
          "CREATE OPERATOR CLASS public.planted_ops FOR TYPE text USING btree AS OPERATOR 1 <, "
          "OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >, "
          "FUNCTION 1 public.planted_cmp(text, text)");
  struct Plant {
    std::string sql, refused, undo;
  };
  const std::string index = "index public.audit_log_planted";
  const std::string column = "column planted of table public.audit_log";
  const std::string drop_index = "DROP INDEX audit_log_planted";
  const std::string drop_column = "ALTER TABLE audit_log DROP COLUMN planted";
  const Plant plants[] = {
      {"CREATE INDEX audit_log_planted ON audit_log (public.planted_text(aggregate_id))",
       index + " depends on function public.planted_text(text)", drop_index},
      {"CREATE INDEX audit_log_planted ON audit_log (position) WHERE public.planted_bool(producer)",
       index + " depends on function public.planted_bool(text)", drop_index},
      {"ALTER TABLE audit_log ADD CONSTRAINT planted CHECK (public.planted_bool(producer))",
       "constraint planted on table public.audit_log depends on function public.planted_bool(text)",
       "ALTER TABLE audit_log DROP CONSTRAINT planted"},
      {"ALTER TABLE audit_log ALTER COLUMN producer SET DEFAULT public.planted_text('x')",
       "default value for column producer of table public.audit_log depends on function "
       "public.planted_text(text)",
       "ALTER TABLE audit_log ALTER COLUMN producer DROP DEFAULT"},
      {"ALTER TABLE audit_log ADD COLUMN planted text "
       "GENERATED ALWAYS AS (public.planted_text(producer)) STORED",
       "default value for " + column + " depends on function public.planted_text(text)",
       drop_column},
      {"CREATE STATISTICS public.planted ON (public.planted_text(producer)) FROM audit_log",
       "statistics object public.planted depends on function public.planted_text(text)",
       "DROP STATISTICS public.planted"},
      {"ALTER TABLE audit_log ADD COLUMN planted public.planted_domain",
       column + " depends on type public.planted_domain", drop_column},
      {"CREATE INDEX audit_log_planted ON audit_log (position) WHERE producer ### 'x'",
       index + " depends on operator public.###(text,text)", drop_index},
      {"CREATE INDEX audit_log_planted ON audit_log (producer COLLATE public.planted_collation)",
       index + " depends on collation public.planted_collation", drop_index},
      {"CREATE INDEX audit_log_planted ON audit_log (producer public.planted_ops)",
       index + " depends on operator class public.planted_ops for access method btree", drop_index},
  };
  for (const Plant& plant : plants) {
    SCOPED_TRACE(plant.sql);
    AsServices(plant.sql);
    EXPECT_THAT(SealError(), HasSubstr(absl::StrCat("audit_log: ", plant.refused,
                                                    "; drop it (as the admin) and seal again")));
    EXPECT_EQ(AdminQuery(name_, "SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'"),
              "techtrade");
    AsAdmin(name_, plant.undo);
  }
  // The migrations' own indexes use built-ins only.
  EXPECT_EQ(SealError(), "");
}

// Nothing switches an event trigger off, and one fires on the seal's DDL running its function as
// the admin: one that techtrade owns, or whose function it owns (made while it was a superuser),
// stops the seal before any DDL.
TEST_F(DatabaseRolesTest, TheSealRefusesAnEventTriggerTheServicesRoleCanRewrite) {
  roles_altered_ = true;
  AsAdmin("postgres", "ALTER ROLE techtrade SUPERUSER");
  AsServices(R"sql(
    CREATE FUNCTION public.planted_event() RETURNS event_trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF pg_catalog.to_regclass('public.planted_ran') IS NULL THEN
        CREATE TABLE public.planted_ran ();
      END IF;
    END $$;
    CREATE EVENT TRIGGER planted_event ON ddl_command_end EXECUTE FUNCTION public.planted_event();
  )sql");
  AsAdmin("postgres", "ALTER ROLE techtrade NOSUPERUSER");
  EXPECT_THAT(SealError(), HasSubstr("audit_log: event trigger planted_event (owner techtrade, "
                                     "function public.planted_event() of techtrade)"));
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM pg_class WHERE relname = 'planted_ran'"), 0);
  EXPECT_EQ(AdminQuery(name_, "SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'"),
            "techtrade");
  AsAdmin(name_, "ALTER EVENT TRIGGER planted_event OWNER TO postgres");
  EXPECT_THAT(SealError(), HasSubstr("audit_log: event trigger planted_event (owner postgres, "
                                     "function public.planted_event() of techtrade)"));
  AsAdmin(name_, "DROP EVENT TRIGGER planted_event");
  EXPECT_EQ(SealError(), "");
}

// What else techtrade_audit owns acts as the table's owner for whoever may use it: a SECURITY
// DEFINER function a superuser techtrade gave that role stops the seal.
TEST_F(DatabaseRolesTest, TheSealRefusesWhatElseTheAuditRoleOwns) {
  roles_altered_ = true;
  AsAdmin("postgres", "ALTER ROLE techtrade SUPERUSER");
  AsServices(R"sql(
    DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'techtrade_audit') THEN
        CREATE ROLE techtrade_audit NOLOGIN;
      END IF;
    END $$;
    CREATE FUNCTION public.planted_definer() RETURNS void LANGUAGE sql SECURITY DEFINER
      AS 'ALTER TABLE public.audit_log DISABLE TRIGGER ALL';
    ALTER FUNCTION public.planted_definer() OWNER TO techtrade_audit;
  )sql");
  AsAdmin("postgres", "ALTER ROLE techtrade NOSUPERUSER");
  EXPECT_THAT(SealError(), HasSubstr("techtrade_audit: owns function public.planted_definer() "
                                     "besides what the seal gave it"));
  EXPECT_EQ(AdminQuery(name_, "SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'"),
            "techtrade");
  AsAdmin(name_, "ALTER FUNCTION public.planted_definer() OWNER TO techtrade");
  EXPECT_EQ(SealError(), "");
  EXPECT_EQ(ErrorOf("SELECT public.planted_definer()"), kInsufficientPrivilege);
}

// A service's open transaction holds back the seal's ALTERs: the seal gives up after a bounded
// wait (the file's 30 s, shortened here) instead of hanging the start.
TEST_F(DatabaseRolesTest, TheSealWaitsForAServiceTransactionABoundedTime) {
  pqxx::connection service(db_->url());
  pqxx::work reading(service);
  reading.exec("SELECT count(*) FROM audit_log");
  pqxx::connection admin(UrlAs(db_->url(), "admin", "postgres"));
  pqxx::nontransaction tx(admin);
  // Without a lock_timeout of its own the seal would wait for ever; this ends it either way.
  tx.exec("SET statement_timeout = '10s'");
  try {
    tx.exec(absl::StrReplaceAll(SealSql(), {{"lock_timeout = '30s'", "lock_timeout = '1s'"}}));
    ADD_FAILURE() << "the seal did not wait for the open transaction";
  } catch (const pqxx::sql_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("canceling statement due to lock timeout"));
  }
}

// `stack.sh up` on a PostgreSQL that is already running (a dev stack from an older checkout)
// demotes techtrade too, not only a fresh start.
TEST_F(DatabaseRolesTest, StartingARunningPostgresDemotesTheServicesRole) {
  roles_altered_ = true;
  AsAdmin("postgres", "ALTER ROLE techtrade SUPERUSER");
  stack_.Start("postgres");
  EXPECT_EQ(AdminQuery("postgres",
                       "SELECT rolsuper::text FROM pg_roles WHERE rolname = "
                       "'techtrade'"),
            "false");
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
