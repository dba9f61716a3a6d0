// Recovery after fraud, pure (docs/fund.md, "Recovery after fraud"): a deal found fraudulent
// claws back every fen paid and releases what is still reserved; the receivable is settled by
// recoveries and a write-off, never beyond what is owed; and over any sequence of these the
// programme's balances keep available + reserved + disbursed − clawed_back = total, none negative.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "services/fund/domain/application_transition.h"
#include "tests/unit/fund/fund_test_data.h"

namespace techtrade::fund {
namespace {

using namespace techtrade::fund::test;  // NOLINT: the shared test data
using ::testing::ElementsAre;
using ::testing::StartsWith;

tv1::FraudFinding Finding() {
  tv1::FraudFinding f;
  f.set_reason("forged acceptance certificates");
  f.set_evidence_reference("AUDIT-2026-117");
  return f;
}

v1::Application Paid(int64_t approved, int64_t disbursed, v1::ApplicationStatus status) {
  v1::Application a = MakeApplication(approved, status);
  *a.mutable_applicant() = MakeDeal().buyer();
  a.set_disbursed_minor(disbursed);
  a.set_version(4);
  return a;
}

std::vector<std::string> Types(const ApplicationTransition& t) {
  std::vector<std::string> types;
  for (const auto& e : t.events()) types.push_back(e->GetDescriptor()->name());
  return types;
}

TEST(FraudClawbackTest, EverythingPaidBecomesAReceivable) {
  const ApplicationTransition t = ClawBackForFraud(
      Paid(1'000'00, 1'000'00, v1::APPLICATION_STATUS_COMPLETED), MakeProgramme(), Finding(), kNow);
  EXPECT_THAT(t.postings(), ElementsAre(Posting{EntryKind::kClawback, 1'000'00, ""}));
  EXPECT_EQ(t.application().status(), v1::APPLICATION_STATUS_CLAWED_BACK);
  EXPECT_EQ(t.application().clawed_back_minor(), 1'000'00);
  EXPECT_EQ(OutstandingReceivable(t.application()), 1'000'00);
  EXPECT_THAT(t.application().decision_reason(), ::testing::HasSubstr("AUDIT-2026-117"));
  EXPECT_THAT(Types(t), ElementsAre("ClawbackRaised"));
  EXPECT_EQ(t.grant().delta_minor, -1'000'00);
}

TEST(FraudClawbackTest, WhatIsStillReservedIsReleasedAndOnlyTheRestClawedBack) {
  const ApplicationTransition t = ClawBackForFraud(
      Paid(1'000'00, 300'00, v1::APPLICATION_STATUS_APPROVED), MakeProgramme(), Finding(), kNow);
  EXPECT_THAT(t.postings(), ElementsAre(Posting{EntryKind::kRelease, 700'00, ""},
                                        Posting{EntryKind::kClawback, 300'00, ""}));
  EXPECT_THAT(Types(t), ElementsAre("ReservationReleased", "ClawbackRaised"));
}

TEST(FraudClawbackTest, OnlyApprovedOrCompletedApplicationsAreClawedBack) {
  for (v1::ApplicationStatus status :
       {v1::APPLICATION_STATUS_REJECTED, v1::APPLICATION_STATUS_CANCELLED,
        v1::APPLICATION_STATUS_CLAWED_BACK, v1::APPLICATION_STATUS_PENDING_REVIEW}) {
    EXPECT_FALSE(
        ClawBackForFraud(Paid(1'000'00, 0, status), MakeProgramme(), Finding(), kNow).changed())
        << status;
  }
}

TEST(FraudClawbackTest, RecoveriesAndAWriteOffSettleTheReceivableNeverBeyondIt) {
  v1::Application a = ClawBackForFraud(Paid(1'000'00, 1'000'00, v1::APPLICATION_STATUS_COMPLETED),
                                       MakeProgramme(), Finding(), kNow)
                          .application();
  EXPECT_EQ(
      RecordClawbackRecovery(a, a.version() - 1, MoneyOf("CNY", 1), "R-1", kNow).status().code(),
      absl::StatusCode::kAborted);
  absl::StatusOr<ApplicationTransition> too_much =
      RecordClawbackRecovery(a, a.version(), MoneyOf("CNY", 1'000'01), "R-1", kNow);
  EXPECT_THAT(std::string(too_much.status().message()), StartsWith("amount"));
  EXPECT_EQ(RecordClawbackRecovery(a, a.version(), MoneyOf("USD", 1), "R-1", kNow).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<ApplicationTransition> part =
      RecordClawbackRecovery(a, a.version(), MoneyOf("CNY", 400'00), "R-1", kNow);
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_THAT(part->postings(), ElementsAre(Posting{EntryKind::kRecovery, 400'00, ""}));
  EXPECT_THAT(Types(*part), ElementsAre("ClawbackRecovered"));
  a = part->application();
  absl::StatusOr<ApplicationTransition> rest = WriteOffClawback(a, a.version(), "insolvent", kNow);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_THAT(rest->postings(), ElementsAre(Posting{EntryKind::kWriteOff, 600'00, ""}));
  a = rest->application();
  EXPECT_EQ(OutstandingReceivable(a), 0);
  EXPECT_EQ(WriteOffClawback(a, a.version(), "again", kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(RecordClawbackRecovery(a, a.version(), MoneyOf("CNY", 1), "R-2", kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// The ledger stays balanced through any sequence of grants, payments, clawbacks, recoveries and
// write-offs, as the database's CHECK holds it.
TEST(FraudClawbackTest, TheBalancesStayBalancedThroughEverySettlement) {
  std::mt19937 rng(71);
  for (int round = 0; round < 200; ++round) {
    v1::Balances b;
    Post({EntryKind::kFund, 10'000'00, ""}, b);
    const int64_t approved = 1 + static_cast<int64_t>(rng() % 5'000'00);
    const int64_t paid = static_cast<int64_t>(rng() % (approved + 1));
    Post({EntryKind::kReserve, approved, ""}, b);
    if (paid > 0) Post({EntryKind::kDisburse, paid, "signing"}, b);
    v1::Application a =
        Paid(approved, paid,
             paid == approved ? v1::APPLICATION_STATUS_COMPLETED : v1::APPLICATION_STATUS_APPROVED);
    std::vector<ApplicationTransition> steps;
    steps.push_back(ClawBackForFraud(a, MakeProgramme(), Finding(), kNow));
    a = steps.back().application();
    while (OutstandingReceivable(a) > 0 && rng() % 3 != 0) {
      const int64_t part = 1 + static_cast<int64_t>(rng() % OutstandingReceivable(a));
      steps.push_back(*RecordClawbackRecovery(a, a.version(), MoneyOf("CNY", part), "R", kNow));
      a = steps.back().application();
    }
    if (OutstandingReceivable(a) > 0) {
      steps.push_back(*WriteOffClawback(a, a.version(), "closed", kNow));
      a = steps.back().application();
    }
    for (const ApplicationTransition& t : steps) {
      for (const Posting& p : t.postings()) {
        Post(p, b);
        ASSERT_EQ(
            b.available_minor() + b.reserved_minor() + b.disbursed_minor() - b.clawed_back_minor(),
            b.total_minor());
        ASSERT_GE(b.available_minor(), 0);
        ASSERT_GE(b.clawed_back_minor(), 0);
        ASSERT_LE(b.clawed_back_minor(), b.disbursed_minor());
      }
    }
    EXPECT_EQ(b.reserved_minor(), 0);
    EXPECT_EQ(b.clawed_back_minor(), 0);
    EXPECT_EQ(b.disbursed_minor(), a.recovered_minor() > 0 ? paid - a.recovered_minor() : paid);
    EXPECT_EQ(a.recovered_minor() + a.written_off_minor(), a.clawed_back_minor());
  }
}

}  // namespace
}  // namespace techtrade::fund
