#include "services/transactions/api/listings_client.h"

#include "absl/strings/str_cat.h"
#include "common/cache_keys.h"
#include "common/channel.h"
#include "common/grpc_status.h"

namespace techtrade::transactions {
namespace {

namespace lv1 = techtrade::listings::v1;

}  // namespace

ListingsClient::ListingsClient(const std::string& address, Cache& cache, absl::Duration deadline)
    : cache_(cache),
      deadline_(deadline),
      stub_(lv1::ListingsService::NewStub(ServiceChannel(address))) {}

absl::StatusOr<ListingFacts> ListingsClient::Get(lv1::ListingKind kind, const std::string& id,
                                                 const std::string& caller_api_key) {
  auto call = [&](auto rpc, auto* response) -> absl::Status {
    grpc::ClientContext context;
    SetCallCredentials(context, caller_api_key, deadline_);
    context.AddMetadata(kFreshReadMetadata, "1");  // it fills the shared cache with the answer
    lv1::GetListingRequest request;
    request.set_id(id);
    grpc::Status s = ((*stub_).*rpc)(&context, request, response);
    return StatusFromGrpc(s, "listings service");
  };
  if (kind == lv1::LISTING_KIND_OFFER) {
    absl::StatusOr<lv1::Offer> offer = cache_.GetOrLoad<lv1::Offer>(
        OfferCacheKey(id), kSharedCacheTtl, [&]() -> absl::StatusOr<lv1::Offer> {
          lv1::Offer o;
          absl::Status s = call(&lv1::ListingsService::Stub::GetOffer, &o);
          if (!s.ok()) return s;
          return o;
        });
    if (!offer.ok()) return offer.status();
    return ListingFacts{offer->owner_org_id(),
                        offer->city_id(),
                        offer->status() == lv1::OFFER_STATUS_PUBLISHED ||
                            offer->status() == lv1::OFFER_STATUS_UNDER_NEGOTIATION,
                        offer->status() == lv1::OFFER_STATUS_DRAFT,
                        {offer->transfer_modes().begin(), offer->transfer_modes().end()}};
  }
  absl::StatusOr<lv1::Demand> demand = cache_.GetOrLoad<lv1::Demand>(
      DemandCacheKey(id), kSharedCacheTtl, [&]() -> absl::StatusOr<lv1::Demand> {
        lv1::Demand d;
        absl::Status s = call(&lv1::ListingsService::Stub::GetDemand, &d);
        if (!s.ok()) return s;
        return d;
      });
  if (!demand.ok()) return demand.status();
  return ListingFacts{demand->seeker_org_id(),
                      demand->city_id(),
                      demand->status() == lv1::DEMAND_STATUS_PUBLISHED,
                      demand->status() == lv1::DEMAND_STATUS_DRAFT,
                      {demand->transfer_modes().begin(), demand->transfer_modes().end()}};
}

}  // namespace techtrade::transactions
