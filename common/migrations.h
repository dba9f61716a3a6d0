// Versioned schema migrations. Each component's migrations are .sql files (common/migrations/,
// services/<name>/migrations/) compiled in by techtrade_embed_migrations (common/migrations/
// embed.cmake); schema_migrations records which (component, version) a database has.
#pragma once

#include <span>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/db.h"

namespace techtrade {

// One schema change. Versions are per component and applied in ascending order, once.
struct Migration {
  int version;
  absl::string_view name;
  absl::string_view sql;
};

struct MigrationOptions {
  // How long a migration may wait for a lock (the runners' advisory lock, or a table a long
  // transaction holds) before it fails; zero: as long as it takes. An ALTER TABLE waiting for a
  // lock queues every later query of that table behind it, so a deployment's migration step
  // should rather fail and be retried.
  absl::Duration lock_timeout = absl::ZeroDuration();
};

// Applies the migrations of `component` not yet recorded in schema_migrations, each in its own
// transaction, under an advisory lock so that replicas starting together do not race.
absl::Status ApplyMigrations(PgPool& pool, absl::string_view component,
                             std::span<const Migration> migrations,
                             const MigrationOptions& options = {});

// OK if every migration of `component` is recorded in schema_migrations; FAILED_PRECONDITION
// naming the missing ones otherwise (a process started without migrating, before the migration
// step ran).
absl::Status CheckMigrated(PgPool& pool, absl::string_view component,
                           std::span<const Migration> migrations);

// Tables shared by every service: outbox, inbox, inbox dead letters and idempotency keys
// (component "common", common/migrations/*.sql).
std::span<const Migration> CommonMigrations();

}  // namespace techtrade
