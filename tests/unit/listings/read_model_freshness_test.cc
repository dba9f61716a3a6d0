// How current a read model is (services/listings/domain/read_model_freshness.h), from the topic
// ends its follower was shown and the positions it reached.
#include "services/listings/domain/read_model_freshness.h"

#include <gtest/gtest.h>

namespace techtrade::listings {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1796616000);

absl::Time At(int seconds) { return kStart + absl::Seconds(seconds); }

TEST(ReadModelFreshnessTest, NothingIsKnownBeforeTheFirstLoad) {
  ReadModelFreshness freshness;
  EXPECT_FALSE(freshness.synced_as_of().has_value());
  freshness.EndsSeen({{0, 5}}, At(1));
  EXPECT_FALSE(freshness.synced_as_of().has_value());  // not reached yet
  freshness.Loaded(At(0));
  EXPECT_EQ(freshness.synced_as_of(), At(0));
}

TEST(ReadModelFreshnessTest, ReachingTheEndsSeenAtAMomentMakesTheModelCurrentAsOfThen) {
  ReadModelFreshness freshness;
  freshness.Loaded(At(0));
  freshness.EndsSeen({{0, 10}, {1, 4}}, At(5));
  freshness.Reached({{0, 10}, {1, 3}});
  EXPECT_EQ(freshness.synced_as_of(), At(0));
  EXPECT_EQ(freshness.EventsBehind({{0, 10}, {1, 3}}), (PartitionOffsets{{0, 0}, {1, 1}}));
  freshness.Reached({{0, 10}, {1, 4}});
  EXPECT_EQ(freshness.synced_as_of(), At(5));
  EXPECT_EQ(freshness.EventsBehind({{0, 10}, {1, 4}}), (PartitionOffsets{{0, 0}, {1, 0}}));
}

TEST(ReadModelFreshnessTest, UnderSteadyTrafficTheMomentAdvancesCheckByCheck) {
  // Events keep arriving, so the follower is never at the topic's end when a check looks; it
  // reaches each check's ends before the next one.
  ReadModelFreshness freshness;
  freshness.Loaded(At(0));
  freshness.EndsSeen({{0, 100}}, At(5));
  freshness.EndsSeen({{0, 200}}, At(10));
  freshness.Reached({{0, 150}});
  EXPECT_EQ(freshness.synced_as_of(), At(5));
  freshness.EndsSeen({{0, 300}}, At(15));
  freshness.Reached({{0, 250}});
  EXPECT_EQ(freshness.synced_as_of(), At(10));
  EXPECT_EQ(freshness.EventsBehind({{0, 250}}), (PartitionOffsets{{0, 50}}));
}

TEST(ReadModelFreshnessTest, AFollowerThatStoppedStaysAtItsLastMomentWhileTheLagGrows) {
  ReadModelFreshness freshness;
  freshness.Loaded(At(0));
  freshness.EndsSeen({{0, 7}}, At(5));
  freshness.Reached({{0, 7}});
  ASSERT_EQ(freshness.synced_as_of(), At(5));
  for (int check = 1; check <= 40; ++check) {
    freshness.EndsSeen({{0, 7 + check}}, At(5 + 5 * check));
    freshness.Reached({{0, 7}});
  }
  EXPECT_EQ(freshness.synced_as_of(), At(5));
  EXPECT_EQ(freshness.EventsBehind({{0, 7}}), (PartitionOffsets{{0, 40}}));
  // It resumes: the latest ends reached give the latest moment, the dropped older ones included.
  freshness.Reached({{0, 47}});
  EXPECT_EQ(freshness.synced_as_of(), At(205));
}

TEST(ReadModelFreshnessTest, APartitionTheFollowerHasNoPositionOnCountsFromTheStart) {
  ReadModelFreshness freshness;
  freshness.Loaded(At(0));
  freshness.EndsSeen({{0, 3}, {1, 2}}, At(5));
  freshness.Reached({{0, 3}});
  EXPECT_EQ(freshness.synced_as_of(), At(0));
  EXPECT_EQ(freshness.EventsBehind({{0, 3}}), (PartitionOffsets{{0, 0}, {1, 2}}));
}

TEST(ReadModelFreshnessTest, AReloadCoversEveryEndSeenBeforeIt) {
  ReadModelFreshness freshness;
  freshness.Loaded(At(0));
  freshness.EndsSeen({{0, 1000}}, At(5));
  // Repositioned after the topic was recreated: the old ends can never be reached.
  freshness.Loaded(At(8));
  EXPECT_EQ(freshness.synced_as_of(), At(8));
  freshness.EndsSeen({{0, 2}}, At(10));
  freshness.Reached({{0, 2}});
  EXPECT_EQ(freshness.synced_as_of(), At(10));
  // A load never moves the moment back.
  freshness.Loaded(At(9));
  EXPECT_EQ(freshness.synced_as_of(), At(10));
}

}  // namespace
}  // namespace techtrade::listings
