-- migration: inbox
CREATE TABLE inbox (
  consumer     text        NOT NULL,
  event_id     text        NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
CREATE TABLE inbox_dead_letter (
  id         bigserial   PRIMARY KEY,
  consumer   text        NOT NULL,
  topic      text        NOT NULL,
  partition  int         NOT NULL,
  "offset"   bigint      NOT NULL,
  event_id   text,
  error      text        NOT NULL,
  payload    bytea,
  created_at timestamptz NOT NULL DEFAULT now()
);
