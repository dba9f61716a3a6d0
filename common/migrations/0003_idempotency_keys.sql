-- migration: idempotency_keys
CREATE TABLE idempotency_keys (
  client_id    text        NOT NULL,
  request_id   text        NOT NULL,
  method       text        NOT NULL,
  request_hash text        NOT NULL,
  response     bytea,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, request_id)
);
-- BRIN: nearly free to maintain on an append-mostly table, enough for the retention sweep.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys USING brin (created_at);
