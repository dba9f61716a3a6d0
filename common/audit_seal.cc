#include "common/audit_seal.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace techtrade {

absl::Status SealAuditLog(const std::string& pg_url, const std::string& service_role,
                          const std::string& schema_role) {
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(pg_url);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL: ", e.what()));
  }
  try {
    pqxx::nontransaction tx(*conn);
    // Session settings, not transaction ones: the file opens and commits its own transaction.
    // pg_catalog-qualified: the file pins search_path only once it runs.
    tx.exec_params(
        "SELECT pg_catalog.set_config('techtrade.service_role', $1, false), "
        "pg_catalog.set_config('techtrade.schema_role', $2, false)",
        service_role, schema_role);
    tx.exec(std::string(AuditSealSql()));
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(absl::StrCat("audit_log: seal failed: ", e.what()));
  }
  return absl::OkStatus();
}

int SealAuditLogOnly(const ServiceConfig& config) {
  const absl::Status status =
      SealAuditLog(config.pg_url, config.seal_service_role, config.seal_schema_role);
  if (!status.ok()) {
    log::Error("seal-audit-log: failed", {{"error", status.message()}});
    return 1;
  }
  log::Info("seal-audit-log: the audit log is sealed",
            {{"service_role", config.seal_service_role},
             {"schema_role", config.seal_schema_role.empty() ? config.seal_service_role
                                                             : config.seal_schema_role}});
  return 0;
}

}  // namespace techtrade
