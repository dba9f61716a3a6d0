#include "services/listings/store/pg_listings_store.h"

#include "absl/strings/str_cat.h"

namespace techtrade::listings::store {
namespace {

// OFFER_STATUS_DRAFT and DEMAND_STATUS_DRAFT.
constexpr int kDraftStatus = 1;
static_assert(kDraftStatus == v1::OFFER_STATUS_DRAFT && kDraftStatus == v1::DEMAND_STATUS_DRAFT);

// The SQL of one listing table; offers and demands differ only in names.
struct Table {
  const char* name;
  const char* owner_column;
  const char* prefix;  // of prepared statement names
};
constexpr Table kOffers{"offers", "owner_org_id", "listings_offers"};
constexpr Table kDemands{"demands", "seeker_org_id", "listings_demands"};

template <class Record>
void Insert(Tx& tx, const Table& t, const Record& r, const std::string& owner, int status) {
  tx.StageWrite(absl::StrCat("INSERT INTO ", t.name, " (id, ", t.owner_column,
                             ", city_id, status, version, record) VALUES (", tx.quote(r.id()),
                             "::uuid, ", tx.quote(owner), "::uuid, ", tx.quote(r.city_id()), ", ",
                             status, ", ", r.version(), ", ", tx.quote_raw(r.SerializeAsString()),
                             ")"));
}

template <class Record>
void Save(Tx& tx, const Table& t, const Record& r, int status) {
  tx.StageWrite(absl::StrCat("UPDATE ", t.name, " SET status = ", status, ", version = ",
                             r.version(), ", record = ", tx.quote_raw(r.SerializeAsString()),
                             ", update_time = now() WHERE id = ", tx.quote(r.id()), "::uuid"));
}

template <class Record>
absl::StatusOr<Record> Get(Tx& tx, const Table& t, const std::string& id, bool lock) {
  std::string name = absl::StrCat(t.prefix, lock ? "_get_locked" : "_get");
  pqxx::result rows =
      tx.ExecPrepared(name.c_str(),
                      absl::StrCat("SELECT record FROM ", t.name, " WHERE id = $1::uuid",
                                   lock ? " FOR UPDATE" : ""),
                      id);
  if (rows.empty()) {
    return absl::NotFoundError(
        absl::StrCat(t.name == kOffers.name ? "offer " : "demand ", id, " not found"));
  }
  return ParseRecord<Record>(rows[0][0]);
}

template <class Record>
Page<Record> List(Tx& tx, const Table& t, const ListFilter& f, int64_t after, int limit) {
  pqxx::result rows = tx.exec_params(
      absl::StrCat("SELECT record, ordinal FROM ", t.name, " WHERE ordinal > $1 AND ($2 = '' OR ",
                   t.owner_column,
                   "::text = $2) AND ($3 = '' OR city_id = $3) AND ($5::boolean OR status <> ",
                   kDraftStatus, " OR city_id = $6) ORDER BY ordinal LIMIT $4"),
      after, f.owner_org_id, f.city_id, limit + 1, f.all_drafts, f.drafts_of_city);
  Page<Record> page;
  for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
    page.items.push_back(ParseRecord<Record>(rows[i][0]));
    page.last_ordinal = rows[i][1].as<int64_t>();
  }
  page.more = static_cast<int>(rows.size()) > limit;
  return page;
}

}  // namespace

void PgListingsStore::InsertOffer(const v1::Offer& o) {
  Insert(tx_, kOffers, o, o.owner_org_id(), o.status());
}
void PgListingsStore::SaveOffer(const v1::Offer& o) { Save(tx_, kOffers, o, o.status()); }
absl::StatusOr<v1::Offer> PgListingsStore::GetOffer(const std::string& id, bool lock) {
  return Get<v1::Offer>(tx_, kOffers, id, lock);
}
Page<v1::Offer> PgListingsStore::ListOffers(const ListFilter& filter, int64_t after, int limit) {
  return List<v1::Offer>(tx_, kOffers, filter, after, limit);
}

void PgListingsStore::InsertDemand(const v1::Demand& d) {
  Insert(tx_, kDemands, d, d.seeker_org_id(), d.status());
}
void PgListingsStore::SaveDemand(const v1::Demand& d) { Save(tx_, kDemands, d, d.status()); }
absl::StatusOr<v1::Demand> PgListingsStore::GetDemand(const std::string& id, bool lock) {
  return Get<v1::Demand>(tx_, kDemands, id, lock);
}
Page<v1::Demand> PgListingsStore::ListDemands(const ListFilter& filter, int64_t after, int limit) {
  return List<v1::Demand>(tx_, kDemands, filter, after, limit);
}

void PgListingsStore::ForEachListed(const std::function<void(const v1::Offer&)>& on_offer,
                                    const std::function<void(const v1::Demand&)>& on_demand) {
  for (const auto& row :
       tx_.exec("SELECT record FROM offers WHERE status IN (2, 3) ORDER BY ordinal")) {
    on_offer(ParseRecord<v1::Offer>(row[0]));
  }
  for (const auto& row : tx_.exec("SELECT record FROM demands WHERE status = 2 ORDER BY ordinal")) {
    on_demand(ParseRecord<v1::Demand>(row[0]));
  }
}

int PgListingsStore::RecordListingDeal(const DealNews& news) {
  tx_.ExecPrepared("listings_deal_record",
                   "INSERT INTO listing_deals (listing_id, deal_id, deal_version, open) "
                   "VALUES ($1::uuid, $2::uuid, $3, $4) ON CONFLICT (listing_id, deal_id) DO "
                   "UPDATE SET deal_version = EXCLUDED.deal_version, open = EXCLUDED.open, "
                   "update_time = now() WHERE listing_deals.deal_version < EXCLUDED.deal_version",
                   news.listing_id, news.deal_id, news.deal_version, news.open);
  return tx_
      .ExecPrepared("listings_deal_count_open",
                    "SELECT count(*) FROM listing_deals WHERE listing_id = $1::uuid AND open",
                    news.listing_id)[0][0]
      .as<int>();
}

std::optional<Visibility> PgListingsStore::GetVisibility(const std::string& organization_id) {
  pqxx::result rows =
      tx_.ExecPrepared("listings_visibility_get",
                       "SELECT hidden, registry_sequence, version FROM organization_visibility "
                       "WHERE organization_id = $1::uuid FOR UPDATE",
                       organization_id);
  if (rows.empty()) return std::nullopt;
  return Visibility{rows[0][0].as<bool>(), rows[0][1].as<int64_t>(), rows[0][2].as<int64_t>()};
}

void PgListingsStore::SaveVisibility(const std::string& organization_id, const Visibility& v) {
  tx_.StageWrite(absl::StrCat(
      "INSERT INTO organization_visibility (organization_id, hidden, registry_sequence, version) "
      "VALUES (",
      tx_.quote(organization_id), "::uuid, ", v.hidden ? "true" : "false", ", ",
      v.registry_sequence, ", ", v.version,
      ") ON CONFLICT (organization_id) DO UPDATE SET hidden = EXCLUDED.hidden, "
      "registry_sequence = EXCLUDED.registry_sequence, version = EXCLUDED.version, "
      "update_time = now()"));
}

void PgListingsStore::ForEachVisibility(
    const std::function<void(const std::string&, const Visibility&)>& fn) {
  for (const auto& row :
       tx_.exec("SELECT organization_id::text, hidden, registry_sequence, version "
                "FROM organization_visibility")) {
    fn(row[0].as<std::string>(),
       Visibility{row[1].as<bool>(), row[2].as<int64_t>(), row[3].as<int64_t>()});
  }
}

}  // namespace techtrade::listings::store
