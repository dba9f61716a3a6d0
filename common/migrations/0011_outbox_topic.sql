-- migration: outbox topic
-- A row may name its own topic (e.g. a finance partner's deal stream, common/topics.h); NULL is
-- the relay's, the service's topic. An event bound for two topics is two rows with one id.
ALTER TABLE outbox ADD COLUMN topic text;
