// The Kafka producer wrapper against librdkafka's built-in mock cluster (no broker process): every
// produced message is reported exactly once through the delivery callback, with its opaque.
#include "common/kafka.h"

#include <gtest/gtest.h>

#include <vector>

#include "absl/strings/str_cat.h"

namespace techtrade {
namespace {

TEST(KafkaProducerTest, ReportsEveryDeliveryOnceWithItsOpaque) {
  std::vector<absl::Status> results(20, absl::UnknownError("pending"));
  std::vector<int> reports(20, 0);
  absl::StatusOr<std::unique_ptr<KafkaProducer>> producer = KafkaProducer::Create(
      "", {{"test.mock.num.brokers", "1"}}, [&](void* opaque, const absl::Status& result) {
        size_t i = static_cast<absl::Status*>(opaque) - results.data();
        results[i] = result;
        ++reports[i];
      });
  ASSERT_TRUE(producer.ok()) << producer.status();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE((*producer)
                    ->Produce("techtrade.test.events.v1", absl::StrCat("aggregate-", i % 3),
                              absl::StrCat("event ", i), {{"event_id", absl::StrCat(i)}},
                              &results[i])
                    .ok());
  }
  for (int round = 0; round < 200 && (*producer)->OutQueueLength() > 0; ++round) {
    (*producer)->Poll(absl::Milliseconds(50));
  }
  (*producer)->Poll(absl::Milliseconds(50));
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(results[i].ok()) << i << ": " << results[i];
    EXPECT_EQ(reports[i], 1) << i;
  }
  EXPECT_FALSE((*producer)->fatal());
}

TEST(KafkaProducerTest, PurgeReportsQueuedMessagesAsFailed) {
  absl::Status result = absl::UnknownError("pending");
  int reports = 0;
  // No broker at all: the message can only wait, until purged.
  absl::StatusOr<std::unique_ptr<KafkaProducer>> producer =
      KafkaProducer::Create("127.0.0.1:1", {}, [&](void*, const absl::Status& r) {
        result = r;
        ++reports;
      });
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE((*producer)->Produce("t", "k", "v", {}, &result).ok());
  (*producer)->Poll(absl::Milliseconds(100));
  EXPECT_EQ(reports, 0);  // never given up on by itself (no delivery timeout)
  (*producer)->Purge();
  EXPECT_EQ(reports, 1);
  EXPECT_FALSE(result.ok());
}

TEST(KafkaProducerTest, RejectsUnknownSettings) {
  absl::StatusOr<std::unique_ptr<KafkaProducer>> producer = KafkaProducer::Create(
      "127.0.0.1:1", {{"no.such.setting", "1"}}, [](void*, const absl::Status&) {});
  EXPECT_EQ(producer.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace techtrade
