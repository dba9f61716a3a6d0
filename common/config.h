// Service configuration: command-line flags first, then TECHTRADE_* environment variables, then
// defaults. Unknown flags and invalid values stop the service at start-up with a clear message.
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/rate_limit.h"
#include "common/settings.h"
#include "common/tls_files.h"

namespace techtrade {

// Far above the largest request the field rules allow (under 48 KiB, deal terms with every field
// at its longest; tests/unit/common/message_size_test.cc), far below what a process could be made
// to buffer.
inline constexpr int kDefaultMaxReceiveMessageBytes = 1 << 20;

struct ServiceConfig {
  std::string service;        // registry, listings, transactions, fund
  std::string listen_host;    // TECHTRADE_LISTEN_HOST (127.0.0.1; 0.0.0.0 in a pod)
  int grpc_port = 0;          // TECHTRADE_GRPC_PORT (0 = any free port, see port_file)
  int metrics_port = 0;       // TECHTRADE_METRICS_PORT (-1 = no /metrics endpoint)
  std::string pg_url;         // TECHTRADE_PG_URL, the service's own database
  std::string redis_url;      // TECHTRADE_REDIS_URL, redis://host:port
  std::string kafka_brokers;  // TECHTRADE_KAFKA_BROKERS, host:port[,host:port]
  std::string registry_addr;  // TECHTRADE_REGISTRY_ADDR, for services that look keys up
  // TECHTRADE_TLS_CA, _CERT, _KEY, _REFRESH_SECONDS: mutual TLS on the gRPC port and to peers.
  TlsFiles tls;
  int health_port = -1;  // TECHTRADE_HEALTH_PORT: plaintext, health only (-1 = none)
  // TECHTRADE_GRPC_MAX_CONNECTION_AGE_SECONDS: how long a client may keep one connection.
  absl::Duration max_connection_age = absl::Minutes(30);
  std::string bootstrap_operator_key;  // TECHTRADE_BOOTSTRAP_OPERATOR_KEY, ensured at start-up
  std::string port_file;               // TECHTRADE_PORT_FILE: write the bound gRPC port here
  std::string log_level;               // TECHTRADE_LOG_LEVEL: debug|info|warn|error
  int db_pool_size = 16;               // TECHTRADE_DB_POOL_SIZE
  int db_commit_pipeline_depth = 2;    // TECHTRADE_DB_COMMIT_PIPELINE_DEPTH: batches in flight
  int grpc_max_threads = 64;           // TECHTRADE_GRPC_MAX_THREADS: bounds the sync server's pool
  absl::Duration shutdown_grace = absl::Seconds(10);   // TECHTRADE_SHUTDOWN_GRACE_SECONDS
  absl::Duration retention_sweep = absl::Minutes(10);  // TECHTRADE_RETENTION_SWEEP_SECONDS
  // TECHTRADE_CACHE_NEAR_COPY_MS (0 = off): how long a service keeps near copies of its own
  // hottest records in process; how long another replica's change may take to reach those reads.
  absl::Duration cache_near_copy_ttl = absl::Milliseconds(250);
  // TECHTRADE_OUTBOX_BATCH_INTERVAL_MS: under load the relay starts a batch at most this often
  // (OutboxRelayOptions::min_batch_interval).
  absl::Duration outbox_batch_interval = absl::Milliseconds(10);
  // TECHTRADE_GRPC_MAX_RECEIVE_MESSAGE_BYTES: a larger request is refused (RESOURCE_EXHAUSTED).
  int grpc_max_receive_message_bytes = kDefaultMaxReceiveMessageBytes;
  // TECHTRADE_RATE_LIMIT_<ROLE> ("<calls per second>/<burst>", 0 = unlimited): how fast each API
  // client of a role may call this process, by role name without its prefix ("CITY_SYSTEM").
  std::map<std::string, RateLimit, std::less<>> rate_limits;
  // --migrate-only or TECHTRADE_MIGRATE_ONLY=1: apply the migrations and exit (a deployment's
  // migration Job, run with a role that may change the schema).
  bool migrate_only = false;
  // TECHTRADE_GRANT_TO_ROLE ("" = none): the role --migrate-only grants the services' rights on
  // the tables and sequences the migrating role owns (not audit_log: the seal's).
  std::string grant_to_role;
  // --seal-audit-log or TECHTRADE_SEAL_AUDIT_LOG=1: seal the audit log (common/audit_seal.h) as
  // the admin of TECHTRADE_PG_URL and exit; TECHTRADE_SEAL_SERVICE_ROLE (techtrade) is the
  // services' role, TECHTRADE_SEAL_SCHEMA_ROLE ("" = the services' role) the migrating one.
  bool seal_audit_log = false;
  std::string seal_service_role;
  std::string seal_schema_role;
  // TECHTRADE_MIGRATE_ON_START (true): migrate at start-up; false: only check that the schema has
  // every migration this binary knows, and refuse to start otherwise.
  bool migrate_on_start = true;
  // TECHTRADE_MIGRATION_LOCK_TIMEOUT_SECONDS: how long a migration may wait for a lock.
  absl::Duration migration_lock_timeout = absl::Seconds(10);
  // TECHTRADE_LEASE_TTL_SECONDS: how long a leader (the outbox relay, the retention sweeper) that
  // stopped renewing its lease keeps the other replicas waiting.
  absl::Duration lease_ttl = absl::Seconds(15);
  // TECHTRADE_EXPECTED_REPLICAS (0 = no check): how many service processes, of every service,
  // share this PostgreSQL server at most; start-up refuses if that many times this process's
  // connections (ConnectionsPerReplica) exceed what the server admits.
  int expected_replicas = 0;
};

// The PostgreSQL connections one service process opens at most: its pool, the outbox relay's and
// the maintenance worker's.
inline int ConnectionsPerReplica(const ServiceConfig& config) { return config.db_pool_size + 2; }

// Parses argv (absl flags, which win) and the environment. INVALID_ARGUMENT listing every bad
// value by its setting's name.
absl::StatusOr<ServiceConfig> LoadServiceConfig(absl::string_view service, int argc, char** argv);
// The same from `lookup` alone (tests).
absl::StatusOr<ServiceConfig> ServiceConfigFrom(absl::string_view service,
                                                const Settings::Lookup& lookup);

// The environment variable `name`, or `fallback` when unset or empty.
std::string EnvOr(absl::string_view name, absl::string_view fallback);

}  // namespace techtrade
