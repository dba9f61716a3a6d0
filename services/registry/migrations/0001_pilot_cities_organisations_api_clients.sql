-- Enum columns hold the protobuf enum numbers; CHECKs keep them to the values that exist.
-- migration: pilot cities, organisations, api clients
CREATE TABLE pilot_cities (
  id            text        PRIMARY KEY,
  name          text        NOT NULL,
  kind          smallint    NOT NULL CHECK (kind IN (1, 2)),
  division_code text        NOT NULL CHECK (division_code ~ '^[0-9]{6}$'),
  version       bigint      NOT NULL CHECK (version >= 1),
  ordinal       bigserial   NOT NULL UNIQUE,
  create_time   timestamptz NOT NULL DEFAULT now(),
  update_time   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE organizations (
  id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  credit_code       text        NOT NULL UNIQUE CHECK (length(credit_code) = 18),
  name              text        NOT NULL CHECK (name <> ''),
  kind              smallint    NOT NULL CHECK (kind BETWEEN 1 AND 7),
  city_id           text        NOT NULL REFERENCES pilot_cities (id),
  status            smallint    NOT NULL CHECK (status IN (1, 2, 3)),
  ever_verified     boolean     NOT NULL DEFAULT false,
  address           text        NOT NULL DEFAULT '',
  contact_email     text        NOT NULL DEFAULT '',
  description       text        NOT NULL DEFAULT '',
  suspension_reason text        NOT NULL DEFAULT '',
  version           bigint      NOT NULL CHECK (version >= 1),
  ordinal           bigserial   NOT NULL UNIQUE,
  create_time       timestamptz NOT NULL DEFAULT now(),
  update_time       timestamptz NOT NULL DEFAULT now(),
  verify_time       timestamptz
);
CREATE INDEX organizations_city ON organizations (city_id, ordinal);

CREATE TABLE api_clients (
  id          text        PRIMARY KEY CHECK (id ~ '^[0-9a-f]{16}$'),
  name        text        NOT NULL,
  role        smallint    NOT NULL CHECK (role IN (1, 2, 3)),
  city_id     text        REFERENCES pilot_cities (id),
  secret_hash text        NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
  status      smallint    NOT NULL CHECK (status IN (1, 2)),
  version     bigint      NOT NULL CHECK (version >= 1),
  ordinal     bigserial   NOT NULL UNIQUE,
  create_time timestamptz NOT NULL DEFAULT now(),
  revoke_time timestamptz,
  CHECK ((role = 2) = (city_id IS NOT NULL))
);
