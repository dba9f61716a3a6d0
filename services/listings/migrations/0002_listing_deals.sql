-- migration: listing deals
-- The deals on each listing as the transactions service's events told them: an offer is
-- UNDER_NEGOTIATION while one is open. `deal_version` is the deal's version in the event last
-- applied, so that an older event never overrides a newer one.
CREATE TABLE listing_deals (
  listing_id   uuid        NOT NULL,
  deal_id      uuid        NOT NULL,
  deal_version bigint      NOT NULL CHECK (deal_version >= 1),
  open         boolean     NOT NULL,
  update_time  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (listing_id, deal_id)
);
CREATE INDEX listing_deals_open ON listing_deals (listing_id) WHERE open;

-- Search and matching show offers under negotiation too; the read model loads them in order.
CREATE INDEX offers_listed ON offers (ordinal) WHERE status IN (2, 3);
