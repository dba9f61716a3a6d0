// Consumer lag from librdkafka's statistics JSON (common/kafka_statistics.h), and the gauge that
// exports it (common/inbox.h): samples shaped as librdkafka 2.0 emits them, trimmed to the
// fields that matter.
#include "common/kafka_statistics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/inbox.h"
#include "common/metrics.h"

namespace techtrade {
namespace {

using ::testing::ElementsAre;
using ::testing::FieldsAre;
using ::testing::IsEmpty;

// One partition's entry, as librdkafka writes it.
std::string P(int id, bool desired, int64_t stored_lag, int64_t committed_lag,
              const std::string& fetch_state = "active") {
  return absl::StrCat(R"(")", id, R"(": { "partition":)", id, R"(, "broker":1, "leader":1, )",
                      R"("desired":)", desired ? "true" : "false",
                      R"(, "unknown":false, "fetch_state":")", fetch_state,
                      R"(", "stored_offset":40, "committed_offset":38, "hi_offset":45, )",
                      R"("ls_offset":45, "consumer_lag":)", committed_lag,
                      R"(, "consumer_lag_stored":)", stored_lag, " }");
}

std::string Statistics(const std::string& topic, const std::vector<std::string>& partitions) {
  std::string joined;
  for (const std::string& p : partitions) absl::StrAppend(&joined, joined.empty() ? "" : ", ", p);
  return absl::StrCat(
      R"({ "name": "rdkafka#consumer-1", "client_id": "rdkafka", "type": "consumer", )",
      R"("ts":5016483227792, "time":1796616883, "replyq":0, "brokers":{ }, "topics":{ ")", topic,
      R"(": { "topic":")", topic, R"(", "age":505, "metadata_age":505, "partitions":{ )", joined,
      R"( } } }, "cgrp": { "state": "up", "join_state": "steady", "assignment_size": 2 } })");
}

TEST(ConsumerLagFromStatisticsTest, TakesTheStoredLagOfEachAssignedPartition) {
  absl::StatusOr<std::vector<PartitionLag>> lags = ConsumerLagFromStatistics(Statistics(
      "techtrade.registry.events.v1", {P(0, true, 5, 7), P(1, true, 0, 2),
                                       // librdkafka's internal partition of unassigned messages
                                       P(-1, false, -1, -1, "none")}));
  ASSERT_TRUE(lags.ok()) << lags.status();
  EXPECT_THAT(*lags, ElementsAre(FieldsAre("techtrade.registry.events.v1", 0, 5),
                                 FieldsAre("techtrade.registry.events.v1", 1, 0)));
}

TEST(ConsumerLagFromStatisticsTest, FallsBackOnTheCommittedLagWhenNothingIsStored) {
  absl::StatusOr<std::vector<PartitionLag>> lags =
      ConsumerLagFromStatistics(Statistics("t", {P(0, true, -1, 7)}));
  ASSERT_TRUE(lags.ok()) << lags.status();
  EXPECT_THAT(*lags, ElementsAre(FieldsAre("t", 0, 7)));
}

TEST(ConsumerLagFromStatisticsTest, LeavesOutUnknownLagAndPartitionsNotAssigned) {
  // Partition 1 was revoked: librdkafka still lists it with its last committed lag.
  absl::StatusOr<std::vector<PartitionLag>> lags = ConsumerLagFromStatistics(
      Statistics("t", {P(0, true, -1, -1, "offset-query"), P(1, false, -1, 2, "stopped")}));
  ASSERT_TRUE(lags.ok()) << lags.status();
  EXPECT_THAT(*lags, IsEmpty());
}

TEST(ConsumerLagFromStatisticsTest, AConsumerNotYetAssignedReportsNoPartitions) {
  absl::StatusOr<std::vector<PartitionLag>> lags = ConsumerLagFromStatistics(
      R"({ "name": "rdkafka#consumer-1", "type": "consumer", "topics":{ } , "cgrp": { "state": "up", "join_state": "wait-join", "assignment_size": 0 } })");
  ASSERT_TRUE(lags.ok()) << lags.status();
  EXPECT_THAT(*lags, IsEmpty());
}

TEST(ConsumerLagFromStatisticsTest, RefusesWhatIsNotStatistics) {
  EXPECT_EQ(ConsumerLagFromStatistics("not json").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ConsumerLagFromStatistics(R"([1, 2])").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ConsumerLagFromStatistics(R"({"topics": 3})").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// consumer_group/topic/partition → value of every techtrade_inbox_consumer_lag series.
std::map<std::string, double> LagSeries(Metrics& metrics) {
  std::map<std::string, double> series;
  for (const prometheus::MetricFamily& family : metrics.registry().Collect()) {
    if (family.name != "techtrade_inbox_consumer_lag") continue;
    for (const prometheus::ClientMetric& m : family.metric) {
      std::map<std::string, std::string> labels;
      for (const prometheus::ClientMetric::Label& l : m.label) labels[l.name] = l.value;
      EXPECT_EQ(labels["service"], "listings");
      series[absl::StrCat(labels["consumer_group"], "/", labels["topic"], "/",
                          labels["partition"])] = m.gauge.value;
    }
  }
  return series;
}

TEST(ConsumerLagGaugeTest, ARevokedPartitionLosesItsSeries) {
  Metrics metrics("listings");
  ConsumerLagGauge gauge(metrics, "listings.registry-events");
  gauge.Report(Statistics("r", {P(0, true, 12, 15), P(1, true, 3, 3)}));
  EXPECT_EQ(LagSeries(metrics),
            (std::map<std::string, double>{{"listings.registry-events/r/0", 12},
                                           {"listings.registry-events/r/1", 3}}));
  // A rebalance gave partition 1 to another member.
  gauge.Report(Statistics("r", {P(0, true, 4, 6), P(1, false, -1, 3, "stopped")}));
  EXPECT_EQ(LagSeries(metrics),
            (std::map<std::string, double>{{"listings.registry-events/r/0", 4}}));
  // An unreadable report changes nothing.
  gauge.Report("{");
  EXPECT_EQ(LagSeries(metrics),
            (std::map<std::string, double>{{"listings.registry-events/r/0", 4}}));
  gauge.Clear();
  EXPECT_THAT(LagSeries(metrics), IsEmpty());
}

TEST(ConsumerLagGaugeTest, TwoGroupsOfOneProcessKeepTheirOwnSeries) {
  Metrics metrics("listings");
  ConsumerLagGauge registry_events(metrics, "listings.registry-events");
  {
    ConsumerLagGauge deal_events(metrics, "listings.transactions-events");
    registry_events.Report(Statistics("r", {P(0, true, 1, 1)}));
    deal_events.Report(Statistics("d", {P(0, true, 2, 2)}));
    EXPECT_EQ(LagSeries(metrics),
              (std::map<std::string, double>{{"listings.registry-events/r/0", 1},
                                             {"listings.transactions-events/d/0", 2}}));
  }
  EXPECT_EQ(LagSeries(metrics),
            (std::map<std::string, double>{{"listings.registry-events/r/0", 1}}));
}

}  // namespace
}  // namespace techtrade
