-- Certified technology managers (技术经理人), each affiliated with a registered organisation that
-- brokers the deals the manager brokers. A revoked certificate keeps its reason.
-- migration: technology managers
CREATE TABLE technology_managers (
  id                      uuid        PRIMARY KEY,
  name                    text        NOT NULL CHECK (name <> ''),
  certificate_number      text        NOT NULL UNIQUE CHECK (certificate_number <> ''),
  certifying_authority    text        NOT NULL CHECK (certifying_authority <> ''),
  certificate_expire_time timestamptz,
  organization_id         uuid        NOT NULL REFERENCES organizations (id),
  city_id                 text        NOT NULL REFERENCES pilot_cities (id),
  status                  smallint    NOT NULL CHECK (status IN (1, 2)),
  revocation_reason       text        NOT NULL DEFAULT '',
  version                 bigint      NOT NULL CHECK (version >= 1),
  ordinal                 bigserial   NOT NULL UNIQUE,
  create_time             timestamptz NOT NULL,
  update_time             timestamptz NOT NULL,
  CHECK ((status = 2) = (revocation_reason <> ''))
);
CREATE INDEX technology_managers_organization ON technology_managers (organization_id, ordinal);
CREATE INDEX technology_managers_city ON technology_managers (city_id, ordinal);
