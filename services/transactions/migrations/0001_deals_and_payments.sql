-- migration: deals and payments
CREATE TABLE deals (
  id            uuid        PRIMARY KEY,
  listing_id    uuid        NOT NULL,
  buyer_org_id  uuid        NOT NULL,
  seller_org_id uuid        NOT NULL CHECK (seller_org_id <> buyer_org_id),
  broker_org_id uuid,
  city_id       text        NOT NULL,
  state         smallint    NOT NULL CHECK (state BETWEEN 1 AND 8),
  version       bigint      NOT NULL CHECK (version >= 1),
  record        bytea       NOT NULL,  -- techtrade.transactions.v1.Deal
  ordinal       bigserial   NOT NULL UNIQUE,
  create_time   timestamptz NOT NULL,
  update_time   timestamptz NOT NULL
);
CREATE INDEX deals_buyer ON deals (buyer_org_id, ordinal);
CREATE INDEX deals_seller ON deals (seller_org_id, ordinal);
CREATE INDEX deals_broker ON deals (broker_org_id, ordinal) WHERE broker_org_id IS NOT NULL;
CREATE INDEX deals_city ON deals (city_id, ordinal);
CREATE INDEX deals_state ON deals (state, ordinal);

-- One row per finance partner's payment: the reference is recorded once.
CREATE TABLE payments (
  payment_reference text        PRIMARY KEY,
  deal_id           uuid        NOT NULL REFERENCES deals (id),
  milestone_index   int         NOT NULL CHECK (milestone_index >= 1),
  currency          text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  amount_minor      bigint      NOT NULL CHECK (amount_minor > 0),
  recorded_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_deal ON payments (deal_id);
