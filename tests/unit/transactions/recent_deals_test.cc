// The transactions service's copies of the deals it committed last.
#include "services/transactions/store/recent_deals.h"

#include <gtest/gtest.h>

namespace techtrade::transactions::store {
namespace {

v1::Deal DealAt(const std::string& id, int64_t version) {
  v1::Deal d;
  d.set_id(id);
  d.set_version(version);
  d.set_city_id("wuhan");
  return d;
}

TEST(RecentDealsTest, ACopyServesOnlyTheVersionItHolds) {
  RecentDeals recent(4);
  recent.Put(DealAt("a", 3));
  ASSERT_TRUE(recent.Get("a", 3).has_value());
  EXPECT_EQ(recent.Get("a", 3)->city_id(), "wuhan");
  EXPECT_FALSE(recent.Get("a", 2).has_value());
  EXPECT_FALSE(recent.Get("a", 4).has_value());
  EXPECT_FALSE(recent.Get("b", 3).has_value());
}

TEST(RecentDealsTest, ANewerCommitReplacesTheCopyAndAnOlderOneFinishingLateDoesNot) {
  RecentDeals recent(4);
  recent.Put(DealAt("a", 3));
  recent.Put(DealAt("a", 5));
  recent.Put(DealAt("a", 4));  // committed before version 5, its hook ran after
  EXPECT_TRUE(recent.Get("a", 5).has_value());
  EXPECT_FALSE(recent.Get("a", 4).has_value());
  EXPECT_EQ(recent.size(), 1u);
}

TEST(RecentDealsTest, TheLeastRecentlyCommittedGoFirstBeyondTheCapacity) {
  RecentDeals recent(2);
  recent.Put(DealAt("a", 1));
  recent.Put(DealAt("b", 1));
  recent.Put(DealAt("a", 2));  // a is now the most recent
  recent.Put(DealAt("c", 1));
  EXPECT_EQ(recent.size(), 2u);
  EXPECT_FALSE(recent.Get("b", 1).has_value());
  EXPECT_TRUE(recent.Get("a", 2).has_value());
  EXPECT_TRUE(recent.Get("c", 1).has_value());
  RecentDeals none(0);
  none.Put(DealAt("a", 1));
  EXPECT_FALSE(none.Get("a", 1).has_value());
}

}  // namespace
}  // namespace techtrade::transactions::store
