// The listings' PostgreSQL store. A listing is kept whole as its protobuf record, with the columns
// that queries and constraints need beside it. Every function runs in the caller's transaction;
// writes are staged (Tx::StageWrite) and reach the database with the commit.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/db.h"
#include "common/migrations.h"
#include "common/paging.h"
#include "techtrade/listings/v1/listings.pb.h"

namespace techtrade::listings::store {

namespace v1 = techtrade::listings::v1;

// services/listings/migrations/*.sql, embedded at build time.
std::span<const Migration> ListingsMigrations();

struct ListFilter {
  std::string owner_org_id;  // "" = any
  std::string city_id;       // "" = any
  // Drafts listed: all (operators), else only those of `drafts_of_city` ("" = none).
  bool all_drafts = true;
  std::string drafts_of_city;
};

void InsertOffer(Tx& tx, const v1::Offer& offer);
void SaveOffer(Tx& tx, const v1::Offer& offer);
// NOT_FOUND for an unknown id; `lock` holds the row until the transaction ends.
absl::StatusOr<v1::Offer> GetOffer(Tx& tx, const std::string& id, bool lock);
Page<v1::Offer> ListOffers(Tx& tx, const ListFilter& filter, int64_t after, int limit);

void InsertDemand(Tx& tx, const v1::Demand& demand);
void SaveDemand(Tx& tx, const v1::Demand& demand);
absl::StatusOr<v1::Demand> GetDemand(Tx& tx, const std::string& id, bool lock);
Page<v1::Demand> ListDemands(Tx& tx, const ListFilter& filter, int64_t after, int limit);

// Every published listing, for rebuilding the read model.
void ForEachPublished(Tx& tx, const std::function<void(const v1::Offer&)>& on_offer,
                      const std::function<void(const v1::Demand&)>& on_demand);

// Organisations whose listings are hidden because the registry suspended them.
struct Visibility {
  bool hidden = false;
  int64_t registry_sequence = 0;  // of the registry event that set it
  int64_t version = 0;            // of this record: the sequence of its own events
};
std::optional<Visibility> GetVisibility(Tx& tx, const std::string& organization_id);
void SaveVisibility(Tx& tx, const std::string& organization_id, const Visibility& visibility);
void ForEachVisibility(
    Tx& tx, const std::function<void(const std::string& organization_id, const Visibility&)>& fn);

}  // namespace techtrade::listings::store
