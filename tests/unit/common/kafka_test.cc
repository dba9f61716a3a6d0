// The Kafka producer wrapper against librdkafka's built-in mock cluster (no broker process): every
// produced message is reported exactly once through the delivery callback, with its opaque. And
// KafkaTlsFiles, which tells a client's owner that the TLS files it was made with changed.
#include "common/kafka.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

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

// A file written whole, as a Secret's files are (a new directory, then the link swapped).
void WriteFile(const std::string& path, const std::string& contents) {
  const std::string staged = path + ".new";
  std::ofstream(staged, std::ios::binary | std::ios::trunc) << contents;
  std::filesystem::rename(staged, path);
}

class KafkaTlsFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           absl::StrCat("kafka-tls-", ::testing::UnitTest::GetInstance()->random_seed(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    WriteFile(Path("ca.crt"), "ca one");
    WriteFile(Path("tls.crt"), "certificate one");
    WriteFile(Path("tls.key"), "key one");
    settings_ = {{"ssl.ca.location", Path("ca.crt")},
                 {"ssl.certificate.location", Path("tls.crt")},
                 {"ssl.key.location", Path("tls.key")}};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
  KafkaConfig settings_;
};

TEST_F(KafkaTlsFilesTest, SaysSoOnceAFileChangesAndLooksOnlyEveryInterval) {
  KafkaTlsFiles files(settings_, absl::Seconds(10));
  const absl::Time start = absl::Now();
  EXPECT_FALSE(files.Changed(start + absl::Seconds(11)));
  WriteFile(Path("tls.crt"), "certificate two");
  // The next look is 10 s after the last one.
  EXPECT_FALSE(files.Changed(start + absl::Seconds(12)));
  EXPECT_TRUE(files.Changed(start + absl::Seconds(22)));
  // Once changed, changed: the client must be replaced even if the file goes back.
  WriteFile(Path("tls.crt"), "certificate one");
  EXPECT_TRUE(files.Changed(start + absl::Seconds(40)));
}

TEST_F(KafkaTlsFilesTest, EachFileCounts) {
  for (const std::string name : {"ca.crt", "tls.key"}) {
    SetUp();
    KafkaTlsFiles files(settings_, absl::Seconds(1));
    WriteFile(Path(name), "renewed");
    EXPECT_TRUE(files.Changed(absl::Now() + absl::Seconds(2))) << name;
  }
}

TEST_F(KafkaTlsFilesTest, AFileMissingForAMomentIsNoChange) {
  KafkaTlsFiles files(settings_, absl::Seconds(1));
  std::filesystem::remove(Path("tls.key"));
  EXPECT_FALSE(files.Changed(absl::Now() + absl::Seconds(2)));
  WriteFile(Path("tls.key"), "key one");
  EXPECT_FALSE(files.Changed(absl::Now() + absl::Seconds(4)));
}

TEST_F(KafkaTlsFilesTest, WithoutTlsSettingsNeverChanges) {
  KafkaTlsFiles none({{"bootstrap.servers", "127.0.0.1:9092"}}, absl::Seconds(1));
  EXPECT_FALSE(none.Changed(absl::InfiniteFuture()));
  KafkaTlsFiles unset;
  EXPECT_FALSE(unset.Changed(absl::InfiniteFuture()));
}

}  // namespace
}  // namespace techtrade
