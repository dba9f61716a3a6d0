-- migration: inbox retention index
CREATE INDEX inbox_processed_at ON inbox USING brin (processed_at);
