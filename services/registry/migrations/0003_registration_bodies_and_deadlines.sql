-- Registration bodies (技术合同登记机构) are API clients of a pilot city, like its systems; each
-- city says within how many days of signing its contracts should be registered.
-- migration: registration bodies and registration deadlines
ALTER TABLE api_clients DROP CONSTRAINT api_clients_role_check;
ALTER TABLE api_clients ADD CONSTRAINT api_clients_role_check CHECK (role IN (1, 2, 3, 4));
ALTER TABLE api_clients DROP CONSTRAINT api_clients_check;
ALTER TABLE api_clients
  ADD CONSTRAINT api_clients_city_check CHECK ((role IN (2, 4)) = (city_id IS NOT NULL));

ALTER TABLE pilot_cities
  ADD COLUMN contract_registration_days smallint NOT NULL DEFAULT 30
    CHECK (contract_registration_days BETWEEN 1 AND 365);
