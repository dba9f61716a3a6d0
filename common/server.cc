// RunService: the process every service is, from its configuration to its shutdown.
#include "common/server.h"

#include <signal.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/audit_seal.h"
#include "common/audit_service.h"
#include "common/database_setup.h"
#include "common/dead_letter_service.h"
#include "common/failpoint.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/maintenance.h"
#include "common/migrations.h"
#include "common/outbox.h"
#include "common/request_parsing.h"
#include "common/status.h"

namespace techtrade {

void InitProcess() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  InstallProtobufLogHandler();
}

void BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void WaitForShutdownSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int signal = 0;
  sigwait(&set, &signal);
  log::Info("shutdown signal received", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
}

namespace {

// The Redis options of a service: its URL, the near-copy lifetime, and as many connections as
// handlers may want at once (opened only as they are needed), so that a busy pool never turns a
// cache hit into a call to another service.
absl::StatusOr<RedisOptions> RedisOptionsFor(const ServiceConfig& config) {
  TT_ASSIGN_OR_RETURN(RedisOptions redis, ParseRedisUrl(config.redis_url));
  redis.near_copy_ttl = config.cache_near_copy_ttl;
  redis.pool_size = config.grpc_max_threads;
  return redis;
}

struct Configuration {
  ServiceConfig config;
  Settings settings;  // the definition's own
  RedisOptions redis;
};

// The common configuration, the service's declared settings and the log level they name; every
// problem found, listed.
absl::StatusOr<Configuration> ConfigureProcess(const ServiceDefinition& definition, int argc,
                                               char** argv) {
  absl::StatusOr<ServiceConfig> config = LoadServiceConfig(definition.name, argc, argv);
  absl::StatusOr<Settings> settings = Settings::Load(definition.settings);
  std::vector<std::string> problems;
  for (const absl::Status& s : {config.status(), settings.status()}) {
    if (!s.ok()) problems.emplace_back(s.message());
  }
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  if (!log::SetLevel(config->log_level)) {
    return absl::InvalidArgumentError("TECHTRADE_LOG_LEVEL: use debug|info|warn|error");
  }
  TT_ASSIGN_OR_RETURN(RedisOptions redis, RedisOptionsFor(*config));
  // Channels to peers present the service's own certificate.
  SetProcessTls(config->tls);
  return Configuration{*std::move(config), *std::move(settings), std::move(redis)};
}

// The service's schema: the common tables first, then its own.
std::vector<SchemaComponent> SchemaOf(const ServiceDefinition& definition) {
  return {{"common", CommonMigrations()}, {definition.name, definition.migrations}};
}

// Who calls: the registry client (when there is a registry to call), the authenticator of API
// keys, its memo, and the runner every handler goes through. Kept alive until the process ends.
struct Callers {
  std::unique_ptr<RegistryClient> registry;
  std::unique_ptr<Authenticator> keys;
  std::unique_ptr<MemoizingAuthenticator> principals;
  std::unique_ptr<RpcRunner> runner;
};

absl::StatusOr<Callers> AuthenticateCallers(const ServiceDefinition& definition,
                                            const ServiceConfig& config, PgPool& db, Cache& cache,
                                            Metrics& metrics) {
  Callers callers;
  if (!config.registry_addr.empty()) {
    callers.registry =
        std::make_unique<RegistryClient>(config.registry_addr, cache, kPeerCallDeadline);
  }
  if (definition.authenticator) {
    callers.keys = definition.authenticator(db, cache);
  } else if (callers.registry != nullptr) {
    callers.keys = std::make_unique<RemoteAuthenticator>(*callers.registry, cache);
  } else {
    return absl::InvalidArgumentError(
        "TECHTRADE_REGISTRY_ADDR: required (or --registry_addr): API keys are checked there");
  }
  callers.principals = std::make_unique<MemoizingAuthenticator>(*callers.keys, kPrincipalMemoTtl);
  callers.runner = std::make_unique<RpcRunner>(*callers.principals, metrics, config.rate_limits);
  return callers;
}

// The platform's workers: the outbox relay, then maintenance (stopped in that order, after the
// service's own; common/worker.h), and with TLS the certificates' expiry gauge.
std::vector<std::unique_ptr<Worker>> PlatformWorkers(const ServiceDefinition& definition,
                                                     const ServiceConfig& config,
                                                     Metrics& metrics) {
  std::vector<std::unique_ptr<Worker>> platform;
  auto relay = std::make_unique<OutboxRelay>(
      OutboxRelayOptions{.service = definition.name,
                         .pg_url = config.pg_url,
                         .brokers = config.kafka_brokers,
                         .topic = definition.topic,
                         .min_batch_interval = config.outbox_batch_interval,
                         .stop_grace = config.shutdown_grace / 2,
                         .lease_ttl = config.lease_ttl},
      metrics);
  OutboxRelay& relay_ref = *relay;
  platform.push_back(std::move(relay));
  platform.push_back(std::make_unique<Maintenance>(
      MaintenanceOptions{.service = definition.name,
                         .pg_url = config.pg_url,
                         .sweep_interval = config.retention_sweep,
                         .outbox_rows_deleted = [&relay_ref] { return relay_ref.rows_deleted(); },
                         .lease_ttl = config.lease_ttl}));
  if (config.tls.enabled()) {
    auto expiry = std::make_shared<CertificateExpiryGauge>(
        metrics, std::vector<CertificateExpiryGauge::Certificate>{{"server", config.tls.cert},
                                                                  {"ca", config.tls.ca}});
    platform.push_back(
        std::make_unique<PeriodicWorker>("tls certificate expiry", config.tls.refresh, [expiry] {
          if (absl::Status s = expiry->Refresh(); !s.ok()) {
            log::Warn("tls certificate expiry not refreshed", {{"error", s.ToString()}});
          }
        }));
  }
  return platform;
}

ServiceEnvironment EnvironmentOf(const Configuration& configured, Metrics& metrics, PgPool& db,
                                 Cache& cache, std::vector<std::unique_ptr<Worker>>& workers,
                                 const Callers& callers) {
  return {.config = configured.config,
          .settings = configured.settings,
          .metrics = metrics,
          .db = db,
          .cache = cache,
          .workers = workers,
          .runner = *callers.runner,
          .keys = *callers.keys,
          .principals = *callers.principals,
          .registry = callers.registry.get()};
}

// The services the definition builds, the operators' dead-letter RPCs and gauge over the
// consumers it built, and the audit log's RPC.
absl::StatusOr<std::vector<std::unique_ptr<grpc::Service>>> BuildServices(
    const ServiceDefinition& definition, ServiceEnvironment& env) {
  TT_ASSIGN_OR_RETURN(std::vector<std::unique_ptr<grpc::Service>> services, definition.build(env));
  if (std::unique_ptr<grpc::Service> dead_letters = ServeDeadLetters(env)) {
    services.push_back(std::move(dead_letters));
  }
  services.push_back(ServeAudit(env));
  return services;
}

// Starts serving `services`, and writes the bound port where the configuration asks.
absl::Status Serve(GrpcServer& server, const std::vector<std::unique_ptr<grpc::Service>>& services,
                   const ServiceConfig& config) {
  for (const auto& service : services) server.AddService(service.get());
  TT_RETURN_IF_ERROR(server.Start());
  if (!config.port_file.empty()) std::ofstream(config.port_file) << server.port() << "\n";
  return absl::OkStatus();
}

}  // namespace

int RunService(int argc, char** argv, const ServiceDefinition& definition) {
  InitProcess();
  // Before any thread exists, so that every thread inherits the mask and sigwait gets the signal.
  BlockShutdownSignals();
  log::SetService(definition.name);
  absl::StatusOr<Configuration> configured = ConfigureProcess(definition, argc, argv);
  if (!configured.ok()) {
    log::Error("invalid configuration", {{"error", configured.status().message()}});
    return 2;
  }
  const ServiceConfig* config = &configured->config;
  if (config->migrate_only) return MigrateOnly(*config, SchemaOf(definition));
  if (config->seal_audit_log) return SealAuditLogOnly(*config);

  Metrics metrics(definition.name);
  if (config->metrics_port >= 0) {
    if (absl::Status s = metrics.Serve(config->listen_host, config->metrics_port); !s.ok()) {
      log::Error("cannot serve metrics", {{"error", s.message()}});
      return 1;
    }
  }
  absl::StatusOr<std::unique_ptr<PgPool>> db = PrepareDatabase(*config, SchemaOf(definition));
  if (!db.ok()) {
    log::Error("database set-up failed", {{"error", db.status().message()}});
    return 1;
  }

  Cache cache(configured->redis);
  cache.ExportMetrics(metrics.registry(), definition.name);
  absl::StatusOr<Callers> callers = AuthenticateCallers(definition, *config, **db, cache, metrics);
  if (!callers.ok()) {
    log::Error("invalid configuration", {{"error", callers.status().message()}});
    return 2;
  }
  std::vector<std::unique_ptr<Worker>> workers;
  ServiceEnvironment env = EnvironmentOf(*configured, metrics, **db, cache, workers, *callers);
  absl::StatusOr<std::vector<std::unique_ptr<grpc::Service>>> services =
      BuildServices(definition, env);
  if (!services.ok()) {
    log::Error("service set-up failed", {{"error", services.status().message()}});
    return 1;
  }

  // Armed once migrations ran and the service is built: the points are about serving, and a
  // start-up failing on one would only be restarted into the same migrations.
  if (absl::Status s = failpoint::ConfigureFromEnvironment(); !s.ok()) {
    log::Error("invalid configuration", {{"error", s.message()}});
    return 2;
  }
  std::vector<std::unique_ptr<Worker>> platform = PlatformWorkers(definition, *config, metrics);
  for (auto& worker : platform) worker->Start();
  for (auto& worker : workers) worker->Start();

  GrpcServer server({.host = config->listen_host,
                     .port = config->grpc_port,
                     .max_threads = config->grpc_max_threads,
                     .max_receive_message_bytes = config->grpc_max_receive_message_bytes,
                     .tls = config->tls,
                     .health_port = config->health_port,
                     .max_connection_age = config->max_connection_age});
  if (absl::Status s = Serve(server, *services, *config); !s.ok()) {
    log::Error("cannot start gRPC server", {{"error", s.message()}});
    StopWorkers(workers);
    StopWorkers(platform);
    return 1;
  }
  log::Info("serving", {{"grpc_port", server.port()},
                        {"tls", config->tls.enabled() ? "mutual" : "off"},
                        {"health_port", server.health_port()},
                        {"metrics_port", metrics.bound_port()},
                        {"topic", definition.topic}});

  WaitForShutdownSignal();
  // Stop accepting and drain calls in flight, then give the relay the rest of the grace period
  // (stop_grace) to publish what those calls committed.
  server.Shutdown(config->shutdown_grace / 2);
  StopWorkers(workers);
  StopWorkers(platform);
  log::Info("stopped");
  return 0;
}

}  // namespace techtrade
