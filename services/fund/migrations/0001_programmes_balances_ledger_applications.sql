-- Accounts are the numbers of fund.v1.LedgerAccount. Each kind of entry moves money between
-- exactly two of them, so the invariant below holds by construction and the CHECK on the
-- balances only has to catch a bug or a hand-made change.
-- migration: programmes, balances, ledger, applications, annual grants, deal projection
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
