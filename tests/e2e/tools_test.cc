// The operator tools as separate processes, against fake services in this process (no stack
// needed): techtradectl never prints nothing and exits 0 when an answer cannot be printed, reads
// and prints money in each currency's own decimals, and derives a mutation's request_id from the
// request so that re-running a command retries it; techtrade-events and techtrade-partner
// explain themselves with --help.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/tls.h"
#include "techtrade/fund/v1/fund.grpc.pb.h"
#include "techtrade/transactions/v1/transactions.grpc.pb.h"
#include "tests/support/tool_runner.h"

namespace techtrade::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
namespace tv1 = techtrade::transactions::v1;
namespace fv1 = techtrade::fund::v1;

TEST(ToolsHelp, EventsAndPartnerExplainWhatTheyDoTheirFlagsExamplesAndExitCodes) {
  for (const std::string tool : {"techtrade-events", "techtrade-partner"}) {
    for (const std::string flag : {"--help", "-h"}) {
      ToolResult help = RunTool(tool, {flag});
      EXPECT_EQ(help.exit_code, 0) << tool << " " << flag << ": " << help.err;
      EXPECT_THAT(help.out, StartsWith(tool + " — ")) << tool;
      for (const char* part : {"usage: ", "flags:", "--brokers", "--idle_exit_seconds",
                               "examples:", "exit codes:", "TECHTRADE_KAFKA_BROKERS"}) {
        EXPECT_THAT(help.out, HasSubstr(part)) << tool << " " << flag;
      }
    }
  }
  EXPECT_THAT(RunTool("techtrade-events", {"--help"}).out, HasSubstr("--from_beginning"));
  EXPECT_THAT(RunTool("techtrade-partner", {"--help"}).out, HasSubstr("--group"));
  // An unknown flag is the exit code the text gives for it.
  for (const std::string tool : {"techtrade-events", "techtrade-partner"}) {
    EXPECT_EQ(RunTool(tool, {"--colour", "blue"}).exit_code, 1) << tool;
  }
}

class FakeTransactions final : public tv1::TransactionsService::Service {
 public:
  grpc::Status GetDeal(grpc::ServerContext*, const tv1::GetDealRequest*,
                       tv1::Deal* response) override {
    std::lock_guard<std::mutex> lock(mutex);
    *response = deal;
    return grpc::Status::OK;
  }
  std::mutex mutex;
  tv1::Deal deal;  // guarded by mutex
};

class FakeFund final : public fv1::FundService::Service {
 public:
  grpc::Status CreateProgramme(grpc::ServerContext*, const fv1::CreateProgrammeRequest* request,
                               fv1::Programme* response) override {
    std::lock_guard<std::mutex> lock(mutex);
    requests.push_back(*request);
    if (!answer.ok()) return answer;
    response->set_id("programme-1");
    *response->mutable_total_budget() = request->total_budget();
    return grpc::Status::OK;
  }
  std::mutex mutex;
  std::vector<fv1::CreateProgrammeRequest> requests;  // guarded by mutex
  grpc::Status answer = grpc::Status::OK;             // guarded by mutex
};

class ToolsAgainstFakes : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", ServerCredentialsFor(ProcessTls()), &port_);
    builder.RegisterService(&transactions_);
    builder.RegisterService(&fund_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  ToolResult Ctl(std::vector<std::string> args) {
    const std::string address = absl::StrCat("127.0.0.1:", port_);
    for (const std::string& a :
         {std::string("--env"), std::string("/nonexistent"), std::string("--key"),
          std::string("tt_fake"), std::string("--transactions"), address, std::string("--fund"),
          address, std::string("--timeout"), std::string("5")}) {
      args.push_back(a);
    }
    return RunTool("techtradectl", args);
  }

  void Answer(const tv1::Deal& deal) {
    std::lock_guard<std::mutex> lock(transactions_.mutex);
    transactions_.deal = deal;
  }

  // Runs `fund programme create` with `args`; the request the fund received, if any.
  std::optional<fv1::CreateProgrammeRequest> Create(std::vector<std::string> args,
                                                    ToolResult* result = nullptr) {
    size_t before;
    {
      std::lock_guard<std::mutex> lock(fund_.mutex);
      before = fund_.requests.size();
    }
    args.insert(args.begin(), {"fund", "programme", "create"});
    ToolResult r = Ctl(args);
    if (result != nullptr) *result = r;
    std::lock_guard<std::mutex> lock(fund_.mutex);
    if (fund_.requests.size() == before) return std::nullopt;
    return fund_.requests.back();
  }

  static tv1::Deal Deal() {
    tv1::Deal d;
    d.set_id("0b7f4c8e-1d2a-4c3b-9e8f-000000000001");
    d.mutable_contract()->set_registration_number("2026420100000123");
    d.mutable_contract()->mutable_signing_time()->set_seconds(1'790'000'000);
    d.mutable_paid_total()->set_currency("CNY");
    d.mutable_paid_total()->set_amount_minor(80'000'000);
    return d;
  }

  FakeTransactions transactions_;
  FakeFund fund_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(ToolsAgainstFakes, AnAnswerThatCannotBePrintedIsAnErrorNeverSilence) {
  Answer(Deal());
  ToolResult fine = Ctl({"deal", "get", "--id", Deal().id(), "--json"});
  ASSERT_EQ(fine.exit_code, 0) << fine.err;
  EXPECT_THAT(fine.out, HasSubstr("2026420100000123"));

  // A signing time no google.protobuf.Timestamp may hold (negative nanos).
  tv1::Deal bad = Deal();
  bad.mutable_contract()->mutable_signing_time()->set_nanos(-1);
  Answer(bad);
  ToolResult json = Ctl({"deal", "get", "--id", bad.id(), "--json"});
  EXPECT_EQ(json.exit_code, 9) << json.out;
  EXPECT_EQ(json.out, "");
  EXPECT_THAT(json.err, HasSubstr("cannot be printed"));
  EXPECT_THAT(json.err, HasSubstr("contract.signing_time: not a valid time"));
  // As text: everything else, the bad time marked, and the same failure.
  ToolResult text = Ctl({"deal", "get", "--id", bad.id()});
  EXPECT_EQ(text.exit_code, 9) << text.out;
  EXPECT_THAT(text.out, HasSubstr(bad.id()));
  EXPECT_THAT(text.out, HasSubstr("<invalid time>"));
  EXPECT_THAT(text.err, HasSubstr("contract.signing_time: not a valid time"));
  // A year past 9999 too.
  bad = Deal();
  bad.mutable_contract()->mutable_signing_time()->set_seconds(253402300800);
  Answer(bad);
  EXPECT_EQ(Ctl({"deal", "get", "--id", bad.id(), "--json"}).exit_code, 9);
  EXPECT_EQ(Ctl({"deal", "get", "--id", bad.id()}).exit_code, 9);
}

TEST_F(ToolsAgainstFakes, MoneyIsPrintedAndReadInEachCurrencysOwnDecimals) {
  tv1::Deal deal = Deal();
  deal.mutable_paid_total()->set_currency("JPY");
  deal.mutable_paid_total()->set_amount_minor(1200);
  Answer(deal);
  ToolResult yen = Ctl({"deal", "get", "--id", deal.id()});
  ASSERT_EQ(yen.exit_code, 0) << yen.err;
  EXPECT_THAT(yen.out, HasSubstr("JPY 1,200\n"));
  EXPECT_THAT(yen.out, Not(HasSubstr("12.00")));
  deal.mutable_paid_total()->set_currency("KWD");
  deal.mutable_paid_total()->set_amount_minor(1250);
  Answer(deal);
  EXPECT_THAT(Ctl({"deal", "get", "--id", deal.id()}).out, HasSubstr("KWD 1.250\n"));
  deal.mutable_paid_total()->set_currency("CNY");
  deal.mutable_paid_total()->set_amount_minor(80'000'000);
  Answer(deal);
  EXPECT_THAT(Ctl({"deal", "get", "--id", deal.id()}).out, HasSubstr("CNY 800,000.00\n"));

  auto budget = [&](const std::string& text) -> std::pair<std::string, int64_t> {
    std::optional<fv1::CreateProgrammeRequest> r = Create({"--total_budget", text});
    if (!r.has_value()) return {"(not sent)", 0};
    return {r->total_budget().currency(), r->total_budget().amount_minor()};
  };
  EXPECT_EQ(budget("1200 JPY"), std::make_pair(std::string("JPY"), int64_t{1200}));
  EXPECT_EQ(budget("JPY 1,200"), std::make_pair(std::string("JPY"), int64_t{1200}));
  EXPECT_EQ(budget("1.250 KWD"), std::make_pair(std::string("KWD"), int64_t{1250}));
  EXPECT_EQ(budget("1.25 KWD"), std::make_pair(std::string("KWD"), int64_t{1250}));
  EXPECT_EQ(budget("800000.00 CNY"), std::make_pair(std::string("CNY"), int64_t{80'000'000}));
  // What the tool prints, it reads back.
  EXPECT_EQ(budget("CNY 800,000.00"), std::make_pair(std::string("CNY"), int64_t{80'000'000}));
  ToolResult refused;
  EXPECT_FALSE(Create({"--total_budget", "1.5 JPY"}, &refused).has_value());
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("--total_budget"));
  EXPECT_THAT(refused.err, HasSubstr("JPY has 0 decimal places"));
  EXPECT_FALSE(Create({"--total_budget", "1.2345 KWD"}, &refused).has_value());
  EXPECT_THAT(refused.err, HasSubstr("KWD has 3 decimal places"));
}

TEST_F(ToolsAgainstFakes, TheRequestIdIsDerivedFromTheRequestUnlessGiven) {
  const std::vector<std::string> args = {"--name", "Shenzhen subsidy", "--total_budget",
                                         "500000.00 CNY"};
  std::optional<fv1::CreateProgrammeRequest> first = Create(args);
  std::optional<fv1::CreateProgrammeRequest> second = Create(args);
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_THAT(first->request_id(), StartsWith("ctl-"));
  EXPECT_LE(first->request_id().size(), 64u);
  EXPECT_EQ(first->request_id(), second->request_id()) << "a re-run is the same request";
  auto request_id = [&](std::vector<std::string> more) {
    more.insert(more.begin(), args.begin(), args.end());
    std::optional<fv1::CreateProgrammeRequest> sent = Create(more);
    return sent.has_value() ? sent->request_id() : "(not sent)";
  };
  EXPECT_NE(request_id({"--city_id", "shenzhen"}), first->request_id());
  EXPECT_EQ(request_id({"--request-id", "budget-2026-1"}), "budget-2026-1");
  EXPECT_EQ(request_id({"--request_id", "budget-2026-2"}), "budget-2026-2");

  // A call that fails (here: timed out on the service's side) names the request_id it used.
  {
    std::lock_guard<std::mutex> lock(fund_.mutex);
    fund_.answer = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "slow");
  }
  ToolResult failed;
  Create(args, &failed);
  EXPECT_EQ(failed.exit_code, 8);
  EXPECT_THAT(failed.err, HasSubstr(absl::StrCat("request_id: ", first->request_id())));
  EXPECT_THAT(failed.err, HasSubstr("--request-id"));
}

}  // namespace
}  // namespace techtrade::testing
