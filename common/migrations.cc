#include "common/migrations.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace techtrade {

absl::Status ApplyMigrations(PgPool& pool, absl::string_view component,
                             std::span<const Migration> migrations) {
  for (const Migration& m : migrations) {
    absl::Status status = InTransaction(pool, [&](Tx& tx) -> absl::Status {
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

}  // namespace techtrade
