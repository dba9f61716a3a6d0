#include "services/fund/store/fund_store.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "google/protobuf/util/time_util.h"

namespace techtrade::fund::store {
namespace {

using google::protobuf::util::TimeUtil;

// Accounts are the numbers of fund.v1.LedgerAccount. Each kind of entry moves money between
// exactly two of them, so the invariant below holds by construction and the CHECK on the
// balances only has to catch a bug or a hand-made change.
const Migration kMigrations[] = {
    {1, "programmes, balances, ledger, applications, annual grants, deal projection", R"sql(
CREATE TABLE programmes (
  id          uuid        PRIMARY KEY,
  city_id     text        NOT NULL,  -- '' = national
  status      smallint    NOT NULL CHECK (status IN (1, 2)),
  version     bigint      NOT NULL CHECK (version >= 1),
  record      bytea       NOT NULL,  -- techtrade.fund.v1.Programme without balances
  ordinal     bigserial   NOT NULL UNIQUE,
  create_time timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE programme_balances (
  programme_id uuid   PRIMARY KEY REFERENCES programmes (id),
  currency     text   NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  total        bigint NOT NULL DEFAULT 0 CHECK (total >= 0),
  available    bigint NOT NULL DEFAULT 0 CONSTRAINT programme_balances_available_not_negative
                                          CHECK (available >= 0),
  reserved     bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  disbursed    bigint NOT NULL DEFAULT 0 CHECK (disbursed >= 0),
  clawed_back  bigint NOT NULL DEFAULT 0 CHECK (clawed_back >= 0 AND clawed_back <= disbursed),
  CONSTRAINT programme_balances_invariant
    CHECK (available + reserved + disbursed - clawed_back = total)
);

CREATE TABLE ledger_entries (
  id             bigserial   PRIMARY KEY,
  programme_id   uuid        NOT NULL REFERENCES programme_balances (programme_id),
  application_id uuid,
  kind           text        NOT NULL,
  tranche        text,
  debit          smallint    NOT NULL,
  credit         smallint    NOT NULL,
  amount         bigint      NOT NULL CHECK (amount > 0),
  created_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ledger_entries_accounts_of_kind CHECK (
       (kind = 'fund'     AND debit = 2 AND credit = 1 AND application_id IS NULL)
    OR (kind = 'reserve'  AND debit = 3 AND credit = 2 AND application_id IS NOT NULL)
    OR (kind = 'disburse' AND debit = 4 AND credit = 3 AND application_id IS NOT NULL)
    OR (kind = 'release'  AND debit = 2 AND credit = 3 AND application_id IS NOT NULL)
    OR (kind = 'clawback' AND debit = 2 AND credit = 5 AND application_id IS NOT NULL)),
  CHECK ((kind = 'disburse') = (tranche IS NOT NULL))
);
CREATE INDEX ledger_entries_programme ON ledger_entries (programme_id, id);
CREATE INDEX ledger_entries_application ON ledger_entries (application_id)
  WHERE application_id IS NOT NULL;
-- A tranche is paid once, whatever a consumer or an operator does twice.
CREATE UNIQUE INDEX ledger_entries_one_disbursement_per_tranche
  ON ledger_entries (application_id, tranche) WHERE kind = 'disburse';

-- Posts the entries of each INSERT statement to the balances (one UPDATE per programme, so a
-- bulk load costs one aggregate, not a trigger per row).
CREATE FUNCTION ledger_entries_post() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  UPDATE programme_balances b SET
    total       = b.total + d.total,
    available   = b.available + d.available,
    reserved    = b.reserved + d.reserved,
    disbursed   = b.disbursed + d.disbursed,
    clawed_back = b.clawed_back + d.clawed_back
  FROM (SELECT programme_id,
          sum(CASE WHEN credit = 1 THEN amount WHEN debit = 1 THEN -amount ELSE 0 END) AS total,
          sum(CASE WHEN debit = 2 THEN amount WHEN credit = 2 THEN -amount ELSE 0 END) AS available,
          sum(CASE WHEN debit = 3 THEN amount WHEN credit = 3 THEN -amount ELSE 0 END) AS reserved,
          sum(CASE WHEN debit = 4 THEN amount WHEN credit = 4 THEN -amount ELSE 0 END) AS disbursed,
          sum(CASE WHEN credit = 5 THEN amount WHEN debit = 5 THEN -amount ELSE 0 END) AS clawed_back
        FROM posted GROUP BY programme_id) d
  WHERE b.programme_id = d.programme_id;
  RETURN NULL;
END $fn$;
CREATE TRIGGER ledger_entries_post AFTER INSERT ON ledger_entries
  REFERENCING NEW TABLE AS posted FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_post();

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'ledger entries are append-only; post a correcting entry instead';
END $fn$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- Balances change only by posting entries.
CREATE FUNCTION programme_balances_only_by_entries() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF pg_trigger_depth() < 2 THEN
    RAISE EXCEPTION 'programme balances change only through ledger entries';
  END IF;
  RETURN NEW;
END $fn$;
CREATE TRIGGER programme_balances_only_by_entries BEFORE UPDATE ON programme_balances
  FOR EACH ROW EXECUTE FUNCTION programme_balances_only_by_entries();

CREATE TABLE applications (
  id               uuid        PRIMARY KEY,
  programme_id     uuid        NOT NULL REFERENCES programmes (id),
  deal_id          uuid        NOT NULL,
  applicant_org_id uuid        NOT NULL,
  city_id          text        NOT NULL,  -- the applicant's
  currency         text        NOT NULL,
  status           smallint    NOT NULL CHECK (status BETWEEN 1 AND 5),
  approved         bigint      NOT NULL CHECK (approved >= 0),
  disbursed        bigint      NOT NULL CHECK (disbursed >= 0),
  released         bigint      NOT NULL CHECK (released >= 0),
  clawed_back      bigint      NOT NULL CHECK (clawed_back >= 0 AND clawed_back <= disbursed),
  version          bigint      NOT NULL CHECK (version >= 1),
  record           bytea       NOT NULL,  -- techtrade.fund.v1.Application
  ordinal          bigserial   NOT NULL UNIQUE,
  CONSTRAINT applications_within_approval CHECK (disbursed + released <= approved)
);
-- One application per (programme, deal) unless it was rejected.
CREATE UNIQUE INDEX applications_one_per_programme_deal ON applications (programme_id, deal_id)
  WHERE status <> 3;
CREATE INDEX applications_deal ON applications (deal_id);
CREATE INDEX applications_programme ON applications (programme_id, ordinal);
CREATE INDEX applications_applicant ON applications (applicant_org_id, ordinal);

-- What each buyer was granted per programme and year of signing, net of releases and clawbacks.
CREATE TABLE annual_grants (
  programme_id    uuid   NOT NULL REFERENCES programmes (id),
  organization_id uuid   NOT NULL,
  year            int    NOT NULL,
  granted         bigint NOT NULL CHECK (granted >= 0),
  cap             bigint NOT NULL,
  PRIMARY KEY (programme_id, organization_id, year),
  CONSTRAINT annual_grants_within_cap CHECK (granted <= cap)
);

-- The fund's own view of deals, built from techtrade.transactions.events.v1.
CREATE TABLE deals (
  id             uuid        PRIMARY KEY,
  sequence       bigint      NOT NULL,
  state          smallint    NOT NULL,
  city_id        text        NOT NULL,
  buyer_org_id   uuid        NOT NULL,
  currency       text,
  contract_value bigint,
  opened_at      timestamptz NOT NULL,
  signed_at      timestamptz,
  completed_at   timestamptz,
  record         bytea       NOT NULL  -- techtrade.transactions.v1.Deal
);
CREATE INDEX deals_signed ON deals (signed_at) WHERE signed_at IS NOT NULL;
CREATE INDEX deals_completed ON deals (completed_at) WHERE completed_at IS NOT NULL;
)sql"},
    {2, "ledger entries name applications that exist", R"sql(
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_application_fkey
  FOREIGN KEY (application_id) REFERENCES applications (id);
)sql"},
    {3, "organisations' standing", R"sql(
-- The registry's suspensions, from techtrade.registry.events.v1 (store/standing_store.h):
-- tranches due to a suspended applicant are held until it is reinstated.
CREATE TABLE organization_standing (
  organization_id   uuid        PRIMARY KEY,
  suspended         boolean     NOT NULL,
  registry_sequence bigint      NOT NULL,
  update_time       timestamptz NOT NULL DEFAULT now()
);
)sql"},
};

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

struct Accounts {
  int debit;
  int credit;
};
Accounts AccountsOf(const std::string& kind) {
  if (kind == "fund") return {v1::LEDGER_ACCOUNT_AVAILABLE, v1::LEDGER_ACCOUNT_BUDGET};
  if (kind == "reserve") return {v1::LEDGER_ACCOUNT_RESERVED, v1::LEDGER_ACCOUNT_AVAILABLE};
  if (kind == "disburse") return {v1::LEDGER_ACCOUNT_DISBURSED, v1::LEDGER_ACCOUNT_RESERVED};
  if (kind == "release") return {v1::LEDGER_ACCOUNT_AVAILABLE, v1::LEDGER_ACCOUNT_RESERVED};
  return {v1::LEDGER_ACCOUNT_AVAILABLE, v1::LEDGER_ACCOUNT_CLAWED_BACK};  // clawback
}

}  // namespace

std::span<const Migration> FundMigrations() { return kMigrations; }

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
  AppendEntry(tx, p.id(), "", "fund", "", p.total_budget().amount_minor());
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

ProgrammePage ListProgrammes(Tx& tx, const std::string& city_id, int status, int64_t after,
                             int limit) {
  pqxx::result rows = tx.exec_params(
      absl::StrCat(kProgrammeColumns,
                   "WHERE p.ordinal > $1 AND ($2 = '' OR p.city_id = $2) AND ($3 = 0 OR p.status = "
                   "$3) ORDER BY p.ordinal LIMIT $4"),
      after, city_id, status, limit + 1);
  ProgrammePage page;
  for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
    page.programmes.push_back(ProgrammeFromRow(rows[i]));
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

ApplicationPage ListApplications(Tx& tx, const ApplicationFilter& f, int64_t after, int limit) {
  pqxx::result rows = tx.exec_params(
      "SELECT record, ordinal FROM applications WHERE ordinal > $1 "
      "AND ($2 = '' OR programme_id::text = $2) AND ($3 = '' OR deal_id::text = $3) "
      "AND ($4 = '' OR applicant_org_id::text = $4) AND ($5 = '' OR city_id = $5) "
      "AND ($6 = 0 OR status = $6) ORDER BY ordinal LIMIT $7",
      after, f.programme_id, f.deal_id, f.applicant_org_id, f.city_id, f.status, limit + 1);
  ApplicationPage page;
  for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
    page.applications.push_back(ParseRecord<v1::Application>(rows[i][0]));
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
                 const std::string& kind, const std::string& tranche, int64_t amount) {
  const Accounts a = AccountsOf(kind);
  tx.StageWrite(absl::StrCat(
      "INSERT INTO ledger_entries (programme_id, application_id, kind, tranche, debit, credit, "
      "amount) VALUES (",
      UuidLiteral(tx, programme_id), ", ", UuidLiteral(tx, application_id), ", ", tx.quote(kind),
      ", ", tranche.empty() ? "NULL" : tx.quote(tranche), ", ", a.debit, ", ", a.credit, ", ",
      amount, ")"));
}

EntryPage ListEntries(Tx& tx, const std::string& programme_id, const std::string& application_id,
                      int64_t after_id, int limit) {
  pqxx::result rows = tx.exec_params(
      "SELECT id, coalesce(application_id::text, ''), kind, coalesce(tranche, ''), debit, credit, "
      "amount, " +
          EpochMicros("created_at") +
          " FROM ledger_entries WHERE programme_id = $1::uuid AND id > $2 "
          "AND ($3 = '' OR application_id::text = $3) ORDER BY id LIMIT $4",
      programme_id, after_id, application_id, limit + 1);
  EntryPage page;
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
    page.entries.push_back(std::move(e));
  }
  page.more = static_cast<int>(rows.size()) > limit;
  return page;
}

v1::ReconcileResponse Reconcile(Tx& tx, const std::string& programme_id) {
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
