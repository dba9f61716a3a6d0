#include "common/migrations.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status.h"

namespace techtrade {

absl::Status ApplyMigrations(PgPool& pool, absl::string_view component,
                             std::span<const Migration> migrations,
                             const MigrationOptions& options) {
  for (const Migration& m : migrations) {
    absl::Status status = InTransaction(pool, [&](Tx& tx) -> absl::Status {
      if (options.lock_timeout > absl::ZeroDuration()) {
        tx.exec(
            absl::StrCat("SET LOCAL lock_timeout = ",
                         std::max<int64_t>(1, absl::ToInt64Milliseconds(options.lock_timeout))));
      }
      // Serialises concurrent starters; released at commit.
      tx.exec("SELECT pg_advisory_xact_lock(7262381)");
      tx.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " component text NOT NULL, version int NOT NULL, name text NOT NULL,"
          " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))");
      pqxx::result done =
          tx.exec_params("SELECT 1 FROM schema_migrations WHERE component = $1 AND version = $2",
                         std::string(component), m.version);
      if (!done.empty()) return absl::OkStatus();
      tx.exec(std::string(m.sql));
      tx.exec_params("INSERT INTO schema_migrations (component, version, name) VALUES ($1, $2, $3)",
                     std::string(component), m.version, std::string(m.name));
      log::Info("migration applied",
                {{"component", component}, {"version", m.version}, {"name", m.name}});
      return absl::OkStatus();
    });
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrCat("migration ", component, "/", m.version, " (",
                                                      m.name, "): ", status.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckMigrated(PgPool& pool, absl::string_view component,
                           std::span<const Migration> migrations) {
  absl::flat_hash_set<int> applied;
  TT_RETURN_IF_ERROR(InTransaction(pool, [&](Tx& tx) -> absl::Status {
    // to_regclass: NULL, not an error, when the table does not exist (nothing migrated yet).
    if (tx.exec("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0].as<bool>()) {
      for (const auto& row :
           tx.exec_params("SELECT version FROM schema_migrations WHERE component = $1",
                          std::string(component))) {
        applied.insert(row[0].as<int>());
      }
    }
    return absl::OkStatus();
  }));
  std::vector<std::string> missing;
  for (const Migration& m : migrations) {
    if (!applied.contains(m.version)) {
      missing.push_back(absl::StrCat(component, "/", m.version, " (", m.name, ")"));
    }
  }
  if (missing.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "schema: migrations not applied: ", absl::StrJoin(missing, ", "),
      "; run this binary with --migrate-only (or TECHTRADE_MIGRATE_ON_START=true) first"));
}

}  // namespace techtrade
