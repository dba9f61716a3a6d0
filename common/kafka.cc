#include "common/kafka.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/status.h"
#include "common/tls_files.h"

namespace techtrade {
namespace {

// Sets `settings` on `conf`; the TLS files the client made of it will have loaded.
absl::StatusOr<KafkaTlsFiles> ApplyConfig(RdKafka::Conf& conf, const KafkaConfig& settings) {
  std::string error;
  // Every client speaks TLS when the environment names the files; `settings` still win.
  KafkaConfig all = KafkaTlsFromEnvironment();
  for (const auto& [key, value] : settings) all[key] = value;
  for (const auto& [key, value] : all) {
    if (conf.set(key, value, error) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat("kafka config ", key, ": ", error));
    }
  }
  return KafkaTlsFiles(all, ProcessTls().refresh);
}

std::string ReadWhole(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ok = !in.bad() && in.is_open();
  return contents;
}

int ToMillis(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

}  // namespace

KafkaConfig KafkaTlsFromEnvironment() {
  const char* ca = std::getenv("TECHTRADE_KAFKA_CA");
  if (ca == nullptr || *ca == '\0') return {};
  KafkaConfig tls = {{"security.protocol", "ssl"},
                     {"ssl.ca.location", ca},
                     {"ssl.endpoint.identification.algorithm", "https"}};
  if (const char* cert = std::getenv("TECHTRADE_KAFKA_CERT"); cert != nullptr && *cert != '\0') {
    tls["ssl.certificate.location"] = cert;
  }
  if (const char* key = std::getenv("TECHTRADE_KAFKA_KEY"); key != nullptr && *key != '\0') {
    tls["ssl.key.location"] = key;
  }
  return tls;
}

KafkaTlsFiles::KafkaTlsFiles(const KafkaConfig& settings, absl::Duration every)
    : every_(every), next_look_(absl::Now() + every) {
  for (const char* setting : {"ssl.ca.location", "ssl.certificate.location", "ssl.key.location"}) {
    auto it = settings.find(setting);
    if (it == settings.end() || it->second.empty()) continue;
    bool ok = false;
    std::string contents = ReadWhole(it->second, ok);
    loaded_.emplace_back(it->second, ok ? std::move(contents) : std::string());
  }
  if (loaded_.empty()) next_look_ = absl::InfiniteFuture();
}

bool KafkaTlsFiles::Changed(absl::Time now) {
  if (changed_ || now < next_look_) return changed_;
  next_look_ = now + every_;
  for (const auto& [path, contents] : loaded_) {
    bool ok = false;
    std::string current = ReadWhole(path, ok);
    if (ok && current != contents) changed_ = true;
  }
  return changed_;
}

absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeKafkaConf(const KafkaConfig& settings) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  TT_RETURN_IF_ERROR(ApplyConfig(*conf, settings).status());
  return conf;
}

class KafkaProducer::Callbacks : public RdKafka::DeliveryReportCb, public RdKafka::EventCb {
 public:
  Callbacks(KafkaProducer* owner, DeliveryCallback on_delivery)
      : owner_(owner), on_delivery_(std::move(on_delivery)) {}

  void dr_cb(RdKafka::Message& message) override {
    absl::Status result =
        message.err() == RdKafka::ERR_NO_ERROR
            ? absl::OkStatus()
            : absl::UnavailableError(absl::StrCat("kafka delivery failed: ", message.errstr()));
    on_delivery_(message.msg_opaque(), result);
  }

  void event_cb(RdKafka::Event& event) override {
    if (event.type() != RdKafka::Event::EVENT_ERROR) return;
    if (event.fatal()) {
      owner_->fatal_ = true;
      log::Error("kafka producer fatal error", {{"error", event.str()}});
    } else if (event.err() != RdKafka::ERR__TRANSPORT &&
               event.err() != RdKafka::ERR__ALL_BROKERS_DOWN) {
      log::Warn("kafka producer error", {{"error", event.str()}});
    } else {
      log::Debug("kafka producer transport error", {{"error", event.str()}});
    }
  }

 private:
  KafkaProducer* owner_;
  DeliveryCallback on_delivery_;
};

absl::StatusOr<std::unique_ptr<KafkaProducer>> KafkaProducer::Create(const std::string& brokers,
                                                                     const KafkaConfig& overrides,
                                                                     DeliveryCallback on_delivery) {
  std::unique_ptr<KafkaProducer> producer(new KafkaProducer());
  producer->callbacks_ = std::make_unique<Callbacks>(producer.get(), std::move(on_delivery));
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  KafkaConfig settings = {
      {"bootstrap.servers", brokers},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"message.timeout.ms", "0"},  // never give up on a message: the outbox row waits anyway
      // The outbox relay hands the producer a whole batch at once and waits for its
      // acknowledgements. With no linger the first event leaves alone and the rest follow in
      // more produce requests, each costing the broker as much CPU as a full one; 1 ms lets the
      // batch go as one, and more only adds latency.
      {"linger.ms", "1"},
      // Events are small: compressing small batches costs the broker about twice the CPU (it
      // decompresses to validate) for bytes a data-centre network does not miss.
      {"compression.type", "none"},
      {"socket.keepalive.enable", "true"},
      // Without TCP_NODELAY, Nagle's algorithm meeting the broker's delayed ACKs adds up to
      // 40 ms to a small produce request (librdkafka 2.0 leaves Nagle on by default).
      {"socket.nagle.disable", "true"},
      {"reconnect.backoff.max.ms", "1000"},
  };
  for (const auto& [key, value] : overrides) settings[key] = value;
  TT_ASSIGN_OR_RETURN(producer->tls_files_, ApplyConfig(*conf, settings));
  std::string error;
  conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(producer->callbacks_.get()), error);
  conf->set("event_cb", static_cast<RdKafka::EventCb*>(producer->callbacks_.get()), error);
  producer->producer_.reset(RdKafka::Producer::create(conf.get(), error));
  if (producer->producer_ == nullptr) {
    return absl::InternalError(absl::StrCat("kafka producer: ", error));
  }
  return producer;
}

KafkaProducer::~KafkaProducer() {
  if (producer_ != nullptr) {
    // Whatever is still queued is reported as failed (and stays unpublished in the outbox).
    producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    producer_->poll(0);
  }
}

absl::Status KafkaProducer::Produce(const std::string& topic, absl::string_view key,
                                    absl::string_view value,
                                    const std::vector<KafkaHeader>& headers, void* opaque) {
  RdKafka::Headers* kafka_headers = RdKafka::Headers::create();
  for (const KafkaHeader& h : headers) kafka_headers->add(h.key, h.value.data(), h.value.size());
  RdKafka::ErrorCode err =
      producer_->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                         const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0,
                         kafka_headers, opaque);
  if (err != RdKafka::ERR_NO_ERROR) {
    // The fatal error's event may not have been polled yet; the owner must know now, or it
    // would keep producing into a producer that refuses everything.
    if (err == RdKafka::ERR__FATAL) fatal_ = true;
    delete kafka_headers;  // ownership passes to librdkafka only on success
    // A full queue is the producer's state, not the message's: the caller may stop and retry.
    if (err == RdKafka::ERR__QUEUE_FULL) {
      return absl::ResourceExhaustedError(absl::StrCat("kafka produce: ", RdKafka::err2str(err)));
    }
    return absl::UnavailableError(absl::StrCat("kafka produce: ", RdKafka::err2str(err)));
  }
  return absl::OkStatus();
}

void KafkaProducer::Poll(absl::Duration timeout) { producer_->poll(ToMillis(timeout)); }

void KafkaProducer::InjectFatalError(const std::string& reason) {
  rd_kafka_test_fatal_error(producer_->c_ptr(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                            reason.c_str());
}

void KafkaProducer::Purge() {
  producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
  producer_->poll(0);
}

// Serves the handle's main queue — statistics and client-wide errors — on a thread of its own
// instead of in the owner's consume() calls. Rebalances and messages stay on the consumer queue.
class KafkaConsumer::StatisticsReader {
 public:
  StatisticsReader(rd_kafka_t* handle, StatisticsCallback on_statistics)
      : handle_(handle),
        queue_(rd_kafka_queue_new(handle)),
        on_statistics_(std::move(on_statistics)) {
    rd_kafka_queue_t* main = rd_kafka_queue_get_main(handle);
    rd_kafka_queue_forward(main, queue_);
    rd_kafka_queue_destroy(main);
    thread_ = std::thread([this] { Run(); });
  }
  ~StatisticsReader() {
    stopping_ = true;
    thread_.join();
    // Back to the consumer queue, as librdkafka had it, so the handle's close sees it whole.
    rd_kafka_poll_set_consumer(handle_);
    rd_kafka_queue_destroy(queue_);
  }

 private:
  void Run() {
    while (!stopping_) {
      rd_kafka_event_t* event = rd_kafka_queue_poll(queue_, 200);
      if (event == nullptr) continue;
      switch (rd_kafka_event_type(event)) {
        case RD_KAFKA_EVENT_STATS:
          on_statistics_(rd_kafka_event_stats(event));
          break;
        case RD_KAFKA_EVENT_ERROR:
          log::Warn("kafka consume error", {{"error", rd_kafka_event_error_string(event)}});
          break;
        default:
          break;
      }
      rd_kafka_event_destroy(event);
    }
  }

  rd_kafka_t* const handle_;
  rd_kafka_queue_t* const queue_;
  const StatisticsCallback on_statistics_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

KafkaConsumer::KafkaConsumer() = default;

absl::StatusOr<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Create(
    const std::string& brokers, const std::string& group_id, const std::vector<std::string>& topics,
    const KafkaConfig& overrides, StatisticsCallback on_statistics) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  KafkaConfig settings = {
      {"bootstrap.servers", brokers},
      {"group.id", group_id},
      // Offsets are stored by Commit() once an event's effect is in the database, and sent to
      // the broker by librdkafka every second and when partitions are revoked or the consumer
      // closes. An OffsetCommit request per event cost the broker more CPU than the events
      // themselves; what a crash loses is at most a second of redelivery, which the inbox makes
      // a no-op.
      {"enable.auto.commit", "true"},
      {"auto.commit.interval.ms", "1000"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"isolation.level", "read_committed"},
      {"enable.partition.eof", "false"},
      {"socket.nagle.disable", "true"},
      // Under load the broker answers a fetch once 16 KiB are there, instead of once per produce
      // request: a fetch costs the broker as much CPU whether it carries one event or a hundred.
      // At a trickle an event waits up to 100 ms, which is also how often an idle consumer asks.
      {"fetch.min.bytes", "16384"},
      {"fetch.wait.max.ms", "100"},
      // A member that died without leaving holds its partitions until its session expires: 10 s
      // instead of librdkafka's 45 s bounds how long a crashed replica stalls the group.
      {"session.timeout.ms", "10000"},
      {"heartbeat.interval.ms", "3000"},
  };
  if (on_statistics) settings["statistics.interval.ms"] = "5000";
  for (const auto& [key, value] : overrides) settings[key] = value;
  std::unique_ptr<KafkaConsumer> consumer(new KafkaConsumer());
  TT_ASSIGN_OR_RETURN(consumer->tls_files_, ApplyConfig(*conf, settings));
  std::string error;
  consumer->consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (consumer->consumer_ == nullptr) {
    return absl::InternalError(absl::StrCat("kafka consumer: ", error));
  }
  if (on_statistics) {
    consumer->statistics_ =
        std::make_unique<StatisticsReader>(consumer->consumer_->c_ptr(), std::move(on_statistics));
  }
  RdKafka::ErrorCode err = consumer->consumer_->subscribe(topics);
  if (err != RdKafka::ERR_NO_ERROR) {
    return absl::InternalError(absl::StrCat("kafka subscribe: ", RdKafka::err2str(err)));
  }
  return consumer;
}

namespace {

// `tls_files` (when given) receives the TLS files the consumer loaded.
absl::StatusOr<std::unique_ptr<RdKafka::KafkaConsumer>> GrouplessConsumer(
    const std::string& brokers, const KafkaConfig& overrides = {},
    KafkaTlsFiles* tls_files = nullptr) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  // A group id is required by the API even though nothing joins or commits.
  KafkaConfig settings = {
      {"bootstrap.servers", brokers},        {"group.id", "techtrade-tail-" + RandomHex(8)},
      {"enable.auto.commit", "false"},       {"enable.auto.offset.store", "false"},
      {"isolation.level", "read_committed"}, {"enable.partition.eof", "false"},
      {"socket.nagle.disable", "true"},      {"fetch.wait.max.ms", "100"},
  };
  for (const auto& [key, value] : overrides) settings[key] = value;
  TT_ASSIGN_OR_RETURN(KafkaTlsFiles loaded, ApplyConfig(*conf, settings));
  if (tls_files != nullptr) *tls_files = std::move(loaded);
  std::string error;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(conf.get(), error));
  if (consumer == nullptr) return absl::InternalError(absl::StrCat("kafka consumer: ", error));
  return consumer;
}

absl::StatusOr<std::vector<int32_t>> Partitions(RdKafka::KafkaConsumer& consumer,
                                                const std::string& topic, absl::Duration timeout) {
  std::string error;
  std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(&consumer, topic, nullptr, error));
  RdKafka::Metadata* raw = nullptr;
  RdKafka::ErrorCode err = consumer.metadata(false, t.get(), &raw, ToMillis(timeout));
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  if (err != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("kafka metadata: ", RdKafka::err2str(err)));
  }
  std::vector<int32_t> partitions;
  for (const auto* tm : *metadata->topics()) {
    if (tm->err() != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError(
          absl::StrCat("kafka topic ", topic, ": ", RdKafka::err2str(tm->err())));
    }
    for (const auto* pm : *tm->partitions()) partitions.push_back(pm->id());
  }
  return partitions;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KafkaConsumer>> KafkaConsumer::CreateTail(
    const std::string& brokers, const std::string& topic,
    const std::map<int32_t, int64_t>& start_offsets, const KafkaConfig& overrides) {
  // librdkafka's default for an offset out of range is to jump to the end, skipping silently; the
  // beginning would replay what the reader never meant to read. "error" hands it to the reader
  // (Poll, out_of_range).
  KafkaConfig settings = {{"auto.offset.reset", "error"}};
  for (const auto& [key, value] : overrides) settings[key] = value;
  std::unique_ptr<KafkaConsumer> consumer(new KafkaConsumer());
  TT_ASSIGN_OR_RETURN(consumer->consumer_,
                      GrouplessConsumer(brokers, settings, &consumer->tls_files_));
  std::vector<int32_t> partitions;
  if (absl::StatusOr<std::vector<int32_t>> known =
          Partitions(*consumer->consumer_, topic, absl::Seconds(5));
      known.ok()) {
    partitions = *std::move(known);
  }
  for (const auto& [partition, offset] : start_offsets) {
    if (std::find(partitions.begin(), partitions.end(), partition) == partitions.end()) {
      partitions.push_back(partition);
    }
  }
  if (partitions.empty()) return absl::UnavailableError("kafka: no partitions known for " + topic);
  std::vector<RdKafka::TopicPartition*> assignment;
  for (int32_t p : partitions) {
    auto it = start_offsets.find(p);
    assignment.push_back(RdKafka::TopicPartition::create(
        topic, p, it == start_offsets.end() ? RdKafka::Topic::OFFSET_BEGINNING : it->second));
  }
  RdKafka::ErrorCode err = consumer->consumer_->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  if (err != RdKafka::ERR_NO_ERROR) {
    return absl::InternalError(absl::StrCat("kafka assign: ", RdKafka::err2str(err)));
  }
  return consumer;
}

absl::StatusOr<std::map<int32_t, int64_t>> KafkaConsumer::EndOffsets(const std::string& brokers,
                                                                     const std::string& topic,
                                                                     absl::Duration timeout) {
  TT_ASSIGN_OR_RETURN(std::unique_ptr<TopicEnds> ends, TopicEnds::Create(brokers));
  return ends->Read(topic, timeout);
}

absl::StatusOr<std::unique_ptr<TopicEnds>> TopicEnds::Create(const std::string& brokers,
                                                             const KafkaConfig& overrides) {
  std::unique_ptr<TopicEnds> ends(new TopicEnds());
  TT_ASSIGN_OR_RETURN(ends->consumer_, GrouplessConsumer(brokers, overrides, &ends->tls_files_));
  return ends;
}

TopicEnds::~TopicEnds() {
  if (consumer_ != nullptr) consumer_->close();
}

absl::StatusOr<std::map<int32_t, int64_t>> TopicEnds::Read(const std::string& topic,
                                                           absl::Duration timeout) {
  // The client's own errors (a broker down) queue up on it until served; serving them here keeps
  // a long-lived one from accumulating them through an outage.
  for (int served = 0; served < 100; ++served) {
    std::unique_ptr<RdKafka::Message> event(consumer_->consume(0));
    if (event == nullptr || event->err() == RdKafka::ERR__TIMED_OUT) break;
  }
  TT_ASSIGN_OR_RETURN(std::vector<int32_t> partitions, Partitions(*consumer_, topic, timeout));
  std::map<int32_t, int64_t> offsets;
  for (int32_t p : partitions) {
    int64_t low = 0, high = 0;
    RdKafka::ErrorCode err =
        consumer_->query_watermark_offsets(topic, p, &low, &high, ToMillis(timeout));
    if (err != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError(absl::StrCat("kafka offsets: ", RdKafka::err2str(err)));
    }
    offsets[p] = high;
  }
  return offsets;
}

KafkaConsumer::~KafkaConsumer() {
  // The statistics thread stops first: what close() reports meanwhile waits in the queue and
  // goes with the handle.
  statistics_.reset();
  if (consumer_ != nullptr) consumer_->close();
}

std::unique_ptr<RdKafka::Message> KafkaConsumer::Poll(absl::Duration timeout) {
  std::unique_ptr<RdKafka::Message> message(consumer_->consume(ToMillis(timeout)));
  if (message == nullptr) return nullptr;
  switch (message->err()) {
    case RdKafka::ERR_NO_ERROR:
      return message;
    case RdKafka::ERR__TIMED_OUT:
    case RdKafka::ERR__PARTITION_EOF:
      return nullptr;
    case RdKafka::ERR__AUTO_OFFSET_RESET:
      log::Warn("kafka offset out of range", {{"error", message->errstr()}});
      out_of_range_ = true;
      return nullptr;
    default:
      log::Warn("kafka consume error", {{"error", message->errstr()}});
      return nullptr;
  }
}

absl::Status KafkaConsumer::Commit(const RdKafka::Message& message) {
  std::vector<RdKafka::TopicPartition*> offsets = {RdKafka::TopicPartition::create(
      message.topic_name(), message.partition(), message.offset() + 1)};
  // Stored only: librdkafka commits the stored offsets in the background (see Create).
  RdKafka::ErrorCode err = consumer_->offsets_store(offsets);
  RdKafka::TopicPartition::destroy(offsets);
  if (err != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("kafka commit: ", RdKafka::err2str(err)));
  }
  return absl::OkStatus();
}

absl::Status KafkaProducer::CreateTopic(const std::string& topic, absl::Duration timeout) {
  rd_kafka_t* rk = producer_->c_ptr();
  char error[512];
  rd_kafka_NewTopic_t* new_topic = rd_kafka_NewTopic_new(
      topic.c_str(), /*num_partitions=*/-1, /*replication_factor=*/-1, error, sizeof error);
  if (new_topic == nullptr) return absl::InvalidArgumentError(absl::StrCat(topic, ": ", error));
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(options, ToMillis(timeout), error, sizeof error);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &new_topic, 1, options, queue);
  absl::Status status =
      absl::DeadlineExceededError(absl::StrCat("creating topic ", topic, ": no answer"));
  if (rd_kafka_event_t* event = rd_kafka_queue_poll(queue, ToMillis(timeout) + 1000)) {
    size_t count = 0;
    const rd_kafka_topic_result_t** results = nullptr;
    if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = absl::UnavailableError(
          absl::StrCat("creating topic ", topic, ": ", rd_kafka_event_error_string(event)));
    } else if (const rd_kafka_CreateTopics_result_t* result =
                   rd_kafka_event_CreateTopics_result(event)) {
      results = rd_kafka_CreateTopics_result_topics(result, &count);
      const rd_kafka_resp_err_t err =
          count == 1 ? rd_kafka_topic_result_error(results[0]) : RD_KAFKA_RESP_ERR__FAIL;
      status = err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS
                   ? absl::OkStatus()
                   : absl::UnavailableError(absl::StrCat(
                         "creating topic ", topic, ": ",
                         count == 1 ? rd_kafka_topic_result_error_string(results[0]) : "?"));
    }
    rd_kafka_event_destroy(event);
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy(new_topic);
  return status;
}

}  // namespace techtrade
