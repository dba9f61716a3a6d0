// The listings' store on PostgreSQL: one ListingsStore per transaction. Each listing table keeps
// the record beside the columns that queries and constraints need. Writes are staged
// (Tx::StageWrite) and reach the database with the commit.
#pragma once

#include <span>

#include "common/db.h"
#include "common/migrations.h"
#include "services/listings/store/listings_store.h"

namespace techtrade::listings::store {

// services/listings/migrations/*.sql, embedded at build time.
std::span<const Migration> ListingsMigrations();

class PgListingsStore final : public ListingsStore {
 public:
  explicit PgListingsStore(Tx& tx) : tx_(tx) {}

  void InsertOffer(const v1::Offer& offer) override;
  void SaveOffer(const v1::Offer& offer) override;
  absl::StatusOr<v1::Offer> GetOffer(const std::string& id, bool lock) override;
  Page<v1::Offer> ListOffers(const ListFilter& filter, int64_t after, int limit) override;

  void InsertDemand(const v1::Demand& demand) override;
  void SaveDemand(const v1::Demand& demand) override;
  absl::StatusOr<v1::Demand> GetDemand(const std::string& id, bool lock) override;
  Page<v1::Demand> ListDemands(const ListFilter& filter, int64_t after, int limit) override;

  void ForEachListed(const std::function<void(const v1::Offer&)>& on_offer,
                     const std::function<void(const v1::Demand&)>& on_demand) override;

  int RecordListingDeal(const DealNews& news) override;

  std::optional<Visibility> GetVisibility(const std::string& organization_id) override;
  void SaveVisibility(const std::string& organization_id, const Visibility& visibility) override;
  void ForEachVisibility(const std::function<void(const std::string& organization_id,
                                                  const Visibility&)>& fn) override;

 private:
  Tx& tx_;
};

}  // namespace techtrade::listings::store
