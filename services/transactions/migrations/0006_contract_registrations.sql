-- Technology-contract registration: the numbers registration bodies issue, unique on the platform,
-- and when each signed deal's registration falls due (NULL once it is registered, flagged overdue
-- or cancelled), which the overdue sweep reads through a partial index.
-- migration: contract registrations
CREATE TABLE contract_registrations (
  registration_number text        PRIMARY KEY CHECK (registration_number ~ '^[A-Za-z0-9-]{6,40}$'),
  deal_id             uuid        NOT NULL UNIQUE REFERENCES deals (id),
  city_id             text        NOT NULL,
  registered_at       timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE deals ADD COLUMN registration_due timestamptz;
CREATE INDEX deals_registration_due ON deals (registration_due) WHERE registration_due IS NOT NULL;
