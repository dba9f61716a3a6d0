// The listings' reaction to other services' events, each in the consumer's unit of work (its
// inbox transaction): load → decide (domain/listing_records.h) → save → emit.
#include "absl/time/clock.h"
#include "common/log.h"
#include "services/listings/api/listings_service.h"
#include "services/listings/domain/listing_records.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::listings {
namespace {

namespace reg = techtrade::registry::v1;

constexpr char kProducer[] = "listings";

}  // namespace

absl::Status ListingsServiceImpl::HandleRegistryEvent(
    store::ListingsStore& store, UnitOfWork& work,
    const techtrade::common::v1::EventEnvelope& event) {
  bool hidden;
  std::string city;  // the organisation's, which scopes its visibility's audit records
  if (reg::OrganizationSuspended suspended; event.payload().UnpackTo(&suspended)) {
    hidden = true;
    city = suspended.organization().city_id();
  } else if (reg::OrganizationReinstated reinstated; event.payload().UnpackTo(&reinstated)) {
    hidden = false;
    city = reinstated.organization().city_id();
  } else {
    return absl::OkStatus();
  }
  const std::string& org = event.aggregate_id();
  std::optional<VisibilityChange> change =
      ChangeVisibility(store.GetVisibility(org), org, hidden, event.sequence());
  if (!change) return absl::OkStatus();
  store.SaveVisibility(org, change->visibility);
  work.Emit(kProducer, EventCause::OfEvent(event), {"organization_visibility", org, {city}},
            change->visibility.version, *change->event);
  work.OnCommit([this, org, hidden, seq = event.sequence()] {
    model_.SetOrganizationHidden(org, hidden, seq);
  });
  return absl::OkStatus();
}

absl::Status ListingsServiceImpl::HandleTransactionsEvent(
    store::ListingsStore& store, UnitOfWork& work,
    const techtrade::common::v1::EventEnvelope& event) {
  std::optional<DealNews> news = DealNewsOf(event);
  if (!news) return absl::OkStatus();
  const EventCause cause = EventCause::OfEvent(event);
  if (news->listing_kind == v1::LISTING_KIND_DEMAND) {
    absl::StatusOr<v1::Demand> demand = store.GetDemand(news->listing_id, /*lock=*/true);
    if (absl::IsNotFound(demand.status())) return absl::OkStatus();  // not one of ours
    if (!demand.ok()) return demand.status();
    std::optional<DemandChange> change = FollowDeal(*std::move(demand), *news, absl::Now());
    if (!change) return absl::OkStatus();
    store.SaveDemand(change->listing);
    Announce(work, cause, *change);
    return absl::OkStatus();
  }
  absl::StatusOr<v1::Offer> offer = store.GetOffer(news->listing_id, /*lock=*/true);
  if (absl::IsNotFound(offer.status())) return absl::OkStatus();  // not one of ours
  if (!offer.ok()) return offer.status();
  // Under the offer's row lock, so that two deals' events count each other.
  const int open_deals = store.RecordListingDeal(*news);
  std::optional<OfferChange> change = FollowDeal(*std::move(offer), *news, open_deals, absl::Now());
  if (!change) return absl::OkStatus();
  store.SaveOffer(change->listing);
  Announce(work, cause, *change);
  return absl::OkStatus();
}

int ListingsServiceImpl::ExpireDueDemands(absl::Time now, size_t limit) {
  int expired = 0;
  for (const std::string& id : model_.DemandsDueToExpire(now, limit)) {
    const absl::Status status =
        transactor_.Run([&](store::ListingsStore& store, UnitOfWork& work) -> absl::Status {
          // The read model may lag: the demand as stored decides, under its row lock.
          absl::StatusOr<v1::Demand> demand = store.GetDemand(id, /*lock=*/true);
          if (absl::IsNotFound(demand.status())) return absl::OkStatus();
          if (!demand.ok()) return demand.status();
          std::optional<DemandChange> change = ExpireListing(*std::move(demand), now);
          if (!change) return absl::OkStatus();  // expired by another replica, or changed
          store.SaveDemand(change->listing);
          Announce(work, EventCause::OfSystem(kProducer), *change);
          work.OnCommit([&expired] { ++expired; });
          return absl::OkStatus();
        });
    if (!status.ok()) {
      log::Warn("expiring a demand failed; the next sweep retries it",
                {{"demand_id", id}, {"error", status.ToString()}});
    }
  }
  return expired;
}

}  // namespace techtrade::listings
