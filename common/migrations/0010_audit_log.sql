-- migration: audit log
-- Every event the service emitted, written by AppendToOutbox in the transaction that made the
-- change (the outbox row goes once Kafka has it; this one stays): who caused it, for what, and
-- the envelope as published (techtrade.audit.v1.AuditService reads it). Append-only: a trigger
-- refuses UPDATE, DELETE and TRUNCATE, and no retention sweep or maintenance touches it.
-- Indexes are what each committing mutation pays for: the keyset order, the two filters a query
-- narrows by (aggregate, actor), and a BRIN index for time ranges (rows arrive in time order).
CREATE TABLE audit_log (
  position         bigserial   PRIMARY KEY,
  event_id         uuid        NOT NULL,
  aggregate_type   text        NOT NULL,
  aggregate_id     text        NOT NULL,
  sequence         bigint      NOT NULL,
  event_type       text        NOT NULL,
  occurred_at      timestamptz NOT NULL,
  producer         text        NOT NULL,
  actor_client_id  text        NOT NULL,
  actor_role       text        NOT NULL,
  actor_city_id    text        NOT NULL,
  request_id       text        NOT NULL,
  city_ids         text[]      NOT NULL,  -- the pilot cities the aggregate concerns
  partner_id       text        NOT NULL,  -- the finance partner settling it; '' when none
  envelope         bytea       NOT NULL   -- the serialized techtrade.common.v1.EventEnvelope
);
CREATE INDEX audit_log_aggregate ON audit_log (aggregate_id, position);
CREATE INDEX audit_log_actor ON audit_log (actor_client_id, position);
CREATE INDEX audit_log_occurred_at ON audit_log USING brin (occurred_at);

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END $fn$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
