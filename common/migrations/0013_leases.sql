-- migration: leases
-- Who does a job that one replica at a time may do (the outbox relay, the retention sweeper),
-- until when (common/lease.h). A row instead of a session-level advisory lock, so that leadership
-- needs no dedicated session and works through a pooler in transaction mode.
CREATE TABLE leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  expires_at timestamptz NOT NULL
);
