// The finance partners' streams are enforced by the broker itself: a partner's certificate is
// refused every topic and consumer group but its own, whatever the client asks for.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "tests/support/harness.h"
#include "tests/support/test_pki.h"

namespace techtrade::testing {
namespace {

std::string PartnerTopic(const std::string& partner_id) {
  return absl::StrCat("techtrade.partner.", partner_id, ".deals.v1");
}

class PartnerStreamAclTest : public ::testing::Test {
 protected:
  // Onboarding costs a few broker-tool runs: once for the suite.
  static void SetUpTestSuite() {
    partner_a_ = "pa" + RandomHex(6);
    partner_b_ = "pb" + RandomHex(6);
    const Stack stack = Stack::FromEnvironment();
    onboarded_ = stack.OnboardPartner(partner_a_) && stack.OnboardPartner(partner_b_);
  }

  void SetUp() override {
    ASSERT_FALSE(KafkaTlsFromEnvironment().empty()) << "the test stack's Kafka speaks TLS";
    ASSERT_TRUE(onboarded_) << "stack.sh partner failed for " << partner_a_ << " or " << partner_b_;
  }

  // What partner `as`'s certificate gets when it subscribes to `topic` with a group of its own:
  // the first error the consumer reports (a partner reading its own deals with its certificate:
  // integration.PartnerScopeTest.APartnerReadsItsDealsWithItsOwnCertificate).
  RdKafka::ErrorCode ConsumeAs(const std::string& as, const std::string& topic) {
    absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf =
        MakeKafkaConf({{"bootstrap.servers", stack_.kafka_brokers},
                       {"group.id", absl::StrCat(as, ".acl-test-", RandomHex(4))},
                       {"auto.offset.reset", "earliest"},
                       {"ssl.certificate.location", StackCertificate(as).cert},
                       {"ssl.key.location", StackCertificate(as).key}});
    EXPECT_TRUE(conf.ok()) << conf.status();
    std::string error;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(
        RdKafka::KafkaConsumer::create(conf->get(), error));
    EXPECT_NE(consumer, nullptr) << error;
    EXPECT_EQ(consumer->subscribe({topic}), RdKafka::ERR_NO_ERROR);
    RdKafka::ErrorCode result = RdKafka::ERR__TIMED_OUT;
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (result == RdKafka::ERR__TIMED_OUT && absl::Now() < deadline) {
      std::unique_ptr<RdKafka::Message> message(consumer->consume(200));
      if (message->err() != RdKafka::ERR__TIMED_OUT &&
          message->err() != RdKafka::ERR__PARTITION_EOF) {
        result = message->err();
      }
    }
    consumer->close();
    return result;
  }

  static inline std::string partner_a_;
  static inline std::string partner_b_;
  static inline bool onboarded_ = false;
  Stack stack_ = Stack::FromEnvironment();
};

TEST_F(PartnerStreamAclTest, TheBrokerRefusesAPartnerAnotherPartnersStream) {
  EXPECT_EQ(ConsumeAs(partner_b_, PartnerTopic(partner_a_)),
            RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED);
}

TEST_F(PartnerStreamAclTest, TheBrokerRefusesAPartnerThePlatformsTopic) {
  EXPECT_EQ(ConsumeAs(partner_b_, "techtrade.transactions.events.v1"),
            RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED);
}

TEST_F(PartnerStreamAclTest, TheBrokerRefusesAPartnerAnotherPartnersConsumerGroup) {
  // Its own topic, but a group named for A: the group's ACL is A's alone.
  absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf =
      MakeKafkaConf({{"bootstrap.servers", stack_.kafka_brokers},
                     {"group.id", absl::StrCat(partner_a_, ".stolen")},
                     {"auto.offset.reset", "earliest"},
                     {"ssl.certificate.location", StackCertificate(partner_b_).cert},
                     {"ssl.key.location", StackCertificate(partner_b_).key}});
  ASSERT_TRUE(conf.ok()) << conf.status();
  std::string error;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(conf->get(), error));
  ASSERT_NE(consumer, nullptr) << error;
  ASSERT_EQ(consumer->subscribe({PartnerTopic(partner_b_)}), RdKafka::ERR_NO_ERROR);
  RdKafka::ErrorCode seen = RdKafka::ERR__TIMED_OUT;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (seen == RdKafka::ERR__TIMED_OUT && absl::Now() < deadline) {
    std::unique_ptr<RdKafka::Message> message(consumer->consume(200));
    if (message->err() != RdKafka::ERR__TIMED_OUT) seen = message->err();
  }
  consumer->close();
  EXPECT_EQ(seen, RdKafka::ERR_GROUP_AUTHORIZATION_FAILED);
}

}  // namespace
}  // namespace techtrade::testing
