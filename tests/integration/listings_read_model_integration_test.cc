// The listings read-model follower (services/listings/api/read_model_follower.h) against the
// real Kafka broker, on a topic of its own and an in-memory database: what it serves when Kafka
// is away at start-up, that it never replays events the database does not have, that how far
// it is behind shows in its metrics, also once it has stopped, and that a renewed certificate
// reaches the brokers without a restart.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/tls_files.h"
#include "services/listings/api/read_model_follower.h"
#include "services/listings/domain/read_model.h"
#include "techtrade/listings/v1/listings.pb.h"
#include "tests/support/fake_listings_store.h"
#include "tests/support/fake_transactor.h"
#include "tests/support/harness.h"
#include "tests/support/polling.h"
#include "tests/support/test_pki.h"

namespace techtrade::testing {
namespace {

namespace v1 = techtrade::listings::v1;
using listings::ReadModel;
using listings::ReadModelFollower;
using ListingsDb = FakeTransactor<listings::store::ListingsStore, FakeListingsStore>;

// librdkafka's admin API (the C one: the C++ API has none) deleting `topic`.
void DeleteTopic(const std::string& brokers, const std::string& topic) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  KafkaConfig settings = KafkaTlsFromEnvironment();
  settings["bootstrap.servers"] = brokers;
  for (const auto& [key, value] : settings) {
    rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof error);
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (rk == nullptr) return;
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_DeleteTopic_t* old_topic = rd_kafka_DeleteTopic_new(topic.c_str());
  rd_kafka_DeleteTopics(rk, &old_topic, 1, nullptr, queue);
  if (rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 20000)) rd_kafka_event_destroy(event);
  rd_kafka_DeleteTopic_destroy(old_topic);
  rd_kafka_queue_destroy(queue);
  rd_kafka_destroy(rk);
}

v1::Offer Offer(const std::string& id, int64_t version, v1::OfferStatus status) {
  v1::Offer o;
  o.set_id(id);
  o.set_owner_org_id(NewUuid());
  o.set_city_id("wuhan-east-lake");
  o.set_title("基于深度学习的锂电池健康状态估计方法");
  o.set_abstract("利用长短期记忆网络从充放电曲线估计锂离子电池的健康状态。");
  o.set_status(status);
  o.set_version(version);
  return o;
}

template <class Payload>
common::v1::EventEnvelope Envelope(const v1::Offer& offer) {
  Payload payload;
  *payload.mutable_offer() = offer;
  common::v1::EventEnvelope e;
  e.set_event_id(NewUuid());
  e.set_event_type(payload.GetDescriptor()->full_name());
  e.set_aggregate_type("offer");
  e.set_aggregate_id(offer.id());
  e.set_sequence(offer.version());
  e.mutable_payload()->PackFrom(payload);
  return e;
}

bool WaitFor(const std::function<bool()>& done, absl::Duration limit) {
  for (absl::Time end = absl::Now() + limit; absl::Now() < end;) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return done();
}

class ListingsReadModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    topic_ = absl::StrCat("test.listings-read-model.", RandomHex(4));
    producer_ = *KafkaProducer::Create(
        stack_.kafka_brokers, {}, [this](void*, const absl::Status& s) { delivered_ += s.ok(); });
    ASSERT_TRUE(producer_->CreateTopic(topic_, absl::Seconds(20)).ok());
    ASSERT_TRUE(WaitFor(
        [&] {
          return KafkaConsumer::EndOffsets(stack_.kafka_brokers, topic_, absl::Seconds(2)).ok();
        },
        absl::Seconds(30)));
  }

  void TearDown() override {
    SetProcessTls(TlsFilesFromEnvironment());
    producer_.reset();
    DeleteTopic(stack_.kafka_brokers, topic_);
  }

  // Puts `events` on the topic, all with partition key `key` (so in this order on one partition).
  void Produce(const std::string& key, const std::vector<common::v1::EventEnvelope>& events) {
    const int before = delivered_;
    for (const auto& e : events) {
      ASSERT_TRUE(producer_->Produce(topic_, key, e.SerializeAsString(), {}, nullptr).ok());
    }
    const int want = before + static_cast<int>(events.size());
    for (int i = 0; i < 300 && delivered_ < want; ++i) producer_->Poll(absl::Milliseconds(100));
    ASSERT_EQ(delivered_, want);
  }

  static void Insert(ListingsDb& db, const v1::Offer& offer) {
    ASSERT_TRUE(db.Run([&](listings::store::ListingsStore& s, UnitOfWork&) {
                    s.InsertOffer(offer);
                    return absl::OkStatus();
                  }).ok());
  }

  Stack stack_;
  std::string topic_;
  std::atomic<int> delivered_{0};
  std::unique_ptr<KafkaProducer> producer_;
};

TEST_F(ListingsReadModelTest, AReplicaStartedWithoutKafkaNeverReplaysEventsTheDatabaseLacks) {
  // On the topic, an offer this database never had (an earlier run's, or from before a restore).
  const std::string foreign = NewUuid();
  Produce(foreign, {Envelope<v1::OfferCreated>(Offer(foreign, 1, v1::OFFER_STATUS_DRAFT)),
                    Envelope<v1::OfferPublished>(Offer(foreign, 2, v1::OFFER_STATUS_PUBLISHED))});
  ListingsDb db;
  const v1::Offer ours = Offer(NewUuid(), 2, v1::OFFER_STATUS_PUBLISHED);
  Insert(db, ours);
  ReadModel model;
  ReadModelFollower follower(model, db, stack_.kafka_brokers, topic_);
  const v1::Offer meanwhile = Offer(NewUuid(), 2, v1::OFFER_STATUS_PUBLISHED);
  {
    ComponentOutage kafka(stack_, "kafka");
    ASSERT_TRUE(follower.Load().ok());
    EXPECT_FALSE(follower.positioned());
    // It serves what the database has while Kafka is away.
    EXPECT_TRUE(model.FindOffer(ours.id()).has_value());
    follower.Start();
    // Committed while the follower waits for Kafka, by another replica: only the reload that
    // positions the follower brings it in.
    Insert(db, meanwhile);
  }
  ASSERT_TRUE(WaitFor([&] { return follower.positioned(); }, absl::Seconds(90)));
  EXPECT_TRUE(model.FindOffer(meanwhile.id()).has_value());
  // Produced after the foreign events on the same partition: once it is in the model, the tail
  // is past where they are.
  const v1::Offer later = Offer(NewUuid(), 2, v1::OFFER_STATUS_PUBLISHED);
  Produce(foreign, {Envelope<v1::OfferPublished>(later)});
  ASSERT_TRUE(WaitFor([&] { return model.FindOffer(later.id()).has_value(); }, absl::Seconds(30)));
  EXPECT_FALSE(model.FindOffer(foreign).has_value());
  EXPECT_TRUE(model.FindOffer(ours.id()).has_value());
  EXPECT_EQ(model.searchable_offers(), 3u);
  follower.Stop();
}

TEST_F(ListingsReadModelTest, ATailFromAnOffsetPastTheEndSaysSoInsteadOfSkipping) {
  const std::string key = NewUuid();
  Produce(key, {Envelope<v1::OfferPublished>(Offer(key, 2, v1::OFFER_STATUS_PUBLISHED))});
  auto ends = KafkaConsumer::EndOffsets(stack_.kafka_brokers, topic_, absl::Seconds(5));
  ASSERT_TRUE(ends.ok()) << ends.status();
  std::map<int32_t, int64_t> past;
  for (const auto& [partition, end] : *ends) past[partition] = end + 1000;
  auto tail = KafkaConsumer::CreateTail(stack_.kafka_brokers, topic_, past);
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_TRUE(WaitFor(
      [&] {
        (*tail)->Poll(absl::Milliseconds(100));
        return (*tail)->out_of_range();
      },
      absl::Seconds(30)));
}

// librdkafka reads its certificate once, when the tail is made. A renewed certificate (a Secret's
// files swapped as the kubelet does) must reach the brokers without a restart: the tail is
// replaced, and the next one reads on from where the last one was.
TEST_F(ListingsReadModelTest, ATailIsReplacedWhenItsTlsFilesChangeAndReadsOn) {
  ASSERT_TRUE(ProcessTls().enabled()) << "the test stack runs with TLS: source its env file";
  TlsFiles fast = ProcessTls();
  fast.refresh = absl::Milliseconds(500);
  SetProcessTls(fast);
  const std::string dir = absl::StrCat(::testing::TempDir(), "/tail-tls-", RandomHex(6));
  SecretDir secret(dir + "/secret");
  const CertificateAuthority stack_ca = CertificateAuthority::OfStack();
  const std::string ca_file = ProcessTls().ca;
  // dev: the identity the stack's ACLs let read the test topics.
  secret.Publish(stack_ca.Issue("dev", dir, "first"), ca_file);
  ListingsDb db;
  ReadModel model;
  Metrics metrics("listings");
  ReadModelFollower follower(model, db, stack_.kafka_brokers, topic_, &metrics,
                             {{"ssl.ca.location", secret.ca()},
                              {"ssl.certificate.location", secret.cert()},
                              {"ssl.key.location", secret.key()}});
  ASSERT_TRUE(follower.Load().ok());
  ASSERT_TRUE(follower.positioned());
  follower.Start();
  const std::string first = NewUuid();
  Produce(first, {Envelope<v1::OfferPublished>(Offer(first, 2, v1::OFFER_STATUS_PUBLISHED))});
  ASSERT_TRUE(WaitFor([&] { return model.FindOffer(first).has_value(); }, absl::Seconds(30)));
  // The model has the event a moment before the follower records its position.
  auto caught_up = [&] {
    follower.CheckLag();
    return GaugeValue(metrics, "techtrade_listings_read_model_lag_events") == 0;
  };
  ASSERT_TRUE(Eventually(caught_up, absl::Seconds(10)));

  // A certificate the brokers refuse (a CA they do not trust): taken up within a look at the
  // files and a poll, after which nothing more arrives.
  const CertificateAuthority stranger = CertificateAuthority::SelfSigned("stranger", dir);
  secret.Publish(stranger.Issue("dev", dir, "refused"), ca_file);
  absl::SleepFor(absl::Seconds(3));
  const std::string second = NewUuid();
  Produce(second, {Envelope<v1::OfferPublished>(Offer(second, 2, v1::OFFER_STATUS_PUBLISHED))});
  absl::SleepFor(absl::Seconds(4));
  EXPECT_FALSE(model.FindOffer(second).has_value())
      << "read with a certificate the brokers do not trust: the tail kept the one it was made with";
  // The lag check's client takes the refused files up too: it learns nothing of the topic.
  follower.CheckLag();
  EXPECT_EQ(GaugeValue(metrics, "techtrade_listings_read_model_lag_events"), 0)
      << "the lag check read the topic with the certificate it was made with";

  // Renewed again, valid: the next tail reads on from where the last one was.
  secret.Publish(stack_ca.Issue("dev", dir, "renewed"), ca_file);
  EXPECT_TRUE(WaitFor([&] { return model.FindOffer(second).has_value(); }, absl::Seconds(30)));
  EXPECT_EQ(model.searchable_offers(), 2u);
  EXPECT_TRUE(Eventually(caught_up, absl::Seconds(10)));
  follower.Stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

double UnixSeconds(absl::Time t) { return absl::ToDoubleSeconds(t - absl::UnixEpoch()); }

TEST_F(ListingsReadModelTest, AFollowerThatStoppedShowsInItsLagAndItsSyncedMoment) {
  ListingsDb db;
  ReadModel model;
  Metrics metrics("listings");
  ReadModelFollower follower(model, db, stack_.kafka_brokers, topic_, &metrics);
  const absl::Time before_load = absl::Now();
  ASSERT_TRUE(follower.Load().ok());
  ASSERT_TRUE(follower.positioned());
  // The snapshot holds everything published before it was taken.
  EXPECT_GE(GaugeValue(metrics, "techtrade_listings_read_model_synced_timestamp_seconds"),
            std::floor(UnixSeconds(before_load)));
  follower.Start();
  const v1::Offer first = Offer(NewUuid(), 2, v1::OFFER_STATUS_PUBLISHED);
  Produce(first.id(), {Envelope<v1::OfferPublished>(first)});
  ASSERT_TRUE(WaitFor([&] { return model.FindOffer(first.id()).has_value(); }, absl::Seconds(30)));

  // The model has the event a moment before the follower records its position.
  const absl::Time before_check = absl::Now();
  EXPECT_TRUE(Eventually(
      [&] {
        follower.CheckLag();
        return GaugeValue(metrics, "techtrade_listings_read_model_lag_events") == 0 &&
               GaugeValue(metrics, "techtrade_listings_read_model_synced_timestamp_seconds") >=
                   UnixSeconds(before_check);
      },
      absl::Seconds(10)));
  const double synced =
      GaugeValue(metrics, "techtrade_listings_read_model_synced_timestamp_seconds");

  // The follower stops; the topic goes on.
  follower.Stop();
  const std::string key = NewUuid();
  std::vector<common::v1::EventEnvelope> later;
  for (int i = 0; i < 4; ++i) {
    later.push_back(Envelope<v1::OfferPublished>(Offer(NewUuid(), 2, v1::OFFER_STATUS_PUBLISHED)));
  }
  Produce(key, later);
  follower.CheckLag();
  EXPECT_EQ(GaugeValue(metrics, "techtrade_listings_read_model_lag_events"), 4);
  EXPECT_EQ(GaugeValue(metrics, "techtrade_listings_read_model_synced_timestamp_seconds"), synced);
}

}  // namespace
}  // namespace techtrade::testing
