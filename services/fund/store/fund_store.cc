#include "services/fund/store/fund_store.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "google/protobuf/util/time_util.h"

namespace techtrade::fund::store {
namespace {

using google::protobuf::util::TimeUtil;

constexpr char kProgrammeColumns[] =
    "SELECT p.record, p.status, p.version, b.currency, b.total, b.available, b.reserved, "
    "b.disbursed, b.clawed_back, p.ordinal FROM programmes p "
    "JOIN programme_balances b ON b.programme_id = p.id ";

v1::Programme ProgrammeFromRow(const pqxx::row& row) {
  v1::Programme p = ParseRecord<v1::Programme>(row[0]);
  v1::Balances* b = p.mutable_balances();
  b->set_currency(row[3].as<std::string>());
  b->set_total_minor(row[4].as<int64_t>());
  b->set_available_minor(row[5].as<int64_t>());
  b->set_reserved_minor(row[6].as<int64_t>());
  b->set_disbursed_minor(row[7].as<int64_t>());
  b->set_clawed_back_minor(row[8].as<int64_t>());
  return p;
}

std::string Ts(const google::protobuf::Timestamp& t) {
  return TimestampLiteral(TimeUtil::TimestampToMicroseconds(t));
}

}  // namespace

const char* StoredKind(EntryKind kind) {
  // The names the migrations' CHECK on ledger_entries (and every stored entry) use.
  switch (kind) {
    case EntryKind::kFund:
      return "fund";
    case EntryKind::kReserve:
      return "reserve";
    case EntryKind::kDisburse:
      return "disburse";
    case EntryKind::kRelease:
      return "release";
    case EntryKind::kClawback:
      return "clawback";
  }
  return "clawback";  // unreachable: the switch is exhaustive
}

std::vector<std::pair<std::string, absl::Status>> FundConstraintErrors() {
  return {
      {"applications_one_per_programme_deal",
       absl::AlreadyExistsError(
           "deal_id: the deal already has an application in this programme that was not "
           "rejected")},
      {"annual_grants_within_cap",
       absl::FailedPreconditionError("the buyer's annual cap for this programme would be passed")},
      {"programme_balances_available_not_negative",
       absl::FailedPreconditionError("the programme's available budget would go negative")},
      {"programme_balances_invariant",
       absl::InternalError("the programme's balances would break their invariant")},
      {"ledger_entries_one_disbursement_per_tranche",
       absl::AlreadyExistsError("this tranche was disbursed already")},
  };
}

void InsertProgramme(Tx& tx, const v1::Programme& p) {
  v1::Programme record = p;
  record.clear_balances();
  tx.StageWrite(absl::StrCat(
      "INSERT INTO programmes (id, city_id, status, version, record) VALUES (",
      UuidLiteral(tx, p.id()), ", ", tx.quote(p.city_id()), ", ", static_cast<int>(p.status()),
      ", ", p.version(), ", ", tx.quote_raw(record.SerializeAsString()), ")"));
  tx.StageWrite(absl::StrCat("INSERT INTO programme_balances (programme_id, currency) VALUES (",
                             UuidLiteral(tx, p.id()), ", ", tx.quote(p.total_budget().currency()),
                             ")"));
}

void SaveProgramme(Tx& tx, const v1::Programme& p) {
  v1::Programme record = p;
  record.clear_balances();
  tx.StageWrite(absl::StrCat("UPDATE programmes SET status = ", static_cast<int>(p.status()),
                             ", version = ", p.version(),
                             ", record = ", tx.quote_raw(record.SerializeAsString()),
                             " WHERE id = ", UuidLiteral(tx, p.id())));
}

absl::StatusOr<v1::Programme> GetProgramme(Tx& tx, const std::string& id, Lock lock) {
  static const std::string kSql[] = {
      absl::StrCat(kProgrammeColumns, "WHERE p.id = $1::uuid"),
      absl::StrCat(kProgrammeColumns, "WHERE p.id = $1::uuid FOR UPDATE OF p"),
      absl::StrCat(kProgrammeColumns, "WHERE p.id = $1::uuid FOR UPDATE OF b")};
  static const char* kNames[] = {"fund_programme_get", "fund_programme_get_locked",
                                 "fund_programme_get_balances_locked"};
  const int i = static_cast<int>(lock);
  pqxx::result rows = tx.ExecPrepared(kNames[i], kSql[i], id);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("programme ", id, " not found"));
  return ProgrammeFromRow(rows[0]);
}

Page<v1::Programme> ListProgrammes(Tx& tx, const std::string& city_id, int status, int64_t after,
                                   int limit) {
  pqxx::result rows = tx.exec_params(
      absl::StrCat(kProgrammeColumns,
                   "WHERE p.ordinal > $1 AND ($2 = '' OR p.city_id = $2) AND ($3 = 0 OR p.status = "
                   "$3) ORDER BY p.ordinal LIMIT $4"),
      after, city_id, status, limit + 1);
  Page<v1::Programme> page;
  for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
    page.items.push_back(ProgrammeFromRow(rows[i]));
    page.last_ordinal = rows[i][9].as<int64_t>();
  }
  page.more = static_cast<int>(rows.size()) > limit;
  return page;
}

bool UpsertDeal(Tx& tx, const tv1::Deal& d) {
  std::string currency = "NULL", value = "NULL", signed_at = "NULL", completed_at = "NULL";
  if (d.agreed_terms_version() >= 1 && d.agreed_terms_version() <= d.terms_size()) {
    const auto& price = d.terms(static_cast<int>(d.agreed_terms_version() - 1)).price();
    currency = tx.quote(price.currency());
    value = absl::StrCat(price.amount_minor());
  }
  // Signed once both parties signed: a first signature alone leaves signing_time unset.
  if (d.contract().has_signing_time()) signed_at = Ts(d.contract().signing_time());
  if (d.state() == tv1::DEAL_STATE_COMPLETED) completed_at = Ts(d.update_time());
  pqxx::result applied = tx.exec(absl::StrCat(
      "INSERT INTO deals (id, sequence, state, city_id, buyer_org_id, currency, contract_value, "
      "opened_at, signed_at, completed_at, record) VALUES (",
      UuidLiteral(tx, d.id()), ", ", d.version(), ", ", static_cast<int>(d.state()), ", ",
      tx.quote(d.city_id()), ", ", UuidLiteral(tx, d.buyer().organization_id()), ", ", currency,
      ", ", value, ", ", Ts(d.create_time()), ", ", signed_at, ", ", completed_at, ", ",
      tx.quote_raw(d.SerializeAsString()),
      ") ON CONFLICT (id) DO UPDATE SET sequence = EXCLUDED.sequence, state = EXCLUDED.state, "
      "currency = EXCLUDED.currency, contract_value = EXCLUDED.contract_value, "
      "signed_at = EXCLUDED.signed_at, completed_at = EXCLUDED.completed_at, "
      "record = EXCLUDED.record WHERE deals.sequence < EXCLUDED.sequence RETURNING 1"));
  return !applied.empty();
}

std::optional<tv1::Deal> GetDeal(Tx& tx, const std::string& id) {
  pqxx::result rows = tx.ExecPrepared("fund_deal_get_shared",
                                      "SELECT record FROM deals WHERE id = $1::uuid FOR SHARE", id);
  if (rows.empty()) return std::nullopt;
  return ParseRecord<tv1::Deal>(rows[0][0]);
}

namespace {
std::string ApplicationValues(Tx& tx, const v1::Application& a) {
  return absl::StrCat(static_cast<int>(a.status()), ", ", a.approved_minor(), ", ",
                      a.disbursed_minor(), ", ", a.released_minor(), ", ", a.clawed_back_minor(),
                      ", ", a.version(), ", ", tx.quote_raw(a.SerializeAsString()));
}
}  // namespace

void InsertApplication(Tx& tx, const v1::Application& a) {
  tx.StageWrite(absl::StrCat(
      "INSERT INTO applications (id, programme_id, deal_id, applicant_org_id, city_id, currency, "
      "status, approved, disbursed, released, clawed_back, version, record) VALUES (",
      UuidLiteral(tx, a.id()), ", ", UuidLiteral(tx, a.programme_id()), ", ",
      UuidLiteral(tx, a.deal_id()), ", ", UuidLiteral(tx, a.applicant().organization_id()), ", ",
      tx.quote(a.applicant().city_id()), ", ", tx.quote(a.currency()), ", ",
      ApplicationValues(tx, a), ")"));
}

void SaveApplication(Tx& tx, const v1::Application& a) {
  tx.StageWrite(
      absl::StrCat("UPDATE applications SET (status, approved, disbursed, released, "
                   "clawed_back, version, record) = (",
                   ApplicationValues(tx, a), ") WHERE id = ", UuidLiteral(tx, a.id())));
}

absl::StatusOr<v1::Application> GetApplication(Tx& tx, const std::string& id, bool lock) {
  pqxx::result rows =
      tx.ExecPrepared(lock ? "fund_application_get_locked" : "fund_application_get",
                      std::string("SELECT record FROM applications WHERE id = $1::uuid") +
                          (lock ? " FOR UPDATE" : ""),
                      id);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("application ", id, " not found"));
  return ParseRecord<v1::Application>(rows[0][0]);
}

std::vector<v1::Application> OpenApplicationsOfDeal(Tx& tx, const std::string& deal_id) {
  pqxx::result rows = tx.ExecPrepared(
      "fund_applications_open_of_deal",
      "SELECT record FROM applications WHERE deal_id = $1::uuid AND status IN (1, 2, 4) "
      "ORDER BY ordinal FOR UPDATE",
      deal_id);
  std::vector<v1::Application> out;
  for (const auto& row : rows) out.push_back(ParseRecord<v1::Application>(row[0]));
  return out;
}

Page<v1::Application> ListApplications(Tx& tx, const ApplicationFilter& f, int64_t after,
                                       int limit) {
  pqxx::result rows = tx.exec_params(
      "SELECT record, ordinal FROM applications WHERE ordinal > $1 "
      "AND ($2 = '' OR programme_id::text = $2) AND ($3 = '' OR deal_id::text = $3) "
      "AND ($4 = '' OR applicant_org_id::text = $4) AND ($5 = '' OR city_id = $5) "
      "AND ($6 = 0 OR status = $6) ORDER BY ordinal LIMIT $7",
      after, f.programme_id, f.deal_id, f.applicant_org_id, f.city_id, f.status, limit + 1);
  Page<v1::Application> page;
  for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
    page.items.push_back(ParseRecord<v1::Application>(rows[i][0]));
    page.last_ordinal = rows[i][1].as<int64_t>();
  }
  page.more = static_cast<int>(rows.size()) > limit;
  return page;
}

int64_t AnnualGranted(Tx& tx, const std::string& programme_id, const std::string& org_id,
                      int year) {
  pqxx::result rows =
      tx.ExecPrepared("fund_annual_granted",
                      "SELECT granted FROM annual_grants WHERE programme_id = $1::uuid "
                      "AND organization_id = $2::uuid AND year = $3",
                      programme_id, org_id, year);
  return rows.empty() ? 0 : rows[0][0].as<int64_t>();
}

void AddAnnualGrant(Tx& tx, const std::string& programme_id, const std::string& org_id, int year,
                    int64_t delta, int64_t cap) {
  if (delta < 0) {
    // A give-back: the row exists since the grant. (An INSERT … ON CONFLICT would check the
    // proposed negative row against granted >= 0 before finding the conflict.)
    tx.StageWrite(absl::StrCat("UPDATE annual_grants SET granted = granted + ", delta,
                               " WHERE programme_id = ", UuidLiteral(tx, programme_id),
                               " AND organization_id = ", UuidLiteral(tx, org_id),
                               " AND year = ", year));
    return;
  }
  tx.StageWrite(absl::StrCat(
      "INSERT INTO annual_grants (programme_id, organization_id, year, granted, cap) VALUES (",
      UuidLiteral(tx, programme_id), ", ", UuidLiteral(tx, org_id), ", ", year, ", ", delta, ", ",
      cap,
      ") ON CONFLICT (programme_id, organization_id, year) DO UPDATE SET granted = "
      "annual_grants.granted + EXCLUDED.granted"));
}

void AppendEntry(Tx& tx, const std::string& programme_id, const std::string& application_id,
                 const Posting& posting) {
  const AccountPair a = AccountsOf(posting.kind);
  const std::string& tranche = posting.tranche;
  tx.StageWrite(absl::StrCat(
      "INSERT INTO ledger_entries (programme_id, application_id, kind, tranche, debit, credit, "
      "amount) VALUES (",
      UuidLiteral(tx, programme_id), ", ", UuidLiteral(tx, application_id), ", ",
      tx.quote(std::string(StoredKind(posting.kind))), ", ",
      tranche.empty() ? "NULL" : tx.quote(tranche), ", ", static_cast<int>(a.debit), ", ",
      static_cast<int>(a.credit), ", ", posting.amount_minor, ")"));
}

Page<v1::LedgerEntry> ListEntries(Tx& tx, const std::string& programme_id,
                                  const std::string& application_id, int64_t after_id, int limit) {
  pqxx::result rows = tx.exec_params(
      "SELECT id, coalesce(application_id::text, ''), kind, coalesce(tranche, ''), debit, credit, "
      "amount, " +
          EpochMicros("created_at") +
          " FROM ledger_entries WHERE programme_id = $1::uuid AND id > $2 "
          "AND ($3 = '' OR application_id::text = $3) ORDER BY id LIMIT $4",
      programme_id, after_id, application_id, limit + 1);
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

v1::ReconcileResponse Reconcile(Tx& tx, const std::string& programme_id) {
  // One snapshot for the balances, the entries and the applications.
  tx.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  const std::string entry_filter =
      programme_id.empty() ? ""
                           : absl::StrCat(" WHERE programme_id = ", UuidLiteral(tx, programme_id));
  const std::string balance_filter =
      programme_id.empty()
          ? ""
          : absl::StrCat(" WHERE b.programme_id = ", UuidLiteral(tx, programme_id));
  pqxx::result rows = tx.exec(absl::StrCat(
      "WITH sums AS (SELECT programme_id, count(*) AS entries, "
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
                           : absl::StrCat(" AND a.programme_id = ", UuidLiteral(tx, programme_id));
  pqxx::result mismatched = tx.exec(absl::StrCat(
      "SELECT a.programme_id, a.id FROM applications a LEFT JOIN ("
      "SELECT application_id, "
      "sum(amount) FILTER (WHERE kind = 'reserve') AS reserved, "
      "sum(amount) FILTER (WHERE kind = 'disburse') AS disbursed, "
      "sum(amount) FILTER (WHERE kind = 'release') AS released, "
      "sum(amount) FILTER (WHERE kind = 'clawback') AS clawed_back "
      "FROM ledger_entries WHERE application_id IS NOT NULL",
      programme_id.empty() ? ""
                           : absl::StrCat(" AND programme_id = ", UuidLiteral(tx, programme_id)),
      " GROUP BY application_id) s ON s.application_id = a.id "
      "WHERE (a.approved <> coalesce(s.reserved, 0) OR a.disbursed <> coalesce(s.disbursed, 0) "
      "OR a.released <> coalesce(s.released, 0) OR a.clawed_back <> coalesce(s.clawed_back, 0))",
      application_filter, " ORDER BY a.ordinal"));
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

AppraisalFigures Appraise(Tx& tx, const std::string& city_id, int64_t from_us, int64_t to_us,
                          const std::string& currency) {
  const std::string from = TimestampLiteral(from_us), to = TimestampLiteral(to_us);
  const std::string city = tx.quote(city_id);
  pqxx::row r = tx.exec1(absl::StrCat(
      "SELECT "
      "(SELECT count(*) FROM deals WHERE (",
      city, " = '' OR city_id = ", city, ") AND signed_at >= ", from, " AND signed_at < ", to,
      "), "
      "(SELECT count(*) FROM deals WHERE (",
      city, " = '' OR city_id = ", city, ") AND completed_at >= ", from, " AND completed_at < ", to,
      "), "
      "(SELECT coalesce(sum(contract_value), 0) FROM deals WHERE (",
      city, " = '' OR city_id = ", city, ") AND signed_at >= ", from, " AND signed_at < ", to,
      " AND currency = ", tx.quote(currency),
      "), "
      "(SELECT coalesce(sum(CASE e.kind WHEN 'disburse' THEN e.amount ELSE -e.amount END), 0) "
      "FROM ledger_entries e JOIN applications a ON a.id = e.application_id "
      "JOIN deals d ON d.id = a.deal_id WHERE e.kind IN ('disburse', 'clawback') AND (",
      city, " = '' OR d.city_id = ", city, ") AND a.currency = ", tx.quote(currency),
      " AND e.created_at >= ", from, " AND e.created_at < ", to,
      "), "
      "(SELECT coalesce(percentile_cont(0.5) WITHIN GROUP "
      "(ORDER BY greatest(extract(epoch FROM signed_at - opened_at), 0) / 86400), 0) FROM deals "
      "WHERE (",
      city, " = '' OR city_id = ", city, ") AND signed_at >= ", from, " AND signed_at < ", to,
      ")"));
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

std::vector<std::string> DealCities(Tx& tx) {
  std::vector<std::string> out;
  for (const auto& row : tx.exec("SELECT DISTINCT city_id FROM deals ORDER BY 1")) {
    out.push_back(row[0].as<std::string>());
  }
  return out;
}

}  // namespace techtrade::fund::store
