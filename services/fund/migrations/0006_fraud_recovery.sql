-- Recovery after fraud: a completed deal found fraudulent has every tranche paid for it clawed
-- back; the receivable is settled by recoveries (a finance partner got money back: out of
-- DISBURSED) or written off by an operator (the budget bears it: out of AVAILABLE). Each
-- application's receivable is never settled beyond what was clawed back.
-- migration: fraud recovery
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_accounts_of_kind;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_accounts_of_kind CHECK (
     (kind = 'fund'      AND debit = 2 AND credit = 1 AND application_id IS NULL)
  OR (kind = 'reserve'   AND debit = 3 AND credit = 2 AND application_id IS NOT NULL)
  OR (kind = 'disburse'  AND debit = 4 AND credit = 3 AND application_id IS NOT NULL)
  OR (kind = 'release'   AND debit = 2 AND credit = 3 AND application_id IS NOT NULL)
  OR (kind = 'clawback'  AND debit = 2 AND credit = 5 AND application_id IS NOT NULL)
  OR (kind = 'recovery'  AND debit = 5 AND credit = 4 AND application_id IS NOT NULL)
  OR (kind = 'write_off' AND debit = 5 AND credit = 2 AND application_id IS NOT NULL));

ALTER TABLE applications
  ADD COLUMN recovered   bigint NOT NULL DEFAULT 0 CHECK (recovered >= 0),
  ADD COLUMN written_off bigint NOT NULL DEFAULT 0 CHECK (written_off >= 0),
  ADD CONSTRAINT applications_receivable_settled_within
    CHECK (recovered + written_off <= clawed_back);
ALTER TABLE applications DROP CONSTRAINT applications_status_check;
ALTER TABLE applications ADD CONSTRAINT applications_status_check CHECK (status BETWEEN 1 AND 6);
