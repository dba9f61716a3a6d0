#include "services/listings/api/read_model_follower.h"

#include "absl/strings/str_cat.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/status.h"
#include "techtrade/listings/v1/listings.pb.h"

namespace techtrade::listings {
namespace {

constexpr absl::Duration kKafkaTimeout = absl::Seconds(5);
constexpr absl::Duration kRetryPause = absl::Seconds(1);
// A check that waits longer than this for Kafka is skipped (and the synced timestamp ages).
constexpr absl::Duration kCheckTimeout = absl::Seconds(2);

}  // namespace

ReadModelFollower::ReadModelFollower(ReadModel& model, Transactor<store::ListingsStore>& transactor,
                                     std::string brokers, std::string topic, Metrics* metrics,
                                     KafkaConfig tail_overrides)
    : LoopWorker("read-model follower"),
      model_(model),
      transactor_(transactor),
      brokers_(std::move(brokers)),
      topic_(std::move(topic)),
      tail_overrides_(std::move(tail_overrides)) {
  if (metrics == nullptr) return;
  service_ = metrics->service();
  lag_family_ = &prometheus::BuildGauge()
                     .Name("techtrade_listings_read_model_lag_events")
                     .Help(
                         "Events of the listings topic this replica's read model had not "
                         "applied at the last check, by partition")
                     .Register(metrics->registry());
  synced_family_ = &prometheus::BuildGauge()
                        .Name("techtrade_listings_read_model_synced_timestamp_seconds")
                        .Help(
                            "The latest moment (Unix seconds) before which this replica's "
                            "read model holds every event published on the listings topic")
                        .Register(metrics->registry());
}

ReadModelFollower::~ReadModelFollower() { Stop(); }

absl::Status ReadModelFollower::Load() {
  absl::StatusOr<std::map<int32_t, int64_t>> ends =
      KafkaConsumer::EndOffsets(brokers_, topic_, kKafkaTimeout);
  if (ends.ok()) {
    std::lock_guard<std::mutex> lock(offsets_mutex_);
    start_offsets_ = *std::move(ends);
    positioned_ = true;
  } else {
    log::Warn("read model: topic end unknown; serving the database's listings until Kafka answers",
              {{"error", ends.status().ToString()}});
  }
  const absl::Time snapshot_start = absl::Now();
  TT_RETURN_IF_ERROR(LoadSnapshot(model_));
  Loaded(snapshot_start);
  return absl::OkStatus();
}

void ReadModelFollower::Loaded(absl::Time at) {
  std::lock_guard<std::mutex> lock(freshness_mutex_);
  freshness_.Loaded(at);
  ExportSynced();
}

void ReadModelFollower::ExportSynced() {
  if (synced_family_ == nullptr || !freshness_.synced_as_of().has_value()) return;
  if (synced_ == nullptr)
    synced_ = &synced_family_->Add({{"service", service_}, {"topic", topic_}});
  synced_->Set(absl::ToDoubleSeconds(*freshness_.synced_as_of() - absl::UnixEpoch()));
}

void ReadModelFollower::CheckLag() {
  if (!positioned_) return;
  // A client keeps the TLS files it was made with: another one for renewed files.
  if (ends_ == nullptr || ends_->TlsFilesChanged()) {
    ends_.reset();
    absl::StatusOr<std::unique_ptr<TopicEnds>> created =
        TopicEnds::Create(brokers_, tail_overrides_);
    if (!created.ok()) {
      log::Warn("read model: cannot check the lag", {{"error", created.status().ToString()}});
      return;
    }
    ends_ = *std::move(created);
  }
  const absl::Time asked = absl::Now();
  absl::StatusOr<std::map<int32_t, int64_t>> ends = ends_->Read(topic_, kCheckTimeout);
  if (!ends.ok()) {
    log::Warn("read model: topic end unknown; lag not checked",
              {{"error", ends.status().ToString()}});
    return;
  }
  std::map<int32_t, int64_t> positions;
  {
    std::lock_guard<std::mutex> lock(offsets_mutex_);
    positions = start_offsets_;
  }
  std::lock_guard<std::mutex> lock(freshness_mutex_);
  freshness_.Reached(positions);  // the ends of earlier checks
  freshness_.EndsSeen(*ends, asked);
  freshness_.Reached(positions);
  ExportSynced();
  if (lag_family_ == nullptr) return;
  for (const auto& [partition, behind] : freshness_.EventsBehind(positions)) {
    prometheus::Gauge*& gauge = lag_[partition];
    if (gauge == nullptr) {
      gauge = &lag_family_->Add(
          {{"service", service_}, {"topic", topic_}, {"partition", absl::StrCat(partition)}});
    }
    gauge->Set(static_cast<double>(behind));
  }
}

absl::Status ReadModelFollower::LoadSnapshot(ReadModel& into) {
  size_t offers = 0, demands = 0;
  absl::Status loaded = transactor_.Run([&](store::ListingsStore& listings, UnitOfWork&) {
    listings.ForEachVisibility([&](const std::string& org, const store::Visibility& v) {
      into.SetOrganizationHidden(org, v.hidden, v.registry_sequence);
    });
    listings.ForEachListed(
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
  const absl::Time snapshot_start = absl::Now();
  if (absl::Status loaded = LoadSnapshot(fresh); !loaded.ok()) {
    log::Warn("read model: cannot reload the listings", {{"error", loaded.ToString()}});
    SleepFor(kRetryPause);
    return false;
  }
  model_.ReplaceWith(std::move(fresh));
  {
    std::lock_guard<std::mutex> lock(offsets_mutex_);
    start_offsets_ = *std::move(ends);
  }
  positioned_ = true;
  Loaded(snapshot_start);
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
  if (v1::OfferNegotiationStarted e; payload.UnpackTo(&e)) return model.ApplyOffer(e.offer());
  if (v1::OfferNegotiationEnded e; payload.UnpackTo(&e)) return model.ApplyOffer(e.offer());
  if (v1::DemandCreated e; payload.UnpackTo(&e)) return model.ApplyDemand(e.demand());
  if (v1::DemandUpdated e; payload.UnpackTo(&e)) return model.ApplyDemand(e.demand());
  if (v1::DemandPublished e; payload.UnpackTo(&e)) return model.ApplyDemand(e.demand());
  if (v1::DemandWithdrawn e; payload.UnpackTo(&e)) return model.ApplyDemand(e.demand());
  if (v1::DemandFulfilled e; payload.UnpackTo(&e)) return model.ApplyDemand(e.demand());
  if (v1::DemandExpired e; payload.UnpackTo(&e)) return model.ApplyDemand(e.demand());
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
      std::map<int32_t, int64_t> from;
      {
        std::lock_guard<std::mutex> lock(offsets_mutex_);
        from = start_offsets_;
      }
      absl::StatusOr<std::unique_ptr<KafkaConsumer>> created =
          KafkaConsumer::CreateTail(brokers_, topic_, from, tail_overrides_);
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
    techtrade::common::v1::EventEnvelope event;
    if (event.ParseFromArray(message->payload(), static_cast<int>(message->len()))) {
      ApplyEvent(model_, event);
    } else {
      log::Warn("read model: unreadable event", {{"offset", message->offset()}});
    }
    // Where to resume if the consumer has to be created again, and how far the model is: only
    // once the event is in it.
    std::lock_guard<std::mutex> lock(offsets_mutex_);
    start_offsets_[message->partition()] = message->offset() + 1;
  }
}

}  // namespace techtrade::listings
