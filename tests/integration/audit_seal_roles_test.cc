// The seal and the role split of a cluster (k8s/overlays/prod/migrations.yaml, docs/operations.md
// "Kubernetes"): a migrator owns the schema, `<service> --migrate-only` grants the services' role
// DML on it, `<service> --seal-audit-log` run as the admin seals audit_log for these two roles,
// and afterwards the services' role appends and reads the log and uses its tables but changes
// neither the log nor the schema, while the migrator still migrates and has no right on the log.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/audit.h"
#include "common/auth.h"
#include "common/db.h"
#include "common/ids.h"
#include "common/maintenance.h"
#include "common/outbox.h"
#include "techtrade/common/v1/common.pb.h"
#include "tests/support/harness.h"
#include "tests/support/polling.h"
#include "tests/support/test_pki.h"

extern char** environ;

namespace techtrade::testing {
namespace {

using ::testing::HasSubstr;

struct Exit {
  int code = -1;
  std::string log;
};

// build/bin/<binary> `args` with this process's environment and `env` on top, to its exit.
Exit RunBinary(const std::string& binary, const std::vector<std::string>& args,
               const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    if (size_t eq = entry.find('='); eq != std::string::npos) {
      merged[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  for (const auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> entries;
  for (const auto& [k, v] : merged) entries.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (std::string& e : entries) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string path = BinaryPath(binary);
  std::vector<std::string> argv_text = {path};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log_path =
      absl::StrCat(::testing::TempDir(), "/", binary, "-", RandomHex(4), ".log");
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, 1);
    dup2(log, 2);
    execve(path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  // A mode the binary does not know would start a server: stop it (code -1) after a while.
  Exit exit;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (true) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exit.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (absl::Now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::stringstream text;
  text << std::ifstream(log_path).rdbuf();
  exit.log = text.str();
  return exit;
}

class AuditSealRolesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    db_ = std::make_unique<ScratchDatabase>(stack_, "seal_roles");
    name_ = db_->url().substr(db_->url().rfind('/') + 1);
    server_ = db_->url().substr(0, db_->url().rfind('/') + 1);
    const std::string suffix = RandomHex(4);
    migrator_ = "seal_test_migrator_" + suffix;
    services_ = "seal_test_services_" + suffix;
    // What docs/operations.md has an operator run once: the migrator owns the database (and so,
    // since PG 15, creates in its public schema); the services' role may only log in.
    AsAdmin("postgres", absl::StrCat("CREATE ROLE ", migrator_, " LOGIN; CREATE ROLE ", services_,
                                     " LOGIN; ALTER DATABASE ", name_, " OWNER TO ", migrator_));
  }

  void TearDown() override {
    services_pool_.reset();
    // The seal gave the database to techtrade_audit; ScratchDatabase drops it as techtrade.
    AsAdmin("postgres", absl::StrCat("ALTER DATABASE ", name_, " OWNER TO techtrade"));
    db_.reset();
    AsAdmin("postgres",
            absl::StrCat("DROP ROLE IF EXISTS ", migrator_, "; DROP ROLE IF EXISTS ", services_));
  }

  // This test's database (or `db`) as `role`: the admin's certificate (the stack maps no other
  // to these roles), the session's role set at connection, so every check is `role`'s.
  std::string UrlAs(const std::string& role, const std::string& db = "") const {
    std::string as = absl::StrCat(
        absl::StrReplaceAll(server_, {{"//techtrade@", "//postgres@"}}), db.empty() ? name_ : db,
        "?sslcert=", StackCertificate("admin").cert, "&sslkey=", StackCertificate("admin").key);
    if (!role.empty()) absl::StrAppend(&as, "&options=-c%20role%3D", role);
    return as;
  }

  void AsAdmin(const std::string& db, const std::string& sql) {
    pqxx::connection admin(UrlAs("", db));
    pqxx::nontransaction tx(admin);
    tx.exec(sql);
  }

  std::string AdminQuery(const std::string& sql) {
    pqxx::connection admin(UrlAs(""));
    pqxx::nontransaction tx(admin);
    const pqxx::row row = tx.exec1(sql);
    return row[0].is_null() ? "" : row[0].as<std::string>();
  }

  // `registry --migrate-only` as the migrator, granting the services' role.
  Exit MigrateAsMigrator() {
    return RunBinary("registry", {"--migrate-only"},
                     RegistryEnv(stack_, UrlAs(migrator_), NewApiKey(),
                                 {{"TECHTRADE_GRANT_TO_ROLE", services_}}));
  }

  // `registry --seal-audit-log` as the admin, for the two roles.
  Exit SealAsAdmin(const std::string& service_role, const std::string& schema_role) {
    return RunBinary("registry", {"--seal-audit-log"},
                     RegistryEnv(stack_, UrlAs(""), NewApiKey(),
                                 {{"TECHTRADE_SEAL_SERVICE_ROLE", service_role},
                                  {"TECHTRADE_SEAL_SCHEMA_ROLE", schema_role}}));
  }

  // How `sql` fails as `role`: kInsufficientPrivilege, another error's message, or "" when it
  // succeeds (then rolled back).
  std::string ErrorAs(const std::string& role, const std::string& sql) {
    pqxx::connection conn(UrlAs(role));
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

  absl::Status AppendAsServices(const std::string& aggregate) {
    return InTransaction(*services_pool_, [&](Tx& tx) -> absl::Status {
      common::v1::Actor actor;
      actor.set_api_client_id("city-system");
      actor.set_role("city_system");
      common::v1::Money payload;
      payload.set_currency("CNY");
      payload.set_amount_minor(1);
      const std::vector<std::string> cities = {"wuhan"};
      AppendToOutbox(tx, "registry",
                     {.aggregate_type = "organization",
                      .aggregate_id = aggregate,
                      .sequence = 1,
                      .payload = &payload,
                      .causation_request_id = "req-" + aggregate,
                      .actor = &actor,
                      .city_ids = &cities,
                      .partner_id = "bank-a"});
      return absl::OkStatus();
    });
  }

  // Table privileges of `role` on audit_log and its sequence, as "INSERT,SELECT|USAGE".
  std::string AuditLogRightsOf(const std::string& role) {
    return AdminQuery(absl::StrCat(
        "SELECT concat_ws('|', (SELECT string_agg(p, ',' ORDER BY p) FROM unnest(ARRAY['SELECT', "
        "'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p "
        "WHERE has_table_privilege('",
        role,
        "', 'public.audit_log', p)), (SELECT string_agg(p, ',' ORDER BY p) FROM "
        "unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) p WHERE has_sequence_privilege('",
        role, "', 'public.audit_log_position_seq', p)))"));
  }

  static constexpr char kInsufficientPrivilege[] = "insufficient privilege";
  Stack stack_;
  std::unique_ptr<ScratchDatabase> db_;
  std::string name_, server_, migrator_, services_;
  std::unique_ptr<PgPool> services_pool_;
};

TEST_F(AuditSealRolesTest, TheServicesRoleUsesTheMigratorsSchemaAndOnlyAppendsToTheLog) {
  const Exit migrated = MigrateAsMigrator();
  ASSERT_EQ(migrated.code, 0) << migrated.log;
  EXPECT_EQ(AdminQuery("SELECT tableowner FROM pg_tables WHERE tablename = 'organizations'"),
            migrator_);
  const Exit sealed = SealAsAdmin(services_, migrator_);
  ASSERT_EQ(sealed.code, 0) << sealed.log;
  EXPECT_THAT(sealed.log, HasSubstr("seal-audit-log: the audit log is sealed"));
  EXPECT_EQ(AdminQuery("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'"),
            "techtrade_audit");
  EXPECT_EQ(AuditLogRightsOf(services_), "INSERT,SELECT|USAGE");
  EXPECT_EQ(AuditLogRightsOf(migrator_), "");

  // The services append and read through the code they run.
  services_pool_ = *PgPool::Create(UrlAs(services_), 2);
  ASSERT_TRUE(AppendAsServices("org-after-seal").ok());
  absl::StatusOr<audit::v1::QueryAuditResponse> page =
      QueryAuditLog(*services_pool_, {}, {.everything = true});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->records_size(), 1);
  EXPECT_EQ(page->records(0).aggregate_id(), "org-after-seal");
  // ...use every other table and its sequence...
  EXPECT_EQ(ErrorAs(services_,
                    "UPDATE outbox SET aggregateid = aggregateid; DELETE FROM outbox; "
                    "SELECT nextval('outbox_position_seq'); "
                    "UPDATE schema_migrations SET name = name WHERE false; "
                    "DELETE FROM organizations WHERE false"),
            "");
  // ...but neither change the schema nor the log.
  EXPECT_EQ(ErrorAs(services_, "CREATE TABLE planted (id int)"), kInsufficientPrivilege);
  EXPECT_EQ(ErrorAs(services_, "ALTER TABLE outbox ADD COLUMN planted int"),
            kInsufficientPrivilege);
  EXPECT_EQ(ErrorAs(services_, "DROP TABLE organizations"), kInsufficientPrivilege);
  EXPECT_EQ(ErrorAs(services_, "UPDATE audit_log SET partner_id = 'bank-b'"),
            kInsufficientPrivilege);
  EXPECT_EQ(ErrorAs(services_, "DELETE FROM audit_log"), kInsufficientPrivilege);
  EXPECT_EQ(ErrorAs(services_, "TRUNCATE audit_log"), kInsufficientPrivilege);
  EXPECT_EQ(ErrorAs(services_, "ALTER TABLE audit_log DISABLE TRIGGER ALL"),
            kInsufficientPrivilege);
  // The migrator reads nothing of the log either.
  EXPECT_EQ(ErrorAs(migrator_, "SELECT count(*) FROM audit_log"), kInsufficientPrivilege);
}

TEST_F(AuditSealRolesTest, TheMigratorStillMigratesAndGrantsAfterTheSeal) {
  ASSERT_EQ(MigrateAsMigrator().code, 0);
  // The grant leaves audit_log to the seal, even while the migrator still owns it.
  EXPECT_EQ(AuditLogRightsOf(services_), "");
  ASSERT_EQ(SealAsAdmin(services_, migrator_).code, 0);
  // Every release: the Job migrates again (and would apply a new migration), then seals again.
  const Exit again = MigrateAsMigrator();
  EXPECT_EQ(again.code, 0) << again.log;
  EXPECT_EQ(AuditLogRightsOf(services_), "INSERT,SELECT|USAGE");
  EXPECT_EQ(ErrorAs(migrator_,
                    "CREATE TABLE later_migration (id int); "
                    "ALTER TABLE outbox ADD COLUMN later int"),
            "");
  const Exit resealed = SealAsAdmin(services_, migrator_);
  EXPECT_EQ(resealed.code, 0) << resealed.log;
  EXPECT_EQ(AuditLogRightsOf(services_), "INSERT,SELECT|USAGE");
  EXPECT_EQ(AuditLogRightsOf(migrator_), "");
}

TEST_F(AuditSealRolesTest, TheSealRefusesASuperuserForEitherRoleAndUnknownRoles) {
  ASSERT_EQ(MigrateAsMigrator().code, 0);
  Exit refused = SealAsAdmin("postgres", migrator_);
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.log, HasSubstr("postgres: is or can become postgres"));
  refused = SealAsAdmin(services_, "postgres");
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.log, HasSubstr("postgres: is or can become postgres"));
  refused = SealAsAdmin("techtrade_audit", migrator_);
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.log, HasSubstr("not techtrade_audit"));
  refused = SealAsAdmin(services_, "seal_test_nobody");
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.log,
              HasSubstr("techtrade.schema_role: role seal_test_nobody does not exist"));
  // Nothing changed hands.
  EXPECT_EQ(AdminQuery("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'"),
            migrator_);
}

// Only a table's owner may VACUUM it, and PostgreSQL answers anyone else with a warning, not an
// error: the services' maintenance, which does not own the migrator's outbox, must see that and
// leave it to autovacuum, while an owner's goes on vacuuming.
TEST_F(AuditSealRolesTest, TheServicesMaintenanceLeavesTheMigratorsOutboxToAutovacuum) {
  const Exit migrated = MigrateAsMigrator();
  ASSERT_EQ(migrated.code, 0) << migrated.log;
  auto maintenance_as = [&](const std::string& role) {
    return std::make_unique<Maintenance>(
        MaintenanceOptions{.service = "seal-roles-" + role,
                           .pg_url = UrlAs(role),
                           .outbox_rows_deleted = [] { return int64_t{20000}; },
                           .check_interval = absl::Milliseconds(50)});
  };
  std::unique_ptr<Maintenance> services = maintenance_as(services_);
  std::unique_ptr<Maintenance> owner = maintenance_as(migrator_);
  services->Start();
  owner->Start();
  // A VACUUM is due 5 s after start.
  EXPECT_TRUE(Eventually([&] { return !services->vacuums_outbox(); }, absl::Seconds(20)))
      << "the services' role went on asking for a VACUUM that PostgreSQL skips";
  absl::SleepFor(absl::Seconds(1));
  EXPECT_TRUE(owner->vacuums_outbox());
}

}  // namespace
}  // namespace techtrade::testing
