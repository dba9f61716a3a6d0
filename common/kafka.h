// Thin wrappers over librdkafka's C++ API: an idempotent producer (acks=all) that reports each
// message's fate, and a consumer that commits offsets only when told to (after the DB commit).
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace techtrade {

using KafkaConfig = std::map<std::string, std::string>;

// TLS settings for every client this process makes, from the environment: TECHTRADE_KAFKA_CA
// (the CA that signed the brokers' certificates; set = TLS on, with the broker's name checked),
// TECHTRADE_KAFKA_CERT and TECHTRADE_KAFKA_KEY (this client's certificate and key, whose CN is
// its principal in the brokers' ACLs). Empty when TECHTRADE_KAFKA_CA is unset.
KafkaConfig KafkaTlsFromEnvironment();

// A librdkafka configuration: KafkaTlsFromEnvironment(), then `settings`. Every client of the
// project is configured through this, so that none forgets TLS.
absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeKafkaConf(const KafkaConfig& settings);

// The TLS files a client was made with (ssl.ca.location, ssl.certificate.location,
// ssl.key.location). librdkafka reads them once, when the client is made, so a renewed
// certificate (cert-manager rewriting a mounted Secret) reaches the brokers only through a new
// client: the owners ask TlsFilesChanged() between batches and replace the client when it says so.
class KafkaTlsFiles {
 public:
  // No files: never changed.
  KafkaTlsFiles() = default;
  // Remembers the contents of the files `settings` names, looked at again at most every `every`.
  KafkaTlsFiles(const KafkaConfig& settings, absl::Duration every);

  // Whether a file's contents differ from what the client was made with; once they do, true from
  // then on. A file that cannot be read (a Secret in the middle of its swap) counts as unchanged
  // until the next look.
  bool Changed(absl::Time now);

 private:
  std::vector<std::pair<std::string, std::string>> loaded_;  // path, contents when made
  absl::Duration every_ = absl::InfiniteDuration();
  absl::Time next_look_ = absl::InfiniteFuture();
  bool changed_ = false;
};

struct KafkaHeader {
  std::string key;
  std::string value;
};

class KafkaProducer {
 public:
  // Called from Poll() once per produced message with the opaque given to Produce().
  using DeliveryCallback = std::function<void(void* opaque, const absl::Status& result)>;

  // Settings that make delivery exactly-once per producer session and ordered per partition:
  // enable.idempotence, acks=all, no delivery timeout (the broker being away only delays).
  // `overrides` win over these defaults.
  static absl::StatusOr<std::unique_ptr<KafkaProducer>> Create(const std::string& brokers,
                                                               const KafkaConfig& overrides,
                                                               DeliveryCallback on_delivery);
  ~KafkaProducer();

  // Enqueues; the outcome arrives through the delivery callback. RESOURCE_EXHAUSTED: the local
  // queue is full (queue.buffering.max.messages), nothing wrong with this message.
  absl::Status Produce(const std::string& topic, absl::string_view key, absl::string_view value,
                       const std::vector<KafkaHeader>& headers, void* opaque);
  // Serves delivery reports and errors for up to `timeout`.
  void Poll(absl::Duration timeout);
  // A fatal error (e.g. librdkafka 2.0's out-of-order-sequence after a disconnect) makes this
  // producer unusable: the owner must destroy it and create another.
  bool fatal() const { return fatal_.load(); }
  // Drops queued and in-flight messages (each is reported as failed), for shutdown.
  void Purge();
  // Makes this producer fail fatally, as librdkafka's idempotence can (rd_kafka_test_fatal_error),
  // for the failpoint outbox.producer_fatal.
  void InjectFatalError(const std::string& reason);
  int OutQueueLength() const { return producer_->outq_len(); }
  // Creates `topic` with the brokers' default partition count and replication factor (admin API,
  // on this producer's connections); a topic that exists already is success.
  absl::Status CreateTopic(const std::string& topic, absl::Duration timeout);
  // The TLS files changed since this producer was made (KafkaTlsFiles): replace it once nothing
  // is in flight.
  bool TlsFilesChanged() { return tls_files_.Changed(absl::Now()); }

 private:
  class Callbacks;
  KafkaProducer() = default;
  std::unique_ptr<Callbacks> callbacks_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::atomic<bool> fatal_{false};
  KafkaTlsFiles tls_files_;
};

class KafkaConsumer {
 public:
  // Called with librdkafka's statistics JSON every `statistics.interval.ms`.
  using StatisticsCallback = std::function<void(const std::string& json)>;

  // A member of consumer group `group_id`, reading `topics` from the earliest offset when the
  // group has none, committed messages only, offsets committed explicitly. With
  // `on_statistics`, librdkafka's statistics (every 5 s unless `overrides` set
  // statistics.interval.ms) reach it on a thread of this consumer's own: they keep coming while
  // the owner is busy and not polling, which is when a consumer falls behind.
  static absl::StatusOr<std::unique_ptr<KafkaConsumer>> Create(
      const std::string& brokers, const std::string& group_id,
      const std::vector<std::string>& topics, const KafkaConfig& overrides = {},
      StatisticsCallback on_statistics = nullptr);
  // A reader of every partition of `topic` from the given offsets (partition → offset; a partition
  // not listed starts at the beginning), outside any consumer group and committing nothing: each
  // replica of a read model reads the whole stream for itself. An offset out of range (the topic
  // was recreated or truncated) is not replaced by another: Poll() stops there and
  // out_of_range() says so, for the owner to decide where to read from.
  static absl::StatusOr<std::unique_ptr<KafkaConsumer>> CreateTail(
      const std::string& brokers, const std::string& topic,
      const std::map<int32_t, int64_t>& start_offsets, const KafkaConfig& overrides = {});
  // The offset after the last message of each partition of `topic`, now.
  static absl::StatusOr<std::map<int32_t, int64_t>> EndOffsets(const std::string& brokers,
                                                               const std::string& topic,
                                                               absl::Duration timeout);
  ~KafkaConsumer();

  // The next message, nullptr when none arrived within `timeout`; partition EOF and transient
  // errors are logged and yield nullptr too.
  std::unique_ptr<RdKafka::Message> Poll(absl::Duration timeout);
  // Marks `message` done: the offset after it is committed to the group within a second, and
  // when the consumer closes or loses the partition.
  absl::Status Commit(const RdKafka::Message& message);
  // A tail (CreateTail) met an offset out of range; it fetches no more from that partition.
  bool out_of_range() const { return out_of_range_; }
  // The TLS files changed since this consumer was made (KafkaTlsFiles): replace it between
  // messages (a group member's stored offsets are committed when it closes).
  bool TlsFilesChanged() { return tls_files_.Changed(absl::Now()); }

 private:
  class StatisticsReader;
  KafkaConsumer();
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<StatisticsReader> statistics_;  // stopped before consumer_ closes
  bool out_of_range_ = false;
  KafkaTlsFiles tls_files_;
};

// Where a topic's partitions end, asked as often as needed over one client, so that a periodic
// check costs a request, not a new connection and TLS handshake.
class TopicEnds {
 public:
  static absl::StatusOr<std::unique_ptr<TopicEnds>> Create(const std::string& brokers,
                                                           const KafkaConfig& overrides = {});
  ~TopicEnds();
  // The offset after the last message of each partition of `topic`, now.
  absl::StatusOr<std::map<int32_t, int64_t>> Read(const std::string& topic, absl::Duration timeout);
  // The TLS files changed since this client was made (KafkaTlsFiles): make another.
  bool TlsFilesChanged() { return tls_files_.Changed(absl::Now()); }

 private:
  TopicEnds() = default;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  KafkaTlsFiles tls_files_;
};

}  // namespace techtrade
