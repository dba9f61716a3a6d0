-- migration: outbox keeps its pages
-- The outbox is a queue that empties after every relay batch, so every VACUUM (the maintenance
-- worker's, every few seconds under load, or autovacuum's) would find its tail empty and
-- truncate it. Truncation takes an ACCESS EXCLUSIVE lock, which stops every committing mutation
-- (each appends to the outbox) and the relay; the pages then have to be extended again by the
-- next inserts. Kept, they are reused: the table stays at the size its busiest moment needed.
ALTER TABLE outbox SET (vacuum_truncate = false);
