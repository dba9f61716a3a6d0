// The fund against the real local stack: registry, listings, transactions and fund processes on
// their own scratch databases; real deals drive the fund through techtrade.transactions.events.v1,
// and the fund's own events are read back from techtrade.fund.events.v1.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/kafka.h"
#include "common/trace.h"
#include "techtrade/fund/v1/fund.grpc.pb.h"
#include "tests/contract/event_contract.h"
#include "tests/support/harness.h"
#include "tests/support/platform_fixture.h"

namespace techtrade::testing {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using TxStub = tv1::TransactionsService::Stub;

// The deal of DealFixture::Signed(): 80 000.00 CNY in milestones of 24 000.00 and 56 000.00.
// With bands 19.99 % to 50 000.00 and 11.11 % above, the subsidy is
// 50 000.00 × 19.99 % + 30 000.00 × 11.11 % = 9 995.00 + 3 333.00 = 13 328.00, and the plan
// 33.33 % at signing / 33.33 % over the milestones / the rest at completion pays, to the fen
// (each share rounded down):
constexpr int64_t kSubsidy = 1'332'800;
constexpr int64_t kSigning = 444'222;     // 1 332 800 × 0.3333 = 444 222.24
constexpr int64_t kMilestone1 = 133'266;  // 444 222 × 24 000 / 80 000 = 133 266.6
constexpr int64_t kMilestone2 = 310'955;  // 444 222 × 56 000 / 80 000 = 310 955.4
constexpr int64_t kCompletion = 444'357;  // 1 332 800 − the three above

class FundTest : public PlatformFixture {
 protected:
  FundTest() : PlatformFixture("fund_it_") {}
};

TEST_F(FundTest, ASignedDealIsSubsidisedTrancheByTrancheToTheFen) {
  TopicReader fund_events(stack_.kafka_brokers, kFundTopic);
  const int64_t budget = 1'000'000'00;
  fv1::Programme p = CreateProgramme(ProgrammeRequest(budget));
  EXPECT_EQ(p.balances().available_minor(), budget);

  tv1::Deal d = Signed();
  fv1::Application a;
  grpc::Status s = Submit(p.id(), d, &a);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(a.status(), fv1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(a.calculation().tiered_minor(), kSubsidy);
  EXPECT_EQ(a.calculation().limited_by(), "tiered rate");
  EXPECT_EQ(a.approved_minor(), kSubsidy);
  EXPECT_EQ(a.applicant().credit_code(), buyer_.credit_code());
  EXPECT_THAT(Amounts(a), ElementsAre(kSigning));

  d = PerformMilestone(d, 1);
  a = WaitFor(a.id(), [](const auto& x) { return x.disbursements_size() >= 2; });
  EXPECT_THAT(Amounts(a), ElementsAre(kSigning, kMilestone1));
  d = PerformMilestone(d, 2);
  ASSERT_EQ(d.state(), tv1::DEAL_STATE_COMPLETED);
  a = WaitFor(a.id(),
              [](const auto& x) { return x.status() == fv1::APPLICATION_STATUS_COMPLETED; });
  EXPECT_EQ(a.status(), fv1::APPLICATION_STATUS_COMPLETED);
  EXPECT_THAT(Amounts(a), ElementsAre(kSigning, kMilestone1, kMilestone2, kCompletion));
  EXPECT_EQ(a.disbursed_minor(), kSubsidy);
  EXPECT_EQ(a.disbursements(3).tranche(), "completion");

  fv1::Programme after = GetProgramme(p.id());
  EXPECT_EQ(after.balances().available_minor(), budget - kSubsidy);
  EXPECT_EQ(after.balances().reserved_minor(), 0);
  EXPECT_EQ(after.balances().disbursed_minor(), kSubsidy);
  fv1::ReconcileResponse r = Reconcile(p.id());
  ASSERT_EQ(r.programmes_size(), 1);
  EXPECT_TRUE(r.balanced());
  EXPECT_EQ(r.programmes(0).entries(), 6);  // fund, reserve, four disbursements

  // The partner's feed: one event per change of the application, gapless, each tranche a
  // payment instruction naming the payee.
  fund_events.ReadUntil([&](auto&) { return fund_events.ForAggregate(a.id()).size() >= 5; },
                        absl::Seconds(20));
  std::vector<std::string> types;
  int64_t sequence = 0;
  int64_t paid = 0;
  for (const auto& e : fund_events.ForAggregate(a.id())) {
    EXPECT_EQ(e.envelope.sequence(), ++sequence);
    EXPECT_EQ(e.key, a.id());
    types.push_back(e.envelope.event_type().substr(e.envelope.event_type().rfind('.') + 1));
    fv1::TrancheDisbursed tranche;
    if (e.envelope.payload().UnpackTo(&tranche)) {
      EXPECT_EQ(tranche.payee().credit_code(), buyer_.credit_code());
      EXPECT_EQ(tranche.amount().currency(), "CNY");
      EXPECT_EQ(tranche.idempotency_key(), absl::StrCat(a.id(), ":", sequence));
      paid += tranche.amount().amount_minor();
    }
  }
  EXPECT_THAT(types, ElementsAre("ApplicationDecided", "TrancheDisbursed", "TrancheDisbursed",
                                 "TrancheDisbursed", "TrancheDisbursed"));
  EXPECT_EQ(paid, kSubsidy);

  // The appraisal of the deal's pilot city (the offer's, Wuhan) over today.
  fv1::GetAppraisalRequest ar;
  ar.set_city_id("wuhan-east-lake");
  *ar.mutable_period_start() =
      TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(absl::Now()) - 86400);
  *ar.mutable_period_end() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(absl::Now()) + 60);
  fv1::Appraisal appraisal;
  ASSERT_TRUE(fund_->GetAppraisal(AuthedContext(operator_key_).get(), ar, &appraisal).ok());
  EXPECT_EQ(appraisal.deals_signed(), 1);
  EXPECT_EQ(appraisal.deals_completed(), 1);
  EXPECT_EQ(appraisal.contract_value().amount_minor(), 80'000'00);
  EXPECT_EQ(appraisal.subsidy_disbursed().amount_minor(), kSubsidy);
  EXPECT_NEAR(appraisal.leverage(), 8'000'000.0 / kSubsidy, 1e-9);
  EXPECT_GE(appraisal.median_days_open_to_sign(), 0);
  EXPECT_LT(appraisal.median_days_open_to_sign(), 1.0 / 24);
  ar.set_city_id("shenzhen");
  ASSERT_TRUE(fund_->GetAppraisal(AuthedContext(operator_key_).get(), ar, &appraisal).ok());
  EXPECT_EQ(appraisal.deals_signed(), 0);
  // A city system appraises its own city only.
  ar.set_city_id("wuhan-east-lake");
  EXPECT_EQ(fund_->GetAppraisal(AuthedContext(shenzhen_key_).get(), ar, &appraisal).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(FundTest, ACancelledDealReleasesTheReservationAndClawsBackWhatWentOut) {
  TopicReader fund_events(stack_.kafka_brokers, kFundTopic);
  const int64_t budget = 1'000'000'00;
  fv1::Programme p = CreateProgramme(ProgrammeRequest(budget));
  tv1::Deal d = Signed();
  fv1::Application a;
  ASSERT_TRUE(Submit(p.id(), d, &a).ok());
  ASSERT_THAT(Amounts(a), ElementsAre(kSigning));

  CancelAsOperator(d);
  a = WaitFor(a.id(),
              [](const auto& x) { return x.status() == fv1::APPLICATION_STATUS_CANCELLED; });
  EXPECT_EQ(a.status(), fv1::APPLICATION_STATUS_CANCELLED);
  EXPECT_EQ(a.released_minor(), kSubsidy - kSigning);
  EXPECT_EQ(a.clawed_back_minor(), kSigning);
  fv1::Programme after = GetProgramme(p.id());
  EXPECT_EQ(after.balances().reserved_minor(), 0);
  EXPECT_EQ(after.balances().disbursed_minor(), kSigning);
  EXPECT_EQ(after.balances().clawed_back_minor(), kSigning);
  EXPECT_EQ(after.balances().available_minor(), budget);
  EXPECT_TRUE(Reconcile().balanced());

  fund_events.ReadUntil([&](auto&) { return fund_events.ForAggregate(a.id()).size() >= 4; },
                        absl::Seconds(20));
  auto events = fund_events.ForAggregate(a.id());
  ASSERT_EQ(events.size(), 4u);
  fv1::ReservationReleased released;
  ASSERT_TRUE(events[2].envelope.payload().UnpackTo(&released));
  EXPECT_EQ(released.amount().amount_minor(), kSubsidy - kSigning);
  fv1::ClawbackRaised clawback;
  ASSERT_TRUE(events[3].envelope.payload().UnpackTo(&clawback));
  EXPECT_EQ(clawback.amount().amount_minor(), kSigning);
  EXPECT_EQ(clawback.debtor().credit_code(), buyer_.credit_code());
  EXPECT_EQ(events[3].envelope.sequence(), 4);

  // The buyer's annual cap was given back: a programme whose cap only fits one subsidy takes
  // the next deal in full.
  EXPECT_EQ(fund_db_->QueryInt("SELECT granted FROM annual_grants"), 0);
}

// The fund falls behind (it is down) while a milestone is accepted and the deal is then cancelled;
// it applies the backlog of the deal's events in one transaction. Each event must be decided on
// what the previous one did, ending exactly as one by one: the milestone tranche paid and known
// to the application, the release what was left, the clawback what went out, the application's
// events numbered without a repeat, the ledger balanced — and the next deal still paid.
TEST_F(FundTest, ABacklogOfOneDealsEventsAppliedAsOneBatchEndsAsOneByOne) {
  TopicReader deal_events(stack_.kafka_brokers, kDealTopic);
  TopicReader fund_events(stack_.kafka_brokers, kFundTopic);
  const int64_t budget = 1'000'000'00;
  fv1::Programme p = CreateProgramme(ProgrammeRequest(budget));
  tv1::Deal d = Signed();
  fv1::Application a;
  ASSERT_TRUE(Submit(p.id(), d, &a).ok());
  ASSERT_THAT(Amounts(a), ElementsAre(kSigning));
  {
    ShutDown("fund");
    d = PerformMilestone(d, 1);
    d = CancelAsOperator(d);
    ASSERT_TRUE(deal_events.ReadUntilPayload<tv1::DealCancelled>(d.id(), absl::Seconds(20)));
    ASSERT_TRUE(StartAgain("fund"));
  }
  // The restarted consumer may first wait for the group to let go of the old member.
  for (int i = 0; i < 3 && a.status() != fv1::APPLICATION_STATUS_CANCELLED; ++i) {
    a = WaitFor(a.id(),
                [](const auto& x) { return x.status() == fv1::APPLICATION_STATUS_CANCELLED; });
  }
  ASSERT_EQ(a.status(), fv1::APPLICATION_STATUS_CANCELLED);
  EXPECT_THAT(Amounts(a), ElementsAre(kSigning, kMilestone1));
  EXPECT_EQ(a.disbursed_minor(), kSigning + kMilestone1);
  EXPECT_EQ(a.released_minor(), kSubsidy - kSigning - kMilestone1);
  EXPECT_EQ(a.clawed_back_minor(), kSigning + kMilestone1);
  fv1::Programme after = GetProgramme(p.id());
  EXPECT_EQ(after.balances().reserved_minor(), 0);
  EXPECT_EQ(after.balances().disbursed_minor(), kSigning + kMilestone1);
  EXPECT_EQ(after.balances().clawed_back_minor(), kSigning + kMilestone1);
  EXPECT_EQ(after.balances().available_minor(), budget);
  EXPECT_TRUE(Reconcile(p.id()).balanced());

  fund_events.ReadUntil([&](auto&) { return fund_events.ForAggregate(a.id()).size() >= 5; },
                        absl::Seconds(20));
  fund_events.ReadUntil([](auto&) { return false; }, absl::Milliseconds(500));  // any extra one
  std::vector<std::string> types;
  std::vector<int64_t> sequences;
  for (const auto& e : fund_events.ForAggregate(a.id())) {
    types.push_back(e.envelope.event_type().substr(e.envelope.event_type().rfind('.') + 1));
    sequences.push_back(e.envelope.sequence());
  }
  EXPECT_THAT(types, ElementsAre("ApplicationDecided", "TrancheDisbursed", "TrancheDisbursed",
                                 "ReservationReleased", "ClawbackRaised"));
  EXPECT_THAT(sequences, ElementsAre(1, 2, 3, 4, 5));
  EXPECT_GE(LargestConsumerBatch(fund_process_->log_path()), 2) << fund_process_->log_path();

  // The programme is sound for the next deal: its completion tranche is paid.
  tv1::Deal next = Signed();
  fv1::Application b;
  ASSERT_TRUE(Submit(p.id(), next, &b).ok());
  next = PerformMilestone(next, 1);
  next = PerformMilestone(next, 2);
  ASSERT_EQ(next.state(), tv1::DEAL_STATE_COMPLETED);
  b = WaitFor(b.id(),
              [](const auto& x) { return x.status() == fv1::APPLICATION_STATUS_COMPLETED; });
  EXPECT_EQ(b.disbursed_minor(), kSubsidy);
  EXPECT_TRUE(Reconcile(p.id()).balanced());
}

TEST_F(FundTest, TheSameDealEventDeliveredTwiceHasOneEffect) {
  TopicReader deal_events(stack_.kafka_brokers, kDealTopic);
  TopicReader fund_events(stack_.kafka_brokers, kFundTopic);
  fv1::Programme p = CreateProgramme(ProgrammeRequest(1'000'000'00));
  tv1::Deal d = Signed();
  fv1::Application a;
  ASSERT_TRUE(Submit(p.id(), d, &a).ok());
  d = PerformMilestone(d, 1);
  a = WaitFor(a.id(), [](const auto& x) { return x.disbursements_size() >= 2; });
  ASSERT_THAT(Amounts(a), ElementsAre(kSigning, kMilestone1));
  const int64_t entries = LedgerEntries();

  // The MilestoneAccepted event again, byte for byte (a consumer crash before its offset
  // commit), and once more under a new event id (a producer that re-sent it).
  deal_events.ReadUntilPayload<tv1::MilestoneAccepted>(d.id(), absl::Seconds(20));
  std::optional<TopicReader::Event> accepted;
  for (const auto& e : deal_events.ForAggregate(d.id())) {
    if (e.envelope.payload().Is<tv1::MilestoneAccepted>()) accepted = e;
  }
  ASSERT_TRUE(accepted.has_value());
  common::v1::EventEnvelope renamed = accepted->envelope;
  renamed.set_event_id(NewUuid());
  std::atomic<int> delivered{0};
  auto producer = *KafkaProducer::Create(
      stack_.kafka_brokers, {}, [&](void*, const absl::Status& s) { delivered += s.ok(); });
  ASSERT_TRUE(producer
                  ->Produce(kDealTopic, d.id(), accepted->envelope.SerializeAsString(),
                            {{contract::kInjectedHeader, "a redelivery forged by the test"}},
                            nullptr)
                  .ok());
  ASSERT_TRUE(producer
                  ->Produce(kDealTopic, d.id(), renamed.SerializeAsString(),
                            {{contract::kInjectedHeader, "a renamed copy forged by the test"}},
                            nullptr)
                  .ok());
  for (int i = 0; i < 100 && delivered < 2; ++i) producer->Poll(absl::Milliseconds(100));
  ASSERT_EQ(delivered, 2);

  // The next real event follows the copies in the deal's partition: once it took effect, the
  // copies were consumed before it.
  d = PerformMilestone(d, 2);
  a = WaitFor(a.id(),
              [](const auto& x) { return x.status() == fv1::APPLICATION_STATUS_COMPLETED; });
  EXPECT_THAT(Amounts(a), ElementsAre(kSigning, kMilestone1, kMilestone2, kCompletion));
  EXPECT_EQ(LedgerEntries(), entries + 2);
  EXPECT_EQ(fund_db_->QueryInt(absl::StrCat("SELECT count(*) FROM inbox WHERE event_id = '",
                                            accepted->envelope.event_id(), "'")),
            1);
  fund_events.ReadUntil([&](auto&) { return fund_events.ForAggregate(a.id()).size() >= 5; },
                        absl::Seconds(20));
  fund_events.ReadUntil([](auto&) { return false; }, absl::Milliseconds(500));
  EXPECT_EQ(fund_events.ForAggregate(a.id()).size(), 5u);
  EXPECT_TRUE(Reconcile(p.id()).balanced());
}

// A tranche the fund pays in reaction to a deal event carries that event's trace, in a span of its
// own, and its causation_request_id (docs/events.md, "Trace context").
TEST_F(FundTest, ATranchePaidForADealEventCarriesThatEventsTrace) {
  TopicReader deal_events(stack_.kafka_brokers, kDealTopic);
  TopicReader fund_events(stack_.kafka_brokers, kFundTopic);
  fv1::Programme p = CreateProgramme(ProgrammeRequest(1'000'000'00));
  tv1::Deal d = Signed();
  fv1::Application a;
  ASSERT_TRUE(Submit(p.id(), d, &a).ok());
  d = PerformMilestone(d, 1);
  a = WaitFor(a.id(), [](const auto& x) { return x.disbursements_size() >= 2; });
  ASSERT_TRUE(deal_events.ReadUntilPayload<tv1::MilestoneAccepted>(d.id(), absl::Seconds(20)));
  fund_events.ReadUntil([&](auto&) { return fund_events.ForAggregate(a.id()).size() >= 3; },
                        absl::Seconds(20));
  std::optional<TopicReader::Event> cause, tranche;
  for (const auto& e : deal_events.ForAggregate(d.id())) {
    if (e.envelope.payload().Is<tv1::MilestoneAccepted>()) cause = e;
  }
  for (const auto& e : fund_events.ForAggregate(a.id())) {
    fv1::TrancheDisbursed t;
    if (e.envelope.payload().UnpackTo(&t) && t.disbursement().tranche() == "milestone-1") {
      tranche = e;
    }
  }
  ASSERT_TRUE(cause.has_value() && tranche.has_value());
  const std::string& parent = cause->envelope.trace().traceparent();
  const std::string& child = tranche->envelope.trace().traceparent();
  EXPECT_TRUE(IsValidTraceparent(child)) << child;
  EXPECT_EQ(child.substr(0, 35), parent.substr(0, 35)) << "not the deal event's trace";
  EXPECT_NE(child, parent) << "no span of its own";
  EXPECT_EQ(tranche->envelope.causation_request_id(), cause->envelope.causation_request_id());
  EXPECT_EQ(tranche->headers.count("traceparent") ? tranche->headers.at("traceparent") : "", child);
}

TEST_F(FundTest, AnExhaustedBudgetRefusesTheNextApplicationWithTheReason) {
  // 15 000.00 of budget, 10 000.00 per deal: the first deal gets the cap, the second what is
  // left, the third nothing.
  fv1::CreateProgrammeRequest r = ProgrammeRequest(15'000'00);
  r.mutable_rules()->set_per_deal_cap_minor(10'000'00);
  fv1::Programme p = CreateProgramme(r);
  std::vector<fv1::Application> apps(3);
  for (auto& a : apps) ASSERT_TRUE(Submit(p.id(), Signed(), &a).ok());
  EXPECT_EQ(apps[0].status(), fv1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(apps[0].approved_minor(), 10'000'00);
  EXPECT_EQ(apps[0].calculation().limited_by(), "per-deal cap");
  EXPECT_EQ(apps[1].status(), fv1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(apps[1].approved_minor(), 5'000'00);
  EXPECT_EQ(apps[1].calculation().limited_by(), "budget");
  EXPECT_EQ(apps[2].status(), fv1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(apps[2].refusal_reason(), fv1::REFUSAL_REASON_BUDGET_EXHAUSTED);
  EXPECT_THAT(apps[2].decision_reason(), HasSubstr("budget is exhausted"));
  EXPECT_EQ(apps[2].approved_minor(), 0);
  EXPECT_EQ(fund_db_->QueryInt(absl::StrCat("SELECT count(*) FROM ledger_entries WHERE "
                                            "application_id = '",
                                            apps[2].id(), "'")),
            0);
  fv1::Programme after = GetProgramme(p.id());
  EXPECT_EQ(after.balances().available_minor(), 0);
  EXPECT_TRUE(Reconcile(p.id()).balanced());
}

TEST_F(FundTest, ConcurrentApplicationsNeverPassTheBudgetOrTheAnnualCap) {
  // Two buyers with six signed deals each; each deal alone would get 10 000.00. The annual cap
  // is 25 000.00 per buyer and the budget 40 000.00: whatever the interleaving, exactly
  // 40 000.00 is granted, at most 25 000.00 to each buyer.
  reg::Organization second = Organization(3, "shenzhen", reg::ORGANIZATION_KIND_ENTERPRISE);
  fv1::CreateProgrammeRequest r = ProgrammeRequest(40'000'00);
  r.mutable_rules()->set_per_deal_cap_minor(10'000'00);
  r.mutable_rules()->set_per_organization_annual_cap_minor(25'000'00);
  fv1::Programme p = CreateProgramme(r);
  std::vector<tv1::Deal> deals;
  for (int i = 0; i < 12; ++i) deals.push_back(Signed(i % 2 == 0 ? buyer_.id() : second.id()));
  // Wait until the fund has seen every signing, so that all applications race for real.
  for (absl::Time deadline = absl::Now() + absl::Seconds(20);
       absl::Now() < deadline &&
       fund_db_->QueryInt("SELECT count(*) FROM deals WHERE signed_at IS NOT NULL") < 12;
       absl::SleepFor(absl::Milliseconds(50))) {
  }
  std::vector<fv1::Application> apps(deals.size());
  std::vector<grpc::Status> statuses(deals.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < deals.size(); ++i) {
    threads.emplace_back([&, i] {
      auto stub = fv1::FundService::NewStub(fund_process_->channel());
      fv1::SubmitApplicationRequest req;
      req.set_request_id("race-" + deals[i].id());
      req.set_programme_id(p.id());
      req.set_deal_id(deals[i].id());
      statuses[i] = stub->SubmitApplication(AuthedContext(operator_key_).get(), req, &apps[i]);
    });
  }
  for (auto& t : threads) t.join();
  std::map<std::string, int64_t> per_buyer;
  int64_t total = 0;
  for (size_t i = 0; i < deals.size(); ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    if (apps[i].status() == fv1::APPLICATION_STATUS_REJECTED) {
      EXPECT_THAT(apps[i].refusal_reason(),
                  ::testing::AnyOf(fv1::REFUSAL_REASON_BUDGET_EXHAUSTED,
                                   fv1::REFUSAL_REASON_ANNUAL_CAP_REACHED));
      continue;
    }
    per_buyer[apps[i].applicant().organization_id()] += apps[i].approved_minor();
    total += apps[i].approved_minor();
  }
  EXPECT_EQ(total, 40'000'00);
  for (const auto& [buyer, granted] : per_buyer) EXPECT_LE(granted, 25'000'00) << buyer;
  fv1::Programme after = GetProgramme(p.id());
  EXPECT_EQ(after.balances().available_minor(), 0);
  EXPECT_EQ(after.balances().reserved_minor() + after.balances().disbursed_minor(), 40'000'00);
  fv1::ReconcileResponse reconciled = Reconcile(p.id());
  EXPECT_TRUE(reconciled.balanced());
  EXPECT_EQ(reconciled.programmes(0).recorded().SerializeAsString(),
            reconciled.programmes(0).recomputed().SerializeAsString());
  EXPECT_LE(fund_db_->QueryInt("SELECT max(granted) FROM annual_grants"), 25'000'00);
}

TEST_F(FundTest, AboveTheThresholdAnOperatorDecides) {
  TopicReader fund_events(stack_.kafka_brokers, kFundTopic);
  fv1::CreateProgrammeRequest r = ProgrammeRequest(1'000'000'00);
  r.mutable_rules()->set_auto_approval_threshold_minor(5'000'00);
  fv1::Programme p = CreateProgramme(r);
  fv1::Application a;
  ASSERT_TRUE(Submit(p.id(), Signed(), &a).ok());
  EXPECT_EQ(a.status(), fv1::APPLICATION_STATUS_PENDING_REVIEW);
  EXPECT_EQ(GetProgramme(p.id()).balances().reserved_minor(), 0);

  fv1::DecideApplicationRequest approve;
  approve.set_request_id("approve-" + a.id());
  approve.set_id(a.id());
  approve.set_expected_version(a.version());
  fv1::Application out;
  // Only operators decide; a stale version is refused.
  EXPECT_EQ(
      fund_->ApproveApplication(AuthedContext(shenzhen_key_).get(), approve, &out).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  approve.set_expected_version(a.version() + 1);
  EXPECT_EQ(
      fund_->ApproveApplication(AuthedContext(operator_key_).get(), approve, &out).error_code(),
      grpc::StatusCode::ABORTED);
  approve.set_expected_version(a.version());
  ASSERT_TRUE(fund_->ApproveApplication(AuthedContext(operator_key_).get(), approve, &out).ok());
  EXPECT_EQ(out.status(), fv1::APPLICATION_STATUS_APPROVED);
  EXPECT_THAT(Amounts(out), ElementsAre(kSigning));
  // A retry returns the first answer and changes nothing.
  fv1::Application again;
  ASSERT_TRUE(fund_->ApproveApplication(AuthedContext(operator_key_).get(), approve, &again).ok());
  EXPECT_EQ(again.SerializeAsString(), out.SerializeAsString());
  EXPECT_EQ(GetProgramme(p.id()).balances().reserved_minor(), kSubsidy - kSigning);

  // Another one rejected, with the reason required.
  fv1::Application b;
  ASSERT_TRUE(Submit(p.id(), Signed(), &b).ok());
  fv1::DecideApplicationRequest reject;
  reject.set_request_id("reject-" + b.id());
  reject.set_id(b.id());
  reject.set_expected_version(b.version());
  grpc::Status s = fund_->RejectApplication(AuthedContext(operator_key_).get(), reject, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("reason"));
  reject.set_reason("the buyer is a subsidiary of the seller");
  ASSERT_TRUE(fund_->RejectApplication(AuthedContext(operator_key_).get(), reject, &out).ok());
  EXPECT_EQ(out.status(), fv1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(out.refusal_reason(), fv1::REFUSAL_REASON_OPERATOR);
  EXPECT_EQ(GetProgramme(p.id()).balances().reserved_minor(), kSubsidy - kSigning);

  fund_events.ReadUntil([&](auto&) { return fund_events.ForAggregate(b.id()).size() >= 2; },
                        absl::Seconds(20));
  fund_events.ReadUntil([](auto&) { return false; }, absl::Milliseconds(500));
  EXPECT_EQ(fund_events.ForAggregate(a.id()).size(), 3u);  // submitted, decided, signing tranche
  EXPECT_EQ(fund_events.ForAggregate(b.id()).size(), 2u);  // submitted, decided
}

TEST_F(FundTest, BadInputGetsTheSpecificCodeAndChangesNothing) {
  fv1::Programme p = CreateProgramme(ProgrammeRequest(1'000'000'00));
  const int64_t entries = LedgerEntries();
  auto create = [&](fv1::CreateProgrammeRequest r, const std::string& key) {
    fv1::Programme out;
    return fund_->CreateProgramme(AuthedContext(key).get(), r, &out);
  };
  fv1::CreateProgrammeRequest bad = ProgrammeRequest(1'000'00);
  bad.mutable_rules()->mutable_bands(1)->set_from_minor(0);
  grpc::Status s = create(bad, operator_key_);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("rules.bands[1].from_minor"));
  bad = ProgrammeRequest(0);
  s = create(bad, operator_key_);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("total_budget.amount_minor"));
  bad = ProgrammeRequest(1'000'00);
  bad.mutable_rules()->mutable_tranches(0)->set_share_bps(1000);
  s = create(bad, operator_key_);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("rules.tranches"));
  bad = ProgrammeRequest(1'000'00);
  bad.set_city_id("atlantis");
  s = create(bad, operator_key_);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("city_id"));
  EXPECT_EQ(create(ProgrammeRequest(1'000'00), shenzhen_key_).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  tv1::Deal d = Signed();
  fv1::Application a;
  ASSERT_TRUE(Submit(p.id(), d, &a).ok());
  const int64_t after_first = LedgerEntries();
  // A second application for the same deal and programme.
  fv1::Application dup;
  s = Submit(p.id(), d, &dup);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("deal_id"));
  // Malformed and unknown references.
  fv1::SubmitApplicationRequest req;
  req.set_request_id("bad-1");
  req.set_programme_id("not-a-uuid");
  req.set_deal_id(d.id());
  s = fund_->SubmitApplication(AuthedContext(operator_key_).get(), req, &dup);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("programme_id"));
  req.set_programme_id(NewUuid());
  s = fund_->SubmitApplication(AuthedContext(operator_key_).get(), req, &dup);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("programme_id"));
  req.set_programme_id(p.id());
  req.set_deal_id(NewUuid());
  s = fund_->SubmitApplication(AuthedContext(operator_key_).get(), req, &dup);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("deal_id"));
  // Another city's system may not apply for this buyer.
  fv1::CreateProgrammeRequest national = ProgrammeRequest(1'000'000'00);
  national.set_city_id("");
  fv1::Programme n = CreateProgramme(national);
  s = Submit(n.id(), d, &dup, wuhan_key_);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // A programme whose rules exclude the deal: recorded as refused, with the rule named.
  fv1::CreateProgrammeRequest assignments = ProgrammeRequest(1'000'000'00);
  assignments.mutable_rules()->clear_eligible_transfer_modes();
  assignments.mutable_rules()->add_eligible_transfer_modes(lv1::TRANSFER_MODE_ASSIGNMENT);
  fv1::Programme only_assignments = CreateProgramme(assignments);
  ASSERT_TRUE(Submit(only_assignments.id(), d, &dup).ok());
  EXPECT_EQ(dup.status(), fv1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(dup.refusal_reason(), fv1::REFUSAL_REASON_TRANSFER_MODE);
  EXPECT_THAT(dup.decision_reason(), HasSubstr("TRANSFER_MODE_EXCLUSIVE_LICENSE"));
  // Nothing but the funding entries of the new programmes and the first application's moved.
  EXPECT_EQ(LedgerEntries(), after_first + 2);
  EXPECT_EQ(after_first, entries + 2);  // reserve, signing tranche
  EXPECT_TRUE(Reconcile().balanced());
}

TEST_F(FundTest, TheDatabaseItselfRefusesToBreakTheLedger) {
  // A budget of 1 000.00, all of it reserved by one application.
  fv1::Programme p = CreateProgramme(ProgrammeRequest(1'000'00));
  fv1::Application a;
  ASSERT_TRUE(Submit(p.id(), Signed(), &a).ok());
  ASSERT_EQ(a.approved_minor(), 1'000'00);
  pqxx::connection conn(fund_db_->url());
  auto refused = [&](const std::string& sql) {
    try {
      pqxx::work w(conn);
      w.exec(sql);
      w.commit();
      return false;
    } catch (const pqxx::sql_error&) {
      return true;
    }
  };
  auto entry = [&](const std::string& application, const std::string& kind, int debit, int credit,
                   int64_t amount) {
    return absl::StrCat(
        "INSERT INTO ledger_entries (programme_id, application_id, kind, debit, credit, amount) "
        "VALUES ('",
        p.id(), "', ", application, ", '", kind, "', ", debit, ", ", credit, ", ", amount, ")");
  };
  const std::string app = absl::StrCat("'", a.id(), "'");
  EXPECT_TRUE(refused("UPDATE programme_balances SET available = available + 1"));
  EXPECT_TRUE(refused("UPDATE ledger_entries SET amount = amount + 1"));
  EXPECT_TRUE(refused("DELETE FROM ledger_entries"));
  EXPECT_TRUE(refused("TRUNCATE ledger_entries"));
  // Reserving what is not available drives available negative.
  EXPECT_TRUE(refused(entry(app, "reserve", 3, 2, 1)));
  // Releasing more than is reserved drives reserved negative.
  EXPECT_TRUE(refused(entry(app, "release", 2, 3, 1'000'01)));
  // An entry whose accounts do not match its kind; one for an application that does not exist.
  EXPECT_TRUE(refused(entry(app, "reserve", 4, 2, 1)));
  EXPECT_TRUE(refused(entry("gen_random_uuid()", "release", 2, 3, 1)));
  // A legal one is taken and posted: the budget topped up by 1.00.
  EXPECT_FALSE(refused(entry("NULL", "fund", 2, 1, 100)));
  fv1::Programme after = GetProgramme(p.id());
  EXPECT_EQ(after.balances().total_minor(), 1'001'00);
  EXPECT_EQ(after.balances().available_minor(), 100);
  EXPECT_EQ(after.balances().reserved_minor() + after.balances().disbursed_minor(), 1'000'00);
  EXPECT_TRUE(Reconcile(p.id()).balanced());
}

}  // namespace
}  // namespace techtrade::testing
