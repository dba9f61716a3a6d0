-- A registration body's client may name the GOVERNMENT organisation it is: programmes that pay
-- registration bodies pay that organisation.
-- migration: registration bodies name their organisation
ALTER TABLE api_clients ADD COLUMN organization_id uuid REFERENCES organizations (id);
ALTER TABLE api_clients
  ADD CONSTRAINT api_clients_organization_only_for_bodies
    CHECK (organization_id IS NULL OR role = 4);
