// Keeps this replica's ReadModel current: the published listings are loaded at start-up, then
// the service's own events are applied from the offsets the topic had before loading began. An
// event already reflected in the snapshot is ignored by its version, so nothing is lost between
// the two and nothing applies twice.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "common/command.h"
#include "common/worker.h"
#include "services/listings/domain/read_model.h"
#include "services/listings/store/listings_store.h"
#include "techtrade/common/v1/common.pb.h"

namespace techtrade::listings {

class ReadModelFollower : public LoopWorker {
 public:
  ReadModelFollower(ReadModel& model, Transactor<store::ListingsStore>& transactor,
                    std::string brokers, std::string topic)
      : LoopWorker("read-model follower"),
        model_(model),
        transactor_(transactor),
        brokers_(std::move(brokers)),
        topic_(std::move(topic)) {}
  ~ReadModelFollower() override { Stop(); }

  // Records where the topic ends (its beginning if Kafka cannot say), then loads the snapshot.
  // Call before serving.
  absl::Status Load();

  // Applies one listings event to `model`; false if it was not a listings event or changed
  // nothing.
  static bool ApplyEvent(ReadModel& model, const techtrade::common::v1::EventEnvelope& event);

 private:
  void Run() override;

  ReadModel& model_;
  Transactor<store::ListingsStore>& transactor_;
  const std::string brokers_;
  const std::string topic_;
  std::map<int32_t, int64_t> start_offsets_;
};

}  // namespace techtrade::listings
