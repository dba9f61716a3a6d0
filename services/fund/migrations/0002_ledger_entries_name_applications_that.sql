-- migration: ledger entries name applications that exist
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_application_fkey
  FOREIGN KEY (application_id) REFERENCES applications (id);
