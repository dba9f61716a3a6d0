-- migration: organisations' standing
-- The registry's suspensions, from techtrade.registry.events.v1 (store/standing_store.h):
-- tranches due to a suspended applicant are held until it is reinstated.
CREATE TABLE organization_standing (
  organization_id   uuid        PRIMARY KEY,
  suspended         boolean     NOT NULL,
  registry_sequence bigint      NOT NULL,
  update_time       timestamptz NOT NULL DEFAULT now()
);
