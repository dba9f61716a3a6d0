// The ledger's named accounts and typed kinds (domain/ledger.h), a programme's changes
// (domain/programme_transition.h) and the registry's suspensions (domain/standing_rules.h).
#include "services/fund/domain/programme_transition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/money.h"
#include "services/fund/domain/ledger.h"
#include "services/fund/domain/standing_rules.h"
#include "tests/unit/fund/fund_test_data.h"

namespace techtrade::fund {
namespace {

using namespace techtrade::fund::test;  // NOLINT: the shared test data
using ::testing::ElementsAre;
using ::testing::IsEmpty;

bool Balanced(const v1::Balances& b) {
  return b.available_minor() + b.reserved_minor() + b.disbursed_minor() - b.clawed_back_minor() ==
         b.total_minor();
}

// ============================== Ledger ==============================

TEST(FundLedgerTest, AccountsAreNumberedAsTheProtoAndTheStoredEntries) {
  EXPECT_EQ(ToProto(Account::kBudget), v1::LEDGER_ACCOUNT_BUDGET);
  EXPECT_EQ(ToProto(Account::kAvailable), v1::LEDGER_ACCOUNT_AVAILABLE);
  EXPECT_EQ(ToProto(Account::kReserved), v1::LEDGER_ACCOUNT_RESERVED);
  EXPECT_EQ(ToProto(Account::kDisbursed), v1::LEDGER_ACCOUNT_DISBURSED);
  EXPECT_EQ(ToProto(Account::kClawedBack), v1::LEDGER_ACCOUNT_CLAWED_BACK);
}

TEST(FundLedgerTest, EachKindMovesMoneyBetweenTheAccountsTheDatabaseAdmits) {
  // The (debit, credit) pairs of the CHECK on ledger_entries.
  const auto pair = [](EntryKind kind) {
    const AccountPair a = AccountsOf(kind);
    return std::make_pair(static_cast<int>(ToProto(a.debit)), static_cast<int>(ToProto(a.credit)));
  };
  EXPECT_EQ(pair(EntryKind::kFund), std::make_pair(2, 1));
  EXPECT_EQ(pair(EntryKind::kReserve), std::make_pair(3, 2));
  EXPECT_EQ(pair(EntryKind::kDisburse), std::make_pair(4, 3));
  EXPECT_EQ(pair(EntryKind::kRelease), std::make_pair(2, 3));
  EXPECT_EQ(pair(EntryKind::kClawback), std::make_pair(2, 5));
  std::set<std::pair<int, int>> distinct;
  for (EntryKind kind : kEntryKinds) {
    EXPECT_NE(AccountsOf(kind).debit, AccountsOf(kind).credit);
    distinct.insert(pair(kind));
  }
  EXPECT_EQ(distinct.size(), std::size(kEntryKinds));
}

TEST(FundLedgerTest, PostingsMoveTheBalancesAndKeepTheInvariant) {
  v1::Balances b;
  Post({EntryKind::kFund, kMaxAmountMinor, ""}, b);
  EXPECT_EQ(b.total_minor(), kMaxAmountMinor);
  EXPECT_EQ(b.available_minor(), kMaxAmountMinor);
  Post({EntryKind::kReserve, 1'000, ""}, b);
  EXPECT_EQ(b.available_minor(), kMaxAmountMinor - 1'000);
  EXPECT_EQ(b.reserved_minor(), 1'000);
  Post({EntryKind::kDisburse, 300, "signing"}, b);
  EXPECT_EQ(b.reserved_minor(), 700);
  EXPECT_EQ(b.disbursed_minor(), 300);
  Post({EntryKind::kRelease, 700, ""}, b);
  EXPECT_EQ(b.reserved_minor(), 0);
  EXPECT_EQ(b.available_minor(), kMaxAmountMinor - 300);
  Post({EntryKind::kClawback, 1, ""}, b);
  EXPECT_EQ(b.clawed_back_minor(), 1);
  EXPECT_EQ(b.available_minor(), kMaxAmountMinor - 299);
  EXPECT_EQ(b.disbursed_minor(), 300);  // paid stays paid; the receivable is its own account
  EXPECT_EQ(b.total_minor(), kMaxAmountMinor);
  EXPECT_TRUE(Balanced(b));
}

// ============================== CreateProgramme ==============================

TEST(FundCreateProgrammeTest, ANewProgrammeIsActiveAndFundedWithItsBudget) {
  const v1::CreateProgrammeRequest request = MakeRequest();
  const ProgrammeTransition t = CreateProgramme(request, "programme-7", kNow);
  const v1::Programme& p = t.programme;
  EXPECT_TRUE(t.created);
  EXPECT_EQ(p.id(), "programme-7");
  EXPECT_EQ(p.name(), request.name());
  EXPECT_EQ(p.city_id(), "wuhan");
  EXPECT_EQ(p.start_time().SerializeAsString(), request.start_time().SerializeAsString());
  EXPECT_EQ(p.end_time().SerializeAsString(), request.end_time().SerializeAsString());
  EXPECT_EQ(p.rules().SerializeAsString(), request.rules().SerializeAsString());
  EXPECT_EQ(p.status(), v1::PROGRAMME_STATUS_ACTIVE);
  EXPECT_EQ(p.version(), 1);
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(p.create_time()), absl::ToUnixMicros(kNow));
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(p.update_time()), absl::ToUnixMicros(kNow));
  const int64_t budget = request.total_budget().amount_minor();
  EXPECT_EQ(p.balances().currency(), "CNY");
  EXPECT_EQ(p.balances().total_minor(), budget);
  EXPECT_EQ(p.balances().available_minor(), budget);
  EXPECT_EQ(p.balances().reserved_minor(), 0);
  EXPECT_TRUE(Balanced(p.balances()));
  EXPECT_THAT(t.postings, ElementsAre(Posting{EntryKind::kFund, budget, ""}));
  ASSERT_EQ(t.events.size(), 1u);
  const auto* created = dynamic_cast<const v1::ProgrammeCreated*>(t.events[0].get());
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->programme().SerializeAsString(), p.SerializeAsString());
  EXPECT_THAT(t.sequences, ElementsAre(1));
}

TEST(FundCreateProgrammeTest, BudgetsAtTheBoundsOfAnAmount) {
  for (int64_t budget : {int64_t{1}, kMaxAmountMinor}) {
    v1::CreateProgrammeRequest request = MakeRequest();
    request.mutable_total_budget()->set_amount_minor(budget);
    const ProgrammeTransition t = CreateProgramme(request, "p", kNow);
    EXPECT_EQ(t.programme.balances().available_minor(), budget);
    EXPECT_THAT(t.postings, ElementsAre(Posting{EntryKind::kFund, budget, ""}));
  }
}

// ============================== CloseProgramme ==============================

TEST(FundCloseProgrammeTest, ClosesWithTheReasonAndTheNextVersion) {
  v1::Programme p = CreateProgramme(MakeRequest(), "programme-7", kNow).programme;
  p.mutable_balances()->set_reserved_minor(5);
  const absl::Time later = kNow + absl::Hours(1);
  absl::StatusOr<ProgrammeTransition> t = CloseProgramme(p, 1, "budget year over", later);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_FALSE(t->created);
  EXPECT_EQ(t->programme.status(), v1::PROGRAMME_STATUS_CLOSED);
  EXPECT_EQ(t->programme.close_reason(), "budget year over");
  EXPECT_EQ(t->programme.version(), 2);
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(t->programme.update_time()),
            absl::ToUnixMicros(later));
  EXPECT_EQ(t->programme.balances().reserved_minor(), 5);  // closing moves no money
  EXPECT_THAT(t->postings, IsEmpty());
  ASSERT_EQ(t->events.size(), 1u);
  const auto* closed = dynamic_cast<const v1::ProgrammeClosed*>(t->events[0].get());
  ASSERT_NE(closed, nullptr);
  EXPECT_EQ(closed->programme().SerializeAsString(), t->programme.SerializeAsString());
  EXPECT_THAT(t->sequences, ElementsAre(2));
}

TEST(FundCloseProgrammeTest, RefusalsAndTheirCodes) {
  v1::Programme p = CreateProgramme(MakeRequest(), "programme-7", kNow).programme;
  absl::Status s = CloseProgramme(p, 2, "r", kNow).status();
  EXPECT_TRUE(absl::IsAborted(s)) << s;
  EXPECT_THAT(std::string(s.message()), ::testing::StartsWith("expected_version 2 is stale"));

  p.set_status(v1::PROGRAMME_STATUS_CLOSED);
  s = CloseProgramme(p, 1, "r", kNow).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_EQ(s.message(), "the programme is closed already");
  // A stale version is reported first.
  EXPECT_TRUE(absl::IsAborted(CloseProgramme(p, 3, "r", kNow).status()));
}

// ============================== OnStandingEvent ==============================

TEST(FundStandingTest, NewsIsRecordedAndAReinstatementPaysWhatWasHeld) {
  StandingChange c = OnStandingEvent(std::nullopt, /*suspended=*/true, 4);
  EXPECT_TRUE(c.record);
  EXPECT_FALSE(c.pay_held);
  EXPECT_TRUE(c.standing.suspended);
  EXPECT_EQ(c.standing.registry_sequence, 4);

  // Reinstated after a suspension: pay.
  c = OnStandingEvent(StandingRecord{true, 4}, /*suspended=*/false, 5);
  EXPECT_TRUE(c.record);
  EXPECT_TRUE(c.pay_held);
  EXPECT_FALSE(c.standing.suspended);
  EXPECT_EQ(c.standing.registry_sequence, 5);

  // Reinstated without a suspension the fund saw, or suspended again: nothing to pay.
  c = OnStandingEvent(std::nullopt, /*suspended=*/false, 2);
  EXPECT_TRUE(c.record);
  EXPECT_FALSE(c.pay_held);
  c = OnStandingEvent(StandingRecord{true, 4}, /*suspended=*/true, 6);
  EXPECT_TRUE(c.record);
  EXPECT_FALSE(c.pay_held);
}

TEST(FundStandingTest, AnEventNoNewerThanTheRecordedOneChangesNothing) {
  for (int64_t sequence : {3, 4}) {
    const StandingChange c = OnStandingEvent(StandingRecord{true, 4}, false, sequence);
    EXPECT_FALSE(c.record) << sequence;
    EXPECT_FALSE(c.pay_held) << sequence;
  }
}

}  // namespace
}  // namespace techtrade::fund
