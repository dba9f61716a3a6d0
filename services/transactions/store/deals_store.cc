#include "services/transactions/store/deals_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "google/protobuf/util/time_util.h"
#include "services/transactions/domain/deal_rules.h"

namespace techtrade::transactions::store {
namespace {

using google::protobuf::util::TimeUtil;

// The pilot cities `d` involves, as a text[] literal: its listing's and its parties'.
std::string CityIdsLiteral(const v1::Deal& d) {
  std::vector<std::string> ids;
  for (const std::string* city :
       {&d.city_id(), &d.buyer().city_id(), &d.seller().city_id(), &d.broker().city_id()}) {
    if (city->empty() || std::find(ids.begin(), ids.end(), *city) != ids.end()) continue;
    ids.push_back(*city);
  }
  std::string literal = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) literal += ',';
    literal += '"';
    for (char c : ids[i]) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  return literal + "}";
}

}  // namespace

std::vector<std::pair<std::string, absl::Status>> TransactionsConstraintErrors() {
  return {{"payments_pkey",
           absl::AlreadyExistsError("payment_reference: this payment is already recorded")},
          {"escrow_movements_pkey",
           absl::FailedPreconditionError("this escrow movement was recorded already")},
          {"escrow_movements_one_outcome",
           absl::FailedPreconditionError("the escrowed amount was released or refunded already")},
          {"escrow_movements_funded_first",
           absl::InternalError("escrow: a release or refund of an amount never funded")},
          {"escrow_balances_conserved",
           absl::InternalError("escrow: funded would differ from released + refunded + held")},
          {"escrow_balances_held_not_negative",
           absl::InternalError("escrow: more would leave escrow than it holds")},
          {"contract_registrations_pkey",
           absl::AlreadyExistsError(
               "registration_number: this number is registered for another contract")}};
}

namespace {
// A chain head as its two columns' parameters (NULL for a deal not chained yet).
std::vector<SqlParam> ChainParams(const ChainHead& chain) {
  if (chain.first_sequence == 0) return {SqlNull(), SqlNull()};
  return {SqlBytes(chain.hash), SqlText(chain.first_sequence)};
}
// The deal's registration_due column (RegistrationFlagDue), NULL when there is none.
SqlParam RegistrationDueParam(const v1::Deal& d) {
  const std::optional<absl::Time> due = RegistrationFlagDue(d);
  return due.has_value() ? SqlText(absl::ToUnixMicros(*due)) : SqlNull();
}
}  // namespace

void PgDealStore::InsertDeal(const v1::Deal& d, const std::string& record, const ChainHead& chain) {
  std::vector<SqlParam> chain_params = ChainParams(chain);
  tx_.StageRow(
      "INSERT INTO deals (id, listing_id, buyer_org_id, seller_org_id, broker_org_id, city_id, "
      "state, version, record, create_time, update_time, city_ids, finance_partner_id, "
      "chain_head, chain_start) VALUES ",
      "($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5::uuid, $6, $7::smallint, $8::bigint, $9::bytea, "
      "to_timestamp($10::double precision / 1000000), "
      "to_timestamp($11::double precision / 1000000), $12::text[], $13, $14::bytea, $15::bigint)",
      "",
      {SqlUuidOrNull(d.id()), SqlUuidOrNull(d.listing_id()),
       SqlUuidOrNull(d.buyer().organization_id()), SqlUuidOrNull(d.seller().organization_id()),
       SqlUuidOrNull(d.broker().organization_id()), SqlText(d.city_id()),
       SqlText(static_cast<int64_t>(d.state())), SqlText(d.version()), SqlBytes(record),
       SqlText(TimeUtil::TimestampToMicroseconds(d.create_time())),
       SqlText(TimeUtil::TimestampToMicroseconds(d.update_time())), SqlText(CityIdsLiteral(d)),
       d.finance_partner_id().empty() ? SqlNull() : SqlText(d.finance_partner_id()),
       std::move(chain_params[0]), std::move(chain_params[1])});
}

void PgDealStore::SaveDeal(const v1::Deal& d, const std::string& record, int64_t read_version,
                           const ChainHead& chain) {
  std::vector<SqlParam> chain_params = ChainParams(chain);
  // Built on a VALUES list so that group commit can save concurrent callers' deals in one
  // statement; each row changes only if its deal is still at the version it was read at, and
  // if any did not, the whole statement fails (and the batch's transactions run alone).
  tx_.StageRow(
      "WITH saved (id, read_version, state, version, record, update_time, chain_head, "
      "chain_start, registration_due) AS (VALUES ",
      "($1::uuid, $2::bigint, $3::smallint, $4::bigint, $5::bytea, "
      "to_timestamp($6::double precision / 1000000), $7::bytea, $8::bigint, "
      "to_timestamp($9::double precision / 1000000))",
      "), changed AS (UPDATE deals SET state = saved.state, version = saved.version, "
      "record = saved.record, update_time = saved.update_time, chain_head = saved.chain_head, "
      "chain_start = saved.chain_start, registration_due = saved.registration_due FROM saved "
      "WHERE deals.id = saved.id AND deals.version = saved.read_version RETURNING 1) "
      "SELECT techtrade_expect_rows((SELECT count(*) FROM changed), (SELECT count(*) FROM saved))",
      {SqlText(d.id()), SqlText(read_version), SqlText(static_cast<int64_t>(d.state())),
       SqlText(d.version()), SqlBytes(record),
       SqlText(TimeUtil::TimestampToMicroseconds(d.update_time())), std::move(chain_params[0]),
       std::move(chain_params[1]), RegistrationDueParam(d)});
}

absl::StatusOr<v1::Deal> PgDealStore::GetLatestDeal(const std::string& id, ChainHead* chain) {
  pqxx::result rows =
      tx_.ReadLatest("transactions_deal_get_latest",
                     "SELECT record, chain_head, chain_start FROM deals WHERE id = $1::uuid", id);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("deal ", id, " not found"));
  if (chain != nullptr) {
    *chain = {};
    if (!rows[0][2].is_null()) {
      pqxx::binarystring hash(rows[0][1]);
      chain->hash.assign(hash.get(), hash.size());
      chain->first_sequence = rows[0][2].as<int64_t>();
    }
  }
  return ParseRecord<v1::Deal>(rows[0][0]);
}

void PgDealStore::InsertPayment(const std::string& deal_id, const v1::RecordPaymentRequest& p) {
  tx_.StageWrite(absl::StrCat(
      "INSERT INTO payments (payment_reference, deal_id, milestone_index, currency, amount_minor) "
      "VALUES (",
      tx_.quote(p.payment_reference()), ", ", UuidLiteral(tx_, deal_id), ", ", p.milestone_index(),
      ", ", tx_.quote(p.amount().currency()), ", ", p.amount().amount_minor(), ")"));
}

void PgDealStore::InsertRegistration(const v1::Deal& d) {
  tx_.StageWrite(absl::StrCat(
      "INSERT INTO contract_registrations (registration_number, deal_id, city_id) VALUES (",
      tx_.quote(d.registration().registration_number()), ", ", UuidLiteral(tx_, d.id()), ", ",
      tx_.quote(d.registration().city_id()), ")"));
}

void PgDealStore::AppendEscrowMovement(const std::string& deal_id, const EscrowMovement& m) {
  tx_.StageWrite(absl::StrCat(
      "INSERT INTO escrow_movements (deal_id, milestone_index, kind, amount, currency, reference) "
      "VALUES (",
      UuidLiteral(tx_, deal_id), ", ", m.milestone_index, ", ", tx_.quote(m.kind), ", ",
      m.amount_minor, ", ", tx_.quote(m.currency), ", ", tx_.quote(m.reference), ")"));
}

std::vector<std::string> PgDealStore::RegistrationsDue(int64_t now_us, int limit) {
  pqxx::result rows = tx_.exec(absl::StrCat(
      "SELECT id::text FROM deals WHERE registration_due IS NOT NULL AND registration_due <= ",
      TimestampLiteral(now_us), " ORDER BY registration_due LIMIT ", limit));
  std::vector<std::string> ids;
  for (const auto& row : rows) ids.push_back(row[0].as<std::string>());
  return ids;
}

std::string ListDealsSql(Tx& tx, const DealFilter& f, int64_t after, int limit) {
  // Only the predicates the filter sets, each on a column as indexed (a party compared as uuid,
  // not as text), so that the planner can start from the most selective index instead of
  // walking every deal in ordinal order.
  std::string sql = absl::StrCat("SELECT record, ordinal FROM deals WHERE ordinal > ", after);
  if (!f.party_org_id.empty()) {
    const std::string party = UuidLiteral(tx, f.party_org_id);
    absl::StrAppend(&sql, " AND (buyer_org_id = ", party, " OR seller_org_id = ", party,
                    " OR broker_org_id = ", party, ")");
  }
  if (!f.city_id.empty()) {
    absl::StrAppend(&sql, " AND city_ids @> ARRAY[", tx.quote(f.city_id), "]::text[]");
  }
  if (!f.finance_partner_id.empty()) {
    absl::StrAppend(&sql, " AND finance_partner_id = ", tx.quote(f.finance_partner_id));
  }
  if (f.state != 0) absl::StrAppend(&sql, " AND state = ", f.state);
  if (f.opened_after_us != 0) {
    absl::StrAppend(&sql, " AND create_time >= ", TimestampLiteral(f.opened_after_us));
  }
  if (f.opened_before_us != 0) {
    absl::StrAppend(&sql, " AND create_time < ", TimestampLiteral(f.opened_before_us));
  }
  absl::StrAppend(&sql, " ORDER BY ordinal LIMIT ", limit + 1);
  return sql;
}

Page<v1::Deal> PgDealStore::ListDeals(const DealFilter& f, int64_t after, int limit) {
  pqxx::result rows = tx_.exec(ListDealsSql(tx_, f, after, limit));
  Page<v1::Deal> page;
  for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
    page.items.push_back(ParseRecord<v1::Deal>(rows[i][0]));
    page.last_ordinal = rows[i][1].as<int64_t>();
  }
  page.more = static_cast<int>(rows.size()) > limit;
  return page;
}

}  // namespace techtrade::transactions::store
