// The timing rules of a lease (common/lease.h), the connection budget's arithmetic
// (common/database_setup.h) and the cluster settings (common/config.h), without a database.
#include "common/lease.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/database_setup.h"
#include "tests/support/settings_lookup.h"

namespace techtrade {
namespace {

using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1000);

TEST(LeaseTermTest, ANewTermIsNotHeldAndAsksAtOnce) {
  LeaseTerm term(absl::Seconds(15));
  EXPECT_FALSE(term.Held(kT0));
  EXPECT_TRUE(term.AskDue(kT0));
}

TEST(LeaseTermTest, AGrantHoldsFromWhenItWasAskedUntilBeforeTheServerLetsItGo) {
  LeaseTerm term(absl::Seconds(15));
  term.Granted(kT0);
  // The server's expiry is no earlier than kT0 + ttl: the holder stops a margin before.
  EXPECT_TRUE(term.Held(kT0 + absl::Seconds(11.9)));
  EXPECT_FALSE(term.Held(kT0 + absl::Seconds(12)));
  EXPECT_LT(term.valid_until(), kT0 + absl::Seconds(15));
  EXPECT_FALSE(term.AskDue(kT0 + absl::Seconds(4.9)));
  EXPECT_TRUE(term.AskDue(kT0 + absl::Seconds(5)));  // renewed every third of the TTL
}

TEST(LeaseTermTest, ARenewalExtendsFromWhenItWasAsked) {
  LeaseTerm term(absl::Seconds(15));
  term.Granted(kT0);
  term.Granted(kT0 + absl::Seconds(5));
  EXPECT_TRUE(term.Held(kT0 + absl::Seconds(16.9)));
  EXPECT_FALSE(term.Held(kT0 + absl::Seconds(17)));
}

// Fencing: failed renewals never extend the term; the holder stops at its end.
TEST(LeaseTermTest, FailedRenewalsEndTheTermOnTime) {
  LeaseTerm term(absl::Seconds(15));
  term.Granted(kT0);
  absl::Time now = kT0 + absl::Seconds(5);
  while (now < kT0 + absl::Seconds(30)) {
    ASSERT_TRUE(term.AskDue(now));
    term.Failed(now);
    EXPECT_EQ(term.Held(now), now < kT0 + absl::Seconds(12)) << now;
    // A failed attempt is retried sooner than a renewal.
    EXPECT_FALSE(term.AskDue(now + term.retry_interval() - absl::Milliseconds(1)));
    EXPECT_LT(term.retry_interval(), term.renew_interval());
    now += term.retry_interval();
  }
}

TEST(LeaseTermTest, ARefusalEndsTheTermAtOnce) {
  LeaseTerm term(absl::Seconds(15));
  term.Granted(kT0);
  term.Failed(kT0 + absl::Seconds(5));
  term.Dropped();
  EXPECT_FALSE(term.Held(kT0 + absl::Seconds(5)));
}

TEST(LeaseTermTest, HolderIdsNameTheHostAndProcess) {
  EXPECT_THAT(LeaseHolderId(), HasSubstr(absl::StrCat(":", getpid(), ":")));
  EXPECT_EQ(&LeaseHolderId(), &LeaseHolderId());
}

TEST(ConnectionBudgetTest, FitsWhenReplicasTimesConnectionsStayUnderTheServersLimit) {
  EXPECT_TRUE(CheckConnectionBudget(0, 18, 100, 3).ok());  // 0: no check
  EXPECT_TRUE(CheckConnectionBudget(5, 18, 100, 3).ok());  // 90 <= 97
  EXPECT_TRUE(CheckConnectionBudget(1, 97, 100, 3).ok());
}

TEST(ConnectionBudgetTest, RefusesWhatCannotFitAndSaysWhy) {
  // The figure: 4 services x 2 replicas x (16 + 2).
  absl::Status s = CheckConnectionBudget(8, 18, 100, 3);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("TECHTRADE_EXPECTED_REPLICAS: 8 processes x 18 connections"));
  EXPECT_THAT(s.message(), HasSubstr("= 144 > 97"));
  EXPECT_FALSE(CheckConnectionBudget(1, 98, 100, 3).ok());
}

absl::StatusOr<ServiceConfig> ConfigWith(std::map<std::string, std::string> extra) {
  extra.merge(std::map<std::string, std::string>{{"TECHTRADE_PG_URL", "postgresql://h/db"},
                                                 {"TECHTRADE_REDIS_URL", "redis://h:1"},
                                                 {"TECHTRADE_KAFKA_BROKERS", "h:9092"}});
  return ServiceConfigFrom("registry", testing::LookupFrom(std::move(extra)));
}

TEST(ClusterSettingsTest, DefaultsKeepTheLocalBehaviour) {
  absl::StatusOr<ServiceConfig> c = ConfigWith({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->migrate_only);
  EXPECT_TRUE(c->migrate_on_start);
  EXPECT_EQ(c->migration_lock_timeout, absl::Seconds(10));
  EXPECT_EQ(c->lease_ttl, absl::Seconds(15));
  EXPECT_EQ(c->expected_replicas, 0);
  EXPECT_EQ(ConnectionsPerReplica(*c), 18);
}

TEST(ClusterSettingsTest, ReadsAndChecksTheSettings) {
  absl::StatusOr<ServiceConfig> c = ConfigWith({{"TECHTRADE_MIGRATE_ONLY", "1"},
                                                {"TECHTRADE_MIGRATE_ON_START", "false"},
                                                {"TECHTRADE_MIGRATION_LOCK_TIMEOUT_SECONDS", "3"},
                                                {"TECHTRADE_LEASE_TTL_SECONDS", "6"},
                                                {"TECHTRADE_EXPECTED_REPLICAS", "8"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->migrate_only);
  EXPECT_FALSE(c->migrate_on_start);
  EXPECT_EQ(c->migration_lock_timeout, absl::Seconds(3));
  EXPECT_EQ(c->lease_ttl, absl::Seconds(6));
  EXPECT_EQ(c->expected_replicas, 8);

  absl::StatusOr<ServiceConfig> bad =
      ConfigWith({{"TECHTRADE_MIGRATE_ON_START", "no"}, {"TECHTRADE_LEASE_TTL_SECONDS", "1"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("TECHTRADE_MIGRATE_ON_START"));
  EXPECT_THAT(bad.status().message(), HasSubstr("TECHTRADE_LEASE_TTL_SECONDS"));
}

}  // namespace
}  // namespace techtrade
