// DealFixture plus the fund: all four services as processes on the real local stack, and helpers
// for programmes and applications. Shared by the fund's integration tests and the end-to-end
// tests.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "techtrade/fund/v1/fund.grpc.pb.h"
#include "tests/support/deal_fixture.h"
#include "tests/support/requests.h"

namespace techtrade::testing {

namespace fv1 = techtrade::fund::v1;

inline constexpr char kFundTopic[] = "techtrade.fund.events.v1";

class PlatformFixture : public DealFixture {
 protected:
  explicit PlatformFixture(std::string db_prefix) : DealFixture(std::move(db_prefix)) {}

  void SetUp() override {
    DealFixture::SetUp();
    if (HasFatalFailure()) return;
    fund_db_ = std::make_unique<ScratchDatabase>(stack_, db_prefix_ + "fund");
    envs_["fund"] = std::map<std::string, std::string>{
        {"TECHTRADE_KAFKA_BROKERS", stack_.kafka_brokers},
        {"TECHTRADE_REDIS_URL", stack_.redis_url},
        {"TECHTRADE_DB_POOL_SIZE", "8"},
        {"TECHTRADE_LEASE_TTL_SECONDS", "3"},
        {"TECHTRADE_LOG_LEVEL", "debug"},
        {"TECHTRADE_PG_URL", fund_db_->url()},
        {"TECHTRADE_REGISTRY_ADDR", registry_->address()},
        {"TECHTRADE_FUND_TRANSACTIONS_CONSUMER",
         ConsumerGroupAtEnd(stack_.kafka_brokers, kDealTopic, db_prefix_)},
        {"TECHTRADE_FUND_REGISTRY_CONSUMER",
         ConsumerGroupAtEnd(stack_.kafka_brokers, "techtrade.registry.events.v1", db_prefix_)}};
    fund_process_ = std::make_unique<ServiceProcess>("fund", envs_["fund"]);
    ASSERT_TRUE(fund_process_->WaitUntilServing()) << fund_process_->log_path();
    fund_ = fv1::FundService::NewStub(fund_process_->channel());
  }

  std::unique_ptr<ServiceProcess>* Slot(const std::string& name) override {
    return name == "fund" ? &fund_process_ : DealFixture::Slot(name);
  }

  void TearDown() override {
    fund_process_.reset();
    fund_db_.reset();
    DealFixture::TearDown();
  }

  static fv1::CreateProgrammeRequest ProgrammeRequest(int64_t budget) {
    return SubsidyProgrammeRequest("programme-" + NewUuid(),
                                   "Shenzhen technology absorption subsidy 2026", "shenzhen",
                                   budget, 50'000'00);
  }

  fv1::Programme CreateProgramme(const fv1::CreateProgrammeRequest& r) {
    fv1::Programme p;
    grpc::Status s = fund_->CreateProgramme(AuthedContext(operator_key_).get(), r, &p);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return p;
  }

  // Submits until the fund has seen the deal signed (it learns of it from the topic).
  grpc::Status Submit(const std::string& programme_id, const tv1::Deal& deal, fv1::Application* out,
                      const std::string& key = "") {
    fv1::SubmitApplicationRequest r;
    r.set_request_id("apply-" + NewUuid());
    r.set_programme_id(programme_id);
    r.set_deal_id(deal.id());
    grpc::Status s;
    for (absl::Time deadline = absl::Now() + absl::Seconds(20); absl::Now() < deadline;
         absl::SleepFor(absl::Milliseconds(50))) {
      s = fund_->SubmitApplication(AuthedContext(key.empty() ? shenzhen_key_ : key).get(), r, out);
      if (s.error_code() != grpc::StatusCode::FAILED_PRECONDITION ||
          s.error_message().find("has no signed deal") == std::string::npos) {
        break;
      }
    }
    return s;
  }

  fv1::Application GetApplication(const std::string& id) {
    fv1::GetApplicationRequest r;
    r.set_id(id);
    fv1::Application a;
    EXPECT_TRUE(fund_->GetApplication(AuthedContext(operator_key_).get(), r, &a).ok());
    return a;
  }

  // Polls until `done(application)`; returns the last state read.
  fv1::Application WaitFor(const std::string& id,
                           const std::function<bool(const fv1::Application&)>& done) {
    fv1::Application a;
    for (absl::Time deadline = absl::Now() + absl::Seconds(20); absl::Now() < deadline;
         absl::SleepFor(absl::Milliseconds(50))) {
      a = GetApplication(id);
      if (done(a)) break;
    }
    return a;
  }

  fv1::Programme GetProgramme(const std::string& id) {
    fv1::GetProgrammeRequest r;
    r.set_id(id);
    fv1::Programme p;
    EXPECT_TRUE(fund_->GetProgramme(AuthedContext(operator_key_).get(), r, &p).ok());
    return p;
  }

  fv1::ReconcileResponse Reconcile(const std::string& programme_id = "") {
    fv1::ReconcileRequest r;
    r.set_programme_id(programme_id);
    fv1::ReconcileResponse out;
    EXPECT_TRUE(fund_->Reconcile(AuthedContext(partner_key_).get(), r, &out).ok());
    return out;
  }

  tv1::Deal PerformMilestone(tv1::Deal d, int m) {
    d = Must(&tv1::TransactionsService::Stub::DeliverMilestone, Milestone(d, m), wuhan_key_);
    d = Must(&tv1::TransactionsService::Stub::AcceptMilestone, Milestone(d, m), shenzhen_key_);
    return Must(&tv1::TransactionsService::Stub::RecordPayment,
                Payment(d, m, absl::StrCat("BANK-", d.id(), "-", m)), partner_key_);
  }

  tv1::Deal CancelAsOperator(const tv1::Deal& d) {
    tv1::CancelDealRequest r;
    r.set_request_id("cancel-" + d.id());
    r.set_deal_id(d.id());
    r.set_expected_version(d.version());
    r.set_acting_as(tv1::PARTY_ROLE_OPERATOR);
    r.set_reason("the licensor lost the patent in invalidation proceedings");
    return Must(&tv1::TransactionsService::Stub::CancelDeal, r, operator_key_);
  }

  static std::vector<int64_t> Amounts(const fv1::Application& a) {
    std::vector<int64_t> out;
    for (const auto& d : a.disbursements()) out.push_back(d.amount_minor());
    return out;
  }

  int64_t LedgerEntries() const {
    return fund_db_->QueryInt("SELECT count(*) FROM ledger_entries");
  }

  std::unique_ptr<ScratchDatabase> fund_db_;
  std::unique_ptr<ServiceProcess> fund_process_;
  std::unique_ptr<fv1::FundService::Stub> fund_;
};

}  // namespace techtrade::testing
