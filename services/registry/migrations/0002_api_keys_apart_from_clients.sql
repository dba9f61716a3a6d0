-- A client's keys in a table of their own, so that a client can hold a new key beside the one it
-- rolls over from (RotateApiKey), each with its own expiry. Authentication reads this table;
-- api_clients.secret_hash keeps the first key's hash for replicas of the previous release while a
-- rollout runs.
-- migration: api keys apart from their clients
CREATE TABLE api_keys (
  id          text        PRIMARY KEY CHECK (id ~ '^[0-9a-f]{16}$'),
  client_id   text        NOT NULL REFERENCES api_clients (id),
  secret_hash text        NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
  create_time timestamptz NOT NULL DEFAULT now(),
  expire_time timestamptz,
  revoke_time timestamptz
);
CREATE INDEX api_keys_client ON api_keys (client_id);

-- Each existing client's key becomes its first key, under the client's id, so it keeps working.
INSERT INTO api_keys (id, client_id, secret_hash, create_time, revoke_time)
SELECT id, id, secret_hash, create_time, revoke_time FROM api_clients;
