-- migration: outbox topic index
-- While a partner's topic backs off, the relay's reads skip every aggregate with a row for it
-- (common/outbox.cc, ReadNextBatch): those aggregates are found here, not by a pass over the
-- outbox, however many rows wait. Rows for the service's own topic (NULL) are not indexed.
CREATE INDEX outbox_topic_aggregate ON outbox (topic, aggregateid) WHERE topic IS NOT NULL;
