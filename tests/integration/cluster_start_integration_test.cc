// A service binary started as a cluster starts it (docs/operations.md, "Kubernetes" and
// "Connection budget"): the migration step on its own (--migrate-only, with a lock timeout), a
// replica that does not migrate and refuses an unmigrated schema, the connection budget check,
// and a killed relay leader taken over by another replica once its lease expired.
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
#include "common/auth.h"
#include "common/ids.h"
#include "tests/support/harness.h"

extern char** environ;

namespace techtrade::testing {
namespace {

using ::testing::HasSubstr;

struct Exit {
  int code = -1;  // -1: still running at the timeout (then killed)
  absl::Duration took;
  std::string log;
};

// Runs build/bin/<binary> with `args`, this process's environment with `env` on top, until it
// exits (or `timeout`).
Exit RunToExit(const std::string& binary, const std::vector<std::string>& args,
               const std::map<std::string, std::string>& env,
               absl::Duration timeout = absl::Seconds(60)) {
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

  const absl::Time started = absl::Now();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, 1);
    dup2(log, 2);
    execve(path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  Exit exit;
  while (true) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exit.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (absl::Now() - started > timeout) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  exit.took = absl::Now() - started;
  std::stringstream text;
  text << std::ifstream(log_path).rdbuf();
  exit.log = text.str();
  return exit;
}

std::string FileText(const std::string& path) {
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return text.str();
}

class ClusterStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    db_ = std::make_unique<ScratchDatabase>(stack_, "cluster_start");
  }

  std::map<std::string, std::string> Env(std::map<std::string, std::string> extra = {}) {
    return RegistryEnv(stack_, db_->url(), operator_key_, std::move(extra));
  }

  int64_t Migrations() {
    // (A CASE would still plan the count over a table that does not exist.)
    if (db_->QueryInt("SELECT (to_regclass('schema_migrations') IS NULL)::int") == 1) return 0;
    return db_->QueryInt("SELECT count(*) FROM schema_migrations");
  }

  Stack stack_;
  std::unique_ptr<ScratchDatabase> db_;
  const std::string operator_key_ = NewApiKey();
};

TEST_F(ClusterStartTest, MigrateOnlyAppliesTheMigrationsAndExitsAndASecondRunDoesNothing) {
  Exit first = RunToExit("registry", {"--migrate-only"}, Env());
  ASSERT_EQ(first.code, 0) << first.log;
  const int64_t applied = Migrations();
  EXPECT_GT(applied, 13);  // the common ones and the registry's
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM schema_migrations WHERE component = 'common' "
                          "AND name = 'leases'"),
            1);
  const int64_t stamp = db_->QueryInt(
      "SELECT (extract(epoch FROM max(applied_at)) * 1000000)::bigint FROM schema_migrations");
  // It only migrated: it never served or published.
  EXPECT_THAT(first.log, HasSubstr("migrate-only: the schema is current"));
  EXPECT_THAT(first.log, ::testing::Not(HasSubstr("serving")));

  Exit second = RunToExit("registry", {}, Env({{"TECHTRADE_MIGRATE_ONLY", "1"}}));
  ASSERT_EQ(second.code, 0) << second.log;
  EXPECT_EQ(Migrations(), applied);
  EXPECT_EQ(db_->QueryInt("SELECT (extract(epoch FROM max(applied_at)) * 1000000)::bigint FROM "
                          "schema_migrations"),
            stamp);
  EXPECT_THAT(second.log, ::testing::Not(HasSubstr("migration applied")));
}

TEST_F(ClusterStartTest, MigrateOnlyFailsWithinItsLockTimeoutWhileAnotherSessionHoldsTheLock) {
  // Another migration runner (or an operator's session) holds the migrations' lock.
  pqxx::connection holder(db_->url());
  pqxx::nontransaction tx(holder);
  tx.exec("SELECT pg_advisory_lock(7262381)");
  Exit run = RunToExit("registry", {"--migrate-only"},
                       Env({{"TECHTRADE_MIGRATION_LOCK_TIMEOUT_SECONDS", "1"}}));
  EXPECT_NE(run.code, 0) << run.log;
  EXPECT_NE(run.code, -1) << "still waiting after a minute";
  EXPECT_LT(run.took, absl::Seconds(15));
  EXPECT_THAT(run.log, HasSubstr("lock timeout"));
  EXPECT_EQ(Migrations(), 0);
}

TEST_F(ClusterStartTest, WithoutMigratingOnStartAnUnmigratedDatabaseIsRefused) {
  {
    ServiceProcess registry("registry", Env({{"TECHTRADE_MIGRATE_ON_START", "false"}}));
    EXPECT_FALSE(registry.WaitUntilServing(absl::Seconds(20)));
    const std::string log = FileText(registry.log_path());
    EXPECT_THAT(log, HasSubstr("schema: migrations not applied: common/1 (outbox)"));
    EXPECT_THAT(log, HasSubstr("--migrate-only"));
  }
  EXPECT_EQ(Migrations(), 0) << "it must not migrate";
  // Once the migration step ran, the same start serves.
  ASSERT_EQ(RunToExit("registry", {"--migrate-only"}, Env()).code, 0);
  ServiceProcess registry("registry", Env({{"TECHTRADE_MIGRATE_ON_START", "false"}}));
  EXPECT_TRUE(registry.WaitUntilServing());
}

TEST_F(ClusterStartTest, AConnectionBudgetTheServerCannotHoldIsRefused) {
  Exit run =
      RunToExit("registry", {}, Env({{"TECHTRADE_EXPECTED_REPLICAS", "1000"}}), absl::Seconds(30));
  EXPECT_EQ(run.code, 1) << run.log;
  EXPECT_THAT(run.log, HasSubstr("TECHTRADE_EXPECTED_REPLICAS: 1000 processes x 6 connections"));
  EXPECT_EQ(Migrations(), 0) << "refused before it touched the database";
  ServiceProcess registry("registry", Env({{"TECHTRADE_EXPECTED_REPLICAS", "2"}}));
  EXPECT_TRUE(registry.WaitUntilServing());
}

// The leader killed (no release): the other replica publishes once the lease expired, not before.
TEST_F(ClusterStartTest, AKilledRelayLeaderIsTakenOverOnceItsLeaseExpired) {
  const std::map<std::string, std::string> env = Env({{"TECHTRADE_LEASE_TTL_SECONDS", "3"}});
  auto a = std::make_unique<ServiceProcess>("registry", env);
  ASSERT_TRUE(a->WaitUntilServing());
  auto b = std::make_unique<ServiceProcess>("registry", env);
  ASSERT_TRUE(b->WaitUntilServing());
  const std::string lease = "name = 'outbox_relay:registry'";
  auto held_by = [&](pid_t pid) {
    return db_->QueryInt(absl::StrCat("SELECT count(*) FROM leases WHERE ", lease,
                                      " AND holder LIKE '%:", pid, ":%'")) == 1;
  };
  absl::Time until = absl::Now() + absl::Seconds(10);
  while (!held_by(a->pid()) && !held_by(b->pid()) && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  std::unique_ptr<ServiceProcess>& leader = held_by(a->pid()) ? a : b;
  std::unique_ptr<ServiceProcess>& other = held_by(a->pid()) ? b : a;
  ASSERT_TRUE(held_by(leader->pid()));
  const pid_t other_pid = other->pid();

  leader->Kill();
  const int64_t expired_us = db_->QueryInt(absl::StrCat(
      "SELECT (extract(epoch FROM expires_at) * 1000000)::bigint FROM leases WHERE ", lease));
  until = absl::Now() + absl::Seconds(15);
  while (!held_by(other_pid) && absl::Now() < until) absl::SleepFor(absl::Milliseconds(50));
  ASSERT_TRUE(held_by(other_pid));
  // Granted (expires_at - TTL, the server's time) no earlier than the old lease's end.
  EXPECT_GE(db_->QueryInt(absl::StrCat("SELECT (extract(epoch FROM expires_at - interval '3 "
                                       "seconds') * 1000000)::bigint FROM leases WHERE ",
                                       lease)),
            expired_us);
  // A clean stop releases it.
  EXPECT_EQ(other->Terminate(), 0);
  EXPECT_EQ(db_->QueryInt(absl::StrCat("SELECT count(*) FROM leases WHERE ", lease)), 0);
}

}  // namespace
}  // namespace techtrade::testing
