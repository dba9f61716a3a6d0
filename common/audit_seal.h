// The audit log's seal (deploy/sql/seal_audit_log.sql, compiled in) as a mode of every service
// binary, --seal-audit-log: where no psql runs (a Kubernetes Job), the admin seals a service's
// database with the image the services run.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "common/config.h"

namespace techtrade {

// deploy/sql/seal_audit_log.sql, byte for byte.
std::string_view AuditSealSql();

// Runs the seal on `pg_url` (a superuser's URL) with the services' role `service_role` and the
// migrating role `schema_role` ("": the service role). FAILED_PRECONDITION with the database's
// message when it refuses, UNAVAILABLE when the database cannot be reached.
absl::Status SealAuditLog(const std::string& pg_url, const std::string& service_role,
                          const std::string& schema_role);

// SealAuditLog on the configured URL and roles; the process's exit code: 0 sealed, 1 with the
// error logged.
int SealAuditLogOnly(const ServiceConfig& config);

}  // namespace techtrade
