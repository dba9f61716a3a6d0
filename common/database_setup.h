// A service's database before it serves: the connection budget checked, the schema migrated (or
// found migrated), the pool opened; and the migration step on its own (--migrate-only), which a
// deployment runs once, as a Job, with a role that may change the schema.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/db.h"
#include "common/migrations.h"

namespace techtrade {

// One component of a service's schema: the common tables ("common") or the service's own.
struct SchemaComponent {
  std::string name;
  std::span<const Migration> migrations;
};

// FAILED_PRECONDITION naming TECHTRADE_EXPECTED_REPLICAS when `replicas` processes of
// `per_replica` connections each do not fit in what the server admits to non-superusers
// (max_connections less superuser_reserved_connections); OK when `replicas` is 0 (no check).
absl::Status CheckConnectionBudget(int replicas, int per_replica, int max_connections,
                                   int superuser_reserved);

// Checks the connection budget against the server (SHOW max_connections), opens the pool, and
// migrates the components in order (config.migrate_on_start) or checks that they are migrated.
absl::StatusOr<std::unique_ptr<PgPool>> PrepareDatabase(const ServiceConfig& config,
                                                        std::span<const SchemaComponent> schema);

// Applies the components' migrations with the configured lock timeout on one connection, then
// grants config.grant_to_role (when set) DML on the tables and sequences of public the migrating
// role owns, audit_log and its sequence excepted; the process's exit code: 0 when the schema is
// current (also when nothing was left to do), 1 with the error logged otherwise.
int MigrateOnly(const ServiceConfig& config, std::span<const SchemaComponent> schema);

}  // namespace techtrade
