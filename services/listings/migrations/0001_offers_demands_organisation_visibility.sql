-- migration: offers, demands, organisation visibility
CREATE TABLE offers (
  id            uuid        PRIMARY KEY,
  owner_org_id  uuid        NOT NULL,
  city_id       text        NOT NULL,
  status        smallint    NOT NULL CHECK (status BETWEEN 1 AND 6),
  version       bigint      NOT NULL CHECK (version >= 1),
  record        bytea       NOT NULL,  -- techtrade.listings.v1.Offer
  ordinal       bigserial   NOT NULL UNIQUE,
  update_time   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX offers_owner ON offers (owner_org_id, ordinal);
CREATE INDEX offers_city ON offers (city_id, ordinal);
CREATE INDEX offers_published ON offers (ordinal) WHERE status = 2;

CREATE TABLE demands (
  id            uuid        PRIMARY KEY,
  seeker_org_id uuid        NOT NULL,
  city_id       text        NOT NULL,
  status        smallint    NOT NULL CHECK (status BETWEEN 1 AND 5),
  version       bigint      NOT NULL CHECK (version >= 1),
  record        bytea       NOT NULL,  -- techtrade.listings.v1.Demand
  ordinal       bigserial   NOT NULL UNIQUE,
  update_time   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX demands_seeker ON demands (seeker_org_id, ordinal);
CREATE INDEX demands_city ON demands (city_id, ordinal);
CREATE INDEX demands_published ON demands (ordinal) WHERE status = 2;

CREATE TABLE organization_visibility (
  organization_id   uuid        PRIMARY KEY,
  hidden            boolean     NOT NULL,
  registry_sequence bigint      NOT NULL,
  version           bigint      NOT NULL CHECK (version >= 1),
  update_time       timestamptz NOT NULL DEFAULT now()
);
