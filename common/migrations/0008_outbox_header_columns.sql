-- migration: outbox header columns
-- What the Kafka headers repeat beside the Debezium columns (docs/events.md, "Kafka record"), so
-- that the relay sets them without parsing the envelope.
ALTER TABLE outbox ADD COLUMN producer text NOT NULL DEFAULT '',
                   ADD COLUMN traceparent text NOT NULL DEFAULT '';
