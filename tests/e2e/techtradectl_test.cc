// techtradectl, the operator's CLI, run as a separate process as an operator runs it: every RPC
// of every service has a command whose --help explains it, and against the four services on the
// real stack a command reaches its service, prints what it answered (table or --json), is
// idempotent by request_id, and says with its exit code what failed.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "techtrade/ops/v1/dead_letters.pb.h"
#include "tests/support/platform_fixture.h"
#include "tests/support/tool_runner.h"

namespace techtrade::testing {
namespace {

using ::testing::HasSubstr;

using CtlResult = ToolResult;

CtlResult Ctl(const std::vector<std::string>& args) { return RunTool("techtradectl", args); }

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
        fv1::Programme::descriptor()->file()->FindServiceByName("FundService"),
        techtrade::ops::v1::DeadLetter::descriptor()->file()->FindServiceByName(
            "DeadLetterService")}) {
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

TEST_F(TechtradectlE2E, ReRunningACommandRetriesItInsteadOfRepeatingIt) {
  fv1::CreateProgrammeRequest request = ProgrammeRequest(300'000'00);
  request.clear_request_id();
  std::string data;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(request, &data).ok());
  fv1::ListProgrammesRequest list;
  fv1::ListProgrammesResponse listed;
  auto programmes = [&] {
    EXPECT_TRUE(fund_->ListProgrammes(AuthedContext(operator_key_).get(), list, &listed).ok());
    return listed.programmes_size();
  };

  // No request_id given: the same command twice (as after a timeout) makes one programme.
  const std::vector<std::string> create = {"fund", "programme", "create", "--data", data, "--json"};
  CtlResult first = Run(create, operator_key_);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  CtlResult second = Run(create, operator_key_);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(FromJson<fv1::Programme>(second).id(), FromJson<fv1::Programme>(first).id());
  EXPECT_EQ(programmes(), 1);

  // Another request is another programme: other fields, or a request_id of one's own.
  std::vector<std::string> renamed = create;
  renamed.insert(renamed.end(), {"--name", "Shenzhen subsidy, second call"});
  CtlResult other = Run(renamed, operator_key_);
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_NE(FromJson<fv1::Programme>(other).id(), FromJson<fv1::Programme>(first).id());
  std::vector<std::string> explicit_id = create;
  explicit_id.insert(explicit_id.end(), {"--request-id", "cli-programme-explicit"});
  CtlResult own = Run(explicit_id, operator_key_);
  ASSERT_EQ(own.exit_code, 0) << own.err;
  EXPECT_NE(FromJson<fv1::Programme>(own).id(), FromJson<fv1::Programme>(first).id());
  EXPECT_EQ(Run(explicit_id, operator_key_).exit_code, 0);
  EXPECT_EQ(programmes(), 3);

  // A call that fails says which request_id it used, so that it can be retried as it was.
  CtlResult denied = Run(create, shenzhen_key_);
  EXPECT_EQ(denied.exit_code, 7) << denied.err;
  EXPECT_THAT(denied.err, HasSubstr("request_id: ctl-"));
  CtlResult denied_own = Run(explicit_id, shenzhen_key_);
  EXPECT_THAT(denied_own.err, HasSubstr("request_id: cli-programme-explicit"));
  EXPECT_EQ(programmes(), 3);
}

TEST_F(TechtradectlE2E, DeadLetterCommandsReachEveryConsumingService) {
  for (const std::string service : {"listings", "transactions", "fund"}) {
    CtlResult list = Run({"dead-letters", "list", "--service", service}, operator_key_);
    EXPECT_EQ(list.exit_code, 0) << service << ": " << list.err;
    EXPECT_THAT(list.out, HasSubstr("ID")) << service;  // the table's header, no rows
    CtlResult show =
        Run({"dead-letters", "show", "--service", service, "--id", "424242"}, operator_key_);
    EXPECT_EQ(show.exit_code, 4) << service << ": " << show.err;
  }
  CtlResult no_reason =
      Run({"dead-letters", "discard", "--service", "fund", "--id", "1"}, operator_key_);
  EXPECT_EQ(no_reason.exit_code, 3) << no_reason.err;
  EXPECT_THAT(no_reason.err, HasSubstr("reason"));
  CtlResult city = Run({"dead-letters", "list", "--service", "fund"}, shenzhen_key_);
  EXPECT_EQ(city.exit_code, 7) << city.err;
  CtlResult no_service = Run({"dead-letters", "list"}, operator_key_);
  EXPECT_EQ(no_service.exit_code, 2);
  EXPECT_THAT(no_service.err, HasSubstr("--service listings|transactions|fund"));
  CtlResult registry = Run({"dead-letters", "list", "--service", "registry"}, operator_key_);
  EXPECT_EQ(registry.exit_code, 2);
}

}  // namespace
}  // namespace techtrade::testing
