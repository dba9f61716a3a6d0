#include "common/maintenance.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace techtrade {

Maintenance::Maintenance(MaintenanceOptions options)
    : LoopWorker(absl::StrCat("maintenance ", options.service)),
      options_(std::move(options)),
      lease_({.service = options_.service, .job = "maintenance", .ttl = options_.lease_ttl}),
      last_sweep_(std::chrono::steady_clock::now()),
      last_vacuum_(std::chrono::steady_clock::now()) {}

void Maintenance::Run() {
  // Opened when there is work, so that an idle replica holds no connection for it.
  std::optional<pqxx::connection> conn;
  while (SleepFor(options_.check_interval)) {
    const auto now = std::chrono::steady_clock::now();
    const bool sweep_due = now - last_sweep_ > absl::ToChronoNanoseconds(options_.sweep_interval);
    const bool vacuum_maybe_due = !vacuum_refused_ && options_.outbox_rows_deleted != nullptr &&
                                  options_.outbox_rows_deleted() - deleted_at_last_vacuum_ >= 20000;
    // The sweeper renews its lease between sweeps; the others ask only when a sweep is due.
    const bool renew_due = conn.has_value() && lease_.Held();
    if (!sweep_due && !vacuum_maybe_due && !renew_due) continue;
    try {
      if (!conn.has_value()) conn.emplace(options_.pg_url);
      if (renew_due) lease_.KeepAlive(*conn);
      if (vacuum_maybe_due) VacuumIfDue(*conn);
      if (sweep_due) {
        SweepRetention(*conn);
        last_sweep_ = now;
      }
    } catch (const std::exception& e) {
      log::Warn("maintenance: database error; retrying", {{"error", e.what()}});
      conn.reset();
    }
  }
  if (conn.has_value()) lease_.Release(*conn);
}

void Maintenance::VacuumIfDue(pqxx::connection& conn) {
  // Autovacuum visits a table at most once a minute (its default naptime), while a busy relay
  // deletes thousands of rows a second; every batch's index scan steps over what is not yet
  // vacuumed. A vacuum of the small live part costs milliseconds.
  constexpr auto kMinInterval = std::chrono::seconds(5);
  const auto now = std::chrono::steady_clock::now();
  if (now - last_vacuum_ < kMinInterval) return;
  last_vacuum_ = now;
  deleted_at_last_vacuum_ = options_.outbox_rows_deleted();
  try {
    pqxx::nontransaction tx(conn);
    // Only the table's (or the database's) owner may VACUUM it, and anyone else is told so by
    // a warning, not an error: where a migrator owns the schema, ask once and stop.
    if (!tx.exec1("SELECT pg_catalog.pg_has_role(c.relowner, 'USAGE') FROM pg_catalog.pg_class c "
                  "WHERE c.oid = 'outbox'::pg_catalog.regclass")[0]
             .as<bool>()) {
      vacuum_refused_ = true;
      log::Info("maintenance: the outbox is another role's; leaving its VACUUM to autovacuum");
      return;
    }
    tx.exec("VACUUM outbox");
  } catch (const pqxx::sql_error& e) {
    vacuum_refused_ = true;
    log::Warn("maintenance: cannot VACUUM the outbox; leaving it to autovacuum",
              {{"error", e.what()}});
  }
}

void Maintenance::SweepRetention(pqxx::connection& conn) {
  if (!lease_.KeepAlive(conn)) return;
  struct Sweep {
    const char* table;
    const char* column;
    absl::Duration keep;
  };
  for (const Sweep& sweep :
       {Sweep{"idempotency_keys", "created_at", options_.idempotency_retention},
        Sweep{"inbox", "processed_at", options_.inbox_retention}}) {
    // Small batches: a sweep must never hold locks or I/O long enough for callers to notice.
    // The fence: a sweeper whose lease ran out stops between batches.
    for (int round = 0; round < 100 && !stopping() && lease_.KeepAlive(conn); ++round) {
      pqxx::nontransaction tx(conn);
      pqxx::result r = tx.exec_params(
          absl::StrCat("DELETE FROM ", sweep.table, " WHERE ctid = ANY(ARRAY(SELECT ctid FROM ",
                       sweep.table, " WHERE ", sweep.column,
                       " < now() - make_interval(secs => $1) LIMIT 5000))"),
          static_cast<double>(absl::ToInt64Seconds(sweep.keep)));
      if (r.affected_rows() > 0) {
        log::Info("retention sweep", {{"table", sweep.table}, {"rows", r.affected_rows()}});
      }
      if (r.affected_rows() < 5000) break;
    }
  }
}

}  // namespace techtrade
