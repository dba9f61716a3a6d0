#include "common/config.h"

#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "common/settings.h"
#include "common/status.h"

// Empty string / -1 mean "not given on the command line": the environment decides then.
ABSL_FLAG(std::string, listen_host, "",
          "address to bind (env TECHTRADE_LISTEN_HOST, default 127.0.0.1)");
ABSL_FLAG(int, grpc_port, -1, "gRPC port (env TECHTRADE_GRPC_PORT; 0 = any free port)");
ABSL_FLAG(int, metrics_port, -2, "Prometheus /metrics port (env TECHTRADE_METRICS_PORT; -1 = off)");
ABSL_FLAG(std::string, pg_url, "",
          "PostgreSQL URL of the service's database (env TECHTRADE_PG_URL)");
ABSL_FLAG(std::string, redis_url, "", "redis://host:port (env TECHTRADE_REDIS_URL)");
ABSL_FLAG(std::string, kafka_brokers, "", "Kafka bootstrap servers (env TECHTRADE_KAFKA_BROKERS)");
ABSL_FLAG(std::string, registry_addr, "", "registry host:port (env TECHTRADE_REGISTRY_ADDR)");
ABSL_FLAG(std::string, port_file, "",
          "write the bound gRPC port to this file (env TECHTRADE_PORT_FILE)");
ABSL_FLAG(std::string, log_level, "",
          "debug|info|warn|error (env TECHTRADE_LOG_LEVEL, default info)");
ABSL_FLAG(int, db_pool_size, -1, "PostgreSQL connections (env TECHTRADE_DB_POOL_SIZE, default 16)");
ABSL_FLAG(int, grpc_max_threads, -1,
          "gRPC worker threads (env TECHTRADE_GRPC_MAX_THREADS, default 64)");
ABSL_FLAG(bool, migrate_only, false,
          "apply the database migrations and exit (also --migrate-only; env "
          "TECHTRADE_MIGRATE_ONLY=1)");
ABSL_FLAG(bool, seal_audit_log, false,
          "seal the audit log as the admin of the database and exit (also --seal-audit-log; env "
          "TECHTRADE_SEAL_AUDIT_LOG=1)");

namespace techtrade {
namespace {

// Transport security (common/tls.h, docs/security.md). Never flags: the paths belong with the
// mounted Secret's, in the environment.
std::vector<SettingSpec> TlsSettings() {
  return {
      StringSetting("TECHTRADE_TLS_CA", "",
                    "PEM CA of peers' certificates; set = mutual TLS on every gRPC port"),
      StringSetting("TECHTRADE_TLS_CERT", "", "PEM certificate chain of this service"),
      StringSetting("TECHTRADE_TLS_KEY", "", "PEM private key of this service"),
      IntegerSetting("TECHTRADE_TLS_REFRESH_SECONDS", 10, 1, 3600,
                     "how often the TLS files are read again (rotation without restart)"),
      IntegerSetting("TECHTRADE_HEALTH_PORT", -1, -1, 65535,
                     "plaintext port serving only grpc.health.v1 (kubelet probes); -1 = off"),
      IntegerSetting("TECHTRADE_GRPC_MAX_CONNECTION_AGE_SECONDS", 1800, 1, 86400,
                     "connections are closed (gracefully) after this long, so that clients "
                     "reconnect: to new replicas, and with rotated certificates"),
  };
}

bool IsTrue(absl::string_view value) { return value == "1" || value == "true"; }

// A yes/no setting: true|false|1|0.
SettingSpec BoolSetting(std::string name, bool default_value, std::string help) {
  SettingSpec spec =
      StringSetting(std::move(name), default_value ? "true" : "false", std::move(help));
  spec.check = [](absl::string_view value) {
    if (value == "true" || value == "false" || value == "1" || value == "0") {
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError("use true|false|1|0");
  };
  return spec;
}

// Running as several replicas against one PostgreSQL server (docs/operations.md, "Connection
// budget" and "Kubernetes").
std::vector<SettingSpec> ClusterSettings() {
  return {
      BoolSetting("TECHTRADE_MIGRATE_ONLY", false,
                  "apply the migrations and exit (--migrate-only)"),
      StringSetting("TECHTRADE_GRANT_TO_ROLE", "",
                    "with --migrate-only: the services' role, granted DML on the migrator's "
                    "tables; empty = none"),
      BoolSetting("TECHTRADE_SEAL_AUDIT_LOG", false,
                  "seal the audit log with TECHTRADE_PG_URL (an admin's) and exit "
                  "(--seal-audit-log)"),
      StringSetting("TECHTRADE_SEAL_SERVICE_ROLE", "techtrade",
                    "with --seal-audit-log: the role the services connect as"),
      StringSetting("TECHTRADE_SEAL_SCHEMA_ROLE", "",
                    "with --seal-audit-log: the role that migrates; empty = the services' role"),
      BoolSetting("TECHTRADE_MIGRATE_ON_START", true,
                  "migrate at start-up; false: refuse to start unless already migrated"),
      IntegerSetting("TECHTRADE_MIGRATION_LOCK_TIMEOUT_SECONDS", 10, 1, 3600,
                     "how long a migration may wait for a lock before it fails"),
      IntegerSetting("TECHTRADE_LEASE_TTL_SECONDS", 15, 3, 600,
                     "lease of the outbox relay and the sweeper; renewed every third of it"),
      IntegerSetting("TECHTRADE_EXPECTED_REPLICAS", 0, 0, 100000,
                     "service processes (all services) sharing the PostgreSQL server at most; "
                     "0 = no connection budget check"),
  };
}

// The roles whose rate limit is a setting, with their defaults: the operator's key drives the
// platform's own tools and benchmarks, so it is not limited.
struct RoleRateLimit {
  const char* role;  // ApiClientRole without its prefix
  const char* setting;
  const char* default_limit;
};
constexpr RoleRateLimit kRateLimitSettings[] = {
    {"OPERATOR", "TECHTRADE_RATE_LIMIT_OPERATOR", "0"},
    {"CITY_SYSTEM", "TECHTRADE_RATE_LIMIT_CITY_SYSTEM", "2000/4000"},
    {"PARTNER", "TECHTRADE_RATE_LIMIT_PARTNER", "2000/4000"},
    {"REGISTRATION_BODY", "TECHTRADE_RATE_LIMIT_REGISTRATION_BODY", "200/400"},
    // Not a role: failed authentications per peer address (RpcRunner).
    {"UNAUTHENTICATED", "TECHTRADE_RATE_LIMIT_UNAUTHENTICATED", "5/20"}};

// The settings every service reads, declared like a service's own (common/settings.h), so that
// every bad value, common or the service's, is listed before anything starts.
std::vector<SettingSpec> CommonSettings() {
  SettingSpec log_level = StringSetting("TECHTRADE_LOG_LEVEL", "info", "debug|info|warn|error");
  log_level.check = [](absl::string_view level) {
    for (absl::string_view known : {"debug", "info", "warn", "error"}) {
      if (level == known) return absl::OkStatus();
    }
    return absl::InvalidArgumentError("use debug|info|warn|error");
  };
  std::vector<SettingSpec> specs = {
      StringSetting("TECHTRADE_LISTEN_HOST", "127.0.0.1", "address to bind"),
      IntegerSetting("TECHTRADE_GRPC_PORT", 0, 0, 65535, "gRPC port; 0 = any free port"),
      IntegerSetting("TECHTRADE_METRICS_PORT", -1, -1, 65535, "/metrics port; -1 = off"),
      RequiredSetting("TECHTRADE_PG_URL", "or --pg_url: the service's PostgreSQL database"),
      RequiredSetting("TECHTRADE_REDIS_URL", "or --redis_url: redis://host:port"),
      RequiredSetting("TECHTRADE_KAFKA_BROKERS", "or --kafka_brokers: Kafka bootstrap servers"),
      StringSetting("TECHTRADE_REGISTRY_ADDR", "", "registry host:port"),
      StringSetting("TECHTRADE_PORT_FILE", "", "file to write the bound gRPC port to"),
      log_level,
      StringSetting("TECHTRADE_BOOTSTRAP_OPERATOR_KEY", "", "never a flag: ps shows flags"),
      IntegerSetting("TECHTRADE_DB_POOL_SIZE", 16, 1, 500, "PostgreSQL connections"),
      IntegerSetting("TECHTRADE_GRPC_MAX_THREADS", 64, 4, 4096, "gRPC worker threads"),
      IntegerSetting("TECHTRADE_SHUTDOWN_GRACE_SECONDS", 10, 0, 600,
                     "how long calls in flight may finish on SIGTERM"),
      IntegerSetting("TECHTRADE_RETENTION_SWEEP_SECONDS", 600, 1, 86400,
                     "how often expired idempotency and inbox rows are swept"),
      IntegerSetting("TECHTRADE_CACHE_NEAR_COPY_MS", 250, 0, 60000,
                     "lifetime of a near copy in the process; 0 = off"),
      IntegerSetting("TECHTRADE_OUTBOX_BATCH_INTERVAL_MS", 10, 0, 1000,
                     "the outbox relay's least interval between batches under load"),
      IntegerSetting("TECHTRADE_DB_COMMIT_PIPELINE_DEPTH", kDefaultCommitPipelineDepth, 1, 16,
                     "group-commit batches in flight"),
      IntegerSetting("TECHTRADE_GRPC_MAX_RECEIVE_MESSAGE_BYTES", kDefaultMaxReceiveMessageBytes,
                     64 << 10, 64 << 20, "largest request accepted, in bytes"),
  };
  for (SettingSpec& tls : TlsSettings()) specs.push_back(std::move(tls));
  for (SettingSpec& cluster : ClusterSettings()) specs.push_back(std::move(cluster));
  for (const RoleRateLimit& role : kRateLimitSettings) {
    SettingSpec limit =
        StringSetting(role.setting, role.default_limit,
                      "<calls per second>/<burst> per API client of the role; 0 = unlimited");
    limit.check = [](absl::string_view text) { return ParseRateLimit(text).status(); };
    specs.push_back(std::move(limit));
  }
  return specs;
}

// What the command line gave, by the setting it overrides ("" and the flag's sentinel: nothing).
std::map<std::string, std::string, std::less<>> FlagValues() {
  std::map<std::string, std::string, std::less<>> given;
  auto text = [&](const char* name, const std::string& value) {
    if (!value.empty()) given[name] = value;
  };
  auto number = [&](const char* name, int value, int unset) {
    if (value != unset) given[name] = absl::StrCat(value);
  };
  text("TECHTRADE_LISTEN_HOST", absl::GetFlag(FLAGS_listen_host));
  number("TECHTRADE_GRPC_PORT", absl::GetFlag(FLAGS_grpc_port), -1);
  number("TECHTRADE_METRICS_PORT", absl::GetFlag(FLAGS_metrics_port), -2);
  text("TECHTRADE_PG_URL", absl::GetFlag(FLAGS_pg_url));
  text("TECHTRADE_REDIS_URL", absl::GetFlag(FLAGS_redis_url));
  text("TECHTRADE_KAFKA_BROKERS", absl::GetFlag(FLAGS_kafka_brokers));
  text("TECHTRADE_REGISTRY_ADDR", absl::GetFlag(FLAGS_registry_addr));
  text("TECHTRADE_PORT_FILE", absl::GetFlag(FLAGS_port_file));
  text("TECHTRADE_LOG_LEVEL", absl::GetFlag(FLAGS_log_level));
  number("TECHTRADE_DB_POOL_SIZE", absl::GetFlag(FLAGS_db_pool_size), -1);
  number("TECHTRADE_GRPC_MAX_THREADS", absl::GetFlag(FLAGS_grpc_max_threads), -1);
  if (absl::GetFlag(FLAGS_migrate_only)) given["TECHTRADE_MIGRATE_ONLY"] = "true";
  if (absl::GetFlag(FLAGS_seal_audit_log)) given["TECHTRADE_SEAL_AUDIT_LOG"] = "true";
  return given;
}

}  // namespace

std::string EnvOr(absl::string_view name, absl::string_view fallback) {
  const char* value = std::getenv(std::string(name).c_str());
  return (value != nullptr && *value != '\0') ? std::string(value) : std::string(fallback);
}

absl::StatusOr<ServiceConfig> ServiceConfigFrom(absl::string_view service,
                                                const Settings::Lookup& lookup) {
  const std::vector<SettingSpec> specs = CommonSettings();
  TT_ASSIGN_OR_RETURN(Settings s, Settings::Load(specs, lookup));
  ServiceConfig c;
  c.service = std::string(service);
  c.listen_host = s.String("TECHTRADE_LISTEN_HOST");
  c.grpc_port = static_cast<int>(s.Int("TECHTRADE_GRPC_PORT"));
  c.metrics_port = static_cast<int>(s.Int("TECHTRADE_METRICS_PORT"));
  c.pg_url = s.String("TECHTRADE_PG_URL");
  c.redis_url = s.String("TECHTRADE_REDIS_URL");
  c.kafka_brokers = s.String("TECHTRADE_KAFKA_BROKERS");
  c.registry_addr = s.String("TECHTRADE_REGISTRY_ADDR");
  c.port_file = s.String("TECHTRADE_PORT_FILE");
  c.log_level = s.String("TECHTRADE_LOG_LEVEL");
  c.bootstrap_operator_key = s.String("TECHTRADE_BOOTSTRAP_OPERATOR_KEY");
  c.db_pool_size = static_cast<int>(s.Int("TECHTRADE_DB_POOL_SIZE"));
  c.grpc_max_threads = static_cast<int>(s.Int("TECHTRADE_GRPC_MAX_THREADS"));
  c.shutdown_grace = absl::Seconds(s.Int("TECHTRADE_SHUTDOWN_GRACE_SECONDS"));
  c.retention_sweep = absl::Seconds(s.Int("TECHTRADE_RETENTION_SWEEP_SECONDS"));
  c.cache_near_copy_ttl = absl::Milliseconds(s.Int("TECHTRADE_CACHE_NEAR_COPY_MS"));
  c.outbox_batch_interval = absl::Milliseconds(s.Int("TECHTRADE_OUTBOX_BATCH_INTERVAL_MS"));
  c.db_commit_pipeline_depth = static_cast<int>(s.Int("TECHTRADE_DB_COMMIT_PIPELINE_DEPTH"));
  c.grpc_max_receive_message_bytes =
      static_cast<int>(s.Int("TECHTRADE_GRPC_MAX_RECEIVE_MESSAGE_BYTES"));
  c.tls = {.ca = s.String("TECHTRADE_TLS_CA"),
           .cert = s.String("TECHTRADE_TLS_CERT"),
           .key = s.String("TECHTRADE_TLS_KEY"),
           .refresh = absl::Seconds(s.Int("TECHTRADE_TLS_REFRESH_SECONDS"))};
  TT_RETURN_IF_ERROR(CheckTlsFiles(c.tls));
  c.health_port = static_cast<int>(s.Int("TECHTRADE_HEALTH_PORT"));
  c.max_connection_age = absl::Seconds(s.Int("TECHTRADE_GRPC_MAX_CONNECTION_AGE_SECONDS"));
  for (const RoleRateLimit& role : kRateLimitSettings) {
    c.rate_limits[role.role] = *ParseRateLimit(s.String(role.setting));  // checked by Load
  }
  c.migrate_only = IsTrue(s.String("TECHTRADE_MIGRATE_ONLY"));
  c.migrate_on_start = IsTrue(s.String("TECHTRADE_MIGRATE_ON_START"));
  c.grant_to_role = s.String("TECHTRADE_GRANT_TO_ROLE");
  c.seal_audit_log = IsTrue(s.String("TECHTRADE_SEAL_AUDIT_LOG"));
  c.seal_service_role = s.String("TECHTRADE_SEAL_SERVICE_ROLE");
  c.seal_schema_role = s.String("TECHTRADE_SEAL_SCHEMA_ROLE");
  c.migration_lock_timeout = absl::Seconds(s.Int("TECHTRADE_MIGRATION_LOCK_TIMEOUT_SECONDS"));
  c.lease_ttl = absl::Seconds(s.Int("TECHTRADE_LEASE_TTL_SECONDS"));
  c.expected_replicas = static_cast<int>(s.Int("TECHTRADE_EXPECTED_REPLICAS"));
  return c;
}

absl::StatusOr<ServiceConfig> LoadServiceConfig(absl::string_view service, int argc, char** argv) {
  absl::SetProgramUsageMessage(absl::StrCat("techtrade ", service, " service"));
  // The spelling a Job's command is written with; abseil's flags know only underscores.
  std::vector<char*> args(argv, argv + argc);
  static char kMigrateOnly[] = "--migrate_only";
  static char kSealAuditLog[] = "--seal_audit_log";
  for (char*& arg : args) {
    if (std::string_view(arg) == "--migrate-only") arg = kMigrateOnly;
    if (std::string_view(arg) == "--seal-audit-log") arg = kSealAuditLog;
  }
  args.push_back(nullptr);
  absl::ParseCommandLine(argc, args.data());  // exits with a message on unknown flags
  // A flag wins over the environment.
  const auto flags = FlagValues();
  return ServiceConfigFrom(service, [&](absl::string_view name) -> std::optional<std::string> {
    if (auto it = flags.find(name); it != flags.end()) return it->second;
    return Settings::FromEnvironment(name);
  });
}

}  // namespace techtrade
