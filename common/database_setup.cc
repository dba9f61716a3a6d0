#include "common/database_setup.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"

namespace techtrade {
namespace {

absl::StatusOr<std::unique_ptr<PgPool>> OpenPool(const ServiceConfig& config, int size) {
  absl::StatusOr<std::unique_ptr<PgPool>> db =
      PgPool::Create(config.pg_url, size, config.db_commit_pipeline_depth);
  if (!db.ok()) {
    return absl::Status(db.status().code(),
                        absl::StrCat("cannot connect to PostgreSQL: ", db.status().message()));
  }
  return db;
}

absl::Status Migrate(const ServiceConfig& config, PgPool& db,
                     std::span<const SchemaComponent> schema) {
  for (const SchemaComponent& component : schema) {
    absl::Status s = ApplyMigrations(db, component.name, component.migrations,
                                     {.lock_timeout = config.migration_lock_timeout});
    if (!s.ok()) return absl::Status(s.code(), absl::StrCat("migration failed: ", s.message()));
  }
  return absl::OkStatus();
}

// What the services' role may do with what the migrating role owns, granted after the
// migrations: DML on every table of public, its sequences, but nothing on audit_log and its
// sequence, whose rights the seal sets (deploy/sql/seal_audit_log.sql). The role name reaches
// the statements only through format('%I').
constexpr char kGrantToServicesSql[] = R"sql(
DO $grant$
DECLARE
  grantee name := pg_catalog.current_setting('techtrade.grant_to_role');
  r record;
BEGIN
  FOR r IN SELECT c.relname, c.relkind
             FROM pg_catalog.pg_class c
            WHERE c.relnamespace = 'public'::pg_catalog.regnamespace
              AND c.relkind IN ('r', 'p', 'S')
              AND c.relowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = CURRENT_USER)
              AND c.relname <> 'audit_log'
              AND NOT EXISTS (
                    SELECT FROM pg_catalog.pg_depend d
                     WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                       AND d.objid = c.oid
                       AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                       AND d.refobjid = pg_catalog.to_regclass('public.audit_log')) LOOP
    IF r.relkind = 'S' THEN
      EXECUTE pg_catalog.format('GRANT USAGE, SELECT ON SEQUENCE public.%I TO %I', r.relname,
                                grantee);
    ELSE
      EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.%I TO %I',
                                r.relname, grantee);
    END IF;
  END LOOP;
END
$grant$)sql";

absl::Status GrantToServices(PgPool& db, const std::string& role) {
  if (role.empty()) return absl::OkStatus();
  TT_ASSIGN_OR_RETURN(PgPool::Lease lease, db.Acquire());
  try {
    pqxx::work tx(lease.conn());
    tx.exec_params("SELECT pg_catalog.set_config('techtrade.grant_to_role', $1, true)", role);
    tx.exec(kGrantToServicesSql);
    tx.commit();
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(
        absl::StrCat("TECHTRADE_GRANT_TO_ROLE: granting ", role, " failed: ", e.what()));
  }
  return absl::OkStatus();
}

// The budget against the server, on a connection of its own, before the pool takes its share.
absl::Status CheckServerBudget(const ServiceConfig& config) {
  if (config.expected_replicas == 0) return absl::OkStatus();
  int max_connections = 0, reserved = 0;
  try {
    pqxx::connection conn(config.pg_url);
    pqxx::nontransaction tx(conn);
    max_connections = tx.exec1("SHOW max_connections")[0].as<int>();
    reserved = tx.exec1("SHOW superuser_reserved_connections")[0].as<int>();
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL: ", e.what()));
  }
  return CheckConnectionBudget(config.expected_replicas, ConnectionsPerReplica(config),
                               max_connections, reserved);
}

}  // namespace

absl::Status CheckConnectionBudget(int replicas, int per_replica, int max_connections,
                                   int superuser_reserved) {
  if (replicas == 0) return absl::OkStatus();
  const int64_t needed = static_cast<int64_t>(replicas) * per_replica;
  const int64_t available = max_connections - superuser_reserved;
  if (needed <= available) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "TECHTRADE_EXPECTED_REPLICAS: ", replicas, " processes x ", per_replica,
      " connections (TECHTRADE_DB_POOL_SIZE + 2: the outbox relay and maintenance) = ", needed,
      " > ", available, " the server admits (max_connections ", max_connections,
      " - superuser_reserved_connections ", superuser_reserved,
      "); lower the pool size or the replicas, or raise max_connections"));
}

absl::StatusOr<std::unique_ptr<PgPool>> PrepareDatabase(const ServiceConfig& config,
                                                        std::span<const SchemaComponent> schema) {
  TT_RETURN_IF_ERROR(CheckServerBudget(config));
  TT_ASSIGN_OR_RETURN(std::unique_ptr<PgPool> db, OpenPool(config, config.db_pool_size));
  if (config.migrate_on_start) {
    TT_RETURN_IF_ERROR(Migrate(config, *db, schema));
    return db;
  }
  for (const SchemaComponent& component : schema) {
    TT_RETURN_IF_ERROR(CheckMigrated(*db, component.name, component.migrations));
  }
  return db;
}

int MigrateOnly(const ServiceConfig& config, std::span<const SchemaComponent> schema) {
  absl::StatusOr<std::unique_ptr<PgPool>> db = OpenPool(config, 1);
  absl::Status status = db.ok() ? Migrate(config, **db, schema) : db.status();
  if (status.ok()) status = GrantToServices(**db, config.grant_to_role);
  if (!status.ok()) {
    log::Error("migrate-only: failed", {{"error", status.message()}});
    return 1;
  }
  log::Info("migrate-only: the schema is current");
  return 0;
}

}  // namespace techtrade
