-- migration: audit log scope indexes
-- What a scoped QueryAudit narrows by (common/audit.cc): a partner's rows in keyset order, and a
-- city's through city_ids @> ARRAY[city] (GIN answers containment; `= ANY` it cannot). Written
-- before deploy/sql/seal_audit_log.sql takes the table from the services' role.
CREATE INDEX audit_log_partner ON audit_log (partner_id, position);
CREATE INDEX audit_log_city_ids ON audit_log USING gin (city_ids);
