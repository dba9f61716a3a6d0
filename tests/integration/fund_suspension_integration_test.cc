// A suspended applicant receives nothing (docs/fund.md#suspension): its applications are neither
// submitted nor approved, and a tranche that falls due to it is held, then paid once the
// registry reinstates it. Real processes on the real stack.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "techtrade/fund/v1/fund.grpc.pb.h"
#include "tests/support/harness.h"
#include "tests/support/platform_fixture.h"

namespace techtrade::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;
using TxStub = tv1::TransactionsService::Stub;

// DealFixture::Signed()'s deal under the programme of ProgrammeRequest (fund_integration_test.cc
// works the figures out): the signing tranche and the first milestone's.
constexpr int64_t kSigning = 444'222;
constexpr int64_t kMilestone1 = 133'266;

class FundSuspensionTest : public PlatformFixture {
 protected:
  FundSuspensionTest() : PlatformFixture("fund_susp_it_") {}

  void SetSuspended(const reg::Organization& org, bool suspended) {
    reg::GetOrganizationRequest get;
    get.set_id(org.id());
    reg::Organization now, out;
    ASSERT_TRUE(
        registry_stub_->GetOrganization(AuthedContext(operator_key_).get(), get, &now).ok());
    grpc::Status s;
    if (suspended) {
      reg::SuspendOrganizationRequest r;
      r.set_request_id("suspend-" + NewUuid());
      r.set_id(org.id());
      r.set_expected_version(now.version());
      r.set_reason("subsidy fraud under investigation");
      s = registry_stub_->SuspendOrganization(AuthedContext(operator_key_).get(), r, &out);
    } else {
      reg::ReinstateOrganizationRequest r;
      r.set_request_id("reinstate-" + NewUuid());
      r.set_id(org.id());
      r.set_expected_version(now.version());
      s = registry_stub_->ReinstateOrganization(AuthedContext(operator_key_).get(), r, &out);
    }
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // Polls the fund's database until `sql` (one integer) reaches `at_least`.
  bool FundDbReaches(const std::string& sql, int64_t at_least) {
    for (absl::Time deadline = absl::Now() + absl::Seconds(30); absl::Now() < deadline;
         absl::SleepFor(absl::Milliseconds(100))) {
      if (fund_db_->QueryInt(sql) >= at_least) return true;
    }
    return false;
  }

  grpc::Status Approve(const fv1::Application& a) {
    fv1::DecideApplicationRequest r;
    r.set_request_id("approve-" + NewUuid());
    r.set_id(a.id());
    r.set_expected_version(a.version());
    fv1::Application out;
    return fund_->ApproveApplication(AuthedContext(operator_key_).get(), r, &out);
  }
};

TEST_F(FundSuspensionTest, ASuspendedApplicantIsNeitherSubmittedNorApproved) {
  const fv1::Programme automatic = CreateProgramme(ProgrammeRequest(1'000'000'00));
  // Everything above 1 000.00 waits for an operator.
  const fv1::Programme reviewed = CreateProgramme(SubsidyProgrammeRequest(
      "programme-" + NewUuid(), "Shenzhen reviewed subsidy", "shenzhen", 1'000'000'00, 1'000'00));
  const tv1::Deal d = Signed();
  fv1::Application waiting;
  ASSERT_TRUE(Submit(reviewed.id(), d, &waiting).ok());
  ASSERT_EQ(waiting.status(), fv1::APPLICATION_STATUS_PENDING_REVIEW);

  ASSERT_NO_FATAL_FAILURE(SetSuspended(buyer_, true));
  fv1::Application out;
  grpc::Status s = Submit(automatic.id(), d, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), StartsWith("applicant: organisation " + buyer_.id()));
  s = Approve(waiting);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), StartsWith("applicant:"));
  // Nothing reserved, nothing paid.
  EXPECT_EQ(GetProgramme(automatic.id()).balances().reserved_minor(), 0);
  EXPECT_EQ(GetProgramme(reviewed.id()).balances().reserved_minor(), 0);
  EXPECT_EQ(GetApplication(waiting.id()).status(), fv1::APPLICATION_STATUS_PENDING_REVIEW);

  // Reinstated: both go through.
  ASSERT_NO_FATAL_FAILURE(SetSuspended(buyer_, false));
  s = Approve(waiting);
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = Submit(automatic.id(), d, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.status(), fv1::APPLICATION_STATUS_APPROVED);
  EXPECT_THAT(Amounts(out), ElementsAre(kSigning));
}

// A deal event the fund consumes after it learnt of the applicant's suspension makes a tranche
// due: the tranche is held, and paid with the reinstatement. (Transactions refuses a suspended
// party's milestones, so the event was produced before the suspension; the fund's deal consumer
// meets it later, as a consumer that lags behind does.)
TEST_F(FundSuspensionTest, ATrancheDueToASuspendedApplicantIsHeldAndPaidOnReinstatement) {
  TopicReader deal_events(stack_.kafka_brokers, kDealTopic);
  TopicReader fund_events(stack_.kafka_brokers, kFundTopic);
  const fv1::Programme p = CreateProgramme(ProgrammeRequest(1'000'000'00));
  tv1::Deal d = Signed();
  fv1::Application a;
  ASSERT_TRUE(Submit(p.id(), d, &a).ok());
  ASSERT_THAT(Amounts(a), ElementsAre(kSigning));

  // The fund is down while milestone 1 is delivered and accepted: a milestone tranche is due.
  const std::string deal_group = envs_["fund"]["TECHTRADE_FUND_TRANSACTIONS_CONSUMER"];
  ShutDown("fund");
  d = Must(&TxStub::DeliverMilestone, Milestone(d, 1), wuhan_key_);
  d = Must(&TxStub::AcceptMilestone, Milestone(d, 1), shenzhen_key_);
  ASSERT_TRUE(deal_events.ReadUntilPayload<tv1::MilestoneAccepted>(d.id(), absl::Seconds(20)));
  // It comes back with its deal consumer parked past that event, learns of the suspension from
  // the registry's topic, and only then meets the event.
  envs_["fund"]["TECHTRADE_FUND_TRANSACTIONS_CONSUMER"] =
      ConsumerGroupAtEnd(stack_.kafka_brokers, kDealTopic, db_prefix_);
  ASSERT_TRUE(StartAgain("fund"));
  ASSERT_NO_FATAL_FAILURE(SetSuspended(buyer_, true));
  ASSERT_TRUE(FundDbReaches(absl::StrCat("SELECT count(*) FROM organization_standing WHERE "
                                         "suspended AND organization_id = '",
                                         buyer_.id(), "'"),
                            1));
  ShutDown("fund");
  envs_["fund"]["TECHTRADE_FUND_TRANSACTIONS_CONSUMER"] = deal_group;
  ASSERT_TRUE(StartAgain("fund"));
  ASSERT_TRUE(FundDbReaches(
      absl::StrCat("SELECT coalesce(max(sequence), 0) FROM deals WHERE id = '", d.id(), "'"),
      d.version()))
      << "the fund never applied the MilestoneAccepted";
  // Held: the projection has the accepted milestone, the application still only the signing
  // tranche.
  fv1::Application held = GetApplication(a.id());
  EXPECT_THAT(Amounts(held), ElementsAre(kSigning));
  EXPECT_EQ(held.status(), fv1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(GetProgramme(p.id()).balances().disbursed_minor(), kSigning);

  // Reinstated: the held tranche is paid, once.
  ASSERT_NO_FATAL_FAILURE(SetSuspended(buyer_, false));
  fv1::Application paid =
      WaitFor(a.id(), [](const fv1::Application& x) { return x.disbursements_size() >= 2; });
  EXPECT_THAT(Amounts(paid), ElementsAre(kSigning, kMilestone1));
  EXPECT_EQ(paid.disbursements(1).tranche(), "milestone-1");
  EXPECT_EQ(GetProgramme(p.id()).balances().disbursed_minor(), kSigning + kMilestone1);
  EXPECT_TRUE(Reconcile(p.id()).balanced());
  fund_events.ReadUntil([&](auto&) { return fund_events.ForAggregate(a.id()).size() >= 3; },
                        absl::Seconds(20));
  fund_events.ReadUntil([](auto&) { return false; }, absl::Milliseconds(500));
  std::vector<std::string> types;
  for (const auto& e : fund_events.ForAggregate(a.id())) {
    types.push_back(e.envelope.event_type().substr(e.envelope.event_type().rfind('.') + 1));
  }
  EXPECT_THAT(types, ElementsAre("ApplicationDecided", "TrancheDisbursed", "TrancheDisbursed"));
}

}  // namespace
}  // namespace techtrade::testing
