// What the listings' handlers read and write, as one unit of work sees it (common/command.h). A
// listing is kept whole as its protobuf record. PgListingsStore (pg_listings_store.h) keeps them
// in PostgreSQL; handler tests use tests/support/fake_listings_store.h.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/paging.h"
#include "services/listings/domain/listing_records.h"
#include "techtrade/listings/v1/listings.pb.h"

namespace techtrade::listings::store {

namespace v1 = techtrade::listings::v1;

struct ListFilter {
  std::string owner_org_id;  // "" = any
  std::string city_id;       // "" = any
  // Drafts listed: all (operators), else only those of `drafts_of_city` ("" = none).
  bool all_drafts = true;
  std::string drafts_of_city;
};

// Organisations whose listings are hidden because the registry suspended them.
using Visibility = listings::Visibility;

class ListingsStore {
 public:
  virtual ~ListingsStore() = default;

  virtual void InsertOffer(const v1::Offer& offer) = 0;
  virtual void SaveOffer(const v1::Offer& offer) = 0;
  // NOT_FOUND for an unknown id; `lock` holds the row until the unit of work ends.
  virtual absl::StatusOr<v1::Offer> GetOffer(const std::string& id, bool lock) = 0;
  // In creation order, after keyset position `after`.
  virtual Page<v1::Offer> ListOffers(const ListFilter& filter, int64_t after, int limit) = 0;

  virtual void InsertDemand(const v1::Demand& demand) = 0;
  virtual void SaveDemand(const v1::Demand& demand) = 0;
  virtual absl::StatusOr<v1::Demand> GetDemand(const std::string& id, bool lock) = 0;
  virtual Page<v1::Demand> ListDemands(const ListFilter& filter, int64_t after, int limit) = 0;

  // Every listing search and matching show (published offers and those under negotiation,
  // published demands), for rebuilding the read model.
  virtual void ForEachListed(const std::function<void(const v1::Offer&)>& on_offer,
                             const std::function<void(const v1::Demand&)>& on_demand) = 0;

  // Records whether the deal of `news` is open, unless an event of it at a later version was
  // recorded already, and returns how many of the listing's deals are open now. The caller holds
  // the listing's row lock.
  virtual int RecordListingDeal(const DealNews& news) = 0;

  // Locked until the unit of work ends; nullopt if the registry never hid the organisation.
  virtual std::optional<Visibility> GetVisibility(const std::string& organization_id) = 0;
  virtual void SaveVisibility(const std::string& organization_id, const Visibility& visibility) = 0;
  virtual void ForEachVisibility(
      const std::function<void(const std::string& organization_id, const Visibility&)>& fn) = 0;
};

}  // namespace techtrade::listings::store
