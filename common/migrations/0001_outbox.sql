-- migration: outbox
-- One index only (the relay's order): every index costs each committing mutation. Nothing looks
-- rows up by id, and per-aggregate sequences are guaranteed by the aggregate's row lock.
CREATE TABLE outbox (
  position      bigserial   PRIMARY KEY,
  id            uuid        NOT NULL,
  aggregatetype text        NOT NULL,
  aggregateid   text        NOT NULL,
  type          text        NOT NULL,
  payload       bytea       NOT NULL,  -- a serialized techtrade.common.v1.EventEnvelope
  sequence      bigint      NOT NULL,
  occurred_at   timestamptz NOT NULL
);
-- Rows are deleted once Kafka has them, so the table stays small; vacuum it eagerly.
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
                        autovacuum_vacuum_cost_delay = 0);
