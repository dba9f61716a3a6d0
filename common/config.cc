#include "common/config.h"

#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/db.h"
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

namespace techtrade {
namespace {

absl::StatusOr<int> IntSetting(int flag_value, int unset, absl::string_view env, int fallback,
                               int min, int max) {
  int value = flag_value;
  if (value == unset) {
    std::string text = EnvOr(env, "");
    if (text.empty()) {
      value = fallback;
    } else if (!absl::SimpleAtoi(text, &value)) {
      return FieldError(env, absl::StrCat("not an integer: '", text, "'"));
    }
  }
  if (value < min || value > max) {
    return FieldError(env, absl::StrCat(value, " is outside ", min, "..", max));
  }
  return value;
}

std::string StringSetting(const std::string& flag_value, absl::string_view env,
                          absl::string_view fallback) {
  return flag_value.empty() ? EnvOr(env, fallback) : flag_value;
}

}  // namespace

std::string EnvOr(absl::string_view name, absl::string_view fallback) {
  const char* value = std::getenv(std::string(name).c_str());
  return (value != nullptr && *value != '\0') ? std::string(value) : std::string(fallback);
}

absl::StatusOr<ServiceConfig> LoadServiceConfig(absl::string_view service, int argc, char** argv) {
  absl::SetProgramUsageMessage(absl::StrCat("techtrade ", service, " service"));
  absl::ParseCommandLine(argc, argv);  // exits with a message on unknown flags

  ServiceConfig c;
  c.service = std::string(service);
  c.listen_host =
      StringSetting(absl::GetFlag(FLAGS_listen_host), "TECHTRADE_LISTEN_HOST", "127.0.0.1");
  TT_ASSIGN_OR_RETURN(c.grpc_port, IntSetting(absl::GetFlag(FLAGS_grpc_port), -1,
                                              "TECHTRADE_GRPC_PORT", 0, 0, 65535));
  TT_ASSIGN_OR_RETURN(c.metrics_port, IntSetting(absl::GetFlag(FLAGS_metrics_port), -2,
                                                 "TECHTRADE_METRICS_PORT", -1, -1, 65535));
  c.pg_url = StringSetting(absl::GetFlag(FLAGS_pg_url), "TECHTRADE_PG_URL", "");
  c.redis_url = StringSetting(absl::GetFlag(FLAGS_redis_url), "TECHTRADE_REDIS_URL", "");
  c.kafka_brokers =
      StringSetting(absl::GetFlag(FLAGS_kafka_brokers), "TECHTRADE_KAFKA_BROKERS", "");
  c.registry_addr =
      StringSetting(absl::GetFlag(FLAGS_registry_addr), "TECHTRADE_REGISTRY_ADDR", "");
  c.port_file = StringSetting(absl::GetFlag(FLAGS_port_file), "TECHTRADE_PORT_FILE", "");
  c.log_level = StringSetting(absl::GetFlag(FLAGS_log_level), "TECHTRADE_LOG_LEVEL", "info");
  c.bootstrap_operator_key =
      EnvOr("TECHTRADE_BOOTSTRAP_OPERATOR_KEY", "");  // never a flag: ps shows flags
  TT_ASSIGN_OR_RETURN(c.db_pool_size, IntSetting(absl::GetFlag(FLAGS_db_pool_size), -1,
                                                 "TECHTRADE_DB_POOL_SIZE", 16, 1, 500));
  TT_ASSIGN_OR_RETURN(c.grpc_max_threads, IntSetting(absl::GetFlag(FLAGS_grpc_max_threads), -1,
                                                     "TECHTRADE_GRPC_MAX_THREADS", 64, 4, 4096));
  TT_ASSIGN_OR_RETURN(int grace,
                      IntSetting(-1, -1, "TECHTRADE_SHUTDOWN_GRACE_SECONDS", 10, 0, 600));
  c.shutdown_grace = absl::Seconds(grace);
  TT_ASSIGN_OR_RETURN(int sweep,
                      IntSetting(-1, -1, "TECHTRADE_RETENTION_SWEEP_SECONDS", 600, 1, 86400));
  c.retention_sweep = absl::Seconds(sweep);
  TT_ASSIGN_OR_RETURN(int near_copy_ms,
                      IntSetting(-1, -1, "TECHTRADE_CACHE_NEAR_COPY_MS", 250, 0, 60000));
  c.cache_near_copy_ttl = absl::Milliseconds(near_copy_ms);
  TT_ASSIGN_OR_RETURN(int batch_interval_ms,
                      IntSetting(-1, -1, "TECHTRADE_OUTBOX_BATCH_INTERVAL_MS", 10, 0, 1000));
  c.outbox_batch_interval = absl::Milliseconds(batch_interval_ms);
  TT_ASSIGN_OR_RETURN(
      c.db_commit_pipeline_depth,
      IntSetting(-1, -1, "TECHTRADE_DB_COMMIT_PIPELINE_DEPTH", kDefaultCommitPipelineDepth, 1, 16));

  if (c.pg_url.empty()) return FieldError("TECHTRADE_PG_URL", "required (or --pg_url)");
  if (c.kafka_brokers.empty()) {
    return FieldError("TECHTRADE_KAFKA_BROKERS", "required (or --kafka_brokers)");
  }
  if (c.redis_url.empty()) return FieldError("TECHTRADE_REDIS_URL", "required (or --redis_url)");
  return c;
}

}  // namespace techtrade
