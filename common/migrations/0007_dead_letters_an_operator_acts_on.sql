-- migration: dead letters an operator acts on
-- common/dead_letters.h: a replayed or discarded event keeps its row, with who resolved it, when
-- and why (the audit trail); only UNRESOLVED ones count as dead letters.
ALTER TABLE inbox_dead_letter
  ADD COLUMN status text NOT NULL DEFAULT 'UNRESOLVED'
    CHECK (status IN ('UNRESOLVED', 'RESOLVED', 'DISCARDED')),
  ADD COLUMN attempts int NOT NULL DEFAULT 1,
  ADD COLUMN last_attempt_at timestamptz,
  ADD COLUMN resolved_at timestamptz,
  ADD COLUMN resolved_by text,
  ADD COLUMN resolution text;
UPDATE inbox_dead_letter SET last_attempt_at = created_at;
ALTER TABLE inbox_dead_letter ALTER COLUMN last_attempt_at SET DEFAULT now(),
                              ALTER COLUMN last_attempt_at SET NOT NULL;
CREATE INDEX inbox_dead_letter_unresolved ON inbox_dead_letter (consumer, topic)
  WHERE status = 'UNRESOLVED';
