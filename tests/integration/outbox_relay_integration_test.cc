// The outbox relay (common/outbox.h) on its own, against the real database and broker: one relay
// per service publishes, another takes over through the lease when the leader goes, and
// a producer that failed fatally (librdkafka 2.0's idempotence can) is replaced while the rows it
// did not publish drive the retry. Events go to a scratch topic outside the `techtrade.` ones the
// event-contract check reads.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "common/failpoint.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/metrics.h"
#include "common/migrations.h"
#include "common/outbox.h"
#include "common/tls_files.h"
#include "techtrade/common/v1/common.pb.h"
#include "tests/support/harness.h"
#include "tests/support/polling.h"
#include "tests/support/test_pki.h"

namespace techtrade::testing {
namespace {

// librdkafka's admin API (the C one: the C++ API has none) creating `topic` (with `config`) or
// deleting it.
absl::Status AdminTopic(const std::string& brokers, const std::string& topic, bool create,
                        const std::map<std::string, std::string>& config = {}) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  KafkaConfig settings = KafkaTlsFromEnvironment();
  settings["bootstrap.servers"] = brokers;
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof error) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InternalError(error);
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (rk == nullptr) return absl::InternalError(error);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_NewTopic_t* new_topic = nullptr;
  rd_kafka_DeleteTopic_t* old_topic = nullptr;
  if (create) {
    new_topic = rd_kafka_NewTopic_new(topic.c_str(), 2, 1, error, sizeof error);
    for (const auto& [name, value] : config) {
      rd_kafka_NewTopic_set_config(new_topic, name.c_str(), value.c_str());
    }
    rd_kafka_CreateTopics(rk, &new_topic, 1, nullptr, queue);
  } else {
    old_topic = rd_kafka_DeleteTopic_new(topic.c_str());
    rd_kafka_DeleteTopics(rk, &old_topic, 1, nullptr, queue);
  }
  absl::Status status = absl::DeadlineExceededError("no answer from the broker");
  if (rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 20000)) {
    const rd_kafka_topic_result_t** results = nullptr;
    size_t count = 0;
    if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = absl::InternalError(rd_kafka_event_error_string(event));
    } else {
      results = create ? rd_kafka_CreateTopics_result_topics(
                             rd_kafka_event_CreateTopics_result(event), &count)
                       : rd_kafka_DeleteTopics_result_topics(
                             rd_kafka_event_DeleteTopics_result(event), &count);
      status = count == 1 && rd_kafka_topic_result_error(results[0]) == RD_KAFKA_RESP_ERR_NO_ERROR
                   ? absl::OkStatus()
                   : absl::InternalError(absl::StrCat(
                         "topic ", topic, ": ",
                         count == 1 ? rd_kafka_topic_result_error_string(results[0]) : "?"));
    }
    rd_kafka_event_destroy(event);
  }
  if (new_topic != nullptr) rd_kafka_NewTopic_destroy(new_topic);
  if (old_topic != nullptr) rd_kafka_DeleteTopic_destroy(old_topic);
  rd_kafka_queue_destroy(queue);
  rd_kafka_destroy(rk);
  return status;
}

class OutboxRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    db_ = std::make_unique<ScratchDatabase>(stack_, "outbox_relay");
    pool_ = *PgPool::Create(db_->url(), 4);
    ASSERT_TRUE(ApplyMigrations(*pool_, "common", CommonMigrations()).ok());
    service_ = absl::StrCat("relay-test-", RandomHex(4));  // names the relay lock
    topic_ = absl::StrCat("test.outbox-relay.", RandomHex(4));
    absl::Status created = AdminTopic(stack_.kafka_brokers, topic_, true);
    ASSERT_TRUE(created.ok()) << created;
    // A new topic answers once its partitions have leaders.
    ASSERT_TRUE(Eventually(
        [&] {
          absl::StatusOr<std::map<int32_t, int64_t>> ends =
              KafkaConsumer::EndOffsets(stack_.kafka_brokers, topic_, absl::Seconds(5));
          return ends.ok() && ends->size() == 2;
        },
        absl::Seconds(30)));
    reader_ = std::make_unique<TopicReader>(stack_.kafka_brokers, topic_);
  }

  void TearDown() override {
    ASSERT_TRUE(failpoint::Configure("").ok());
    relays_.clear();
    SetProcessTls(TlsFilesFromEnvironment());
    reader_.reset();
    (void)AdminTopic(stack_.kafka_brokers, topic_, false);
    pool_.reset();
    db_.reset();
  }

  OutboxRelay& StartRelay(const std::string& replica, int batch_size = 500,
                          KafkaConfig producer_overrides = {}) {
    metrics_.push_back(std::make_unique<Metrics>(replica));
    relays_.push_back(std::make_unique<OutboxRelay>(
        OutboxRelayOptions{.service = service_,
                           .pg_url = db_->url(),
                           .brokers = stack_.kafka_brokers,
                           .topic = topic_,
                           .batch_size = batch_size,
                           .producer_overrides = std::move(producer_overrides)},
        *metrics_.back()));
    relays_.back()->Start();
    return *relays_.back();
  }

  // Commits `count` events of `aggregate` (sequences continuing from what it has), each also
  // bound for `also_topic` if given.
  void Append(const std::string& aggregate, int count, const std::string& also_topic = "") {
    ASSERT_TRUE(InTransaction(*pool_, [&](Tx& tx) -> absl::Status {
                  for (int i = 0; i < count; ++i) {
                    techtrade::common::v1::Money payload;
                    payload.set_currency("CNY");
                    payload.set_amount_minor(i);
                    AppendToOutbox(tx, service_,
                                   {.aggregate_type = "test",
                                    .aggregate_id = aggregate,
                                    .sequence = ++sequences_[aggregate],
                                    .payload = &payload,
                                    .also_topic = also_topic});
                  }
                  return absl::OkStatus();
                }).ok());
  }

  // Reads until every sequence of `aggregate` up to what was appended arrived; true if they
  // did, each first seen in order.
  bool PublishedInOrder(const std::string& aggregate) {
    const int64_t last = sequences_[aggregate];
    reader_->ReadUntil(
        [&](const std::vector<TopicReader::Event>&) {
          const auto events = reader_->ForAggregate(aggregate);
          return !events.empty() && events.back().envelope.sequence() >= last;
        },
        absl::Seconds(30));
    int64_t next = 1;
    for (const TopicReader::Event& e : reader_->ForAggregate(aggregate)) {
      if (e.envelope.sequence() == next) {
        ++next;
      } else if (e.envelope.sequence() > next) {
        ADD_FAILURE() << aggregate << ": sequence " << e.envelope.sequence() << " before " << next;
        return false;
      }  // a lower one is a redelivery of an event already seen, which consumers drop
    }
    return next == last + 1;
  }

  int64_t OutboxRows(const std::string& where = "true") {
    pqxx::connection conn(db_->url());
    pqxx::nontransaction tx(conn);
    return tx.exec1("SELECT count(*) FROM outbox WHERE " + where)[0].as<int64_t>();
  }

  Stack stack_;
  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<PgPool> pool_;
  std::string service_;
  std::string topic_;
  std::unique_ptr<TopicReader> reader_;
  std::vector<std::unique_ptr<Metrics>> metrics_;
  std::vector<std::unique_ptr<OutboxRelay>> relays_;
  std::map<std::string, int64_t> sequences_;
};

TEST_F(OutboxRelayTest, AnotherReplicaTakesOverWhenTheLeaderGoes) {
  OutboxRelay& first = StartRelay("replica-a");
  ASSERT_TRUE(Eventually([&] { return first.leader(); }, absl::Seconds(10)));
  OutboxRelay& second = StartRelay("replica-b");
  Append("deal-1", 5);
  ASSERT_TRUE(PublishedInOrder("deal-1"));
  // The lease is the service's: the second replica, asking since it started, never got it.
  EXPECT_FALSE(second.leader());
  EXPECT_TRUE(first.leader());

  // The leader stops cleanly, releasing its lease.
  relays_.front()->Stop();
  ASSERT_TRUE(Eventually([&] { return second.leader(); }, absl::Seconds(10)));
  Append("deal-1", 5);
  Append("deal-2", 3);
  EXPECT_TRUE(PublishedInOrder("deal-1"));
  EXPECT_TRUE(PublishedInOrder("deal-2"));
  EXPECT_TRUE(Eventually([&] { return OutboxRows() == 0; }, absl::Seconds(10)));
}

TEST_F(OutboxRelayTest, ProducerIsReplacedAfterAFatalError) {
  OutboxRelay& relay = StartRelay("replica-a");
  ASSERT_TRUE(Eventually([&] { return relay.leader(); }, absl::Seconds(10)));
  Append("deal-1", 3);
  ASSERT_TRUE(PublishedInOrder("deal-1"));
  Metrics& metrics = *metrics_.back();
  EXPECT_EQ(CounterValue(metrics, "techtrade_outbox_producer_recreated_total"), 0);

  // The next batch's producer fails fatally (rd_kafka_test_fatal_error) before it produces.
  ASSERT_TRUE(failpoint::Configure("outbox.producer_fatal=error").ok());
  Append("deal-1", 4);
  ASSERT_TRUE(Eventually(
      [&] { return CounterValue(metrics, "techtrade_outbox_producer_recreated_total") >= 1; },
      absl::Seconds(15)));
  ASSERT_TRUE(failpoint::Configure("").ok());
  // The rows the failed producer did not publish are published by its replacement, in order.
  EXPECT_TRUE(PublishedInOrder("deal-1"));
  Append("deal-1", 2);
  EXPECT_TRUE(PublishedInOrder("deal-1"));
  EXPECT_TRUE(Eventually([&] { return OutboxRows() == 0; }, absl::Seconds(10)));
}

// One topic the relay cannot create (a partner's, say, with its ACL missing) must not stop the
// outbox: its rows and the later rows of their aggregates wait, every other aggregate's events
// are published, also once the waiting rows are more than a batch.
TEST_F(OutboxRelayTest, ATopicThatCannotBeCreatedHoldsBackOnlyItsAggregates) {
  // '!' is not a legal character in a Kafka topic name: the broker refuses to create it.
  const std::string refused = absl::StrCat("test.outbox-relay.refused!", RandomHex(4));
  ASSERT_FALSE(AdminTopic(stack_.kafka_brokers, refused, true).ok());
  OutboxRelay& relay = StartRelay("replica-a", /*batch_size=*/4);
  ASSERT_TRUE(Eventually([&] { return relay.leader(); }, absl::Seconds(10)));

  // deal-held's first event: its row for `refused` cannot go, so neither does its service-topic
  // row (the service's stream must not run ahead of the partner's).
  Append("deal-held", 1, refused);
  Append("deal-ok-1", 3);
  // Later events of deal-held wait behind its first, on both topics.
  Append("deal-held", 1, refused);
  Append("deal-ok-2", 3);
  Append("deal-held", 3, refused);  // now more rows wait than a batch holds
  Append("deal-ok-3", 5);
  EXPECT_TRUE(PublishedInOrder("deal-ok-1"));
  EXPECT_TRUE(PublishedInOrder("deal-ok-2"));
  EXPECT_TRUE(PublishedInOrder("deal-ok-3"));

  // What waits: both rows of events 1 to 5.
  const int64_t waiting = 2 * 5;
  EXPECT_TRUE(Eventually([&] { return OutboxRows() == waiting; }, absl::Seconds(10)));
  EXPECT_EQ(OutboxRows("aggregateid <> 'deal-held'"), 0);
  EXPECT_EQ(OutboxRows("aggregateid = 'deal-held' AND topic IS NULL AND sequence = 1"), 1);
  // They stay through the topic's retries (its back-off starts at a second), and the lag gauge
  // counts them though the relay's reads skip them.
  Metrics& metrics = *metrics_.back();
  EXPECT_TRUE(
      Eventually([&] { return GaugeValue(metrics, "techtrade_outbox_pending_events") == waiting; },
                 absl::Seconds(10)));
  absl::SleepFor(absl::Seconds(3));
  EXPECT_EQ(OutboxRows(), waiting);
  EXPECT_TRUE(reader_->ForAggregate("deal-held").empty())
      << "deal-held's service stream ran ahead of its partner's";

  // New events of other aggregates still go.
  Append("deal-ok-1", 2);
  EXPECT_TRUE(PublishedInOrder("deal-ok-1"));
  // (Acknowledged rows are deleted with the relay's next read.)
  EXPECT_TRUE(Eventually([&] { return OutboxRows() == waiting; }, absl::Seconds(10)));
  EXPECT_EQ(OutboxRows("aggregateid <> 'deal-held'"), 0);
}

// A partner's topic that refuses what the relay delivers to it (here: a record size limit below
// any event; in production a removed ACL or a deleted topic). The relay created the topic, so the
// rows were produced; the broker's answer is the failure.
TEST_F(OutboxRelayTest, ADeliveryRefusedOnATopicHoldsItsAggregateAndBacksTheTopicOff) {
  const std::string refusing = absl::StrCat("test.outbox-relay.refusing.", RandomHex(4));
  absl::Status created =
      AdminTopic(stack_.kafka_brokers, refusing, true, {{"max.message.bytes", "16"}});
  ASSERT_TRUE(created.ok()) << created;
  OutboxRelay& relay = StartRelay("replica-a");
  ASSERT_TRUE(Eventually([&] { return relay.leader(); }, absl::Seconds(10)));
  Metrics& metrics = *metrics_.back();

  Append("deal-refused", 2, refusing);
  Append("deal-ok", 2);
  EXPECT_TRUE(PublishedInOrder("deal-ok"));
  ASSERT_TRUE(Eventually(
      [&] { return CounterValue(metrics, "techtrade_outbox_publish_failures_total") >= 2; },
      absl::Seconds(30)));
  // Event 2's service-topic row reached the broker, but its event 1 has not reached the
  // partner's topic: the row stays, so that nothing after a missing event is deleted.
  EXPECT_TRUE(Eventually([&] { return OutboxRows("aggregateid <> 'deal-refused'") == 0; },
                         absl::Seconds(10)));
  EXPECT_EQ(OutboxRows("aggregateid = 'deal-refused' AND topic IS NOT NULL"), 2);
  EXPECT_EQ(OutboxRows("aggregateid = 'deal-refused' AND topic IS NULL AND sequence = 2"), 1);

  // The topic backs off (a second, then two...): the aggregate is not sent again every batch.
  absl::SleepFor(absl::Seconds(3));
  int copies = 0;
  reader_->ReadUntil([](const std::vector<TopicReader::Event>&) { return false; },
                     absl::Seconds(1));
  for (const TopicReader::Event& e : reader_->ForAggregate("deal-refused")) {
    copies += e.envelope.sequence() == 2 ? 1 : 0;
  }
  EXPECT_GE(copies, 1);
  EXPECT_LE(copies, 4) << "event 2 sent again every batch while its topic refused it";

  // The topic made anew (an operator's repair): the relay creates it again when its back-off
  // ends, and the aggregate's events go, in order, on both topics.
  ASSERT_TRUE(AdminTopic(stack_.kafka_brokers, refusing, false).ok());
  EXPECT_TRUE(Eventually([&] { return OutboxRows() == 0; }, absl::Seconds(60)));
  EXPECT_TRUE(PublishedInOrder("deal-refused"));
  // The partner's topic holds both events, once each (one key: one partition, in order).
  absl::StatusOr<std::map<int32_t, int64_t>> ends =
      KafkaConsumer::EndOffsets(stack_.kafka_brokers, refusing, absl::Seconds(10));
  ASSERT_TRUE(ends.ok()) << ends.status();
  int64_t events = 0;
  for (const auto& [partition, end] : *ends) events += end;
  EXPECT_EQ(events, 2);
  (void)AdminTopic(stack_.kafka_brokers, refusing, false);
}

// librdkafka reads its certificate once, when a producer is made. A renewed certificate (a
// Secret's files swapped as the kubelet does) must reach the brokers without a restart: the relay
// replaces its producer, also one whose acknowledgements wait because the brokers refuse it.
TEST_F(OutboxRelayTest, ReplacesItsProducerWhenItsTlsFilesChange) {
  ASSERT_TRUE(ProcessTls().enabled()) << "the test stack runs with TLS: source its env file";
  TlsFiles fast = ProcessTls();
  fast.refresh = absl::Milliseconds(500);
  SetProcessTls(fast);
  const std::string dir = absl::StrCat(::testing::TempDir(), "/relay-tls-", RandomHex(6));
  SecretDir secret(dir + "/secret");
  const CertificateAuthority stack_ca = CertificateAuthority::OfStack();
  // The stack's CA file, which the brokers' certificates are valid under, in every generation.
  const std::string ca_file = ProcessTls().ca;
  // dev: the identity the stack's ACLs let write the test topics.
  secret.Publish(stack_ca.Issue("dev", dir, "first"), ca_file);
  OutboxRelay& relay = StartRelay("replica-a", 500,
                                  {{"ssl.ca.location", secret.ca()},
                                   {"ssl.certificate.location", secret.cert()},
                                   {"ssl.key.location", secret.key()}});
  ASSERT_TRUE(Eventually([&] { return relay.leader(); }, absl::Seconds(10)));
  Metrics& metrics = *metrics_.back();
  Append("deal-1", 2);
  ASSERT_TRUE(PublishedInOrder("deal-1"));
  EXPECT_EQ(CounterValue(metrics, "techtrade_outbox_producer_recreated_total"), 0);

  // A certificate the brokers refuse (a CA they do not trust): the relay takes it up, and its
  // events wait.
  const CertificateAuthority stranger = CertificateAuthority::SelfSigned("stranger", dir);
  secret.Publish(stranger.Issue("dev", dir, "refused"), ca_file);
  ASSERT_TRUE(Eventually(
      [&] { return CounterValue(metrics, "techtrade_outbox_producer_recreated_total") >= 1; },
      absl::Seconds(15)))
      << "the producer kept the certificate it was made with";
  Append("deal-1", 2);
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(OutboxRows(), 2) << "published with a certificate the brokers do not trust";

  // Renewed again, valid: the producer waiting on the refused certificate is replaced, and the
  // events go, in order.
  secret.Publish(stack_ca.Issue("dev", dir, "renewed"), ca_file);
  EXPECT_TRUE(PublishedInOrder("deal-1"));
  EXPECT_TRUE(Eventually([&] { return OutboxRows() == 0; }, absl::Seconds(10)));
  EXPECT_GE(CounterValue(metrics, "techtrade_outbox_producer_recreated_total"), 2);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace
}  // namespace techtrade::testing
