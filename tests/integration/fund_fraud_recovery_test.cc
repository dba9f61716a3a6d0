// Recovery after fraud on the real stack (docs/fund.md, "Recovery after fraud"): a completed,
// fully subsidised deal is marked fraudulent by an operator; the fund claws back every tranche
// paid, the finance partner reports part of it recovered, an operator writes off the rest, and
// the ledger reconciles after each step.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "tests/support/platform_fixture.h"

namespace techtrade::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;

class FraudRecoveryTest : public PlatformFixture {
 protected:
  FraudRecoveryTest() : PlatformFixture("fund_fraud_it_") {}

  fv1::RecordClawbackRecoveryRequest Recovery(const fv1::Application& a, int64_t amount) {
    fv1::RecordClawbackRecoveryRequest r;
    r.set_request_id("recover-" + NewUuid());
    r.set_id(a.id());
    r.set_expected_version(a.version());
    r.mutable_amount()->set_currency("CNY");
    r.mutable_amount()->set_amount_minor(amount);
    r.set_recovery_reference("COURT-2026-0042");
    return r;
  }
  void ExpectBalanced(const std::string& programme_id) {
    const fv1::ReconcileResponse r = Reconcile(programme_id);
    ASSERT_EQ(r.programmes_size(), 1);
    EXPECT_TRUE(r.balanced()) << r.DebugString();
  }
};

TEST_F(FraudRecoveryTest, ACompletedDealFoundFraudulentIsClawedBackRecoveredAndWrittenOff) {
  TopicReader fund_events(stack_.kafka_brokers, kFundTopic);
  const int64_t budget = 1'000'000'00;
  const fv1::Programme p = CreateProgramme(ProgrammeRequest(budget));
  tv1::Deal d = Signed();
  fv1::Application a;
  grpc::Status s = Submit(p.id(), d, &a);
  ASSERT_TRUE(s.ok()) << s.error_message();
  d = PerformMilestone(d, 1);
  d = PerformMilestone(d, 2);
  ASSERT_EQ(d.state(), tv1::DEAL_STATE_COMPLETED);
  a = WaitFor(a.id(),
              [](const auto& x) { return x.status() == fv1::APPLICATION_STATUS_COMPLETED; });
  const int64_t subsidy = a.disbursed_minor();
  ASSERT_GT(subsidy, 0);

  // Only an operator marks a deal, and only a completed one.
  tv1::MarkDealFraudulentRequest mark;
  mark.set_request_id("fraud-" + d.id());
  mark.set_deal_id(d.id());
  mark.set_expected_version(d.version());
  mark.set_reason("the licensed patent was revoked before signing and the parties knew");
  mark.set_evidence_reference("AUDIT-2026-117");
  tv1::Deal out;
  s = stub_->MarkDealFraudulent(AuthedContext(wuhan_key_).get(), mark, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  d = Must(&tv1::TransactionsService::Stub::MarkDealFraudulent, mark, operator_key_);
  EXPECT_EQ(d.fraud().evidence_reference(), "AUDIT-2026-117");

  a = WaitFor(a.id(),
              [](const auto& x) { return x.status() == fv1::APPLICATION_STATUS_CLAWED_BACK; });
  ASSERT_EQ(a.status(), fv1::APPLICATION_STATUS_CLAWED_BACK);
  EXPECT_EQ(a.clawed_back_minor(), subsidy);
  fv1::Programme after = GetProgramme(p.id());
  EXPECT_EQ(after.balances().clawed_back_minor(), subsidy);
  EXPECT_EQ(after.balances().available_minor(), budget);  // the receivable stands in for it
  ExpectBalanced(p.id());

  // The deal's partner reports a third recovered; another partner cannot; nor more than owed.
  const std::string other_partner = Key(reg::API_CLIENT_ROLE_PARTNER, "");
  fv1::Application answer;
  s = fund_->RecordClawbackRecovery(AuthedContext(other_partner).get(), Recovery(a, 1), &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  s = fund_->RecordClawbackRecovery(AuthedContext(partner_key_).get(), Recovery(a, subsidy + 1),
                                    &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("amount"));
  const int64_t recovered = subsidy / 3;
  s = fund_->RecordClawbackRecovery(AuthedContext(partner_key_).get(), Recovery(a, recovered), &a);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(a.recovered_minor(), recovered);
  after = GetProgramme(p.id());
  EXPECT_EQ(after.balances().disbursed_minor(), subsidy - recovered);
  EXPECT_EQ(after.balances().clawed_back_minor(), subsidy - recovered);
  ExpectBalanced(p.id());

  // An operator writes off the rest: the budget bears it.
  fv1::WriteOffClawbackRequest write_off;
  write_off.set_request_id("write-off-" + a.id());
  write_off.set_id(a.id());
  write_off.set_expected_version(a.version());
  write_off.set_reason("the licensor is insolvent; the court closed the case");
  s = fund_->WriteOffClawback(AuthedContext(partner_key_).get(), write_off, &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  s = fund_->WriteOffClawback(AuthedContext(operator_key_).get(), write_off, &a);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(a.written_off_minor(), subsidy - recovered);
  after = GetProgramme(p.id());
  EXPECT_EQ(after.balances().clawed_back_minor(), 0);
  EXPECT_EQ(after.balances().disbursed_minor(), subsidy - recovered);
  EXPECT_EQ(after.balances().available_minor(), budget - (subsidy - recovered));
  ExpectBalanced(p.id());
  s = fund_->WriteOffClawback(AuthedContext(operator_key_).get(), write_off, &answer);
  EXPECT_TRUE(s.ok());  // the same request again: the same answer, nothing more
  EXPECT_EQ(GetProgramme(p.id()).balances().available_minor(), budget - (subsidy - recovered));

  fund_events.ReadUntil(
      [&](auto&) {
        for (const auto& e : fund_events.ForAggregate(a.id())) {
          if (e.envelope.payload().Is<fv1::ClawbackWrittenOff>()) return true;
        }
        return false;
      },
      absl::Seconds(20));
  std::vector<std::string> tail;
  for (const auto& e : fund_events.ForAggregate(a.id())) {
    std::string type = e.envelope.event_type();
    type = type.substr(type.rfind('.') + 1);
    if (type != "ApplicationDecided" && type != "TrancheDisbursed") tail.push_back(type);
  }
  EXPECT_THAT(tail, ElementsAre("ClawbackRaised", "ClawbackRecovered", "ClawbackWrittenOff"));
}

}  // namespace
}  // namespace techtrade::testing
