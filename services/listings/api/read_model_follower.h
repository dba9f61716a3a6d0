// Keeps this replica's ReadModel current: records where the service's topic ends, loads the
// listings from the database, then applies the topic's events from the recorded offsets on.
// Whatever commits after the offsets were recorded is in that tail, and an event the snapshot
// already reflects is ignored by its version, so nothing is lost and nothing applies twice.
//
// The tail never starts at the topic's beginning: the topic may hold events this database does
// not (a database restored from a backup, topics older than the database), and replaying them
// would make listings searchable that do not exist here.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "common/command.h"
#include "common/kafka.h"
#include "common/metrics.h"
#include "common/worker.h"
#include "services/listings/domain/read_model.h"
#include "services/listings/domain/read_model_freshness.h"
#include "services/listings/store/listings_store.h"
#include "techtrade/common/v1/common.pb.h"

namespace techtrade::listings {

class ReadModelFollower : public LoopWorker {
 public:
  // With `metrics`, CheckLag exports how far the model is behind (see there). `tail_overrides`:
  // librdkafka settings over the defaults of the follower's clients (its tail, CheckLag's).
  ReadModelFollower(ReadModel& model, Transactor<store::ListingsStore>& transactor,
                    std::string brokers, std::string topic, Metrics* metrics = nullptr,
                    KafkaConfig tail_overrides = {});
  ~ReadModelFollower() override;

  // Records where the topic ends, then loads the snapshot into the model. Call before serving.
  // If Kafka does not answer, the snapshot is loaded all the same (a replica must start while
  // Kafka is away) and the follower is left unpositioned: Run() records the ends once Kafka
  // answers, loads a fresh snapshot, swaps it in and only then tails.
  absl::Status Load();

  // Whether the follower knows where to tail from (set by Load or, later, by Run).
  bool positioned() const { return positioned_.load(); }

  // Applies one listings event to `model`; false if it was not a listings event or changed
  // nothing.
  static bool ApplyEvent(ReadModel& model, const techtrade::common::v1::EventEnvelope& event);

  // Asks Kafka where the topic ends and compares with where the follower is, from another thread
  // than the follower's (a PeriodicWorker's), so that a follower that stopped or stalls shows:
  //   techtrade_listings_read_model_lag_events{topic,partition}: events the model has not
  //     applied, as of this check;
  //   techtrade_listings_read_model_synced_timestamp_seconds{topic}: the latest moment before
  //     which the model holds every published event (a load from the database, or the follower
  //     reaching the ends an earlier check saw); time() minus it is how stale searches may be.
  // Nothing changes while the follower is unpositioned or Kafka does not answer: the timestamp
  // then ages. One caller at a time.
  void CheckLag();

 private:
  void Run() override;
  // Every listing and organisation visibility from the database into `into`.
  absl::Status LoadSnapshot(ReadModel& into);
  // Records the topic's ends and swaps a snapshot loaded after that into the model; false (after
  // a pause) if Kafka or the database did not answer.
  bool Position();
  // The model holds every event published before `at` (a snapshot taken after it).
  void Loaded(absl::Time at);
  void ExportSynced();  // with freshness_mutex_ held

  ReadModel& model_;
  Transactor<store::ListingsStore>& transactor_;
  const std::string brokers_;
  const std::string topic_;
  const KafkaConfig tail_overrides_;
  // Where the tail resumes: written by Run's thread (Load's before that), read by CheckLag's.
  std::mutex offsets_mutex_;
  std::map<int32_t, int64_t> start_offsets_;  // guarded by offsets_mutex_
  std::atomic<bool> positioned_{false};

  std::mutex freshness_mutex_;
  ReadModelFreshness freshness_;     // guarded by freshness_mutex_
  std::unique_ptr<TopicEnds> ends_;  // CheckLag's alone; created on its first call
  prometheus::Family<prometheus::Gauge>* lag_family_ = nullptr;
  std::map<int32_t, prometheus::Gauge*> lag_;  // by partition; guarded by freshness_mutex_
  prometheus::Gauge* synced_ = nullptr;        // added once known; guarded by freshness_mutex_
  prometheus::Family<prometheus::Gauge>* synced_family_ = nullptr;
  std::string service_;
};

}  // namespace techtrade::listings
