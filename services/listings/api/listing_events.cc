// The listings' reaction to other services' events, each in the consumer's unit of work (its
// inbox transaction): load → decide (domain/listing_records.h) → save → emit.
#include "absl/time/clock.h"
#include "common/cache_keys.h"
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
    work.Emit(kProducer, cause, {"demand", change->listing.id(), {change->listing.city_id()}},
              change->listing.version(), *change->event);
    work.OnCommit([this, d = change->listing] {
      model_.ApplyDemand(d);
      cache_.Invalidate(DemandCacheKey(d.id()));
    });
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
  work.Emit(kProducer, cause, {"offer", change->listing.id(), {change->listing.city_id()}},
            change->listing.version(), *change->event);
  work.OnCommit([this, o = change->listing] {
    model_.ApplyOffer(o);
    cache_.Invalidate(OfferCacheKey(o.id()));
  });
  return absl::OkStatus();
}

}  // namespace techtrade::listings
