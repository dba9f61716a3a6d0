// Each invariant of the chaos checker shown to catch what it guards: the guarantee is broken on
// purpose (a failpoint, or the checker's input) and the checker must fail with a clear message.
#include "tests/chaos/chaos.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace techtrade::chaos {
namespace {

using ::testing::HasSubstr;

std::string Describe(const std::vector<Violation>& v) {
  std::vector<std::string> lines;
  for (const auto& x : v) lines.push_back(absl::StrCat("invariant ", x.invariant, ": ", x.message));
  return absl::StrJoin(lines, "\n");
}

// A small platform (one replica each, or two), a few whole life cycles played on it, settled.
struct SmallRun {
  explicit SmallRun(const std::string& failpoints, int replicas = 1, int life_cycles = 6)
      : stack(testing::Stack::FromEnvironment()) {
    marks = TopicMarks::Now(stack.kafka_brokers);
    PlatformOptions o;
    o.replicas = replicas;
    o.failpoints = failpoints;
    o.slow_link_proxies = false;
    o.db_prefix = "chaos_check_";
    platform = std::make_unique<Platform>(stack, o, &timeline, &faults);
    started = platform->Start();
    if (!started) return;
    WorkloadOptions w;
    w.seed = 99;
    w.workers = 1;
    w.think_ms = 0;
    w.give_up_after = absl::Seconds(20);
    workload = std::make_unique<Workload>(*platform, w, &faults, &timeline);
    started = workload->Setup();
    std::mt19937_64 rng(99);
    for (int i = 0; i < life_cycles && started; ++i) workload->LifeCycle(rng, 0, i);
  }
  Checker MakeChecker(std::vector<Ack> extra = {}) {
    std::vector<Ack> acks = workload->Acks();
    acks.insert(acks.end(), extra.begin(), extra.end());
    CheckOptions c;
    c.settle_timeout = absl::Seconds(60);
    c.listings_timeout = absl::Seconds(10);
    c.partner_idle_exit_seconds = 5;
    return Checker(*platform, marks, std::move(acks), workload->partner_key(), c);
  }
  testing::Stack stack;
  Timeline timeline;
  FaultState faults;
  TopicMarks marks;
  std::unique_ptr<Platform> platform;
  std::unique_ptr<Workload> workload;
  bool started = false;
};

class ChaosChecker : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { run_ = new SmallRun(""); }
  static void TearDownTestSuite() {
    delete run_;
    run_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(run_->started); }
  static SmallRun* run_;
};
SmallRun* ChaosChecker::run_ = nullptr;

// Without a fault injected, every invariant holds: the checker does not cry wolf.
TEST_F(ChaosChecker, UndisturbedRunPassesEveryInvariant) {
  Checker c = run_->MakeChecker();
  ASSERT_TRUE(c.Settle());
  EXPECT_EQ(Describe(c.CheckAll()), "");
}

// 1: an acknowledged command whose effect does not exist.
TEST_F(ChaosChecker, Invariant1CatchesAnAcknowledgedCommandWithoutEffect) {
  Ack ghost;
  ghost.method = "OpenDeal";
  ghost.request_id = "ghost-open";
  ghost.kind = "deals";
  ghost.service = "transactions";
  ghost.id = "00000000-0000-4000-8000-000000000001";
  ghost.version = 1;
  Checker c = run_->MakeChecker({ghost});
  std::vector<Violation> v = c.CheckAcknowledged();
  ASSERT_EQ(v.size(), 1u) << Describe(v);
  EXPECT_EQ(v[0].invariant, 1);
  EXPECT_THAT(v[0].message, HasSubstr("request_id=ghost-open"));
  EXPECT_THAT(v[0].message, HasSubstr("does not exist"));
}

// 1: an acknowledged version the resource never reached (the write was lost).
TEST_F(ChaosChecker, Invariant1CatchesALostVersion) {
  std::vector<Ack> acks = run_->workload->Acks();
  Ack lost;
  for (const Ack& a : acks) {
    if (a.kind == "deals") lost = a;
  }
  ASSERT_FALSE(lost.id.empty());
  lost.request_id = "lost-write";
  lost.version += 5;
  lost.replay = nullptr;
  Checker c = run_->MakeChecker({lost});
  std::vector<Violation> v = c.CheckAcknowledged();
  ASSERT_EQ(v.size(), 1u) << Describe(v);
  EXPECT_THAT(v[0].message, HasSubstr("stored version is"));
}

// 3 and 4: an effect applied twice (a consumer without its inbox would do it): a clawback posted
// twice for an application, behind the fund's back (the database's own constraints allow it).
TEST_F(ChaosChecker, Invariants3And4CatchAnEffectAppliedTwice) {
  // Outboxes drained and consumers caught up first, so that the doubled clawback is the finding.
  ASSERT_TRUE(run_->MakeChecker().Settle());
  auto apps = Query(
      run_->platform->DbUrl("fund"),
      "SELECT id::text, programme_id::text FROM applications WHERE disbursed > clawed_back + 2 "
      "LIMIT 1");
  ASSERT_FALSE(apps.empty());
  Query(run_->platform->DbUrl("fund"),
        absl::StrCat("INSERT INTO ledger_entries (programme_id, application_id, kind, debit, "
                     "credit, amount) VALUES ('",
                     apps[0][1], "', '", apps[0][0], "', 'clawback', 2, 5, 1), ('", apps[0][1],
                     "', '", apps[0][0], "', 'clawback', 2, 5, 1)"));
  Checker c = run_->MakeChecker();
  std::vector<Violation> v3 = c.CheckOutboxAndInbox();
  ASSERT_FALSE(v3.empty());
  EXPECT_EQ(v3[0].invariant, 3);
  EXPECT_THAT(v3[0].message, HasSubstr("application " + apps[0][0]));
  EXPECT_THAT(v3[0].message, HasSubstr("'clawback' entries"));
  std::vector<Violation> v4 = c.CheckLedger();
  ASSERT_FALSE(v4.empty()) << "the ledger check missed a doubled clawback";
  EXPECT_EQ(v4[0].invariant, 4);
  EXPECT_THAT(Describe(v4), HasSubstr(apps[0][0]));
}

// 5: a listing changed in the database behind the service's back: the read models differ.
TEST_F(ChaosChecker, Invariant5CatchesAReadModelThatDiffersFromTheDatabase) {
  // A published offer whose owner is not hidden: only those are expected in the read model.
  auto offers = Query(run_->platform->DbUrl("listings"),
                      "SELECT id::text FROM offers o WHERE status = 2 AND NOT EXISTS (SELECT 1 "
                      "FROM organization_visibility v WHERE v.hidden AND v.organization_id = "
                      "o.owner_org_id) LIMIT 1");
  ASSERT_FALSE(offers.empty());
  Query(run_->platform->DbUrl("listings"),
        "UPDATE offers SET version = version + 1 WHERE id = '" + offers[0][0] + "'");
  Checker c = run_->MakeChecker();
  std::vector<Violation> v = c.CheckListings();
  ASSERT_EQ(v.size(), 1u) << Describe(v);
  EXPECT_EQ(v[0].invariant, 5);
  EXPECT_THAT(v[0].message, HasSubstr(offers[0][0]));
  EXPECT_THAT(v[0].message, HasSubstr("in the read model"));
}

// 3: an outbox that does not drain (a row the relay cannot publish: Kafka is not where the
// service looks — simulated by a row left behind with the relay's lock taken).
TEST_F(ChaosChecker, Invariant3CatchesAnUndrainedOutbox) {
  // The relay of the registry publishes whatever appears; the row below is one it cannot
  // publish.
  // Settled first, so that the only row left is the one put there below.
  ASSERT_TRUE(run_->MakeChecker().Settle());
  ASSERT_TRUE(run_->platform->KillReplica("registry", 0));
  pqxx::connection conn(run_->platform->DbUrl("registry"));
  pqxx::nontransaction tx(conn);
  tx.exec(
      "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, sequence, "
      "occurred_at) VALUES (gen_random_uuid(), 'organization', 'stuck', 'x', '\\x00', 1, "
      "now())");
  Checker c = run_->MakeChecker();
  std::vector<Violation> v = c.CheckOutboxAndInbox();
  tx.exec("DELETE FROM outbox WHERE aggregateid = 'stuck'");
  ASSERT_TRUE(run_->platform->RestartReplica("registry", 0));
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v[0].invariant, 3);
  EXPECT_THAT(v[0].message, HasSubstr("registry: 1 outbox rows never drained"));
}

// A key's secret is in its first answer only. When commits answer with an error after committing,
// the workload's retries get replays without the secret; setting up must still end with usable
// keys.
TEST(ChaosWorkload, SetupSurvivesKeyAnswersLostAfterCommit) {
  SmallRun run("db.after_commit=error@0.5", 1, 0);
  EXPECT_TRUE(run.started) << "setting up cities, keys and programmes failed";
}

// 2 and 6: the relay drops events without publishing them (failpoint outbox.drop): gaps on the
// topics, and the reference partner consumer reports them.
TEST(ChaosCheckerDrops, Invariants2And6CatchEventsNeverPublished) {
  SmallRun run("outbox.drop=error@0.3", 1, 4);
  ASSERT_TRUE(run.started);
  Checker c = run.MakeChecker();
  ASSERT_TRUE(c.Settle());
  std::vector<Violation> v2 = c.CheckTopics();
  ASSERT_FALSE(v2.empty()) << "no gap found although the relay dropped events";
  EXPECT_EQ(v2[0].invariant, 2);
  EXPECT_THAT(Describe(v2), HasSubstr("was never published"));
  std::vector<Violation> v6 = c.CheckPartner();
  ASSERT_FALSE(v6.empty()) << "the partner consumer saw no gap";
  EXPECT_EQ(v6[0].invariant, 6);
  EXPECT_THAT(Describe(v6), ::testing::AnyOf(HasSubstr("GAP"), HasSubstr("counted")));
}

}  // namespace
}  // namespace techtrade::chaos
