// techtradectl, the operator's CLI, run as a separate process as an operator runs it: every RPC
// of every service has a command whose --help explains it, and against the four services on the
// real stack a command reaches its service, prints what it answered (table or --json), is
// idempotent by request_id, and says with its exit code what failed.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/support/platform_fixture.h"

extern char** environ;

namespace techtrade::testing {
namespace {

using ::testing::HasSubstr;

struct CtlResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs build/bin/techtradectl with `args` (no shell), stdout and stderr to files, and waits.
CtlResult Ctl(const std::vector<std::string>& args) {
  static int calls = 0;
  const std::string base =
      absl::StrCat(::testing::TempDir(), "/techtradectl-", getpid(), "-", ++calls);
  const std::string out_path = base + ".out", err_path = base + ".err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const std::string binary = BinaryPath("techtradectl");
  std::vector<char*> argv = {const_cast<char*>(binary.c_str())};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  CtlResult result;
  pid_t pid = 0;
  if (posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ) == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&actions);
  result.out = Slurp(out_path);
  result.err = Slurp(err_path);
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  return result;
}

// The commands `techtradectl --help` lists, each as its words.
std::vector<std::vector<std::string>> ListedCommands(const std::string& usage) {
  std::vector<std::vector<std::string>> commands;
  bool in_commands = false;
  for (absl::string_view line : absl::StrSplit(usage, '\n')) {
    if (absl::StartsWith(line, "commands")) {
      in_commands = true;
      continue;
    }
    if (!in_commands) continue;
    if (!absl::StartsWith(line, "  ")) break;  // the blank line after the list
    // "  fund programme create    Define a programme …": the words end at the two-space gap.
    absl::string_view words = absl::StripLeadingAsciiWhitespace(line);
    words = words.substr(0, words.find("  "));
    commands.push_back(absl::StrSplit(words, ' ', absl::SkipEmpty()));
  }
  return commands;
}

TEST(TechtradectlHelp, EveryRpcOfEveryServiceHasACommandWhoseHelpExplainsIt) {
  CtlResult usage = Ctl({"--help"});
  ASSERT_EQ(usage.exit_code, 0) << usage.err;
  const std::vector<std::vector<std::string>> commands = ListedCommands(usage.out);
  ASSERT_GT(commands.size(), 10u) << usage.out;

  std::set<std::string> covered;
  for (const auto& words : commands) {
    std::vector<std::string> args = words;
    args.push_back("--help");
    CtlResult help = Ctl(args);
    const std::string name = absl::StrJoin(words, " ");
    EXPECT_EQ(help.exit_code, 0) << name << ": " << help.err;
    const size_t rpc = help.out.find("RPC: ");
    ASSERT_NE(rpc, std::string::npos) << name << " --help does not name its RPC:\n" << help.out;
    covered.insert(help.out.substr(rpc + 5, help.out.find(' ', rpc + 5) - rpc - 5));
    // The help lists the request's fields, so that an operator needs no .proto at hand.
    EXPECT_THAT(help.out, HasSubstr("fields of ")) << name;
  }

  std::set<std::string> rpcs;
  for (const google::protobuf::ServiceDescriptor* service :
       {reg::Organization::descriptor()->file()->FindServiceByName("RegistryService"),
        lv1::Offer::descriptor()->file()->FindServiceByName("ListingsService"),
        tv1::Deal::descriptor()->file()->FindServiceByName("TransactionsService"),
        fv1::Programme::descriptor()->file()->FindServiceByName("FundService")}) {
    ASSERT_NE(service, nullptr);
    for (int m = 0; m < service->method_count(); ++m) rpcs.insert(service->method(m)->full_name());
  }
  ASSERT_GT(rpcs.size(), 40u);
  for (const std::string& rpc : rpcs) {
    EXPECT_TRUE(covered.count(rpc)) << "no techtradectl command for " << rpc;
  }
}

TEST(TechtradectlHelp, AnUnknownCommandOrFieldIsAUsageError) {
  CtlResult unknown = Ctl({"org", "frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown command 'org frobnicate'"));
  CtlResult field = Ctl({"org", "get", "--registry", "127.0.0.1:1", "--colour", "blue"});
  EXPECT_EQ(field.exit_code, 2);
  EXPECT_THAT(field.err, HasSubstr("no field 'colour'"));
}

class TechtradectlE2E : public PlatformFixture {
 protected:
  TechtradectlE2E() : PlatformFixture("e2e_cli_") {}

  // A command against the fixture's services with `key`, nothing read from .run/.
  CtlResult Run(std::vector<std::string> args, const std::string& key) {
    for (std::string a :
         {std::string("--env"), std::string("/nonexistent"), std::string("--key"), key,
          std::string("--registry"), registry_->address(), std::string("--listings"),
          listings_->address(), std::string("--transactions"), transactions_->address(),
          std::string("--fund"), fund_process_->address()}) {
      args.push_back(std::move(a));
    }
    return Ctl(args);
  }

  template <class Message>
  Message FromJson(const CtlResult& r) {
    Message m;
    auto s = google::protobuf::util::JsonStringToMessage(r.out, &m);
    EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << r.out;
    return m;
  }
};

TEST_F(TechtradectlE2E, AnOperatorDrivesThePlatformFromTheCommandLine) {
  // Registry: the organisations the fixture registered, as a table and as JSON.
  CtlResult orgs = Run({"org", "list", "--city_id", "wuhan-east-lake"}, operator_key_);
  ASSERT_EQ(orgs.exit_code, 0) << orgs.err;
  EXPECT_THAT(orgs.out, HasSubstr(seller_.id()));
  EXPECT_THAT(orgs.out, HasSubstr("ORGANIZATION_STATUS_VERIFIED"));
  CtlResult org = Run({"org", "get", "--id", buyer_.id(), "--json"}, operator_key_);
  ASSERT_EQ(org.exit_code, 0) << org.err;
  EXPECT_EQ(FromJson<reg::Organization>(org).credit_code(), buyer_.credit_code());

  // Fund: a programme defined with --data and field flags, then read back through gRPC.
  fv1::CreateProgrammeRequest request = ProgrammeRequest(500'000'00);
  request.set_request_id("cli-programme-1");
  request.clear_name();
  std::string data;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(request, &data).ok());
  CtlResult created = Run({"fund", "programme", "create", "--data", data, "--name",
                           "Shenzhen CLI subsidy", "--total_budget", "500000.00 CNY", "--json"},
                          operator_key_);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const fv1::Programme programme = FromJson<fv1::Programme>(created);
  EXPECT_EQ(GetProgramme(programme.id()).name(), "Shenzhen CLI subsidy");
  EXPECT_EQ(programme.balances().available_minor(), 500'000'00);
  // The same request_id again: the first answer, no second programme.
  CtlResult again = Run({"fund", "programme", "create", "--data", data, "--name",
                         "Shenzhen CLI subsidy", "--total_budget", "500000.00 CNY", "--json"},
                        operator_key_);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(FromJson<fv1::Programme>(again).id(), programme.id());
  fv1::ListProgrammesRequest list;
  fv1::ListProgrammesResponse listed;
  ASSERT_TRUE(fund_->ListProgrammes(AuthedContext(operator_key_).get(), list, &listed).ok());
  EXPECT_EQ(listed.programmes_size(), 1);

  CtlResult reconciled =
      Run({"fund", "reconcile", "--programme_id", programme.id(), "--json"}, operator_key_);
  EXPECT_EQ(reconciled.exit_code, 0) << reconciled.err;
  EXPECT_TRUE(FromJson<fv1::ReconcileResponse>(reconciled).balanced());

  // Exit codes say what failed, and the message names the field.
  CtlResult invalid = Run({"fund", "programme", "create", "--data", data, "--request_id",
                           "cli-programme-2", "--name", "Negative", "--total_budget", "-5.00 CNY"},
                          operator_key_);
  EXPECT_EQ(invalid.exit_code, 3) << invalid.err;
  EXPECT_THAT(invalid.err, HasSubstr("total_budget"));
  CtlResult missing = Run({"deal", "get", "--id", NewUuid()}, operator_key_);
  EXPECT_EQ(missing.exit_code, 4) << missing.err;
  CtlResult denied = Run({"fund", "programme", "create", "--data", data, "--request_id",
                          "cli-programme-3", "--name", "Not for a city system"},
                         shenzhen_key_);
  EXPECT_EQ(denied.exit_code, 7) << denied.err;
  CtlResult unauthenticated = Run({"org", "get", "--id", buyer_.id()}, "tt_nosuchkey_secret");
  EXPECT_EQ(unauthenticated.exit_code, 7) << unauthenticated.err;
  CtlResult unavailable = Ctl({"org", "get", "--id", buyer_.id(), "--env", "/nonexistent", "--key",
                               operator_key_, "--registry", "127.0.0.1:1", "--timeout", "2"});
  EXPECT_EQ(unavailable.exit_code, 8) << unavailable.err;
  // Nothing the refused calls asked for exists.
  ASSERT_TRUE(fund_->ListProgrammes(AuthedContext(operator_key_).get(), list, &listed).ok());
  EXPECT_EQ(listed.programmes_size(), 1);
}

}  // namespace
}  // namespace techtrade::testing
