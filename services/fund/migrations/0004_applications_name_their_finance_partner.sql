-- migration: applications and the deal projection name the deal's finance partner
-- The partner (registry API client id) that settles the deal, from its deal events: only its
-- keys read the deal's applications, and their events go to its own stream too. '' for a deal
-- that names none (opened before deals named one), which no partner sees.
ALTER TABLE deals ADD COLUMN finance_partner_id text NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN finance_partner_id text NOT NULL DEFAULT '';
CREATE INDEX applications_finance_partner ON applications (finance_partner_id, ordinal)
  WHERE finance_partner_id <> '';
