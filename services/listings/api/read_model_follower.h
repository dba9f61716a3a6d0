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
#include <string>

#include "absl/status/status.h"
#include "common/command.h"
#include "common/kafka.h"
#include "common/worker.h"
#include "services/listings/domain/read_model.h"
#include "services/listings/store/listings_store.h"
#include "techtrade/common/v1/common.pb.h"

namespace techtrade::listings {

class ReadModelFollower : public LoopWorker {
 public:
  // `tail_overrides`: librdkafka settings for the tail over its defaults
  // (KafkaConsumer::CreateTail).
  ReadModelFollower(ReadModel& model, Transactor<store::ListingsStore>& transactor,
                    std::string brokers, std::string topic, KafkaConfig tail_overrides = {})
      : LoopWorker("read-model follower"),
        model_(model),
        transactor_(transactor),
        brokers_(std::move(brokers)),
        topic_(std::move(topic)),
        tail_overrides_(std::move(tail_overrides)) {}
  ~ReadModelFollower() override { Stop(); }

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

 private:
  void Run() override;
  // Every listing and organisation visibility from the database into `into`.
  absl::Status LoadSnapshot(ReadModel& into);
  // Records the topic's ends and swaps a snapshot loaded after that into the model; false (after
  // a pause) if Kafka or the database did not answer.
  bool Position();

  ReadModel& model_;
  Transactor<store::ListingsStore>& transactor_;
  const std::string brokers_;
  const std::string topic_;
  const KafkaConfig tail_overrides_;
  std::map<int32_t, int64_t> start_offsets_;  // Run's thread only, once Load has returned
  std::atomic<bool> positioned_{false};
};

}  // namespace techtrade::listings
