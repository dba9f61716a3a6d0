#include "services/listings/api/read_model_follower.h"

#include "common/kafka.h"
#include "common/log.h"
#include "techtrade/listings/v1/listings.pb.h"

namespace techtrade::listings {

absl::Status ReadModelFollower::Load() {
  absl::StatusOr<std::map<int32_t, int64_t>> ends =
      KafkaConsumer::EndOffsets(brokers_, topic_, absl::Seconds(5));
  if (ends.ok()) {
    start_offsets_ = *std::move(ends);
  } else {
    // Slower, not wrong: the whole stream replays over the snapshot.
    log::Warn("read model: topic end unknown; following from the beginning",
              {{"error", ends.status().ToString()}});
  }
  size_t offers = 0, demands = 0;
  absl::Status loaded = transactor_.Run([&](store::ListingsStore& listings, UnitOfWork&) {
    listings.ForEachVisibility([&](const std::string& org, const store::Visibility& v) {
      model_.SetOrganizationHidden(org, v.hidden, v.registry_sequence);
    });
    listings.ForEachPublished(
        [&](const v1::Offer& o) {
          model_.ApplyOffer(o);
          ++offers;
        },
        [&](const v1::Demand& d) {
          model_.ApplyDemand(d);
          ++demands;
        });
    return absl::OkStatus();
  });
  if (!loaded.ok()) return loaded;
  log::Info("read model loaded", {{"offers", offers}, {"demands", demands}});
  return absl::OkStatus();
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
  while (!stopping()) {
    absl::StatusOr<std::unique_ptr<KafkaConsumer>> tail =
        KafkaConsumer::CreateTail(brokers_, topic_, start_offsets_);
    if (!tail.ok()) {
      log::Warn("read model: cannot follow the topic yet", {{"error", tail.status().ToString()}});
      SleepFor(absl::Seconds(1));
      continue;
    }
    while (!stopping()) {
      std::unique_ptr<RdKafka::Message> message = (*tail)->Poll(absl::Milliseconds(200));
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
}

}  // namespace techtrade::listings
