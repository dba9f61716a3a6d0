// The listings' store in memory, for handler tests: copyable (a FakeTransactor runs each unit on
// a copy), with the PostgreSQL store's answers (NOT_FOUND texts, keyset order, the draft filter).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "services/listings/store/listings_store.h"

namespace techtrade::testing {

class FakeListingsStore final : public listings::store::ListingsStore {
 public:
  using ListFilter = listings::store::ListFilter;
  using Visibility = listings::store::Visibility;
  using Offer = listings::v1::Offer;
  using Demand = listings::v1::Demand;

  void InsertOffer(const Offer& offer) override { Insert(offers_, offer, offer.owner_org_id()); }
  void SaveOffer(const Offer& offer) override { Save(offers_, offer); }
  absl::StatusOr<Offer> GetOffer(const std::string& id, bool) override {
    return Get(offers_, "offer", id);
  }
  Page<Offer> ListOffers(const ListFilter& filter, int64_t after, int limit) override {
    return List(offers_, filter, after, limit);
  }

  void InsertDemand(const Demand& demand) override {
    Insert(demands_, demand, demand.seeker_org_id());
  }
  void SaveDemand(const Demand& demand) override { Save(demands_, demand); }
  absl::StatusOr<Demand> GetDemand(const std::string& id, bool) override {
    return Get(demands_, "demand", id);
  }
  Page<Demand> ListDemands(const ListFilter& filter, int64_t after, int limit) override {
    return List(demands_, filter, after, limit);
  }

  void ForEachListed(const std::function<void(const Offer&)>& on_offer,
                     const std::function<void(const Demand&)>& on_demand) override {
    for (const auto& [ordinal, row] : offers_.rows) {
      if (row.record.status() == listings::v1::OFFER_STATUS_PUBLISHED ||
          row.record.status() == listings::v1::OFFER_STATUS_UNDER_NEGOTIATION) {
        on_offer(row.record);
      }
    }
    for (const auto& [ordinal, row] : demands_.rows) {
      if (row.record.status() == listings::v1::DEMAND_STATUS_PUBLISHED) on_demand(row.record);
    }
  }

  int RecordListingDeal(const listings::DealNews& news) override {
    auto [it, added] = listing_deals_.try_emplace({news.listing_id, news.deal_id}, news);
    if (!added && it->second.deal_version < news.deal_version) it->second = news;
    int open = 0;
    for (const auto& [key, deal] : listing_deals_) {
      if (key.first == news.listing_id && deal.open) ++open;
    }
    return open;
  }

  std::optional<Visibility> GetVisibility(const std::string& organization_id) override {
    auto it = visibility_.find(organization_id);
    if (it == visibility_.end()) return std::nullopt;
    return it->second;
  }
  void SaveVisibility(const std::string& organization_id, const Visibility& visibility) override {
    visibility_[organization_id] = visibility;
  }
  void ForEachVisibility(
      const std::function<void(const std::string&, const Visibility&)>& fn) override {
    for (const auto& [org, v] : visibility_) fn(org, v);
  }

  // For tests to inspect: the stored record, or nullopt.
  std::optional<Offer> offer(const std::string& id) const { return Find(offers_, id); }
  std::optional<Demand> demand(const std::string& id) const { return Find(demands_, id); }
  size_t offer_count() const { return offers_.rows.size(); }
  size_t demand_count() const { return demands_.rows.size(); }

 private:
  template <class Record>
  struct Table {
    struct Row {
      Record record;
      std::string owner;
    };
    std::map<int64_t, Row> rows;             // by ordinal: the order of insertion
    std::map<std::string, int64_t> ordinal;  // by id
  };

  template <class Record>
  void Insert(Table<Record>& t, const Record& r, const std::string& owner) {
    const int64_t ordinal = ++last_ordinal_;
    t.rows[ordinal] = {r, owner};
    t.ordinal[r.id()] = ordinal;
  }
  // As an UPDATE: nothing for an unknown id.
  template <class Record>
  static void Save(Table<Record>& t, const Record& r) {
    auto it = t.ordinal.find(r.id());
    if (it != t.ordinal.end()) t.rows[it->second].record = r;
  }
  template <class Record>
  static std::optional<Record> Find(const Table<Record>& t, const std::string& id) {
    auto it = t.ordinal.find(id);
    if (it == t.ordinal.end()) return std::nullopt;
    return t.rows.at(it->second).record;
  }
  template <class Record>
  static absl::StatusOr<Record> Get(const Table<Record>& t, const char* kind,
                                    const std::string& id) {
    std::optional<Record> r = Find(t, id);
    if (!r) return absl::NotFoundError(absl::StrCat(kind, " ", id, " not found"));
    return *std::move(r);
  }
  template <class Record>
  static Page<Record> List(const Table<Record>& t, const ListFilter& f, int64_t after, int limit) {
    Page<Record> page;
    for (auto it = t.rows.upper_bound(after); it != t.rows.end(); ++it) {
      const Record& r = it->second.record;
      if (!f.owner_org_id.empty() && it->second.owner != f.owner_org_id) continue;
      if (!f.city_id.empty() && r.city_id() != f.city_id) continue;
      // DRAFT is 1 for both kinds.
      if (!f.all_drafts && static_cast<int>(r.status()) == 1 && r.city_id() != f.drafts_of_city) {
        continue;
      }
      if (static_cast<int>(page.items.size()) == limit) {
        page.more = true;
        break;
      }
      page.items.push_back(r);
      page.last_ordinal = it->first;
    }
    return page;
  }

  Table<Offer> offers_;
  Table<Demand> demands_;
  std::map<std::string, Visibility> visibility_;
  std::map<std::pair<std::string, std::string>, listings::DealNews>
      listing_deals_;  // listing, deal
  int64_t last_ordinal_ = 0;
};

}  // namespace techtrade::testing
