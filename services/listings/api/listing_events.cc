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
  techtrade::transactions::v1::DealCompleted completed;
  if (!event.payload().UnpackTo(&completed)) return absl::OkStatus();
  std::optional<std::string> offer_id = OfferTransferredBy(completed.deal());
  if (!offer_id) return absl::OkStatus();
  absl::StatusOr<v1::Offer> offer = store.GetOffer(*offer_id, /*lock=*/true);
  if (absl::IsNotFound(offer.status())) return absl::OkStatus();  // not one of ours
  if (!offer.ok()) return offer.status();
  std::optional<OfferChange> change =
      TransferOffer(*std::move(offer), completed.deal().id(), absl::Now());
  if (!change) return absl::OkStatus();
  store.SaveOffer(change->listing);
  work.Emit(kProducer, EventCause::OfEvent(event),
            {"offer", change->listing.id(), {change->listing.city_id()}}, change->listing.version(),
            *change->event);
  work.OnCommit([this, o = change->listing] {
    model_.ApplyOffer(o);
    cache_.Invalidate(OfferCacheKey(o.id()));
  });
  return absl::OkStatus();
}

}  // namespace techtrade::listings
