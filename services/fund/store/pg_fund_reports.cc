// The fund's reports in PostgreSQL: the ledger's pages, its reconciliation and the appraisal of a
// city's deals (PgFundStore, pg_fund_store.h).
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/fund/store/pg_fund_store.h"

namespace techtrade::fund {

using google::protobuf::util::TimeUtil;

Page<v1::LedgerEntry> PgFundStore::ListEntries(const std::string& programme_id,
                                               const std::string& application_id,
                                               const std::optional<std::string>& finance_partner_id,
                                               int64_t after_id, int limit) {
  pqxx::result rows = tx_.exec_params(
      "SELECT id, coalesce(application_id::text, ''), kind, coalesce(tranche, ''), debit, credit, "
      "amount, " +
          EpochMicros("created_at") +
          " FROM ledger_entries WHERE programme_id = $1::uuid AND id > $2 "
          "AND ($3 = '' OR application_id::text = $3) "
          "AND (NOT $5 OR application_id IS NULL OR application_id IN (SELECT id FROM "
          "applications WHERE finance_partner_id = $6 AND $6 <> '')) ORDER BY id LIMIT $4",
      programme_id, after_id, application_id, limit + 1, finance_partner_id.has_value(),
      finance_partner_id.value_or(""));
  Page<v1::LedgerEntry> page;
  for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
    const pqxx::row& r = rows[i];
    v1::LedgerEntry e;
    e.set_id(r[0].as<int64_t>());
    e.set_programme_id(programme_id);
    e.set_application_id(r[1].as<std::string>());
    e.set_kind(r[2].as<std::string>());
    e.set_tranche(r[3].as<std::string>());
    e.set_debit(static_cast<v1::LedgerAccount>(r[4].as<int>()));
    e.set_credit(static_cast<v1::LedgerAccount>(r[5].as<int>()));
    e.set_amount_minor(r[6].as<int64_t>());
    *e.mutable_time() = TimeUtil::MicrosecondsToTimestamp(r[7].as<int64_t>());
    page.items.push_back(std::move(e));
  }
  page.more = static_cast<int>(rows.size()) > limit;
  return page;
}

namespace {

// The SQL condition that `column` (a deal's or an application's finance_partner_id) is in the
// partner scope: always for callers not scoped by partner (nullopt), never for a partner key that
// names no client (so a deal naming no partner, '', is no partner's), else the partner's id.
std::string PartnerCondition(Tx& tx, const std::string& column,
                             const std::optional<std::string>& finance_partner_id) {
  if (!finance_partner_id.has_value()) return "TRUE";
  if (finance_partner_id->empty()) return "FALSE";
  return absl::StrCat(column, " = ", tx.quote(*finance_partner_id));
}

}  // namespace

v1::ReconcileResponse PgFundStore::Reconcile(const std::string& programme_id,
                                             const std::optional<std::string>& finance_partner_id) {
  // One snapshot for the balances, the entries and the applications.
  tx_.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  // The balances are summed from every entry, but a partner counts only the entries it may list
  // (the programme's own and its deals' applications'): how many postings others have is theirs.
  const std::string counted =
      finance_partner_id.has_value()
          ? absl::StrCat(
                "count(*) FILTER (WHERE application_id IS NULL OR application_id IN (SELECT id "
                "FROM applications WHERE ",
                PartnerCondition(tx_, "finance_partner_id", finance_partner_id), "))")
          : "count(*)";
  const std::string entry_filter =
      programme_id.empty() ? ""
                           : absl::StrCat(" WHERE programme_id = ", UuidLiteral(tx_, programme_id));
  const std::string balance_filter =
      programme_id.empty()
          ? ""
          : absl::StrCat(" WHERE b.programme_id = ", UuidLiteral(tx_, programme_id));
  pqxx::result rows = tx_.exec(absl::StrCat(
      "WITH sums AS (SELECT programme_id, ", counted,
      " AS entries, "
      "sum(CASE WHEN credit = 1 THEN amount WHEN debit = 1 THEN -amount ELSE 0 END) AS total, "
      "sum(CASE WHEN debit = 2 THEN amount WHEN credit = 2 THEN -amount ELSE 0 END) AS available, "
      "sum(CASE WHEN debit = 3 THEN amount WHEN credit = 3 THEN -amount ELSE 0 END) AS reserved, "
      "sum(CASE WHEN debit = 4 THEN amount WHEN credit = 4 THEN -amount ELSE 0 END) AS disbursed, "
      "sum(CASE WHEN credit = 5 THEN amount WHEN debit = 5 THEN -amount ELSE 0 END) AS clawed_back "
      "FROM ledger_entries",
      entry_filter,
      " GROUP BY programme_id) "
      "SELECT b.programme_id, b.currency, b.total, b.available, b.reserved, b.disbursed, "
      "b.clawed_back, coalesce(s.entries, 0), coalesce(s.total, 0), coalesce(s.available, 0), "
      "coalesce(s.reserved, 0), coalesce(s.disbursed, 0), coalesce(s.clawed_back, 0) "
      "FROM programme_balances b LEFT JOIN sums s USING (programme_id)",
      balance_filter, " ORDER BY b.programme_id"));
  const std::string application_filter =
      programme_id.empty() ? ""
                           : absl::StrCat(" AND a.programme_id = ", UuidLiteral(tx_, programme_id));
  pqxx::result mismatched = tx_.exec(absl::StrCat(
      "SELECT a.programme_id, a.id FROM applications a LEFT JOIN ("
      "SELECT application_id, "
      "sum(amount) FILTER (WHERE kind = 'reserve') AS reserved, "
      "sum(amount) FILTER (WHERE kind = 'disburse') AS disbursed, "
      "sum(amount) FILTER (WHERE kind = 'release') AS released, "
      "sum(amount) FILTER (WHERE kind = 'clawback') AS clawed_back, "
      "sum(amount) FILTER (WHERE kind = 'recovery') AS recovered, "
      "sum(amount) FILTER (WHERE kind = 'write_off') AS written_off "
      "FROM ledger_entries WHERE application_id IS NOT NULL",
      programme_id.empty() ? ""
                           : absl::StrCat(" AND programme_id = ", UuidLiteral(tx_, programme_id)),
      " GROUP BY application_id) s ON s.application_id = a.id "
      "WHERE (a.approved <> coalesce(s.reserved, 0) OR a.disbursed <> coalesce(s.disbursed, 0) "
      "OR a.released <> coalesce(s.released, 0) OR a.clawed_back <> coalesce(s.clawed_back, 0) "
      "OR a.recovered <> coalesce(s.recovered, 0) OR a.written_off <> coalesce(s.written_off, 0)) "
      "AND ",
      PartnerCondition(tx_, "a.finance_partner_id", finance_partner_id), application_filter,
      " ORDER BY a.ordinal"));
  v1::ReconcileResponse response;
  response.set_balanced(true);
  for (const auto& r : rows) {
    v1::ProgrammeReconciliation* p = response.add_programmes();
    p->set_programme_id(r[0].as<std::string>());
    auto fill = [&](v1::Balances* b, int first) {
      b->set_currency(r[1].as<std::string>());
      b->set_total_minor(r[first].as<int64_t>());
      b->set_available_minor(r[first + 1].as<int64_t>());
      b->set_reserved_minor(r[first + 2].as<int64_t>());
      b->set_disbursed_minor(r[first + 3].as<int64_t>());
      b->set_clawed_back_minor(r[first + 4].as<int64_t>());
    };
    fill(p->mutable_recorded(), 2);
    fill(p->mutable_recomputed(), 8);
    p->set_entries(r[7].as<int64_t>());
    response.set_entries_checked(response.entries_checked() + p->entries());
    const v1::Balances& b = p->recomputed();
    for (const auto& m : mismatched) {
      if (m[0].as<std::string>() == p->programme_id()) {
        p->add_mismatched_application_ids(m[1].as<std::string>());
      }
    }
    const bool balanced =
        p->recorded().SerializeAsString() == b.SerializeAsString() &&
        b.available_minor() + b.reserved_minor() + b.disbursed_minor() - b.clawed_back_minor() ==
            b.total_minor() &&
        b.available_minor() >= 0 && b.reserved_minor() >= 0 && b.disbursed_minor() >= 0 &&
        b.clawed_back_minor() >= 0 && p->mismatched_application_ids().empty();
    p->set_balanced(balanced);
    if (!balanced) response.set_balanced(false);
  }
  return response;
}

AppraisalFigures PgFundStore::Appraise(const std::string& city_id, int64_t from_us, int64_t to_us,
                                       const std::string& currency,
                                       const std::optional<std::string>& finance_partner_id) {
  const std::string from = TimestampLiteral(from_us), to = TimestampLiteral(to_us);
  const std::string city = tx_.quote(city_id);
  // The deals counted: the city's (every city's for ""), and of the partner's scope.
  const std::string deals_in =
      absl::StrCat("(", city, " = '' OR city_id = ", city, ") AND ",
                   PartnerCondition(tx_, "finance_partner_id", finance_partner_id));
  const std::string d_in =
      absl::StrCat("(", city, " = '' OR d.city_id = ", city, ") AND ",
                   PartnerCondition(tx_, "d.finance_partner_id", finance_partner_id));
  pqxx::row r = tx_.exec1(absl::StrCat(
      "SELECT "
      "(SELECT count(*) FROM deals WHERE ",
      deals_in, " AND signed_at >= ", from, " AND signed_at < ", to,
      "), "
      "(SELECT count(*) FROM deals WHERE ",
      deals_in, " AND completed_at >= ", from, " AND completed_at < ", to,
      "), "
      "(SELECT coalesce(sum(contract_value), 0) FROM deals WHERE ",
      deals_in, " AND signed_at >= ", from, " AND signed_at < ", to,
      " AND currency = ", tx_.quote(currency),
      "), "
      "(SELECT coalesce(sum(CASE e.kind WHEN 'disburse' THEN e.amount ELSE -e.amount END), 0) "
      "FROM ledger_entries e JOIN applications a ON a.id = e.application_id "
      "JOIN deals d ON d.id = a.deal_id WHERE e.kind IN ('disburse', 'clawback') AND ",
      d_in, " AND a.currency = ", tx_.quote(currency), " AND e.created_at >= ", from,
      " AND e.created_at < ", to,
      "), "
      "(SELECT coalesce(percentile_cont(0.5) WITHIN GROUP "
      "(ORDER BY greatest(extract(epoch FROM signed_at - opened_at), 0) / 86400), 0) FROM deals "
      "WHERE ",
      deals_in, " AND signed_at >= ", from, " AND signed_at < ", to, ")"));
  AppraisalFigures f;
  f.deals_signed = r[0].as<int64_t>();
  f.deals_completed = r[1].as<int64_t>();
  // Sums of bigint are numeric in PostgreSQL and may pass the int64 range over many deals.
  if (!absl::SimpleAtoi(r[2].as<std::string>(), &f.contract_value_minor) ||
      !absl::SimpleAtoi(r[3].as<std::string>(), &f.subsidy_disbursed_minor)) {
    throw std::runtime_error("appraisal sums are not integers");
  }
  f.median_days_open_to_sign = r[4].as<double>();
  return f;
}

std::vector<std::string> PgFundStore::DealCities() {
  std::vector<std::string> out;
  for (const auto& row : tx_.exec("SELECT DISTINCT city_id FROM deals ORDER BY 1")) {
    out.push_back(row[0].as<std::string>());
  }
  return out;
}

}  // namespace techtrade::fund
