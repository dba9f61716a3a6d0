-- migration: deals keep their event chain head
-- A deal's events form a hash chain (docs/events.md, "Hash chain"): chain_head is the SHA-256 of
-- the envelope of the deal's last event, chain_start the sequence of its first chained event,
-- both written with the deal's row in the transaction that emits. NULL on deals whose events
-- were published before the chain existed: their chain starts at their next event.
ALTER TABLE deals ADD COLUMN chain_head bytea;
ALTER TABLE deals ADD COLUMN chain_start bigint;
