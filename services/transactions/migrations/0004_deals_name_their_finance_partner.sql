-- migration: deals name their finance partner
-- The finance partner (registry API client id) that settles a deal: only its keys read the deal
-- and list it (docs/partners.md). NULL on deals opened before deals named one.
ALTER TABLE deals ADD COLUMN finance_partner_id text;
CREATE INDEX deals_finance_partner ON deals (finance_partner_id, ordinal)
  WHERE finance_partner_id IS NOT NULL;
