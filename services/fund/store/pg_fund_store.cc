#include "services/fund/store/pg_fund_store.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "google/protobuf/util/time_util.h"

namespace techtrade::fund {
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

const char* store::StoredKind(EntryKind kind) {
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
    case EntryKind::kRecovery:
      return "recovery";
    case EntryKind::kWriteOff:
      return "write_off";
  }
  return "clawback";  // unreachable: the switch is exhaustive
}

std::vector<std::pair<std::string, absl::Status>> store::FundConstraintErrors() {
  return {
      {"applications_one_per_programme_deal",
       absl::AlreadyExistsError(
           "deal_id: the deal already has an application in this programme that was not "
           "rejected")},
      {"applications_receivable_settled_within",
       absl::FailedPreconditionError("amount: more than is still owed of the clawback")},
      {"annual_grants_within_cap",
       absl::FailedPreconditionError(
           "the organisation's annual cap for this programme would be passed")},
      {"applications_one_award_per_beneficiary",
       absl::AlreadyExistsError("the programme decided this deal's awards already")},
      {"programme_balances_available_not_negative",
       absl::FailedPreconditionError("the programme's available budget would go negative")},
      {"programme_balances_invariant",
       absl::InternalError("the programme's balances would break their invariant")},
      {"ledger_entries_one_disbursement_per_tranche",
       absl::AlreadyExistsError("this tranche was disbursed already")},
  };
}

absl::Status PgFundStore::InsertProgramme(const v1::Programme& p) {
  v1::Programme record = p;
  record.clear_balances();
  tx_.StageWrite(absl::StrCat(
      "INSERT INTO programmes (id, city_id, status, version, record, pays_automatically) VALUES (",
      UuidLiteral(tx_, p.id()), ", ", tx_.quote(p.city_id()), ", ", static_cast<int>(p.status()),
      ", ", p.version(), ", ", tx_.quote_raw(record.SerializeAsString()), ", ",
      p.rules().automatic_awards().empty() ? "false" : "true", ")"));
  tx_.StageWrite(absl::StrCat("INSERT INTO programme_balances (programme_id, currency) VALUES (",
                              UuidLiteral(tx_, p.id()), ", ",
                              tx_.quote(p.total_budget().currency()), ")"));
  return absl::OkStatus();
}

std::vector<std::string> PgFundStore::ProgrammesPayingAutomatically() {
  std::vector<std::string> ids;
  for (const auto& row : tx_.ExecPrepared(
           "fund_programmes_paying_automatically",
           "SELECT id::text FROM programmes WHERE status = 1 AND pays_automatically ORDER BY id")) {
    ids.push_back(row[0].as<std::string>());
  }
  return ids;
}

absl::Status PgFundStore::SaveProgramme(const v1::Programme& p) {
  v1::Programme record = p;
  record.clear_balances();
  tx_.StageWrite(absl::StrCat("UPDATE programmes SET status = ", static_cast<int>(p.status()),
                              ", version = ", p.version(),
                              ", record = ", tx_.quote_raw(record.SerializeAsString()),
                              " WHERE id = ", UuidLiteral(tx_, p.id())));
  return absl::OkStatus();
}

absl::StatusOr<v1::Programme> PgFundStore::GetProgramme(const std::string& id, Lock lock) {
  static const std::string kSql[] = {
      absl::StrCat(kProgrammeColumns, "WHERE p.id = $1::uuid"),
      absl::StrCat(kProgrammeColumns, "WHERE p.id = $1::uuid FOR UPDATE OF p"),
      absl::StrCat(kProgrammeColumns, "WHERE p.id = $1::uuid FOR UPDATE OF b")};
  static const char* kNames[] = {"fund_programme_get", "fund_programme_get_locked",
                                 "fund_programme_get_balances_locked"};
  const int i = static_cast<int>(lock);
  pqxx::result rows = tx_.ExecPrepared(kNames[i], kSql[i], id);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("programme ", id, " not found"));
  return ProgrammeFromRow(rows[0]);
}

Page<v1::Programme> PgFundStore::ListProgrammes(const std::string& city_id, int status,
                                                int64_t after, int limit) {
  pqxx::result rows = tx_.exec_params(
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

bool PgFundStore::UpsertDeal(const tv1::Deal& d) {
  std::string currency = "NULL", value = "NULL", signed_at = "NULL", completed_at = "NULL";
  if (d.agreed_terms_version() >= 1 && d.agreed_terms_version() <= d.terms_size()) {
    const auto& price = d.terms(static_cast<int>(d.agreed_terms_version() - 1)).price();
    currency = tx_.quote(price.currency());
    value = absl::StrCat(price.amount_minor());
  }
  // Signed once both parties signed: a first signature alone leaves signing_time unset.
  if (d.contract().has_signing_time()) signed_at = Ts(d.contract().signing_time());
  if (d.state() == tv1::DEAL_STATE_COMPLETED) completed_at = Ts(d.update_time());
  pqxx::result applied = tx_.exec(absl::StrCat(
      "INSERT INTO deals (id, sequence, state, city_id, buyer_org_id, currency, contract_value, "
      "opened_at, signed_at, completed_at, finance_partner_id, record) VALUES (",
      UuidLiteral(tx_, d.id()), ", ", d.version(), ", ", static_cast<int>(d.state()), ", ",
      tx_.quote(d.city_id()), ", ", UuidLiteral(tx_, d.buyer().organization_id()), ", ", currency,
      ", ", value, ", ", Ts(d.create_time()), ", ", signed_at, ", ", completed_at, ", ",
      tx_.quote(d.finance_partner_id()), ", ", tx_.quote_raw(d.SerializeAsString()),
      ") ON CONFLICT (id) DO UPDATE SET sequence = EXCLUDED.sequence, state = EXCLUDED.state, "
      "currency = EXCLUDED.currency, contract_value = EXCLUDED.contract_value, "
      "signed_at = EXCLUDED.signed_at, completed_at = EXCLUDED.completed_at, "
      "finance_partner_id = EXCLUDED.finance_partner_id, record = EXCLUDED.record WHERE "
      "deals.sequence < EXCLUDED.sequence RETURNING 1"));
  return !applied.empty();
}

std::optional<tv1::Deal> PgFundStore::GetDeal(const std::string& id) {
  pqxx::result rows = tx_.ExecPrepared(
      "fund_deal_get_shared", "SELECT record FROM deals WHERE id = $1::uuid FOR SHARE", id);
  if (rows.empty()) return std::nullopt;
  return ParseRecord<tv1::Deal>(rows[0][0]);
}

namespace {
std::string ApplicationValues(Tx& tx, const v1::Application& a) {
  return absl::StrCat(static_cast<int>(a.status()), ", ", a.approved_minor(), ", ",
                      a.disbursed_minor(), ", ", a.released_minor(), ", ", a.clawed_back_minor(),
                      ", ", a.recovered_minor(), ", ", a.written_off_minor(), ", ", a.version(),
                      ", ", tx.quote_raw(a.SerializeAsString()));
}
}  // namespace

absl::Status PgFundStore::InsertApplication(const v1::Application& a) {
  tx_.StageWrite(absl::StrCat(
      "INSERT INTO applications (id, programme_id, deal_id, applicant_org_id, city_id, currency, "
      "finance_partner_id, beneficiary, automatic, award_year, counted, status, approved, "
      "disbursed, released, clawed_back, recovered, written_off, version, record) VALUES (",
      UuidLiteral(tx_, a.id()), ", ", UuidLiteral(tx_, a.programme_id()), ", ",
      UuidLiteral(tx_, a.deal_id()), ", ", UuidLiteral(tx_, a.applicant().organization_id()), ", ",
      tx_.quote(a.applicant().city_id()), ", ", tx_.quote(a.currency()), ", ",
      tx_.quote(a.finance_partner_id()), ", ", static_cast<int>(BeneficiaryOf(a)), ", ",
      a.has_award_basis() ? absl::StrCat("true, ", a.year(), ", ",
                                         a.award_basis().cumulative_after_minor() -
                                             a.award_basis().cumulative_before_minor())
                          : "false, NULL, NULL",
      ", ", ApplicationValues(tx_, a), ")"));
  return absl::OkStatus();
}

absl::Status PgFundStore::SaveApplication(const v1::Application& a) {
  tx_.StageWrite(
      absl::StrCat("UPDATE applications SET (status, approved, disbursed, released, "
                   "clawed_back, recovered, written_off, version, record) = (",
                   ApplicationValues(tx_, a), ") WHERE id = ", UuidLiteral(tx_, a.id())));
  return absl::OkStatus();
}

absl::StatusOr<v1::Application> PgFundStore::GetApplication(const std::string& id, bool lock) {
  pqxx::result rows =
      tx_.ExecPrepared(lock ? "fund_application_get_locked" : "fund_application_get",
                       std::string("SELECT record FROM applications WHERE id = $1::uuid") +
                           (lock ? " FOR UPDATE" : ""),
                       id);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("application ", id, " not found"));
  return ParseRecord<v1::Application>(rows[0][0]);
}

std::vector<v1::Application> PgFundStore::OpenApplicationsOfDeal(const std::string& deal_id) {
  pqxx::result rows = tx_.ExecPrepared(
      "fund_applications_open_of_deal",
      "SELECT record FROM applications WHERE deal_id = $1::uuid AND status IN (1, 2, 4) "
      "ORDER BY ordinal FOR UPDATE",
      deal_id);
  std::vector<v1::Application> out;
  for (const auto& row : rows) out.push_back(ParseRecord<v1::Application>(row[0]));
  return out;
}

Page<v1::Application> PgFundStore::ListApplications(const ApplicationFilter& f, int64_t after,
                                                    int limit) {
  pqxx::result rows = tx_.exec_params(
      "SELECT record, ordinal FROM applications WHERE ordinal > $1 "
      "AND ($2 = '' OR programme_id::text = $2) AND ($3 = '' OR deal_id::text = $3) "
      "AND ($4 = '' OR applicant_org_id::text = $4) AND ($5 = '' OR city_id = $5) "
      "AND ($6 = 0 OR status = $6) "
      "AND (NOT $8 OR (finance_partner_id = $9 AND $9 <> '')) ORDER BY ordinal LIMIT $7",
      after, f.programme_id, f.deal_id, f.applicant_org_id, f.city_id, f.status, limit + 1,
      f.finance_partner_id.has_value(), f.finance_partner_id.value_or(""));
  Page<v1::Application> page;
  for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
    page.items.push_back(ParseRecord<v1::Application>(rows[i][0]));
    page.last_ordinal = rows[i][1].as<int64_t>();
  }
  page.more = static_cast<int>(rows.size()) > limit;
  return page;
}

bool PgFundStore::HasAutomaticAwards(const std::string& programme_id, const std::string& deal_id) {
  return !tx_.ExecPrepared("fund_has_automatic_awards",
                           "SELECT 1 FROM applications WHERE programme_id = $1::uuid AND "
                           "deal_id = $2::uuid AND automatic LIMIT 1",
                           programme_id, deal_id)
              .empty();
}

int64_t PgFundStore::RegisteredTotal(const std::string& programme_id, const std::string& org_id,
                                     v1::Beneficiary beneficiary, int year) {
  return tx_
      .ExecPrepared(
          "fund_registered_total",
          "SELECT COALESCE(sum(counted), 0)::bigint FROM applications WHERE programme_id = "
          "$1::uuid AND applicant_org_id = $2::uuid AND beneficiary = $3 AND award_year = $4 "
          "AND automatic",
          programme_id, org_id, static_cast<int>(beneficiary), year)[0][0]
      .as<int64_t>();
}

int64_t PgFundStore::AnnualGranted(const std::string& programme_id, const std::string& org_id,
                                   v1::Beneficiary beneficiary, int year) {
  pqxx::result rows =
      tx_.ExecPrepared("fund_annual_granted",
                       "SELECT granted FROM annual_grants WHERE programme_id = $1::uuid "
                       "AND organization_id = $2::uuid AND year = $3 AND beneficiary = $4",
                       programme_id, org_id, year, static_cast<int>(beneficiary));
  return rows.empty() ? 0 : rows[0][0].as<int64_t>();
}

absl::Status PgFundStore::AddAnnualGrant(const std::string& programme_id, const std::string& org_id,
                                         v1::Beneficiary beneficiary, int year, int64_t delta,
                                         int64_t cap) {
  if (delta < 0) {
    // A give-back: the row exists since the grant. (An INSERT … ON CONFLICT would check the
    // proposed negative row against granted >= 0 before finding the conflict.)
    tx_.StageWrite(absl::StrCat("UPDATE annual_grants SET granted = granted + ", delta,
                                " WHERE programme_id = ", UuidLiteral(tx_, programme_id),
                                " AND organization_id = ", UuidLiteral(tx_, org_id), " AND year = ",
                                year, " AND beneficiary = ", static_cast<int>(beneficiary)));
    return absl::OkStatus();
  }
  tx_.StageWrite(absl::StrCat(
      "INSERT INTO annual_grants (programme_id, organization_id, year, beneficiary, granted, "
      "cap) VALUES (",
      UuidLiteral(tx_, programme_id), ", ", UuidLiteral(tx_, org_id), ", ", year, ", ",
      static_cast<int>(beneficiary), ", ", delta, ", ", cap,
      ") ON CONFLICT (programme_id, organization_id, year, beneficiary) DO UPDATE SET granted = "
      "annual_grants.granted + EXCLUDED.granted"));
  return absl::OkStatus();
}

absl::Status PgFundStore::AppendEntry(const std::string& programme_id,
                                      const std::string& application_id, const Posting& posting) {
  const AccountPair a = AccountsOf(posting.kind);
  const std::string& tranche = posting.tranche;
  tx_.StageWrite(absl::StrCat(
      "INSERT INTO ledger_entries (programme_id, application_id, kind, tranche, debit, credit, "
      "amount) VALUES (",
      UuidLiteral(tx_, programme_id), ", ", UuidLiteral(tx_, application_id), ", ",
      tx_.quote(std::string(store::StoredKind(posting.kind))), ", ",
      tranche.empty() ? "NULL" : tx_.quote(tranche), ", ", static_cast<int>(a.debit), ", ",
      static_cast<int>(a.credit), ", ", posting.amount_minor, ")"));
  return absl::OkStatus();
}

std::vector<ApplicationRef> PgFundStore::ApprovedApplicationsOf(
    const std::string& organization_id) {
  static_assert(v1::APPLICATION_STATUS_APPROVED == 2);
  pqxx::result rows =
      tx_.ExecPrepared("fund_applications_approved_of",
                       "SELECT id::text, deal_id::text FROM applications "
                       "WHERE applicant_org_id = $1::uuid AND status = 2 ORDER BY ordinal",
                       organization_id);
  std::vector<ApplicationRef> out;
  for (const auto& row : rows) out.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
  return out;
}

std::optional<StandingRecord> PgFundStore::GetStanding(const std::string& organization_id) {
  pqxx::result rows =
      tx_.ExecPrepared("fund_standing_get_locked",
                       "SELECT suspended, registry_sequence FROM organization_standing "
                       "WHERE organization_id = $1::uuid FOR UPDATE",
                       organization_id);
  if (rows.empty()) return std::nullopt;
  return StandingRecord{rows[0][0].as<bool>(), rows[0][1].as<int64_t>()};
}

absl::Status PgFundStore::SaveStanding(const std::string& organization_id,
                                       const StandingRecord& s) {
  tx_.StageWrite(absl::StrCat(
      "INSERT INTO organization_standing (organization_id, suspended, registry_sequence) VALUES (",
      UuidLiteral(tx_, organization_id), ", ", s.suspended ? "true" : "false", ", ",
      s.registry_sequence,
      ") ON CONFLICT (organization_id) DO UPDATE SET suspended = EXCLUDED.suspended, "
      "registry_sequence = EXCLUDED.registry_sequence, update_time = now()"));
  return absl::OkStatus();
}

bool PgFundStore::IsSuspended(const std::string& organization_id) {
  pqxx::result rows = tx_.ExecPrepared(
      "fund_standing_suspended",
      "SELECT 1 FROM organization_standing WHERE organization_id = $1::uuid AND suspended",
      organization_id);
  return !rows.empty();
}

}  // namespace techtrade::fund
