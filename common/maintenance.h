// The housekeeping every service's database needs, in one worker started by RunService: VACUUM
// of the outbox after the relay deleted many published rows, and retention sweeps of the shared
// tables (idempotency records, inbox entries).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "absl/time/time.h"
#include "common/lease.h"
#include "common/worker.h"

namespace techtrade {

struct MaintenanceOptions {
  std::string service;  // also names the sweep lease: one replica sweeps at a time
  std::string pg_url;
  // Idempotency records older than this go (a client retrying later gets a new effect), and
  // inbox entries older than `inbox_retention` (longer than the topics keep events, so that a
  // replay is still deduplicated).
  absl::Duration idempotency_retention = absl::Hours(24 * 7);
  absl::Duration inbox_retention = absl::Hours(24 * 14);
  absl::Duration sweep_interval = absl::Minutes(10);
  // Published outbox rows this process's relay deleted so far (OutboxRelay::rows_deleted); none
  // set: the outbox is left to autovacuum.
  std::function<int64_t()> outbox_rows_deleted;
  // How often the worker looks whether a VACUUM is due (and renews the sweep lease it holds).
  absl::Duration check_interval = absl::Seconds(1);
  // The sweep lease (common/lease.h); the sweeper keeps it between sweeps, so that the same
  // replica sweeps until it stops.
  absl::Duration lease_ttl = absl::Seconds(15);
};

class Maintenance : public LoopWorker {
 public:
  explicit Maintenance(MaintenanceOptions options);
  ~Maintenance() override { Stop(); }

  // False once the outbox turned out not to be this role's to VACUUM (a migrator owns it, or a
  // VACUUM failed): autovacuum's job alone from then on.
  bool vacuums_outbox() const { return !vacuum_refused_.load(); }

 private:
  void Run() override;
  // VACUUMs the outbox once enough published rows were deleted since the last one.
  void VacuumIfDue(pqxx::connection& conn);
  // Deletes expired rows if this replica holds the sweep lease.
  void SweepRetention(pqxx::connection& conn);

  const MaintenanceOptions options_;
  LeaderLease lease_;
  std::chrono::steady_clock::time_point last_sweep_;
  int64_t deleted_at_last_vacuum_ = 0;
  std::chrono::steady_clock::time_point last_vacuum_;
  std::atomic<bool> vacuum_refused_{false};  // see vacuums_outbox()
};

}  // namespace techtrade
