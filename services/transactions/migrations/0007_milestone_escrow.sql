-- Milestone escrow: what the finance partners hold for escrowed milestones, moved by the deal
-- transitions in the same transaction as the deal. Movements are append-only, one of each kind
-- per milestone, a release or refund only of the amount funded and never both; a statement
-- trigger posts them to the deal's balances, whose CHECK holds funded = released + refunded +
-- held, none negative — the database's own reconciliation, as the fund's ledger has.
-- migration: milestone escrow
CREATE TABLE escrow_movements (
  deal_id         uuid        NOT NULL REFERENCES deals (id),
  milestone_index int         NOT NULL CHECK (milestone_index BETWEEN 1 AND 20),
  kind            text        NOT NULL CHECK (kind IN ('funded', 'released', 'refunded')),
  amount          bigint      NOT NULL CHECK (amount > 0),
  currency        text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  reference       text        NOT NULL DEFAULT '',
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (deal_id, milestone_index, kind)
);
-- Released or refunded, not both.
CREATE UNIQUE INDEX escrow_movements_one_outcome ON escrow_movements (deal_id, milestone_index)
  WHERE kind <> 'funded';

CREATE TABLE escrow_balances (
  deal_id  uuid   PRIMARY KEY REFERENCES deals (id),
  currency text   NOT NULL,
  funded   bigint NOT NULL DEFAULT 0 CHECK (funded >= 0),
  released bigint NOT NULL DEFAULT 0 CHECK (released >= 0),
  refunded bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0),
  held     bigint NOT NULL DEFAULT 0 CONSTRAINT escrow_balances_held_not_negative CHECK (held >= 0),
  CONSTRAINT escrow_balances_conserved CHECK (funded = released + refunded + held)
);

-- A release or refund moves exactly the amount funded for its milestone.
CREATE FUNCTION escrow_movements_check() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF NEW.kind <> 'funded' AND NOT EXISTS (
       SELECT 1 FROM escrow_movements f
       WHERE f.deal_id = NEW.deal_id AND f.milestone_index = NEW.milestone_index
         AND f.kind = 'funded' AND f.amount = NEW.amount AND f.currency = NEW.currency) THEN
    RAISE EXCEPTION 'escrow: % of milestone % of deal % without that amount funded',
      NEW.kind, NEW.milestone_index, NEW.deal_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'escrow_movements_funded_first';
  END IF;
  RETURN NEW;
END $fn$;
CREATE TRIGGER escrow_movements_check BEFORE INSERT ON escrow_movements
  FOR EACH ROW EXECUTE FUNCTION escrow_movements_check();

-- Posts each statement's movements to the deal's balances: an UPDATE for a deal that has them,
-- an INSERT for one funded for the first time (an INSERT … ON CONFLICT would check the proposed
-- row, a release alone, against held >= 0 before finding the conflict).
CREATE FUNCTION escrow_movements_post() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  UPDATE escrow_balances b SET
    funded   = b.funded + d.funded,
    released = b.released + d.released,
    refunded = b.refunded + d.refunded,
    held     = b.held + d.funded - d.released - d.refunded
  FROM (SELECT deal_id, min(currency) AS currency,
               COALESCE(sum(amount) FILTER (WHERE kind = 'funded'), 0) AS funded,
               COALESCE(sum(amount) FILTER (WHERE kind = 'released'), 0) AS released,
               COALESCE(sum(amount) FILTER (WHERE kind = 'refunded'), 0) AS refunded
        FROM posted GROUP BY deal_id) d
  WHERE b.deal_id = d.deal_id;
  INSERT INTO escrow_balances (deal_id, currency, funded, released, refunded, held)
  SELECT d.deal_id, d.currency, d.funded, d.released, d.refunded,
         d.funded - d.released - d.refunded
  FROM (SELECT deal_id, min(currency) AS currency,
               COALESCE(sum(amount) FILTER (WHERE kind = 'funded'), 0) AS funded,
               COALESCE(sum(amount) FILTER (WHERE kind = 'released'), 0) AS released,
               COALESCE(sum(amount) FILTER (WHERE kind = 'refunded'), 0) AS refunded
        FROM posted GROUP BY deal_id) d
  WHERE NOT EXISTS (SELECT 1 FROM escrow_balances b WHERE b.deal_id = d.deal_id);
  RETURN NULL;
END $fn$;
CREATE TRIGGER escrow_movements_post AFTER INSERT ON escrow_movements
  REFERENCING NEW TABLE AS posted FOR EACH STATEMENT EXECUTE FUNCTION escrow_movements_post();

CREATE FUNCTION escrow_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'escrow movements are append-only';
END $fn$;
CREATE TRIGGER escrow_movements_append_only BEFORE UPDATE OR DELETE ON escrow_movements
  FOR EACH ROW EXECUTE FUNCTION escrow_refuse_change();
