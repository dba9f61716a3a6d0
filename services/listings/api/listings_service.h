// The listings gRPC API: offers and demands (owned in the service's store), search and
// matchmaking (answered from this replica's ReadModel), and the reaction to registry and
// transactions events. Every mutation runs as one unit of work on the store (common/command.h):
// authorise → load → decide (services/listings/domain/listing_records.h) → save → emit.
#pragma once

#include "common/cache.h"
#include "common/command.h"
#include "common/metrics.h"
#include "common/organization_directory.h"
#include "common/server.h"
#include "services/listings/domain/listing_records.h"
#include "services/listings/domain/read_model.h"
#include "services/listings/store/listings_store.h"
#include "techtrade/listings/v1/listings.grpc.pb.h"

namespace techtrade::listings {

class ListingsServiceImpl final : public v1::ListingsService::Service {
 public:
  ListingsServiceImpl(Transactor<store::ListingsStore>& transactor, Cache& cache, RpcRunner& runner,
                      OrganizationDirectory& registry, ReadModel& model);

  grpc::Status CreateOffer(grpc::ServerContext*, const v1::CreateOfferRequest*,
                           v1::Offer*) override;
  grpc::Status UpdateOffer(grpc::ServerContext*, const v1::UpdateOfferRequest*,
                           v1::Offer*) override;
  grpc::Status PublishOffer(grpc::ServerContext*, const v1::ChangeListingRequest*,
                            v1::Offer*) override;
  grpc::Status WithdrawOffer(grpc::ServerContext*, const v1::ChangeListingRequest*,
                             v1::Offer*) override;
  grpc::Status GetOffer(grpc::ServerContext*, const v1::GetListingRequest*, v1::Offer*) override;
  grpc::Status ListOffers(grpc::ServerContext*, const v1::ListListingsRequest*,
                          v1::ListOffersResponse*) override;

  grpc::Status CreateDemand(grpc::ServerContext*, const v1::CreateDemandRequest*,
                            v1::Demand*) override;
  grpc::Status UpdateDemand(grpc::ServerContext*, const v1::UpdateDemandRequest*,
                            v1::Demand*) override;
  grpc::Status PublishDemand(grpc::ServerContext*, const v1::ChangeListingRequest*,
                             v1::Demand*) override;
  grpc::Status WithdrawDemand(grpc::ServerContext*, const v1::ChangeListingRequest*,
                              v1::Demand*) override;
  grpc::Status GetDemand(grpc::ServerContext*, const v1::GetListingRequest*, v1::Demand*) override;
  grpc::Status ListDemands(grpc::ServerContext*, const v1::ListListingsRequest*,
                           v1::ListDemandsResponse*) override;

  grpc::Status Search(grpc::ServerContext*, const v1::SearchRequest*, v1::SearchResponse*) override;
  grpc::Status MatchOffersForDemand(grpc::ServerContext*, const v1::MatchRequest*,
                                    v1::MatchResponse*) override;
  grpc::Status MatchDemandsForOffer(grpc::ServerContext*, const v1::MatchRequest*,
                                    v1::MatchResponse*) override;

  // The effect of one registry event, in the consumer's unit of work (its inbox transaction): an
  // organisation's suspension hides its listings, its reinstatement shows them again. Other
  // events are ignored.
  absl::Status HandleRegistryEvent(store::ListingsStore& store, UnitOfWork& work,
                                   const techtrade::common::v1::EventEnvelope& event);
  // A listing follows its deals (FollowDeal): an offer is under negotiation while one is open and
  // leaves the market when a completed deal takes it; a completed deal fulfils a demand.
  absl::Status HandleTransactionsEvent(store::ListingsStore& store, UnitOfWork& work,
                                       const techtrade::common::v1::EventEnvelope& event);

  // Expires each published demand whose deadline has passed, at most `limit` of them, each in a
  // unit of work of its own under the demand's row lock, so that replicas sweeping at once expire
  // it once. Returns how many this call expired.
  int ExpireDueDemands(absl::Time now, size_t limit);

  template <class Kind>
  struct Ops;  // the code offers and demands share

 private:
  // Saves nothing itself: emits the change's event, and once the unit commits, this replica's
  // read model and the cache see the change at once (the other replicas through the event).
  void Announce(UnitOfWork& work, const EventCause& cause, const OfferChange& change);
  void Announce(UnitOfWork& work, const EventCause& cause, const DemandChange& change);

  Transactor<store::ListingsStore>& transactor_;
  Cache& cache_;
  OrganizationDirectory& registry_;
  ReadModel& model_;
  RpcRunner& runner_;
};

}  // namespace techtrade::listings
