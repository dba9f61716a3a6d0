#include "services/listings/api/read_model_follower.h"

#include "common/kafka.h"
#include "common/log.h"
#include "techtrade/listings/v1/listings.pb.h"

namespace techtrade::listings {
namespace {

constexpr absl::Duration kKafkaTimeout = absl::Seconds(5);
constexpr absl::Duration kRetryPause = absl::Seconds(1);

}  // namespace

absl::Status ReadModelFollower::Load() {
  absl::StatusOr<std::map<int32_t, int64_t>> ends =
      KafkaConsumer::EndOffsets(brokers_, topic_, kKafkaTimeout);
  if (ends.ok()) {
    start_offsets_ = *std::move(ends);
    positioned_ = true;
  } else {
    log::Warn("read model: topic end unknown; serving the database's listings until Kafka answers",
              {{"error", ends.status().ToString()}});
  }
  return LoadSnapshot(model_);
}

absl::Status ReadModelFollower::LoadSnapshot(ReadModel& into) {
  size_t offers = 0, demands = 0;
  absl::Status loaded = transactor_.Run([&](store::ListingsStore& listings, UnitOfWork&) {
    listings.ForEachVisibility([&](const std::string& org, const store::Visibility& v) {
      into.SetOrganizationHidden(org, v.hidden, v.registry_sequence);
    });
    listings.ForEachPublished(
        [&](const v1::Offer& o) {
          into.ApplyOffer(o);
          ++offers;
        },
        [&](const v1::Demand& d) {
          into.ApplyDemand(d);
          ++demands;
        });
    return absl::OkStatus();
  });
  if (!loaded.ok()) return loaded;
  log::Info("read model loaded", {{"offers", offers}, {"demands", demands}});
  return absl::OkStatus();
}

bool ReadModelFollower::Position() {
  absl::StatusOr<std::map<int32_t, int64_t>> ends =
      KafkaConsumer::EndOffsets(brokers_, topic_, kKafkaTimeout);
  if (!ends.ok()) {
    log::Warn("read model: topic end still unknown", {{"error", ends.status().ToString()}});
    SleepFor(kRetryPause);
    return false;
  }
  // The model kept changing while unpositioned (this replica's own writes), but what other
  // replicas committed meanwhile reached it through no tail: a snapshot taken after the ends
  // were recorded covers everything before them.
  ReadModel fresh;
  if (absl::Status loaded = LoadSnapshot(fresh); !loaded.ok()) {
    log::Warn("read model: cannot reload the listings", {{"error", loaded.ToString()}});
    SleepFor(kRetryPause);
    return false;
  }
  model_.ReplaceWith(std::move(fresh));
  start_offsets_ = *std::move(ends);
  positioned_ = true;
  log::Info("read model positioned on the topic", {{"partitions", start_offsets_.size()}});
  return true;
}

bool ReadModelFollower::ApplyEvent(ReadModel& model,
                                   const techtrade::common::v1::EventEnvelope& event) {
  const google::protobuf::Any& payload = event.payload();
  if (v1::OfferCreated e; payload.UnpackTo(&e)) return model.ApplyOffer(e.offer());
  if (v1::OfferUpdated e; payload.UnpackTo(&e)) return model.ApplyOffer(e.offer());
  if (v1::OfferPublished e; payload.UnpackTo(&e)) return model.ApplyOffer(e.offer());
  if (v1::OfferWithdrawn e; payload.UnpackTo(&e)) return model.ApplyOffer(e.offer());
  if (v1::OfferTransferred e; payload.UnpackTo(&e)) return model.ApplyOffer(e.offer());
  if (v1::DemandCreated e; payload.UnpackTo(&e)) return model.ApplyDemand(e.demand());
  if (v1::DemandUpdated e; payload.UnpackTo(&e)) return model.ApplyDemand(e.demand());
  if (v1::DemandPublished e; payload.UnpackTo(&e)) return model.ApplyDemand(e.demand());
  if (v1::DemandWithdrawn e; payload.UnpackTo(&e)) return model.ApplyDemand(e.demand());
  if (v1::OrganizationListingsHidden e; payload.UnpackTo(&e)) {
    return model.SetOrganizationHidden(e.organization_id(), true, e.registry_sequence());
  }
  if (v1::OrganizationListingsShown e; payload.UnpackTo(&e)) {
    return model.SetOrganizationHidden(e.organization_id(), false, e.registry_sequence());
  }
  return false;
}

void ReadModelFollower::Run() {
  std::unique_ptr<KafkaConsumer> tail;
  while (!stopping()) {
    if (!positioned_ && !Position()) continue;
    if (tail == nullptr) {
      absl::StatusOr<std::unique_ptr<KafkaConsumer>> created =
          KafkaConsumer::CreateTail(brokers_, topic_, start_offsets_, tail_overrides_);
      if (!created.ok()) {
        log::Warn("read model: cannot follow the topic yet",
                  {{"error", created.status().ToString()}});
        SleepFor(kRetryPause);
        continue;
      }
      tail = *std::move(created);
    }
    if (tail->TlsFilesChanged()) {
      // A consumer keeps the TLS files it was made with; the next resumes where this one was.
      log::Info("read model: replacing Kafka consumer: its TLS files changed");
      tail.reset();
      continue;
    }
    std::unique_ptr<RdKafka::Message> message = tail->Poll(absl::Milliseconds(200));
    if (tail->out_of_range()) {
      // The recorded offsets are gone (topic recreated or truncated): what the model missed is
      // unknown, so it is rebuilt from the database and followed from the ends again.
      log::Warn("read model: tail offset out of range; positioning again");
      tail.reset();
      positioned_ = false;
      continue;
    }
    if (message == nullptr) continue;
    // Where to resume if the consumer has to be created again.
    start_offsets_[message->partition()] = message->offset() + 1;
    techtrade::common::v1::EventEnvelope event;
    if (!event.ParseFromArray(message->payload(), static_cast<int>(message->len()))) {
      log::Warn("read model: unreadable event", {{"offset", message->offset()}});
      continue;
    }
    ApplyEvent(model_, event);
  }
}

}  // namespace techtrade::listings
