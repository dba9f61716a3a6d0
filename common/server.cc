#include "common/server.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/impl/server_initializer.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/audit_seal.h"
#include "common/audit_service.h"
#include "common/cache_keys.h"
#include "common/database_setup.h"
#include "common/dead_letter_service.h"
#include "common/failpoint.h"
#include "common/field_rules.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/maintenance.h"
#include "common/migrations.h"
#include "common/outbox.h"
#include "common/request_parsing.h"
#include "common/status.h"
#include "common/trace.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/health/v1/health.pb.h"

namespace techtrade {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string CodeName(absl::StatusCode code) { return absl::StatusCodeToString(code); }

std::string TraceparentOf(const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  // W3C: a traceparent that is not valid is ignored, and a new trace starts.
  if (auto it = metadata.find("traceparent"); it != metadata.end()) {
    return TraceparentOrNew(absl::string_view(it->second.data(), it->second.size()));
  }
  return NewTraceparent();
}

}  // namespace

namespace {

// Learns the names of the services a server registered (ServerInitializer has them, once
// built), so that the health service answers for each by name, as probes ask.
class ServiceNamesPlugin : public grpc::ServerBuilderPlugin {
 public:
  explicit ServiceNamesPlugin(std::vector<std::string>* names) : names_(names) {}
  std::string name() override { return "techtrade_service_names"; }
  void InitServer(grpc::ServerInitializer* si) override { *names_ = *si->GetServiceList(); }
  void Finish(grpc::ServerInitializer*) override {}
  void ChangeArguments(const std::string&, void*) override {}
  bool has_sync_methods() const override { return false; }
  bool has_async_methods() const override { return false; }

 private:
  std::vector<std::string>* names_;
};

class ServiceNamesOption : public grpc::ServerBuilderOption {
 public:
  explicit ServiceNamesOption(std::vector<std::string>* names) : names_(names) {}
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->push_back(std::make_unique<ServiceNamesPlugin>(names_));
  }

 private:
  std::vector<std::string>* names_;
};

// How long a connection past its age may finish the calls it carries.
constexpr int kConnectionAgeGraceMs = 30'000;
constexpr int kServerKeepaliveMs = 60'000;
constexpr int kKeepaliveTimeoutMs = 20'000;

}  // namespace

// Answers Check for the whole server ("") and for each of its services by name, from one flag;
// Watch is left unimplemented (probes only Check).
class HealthOnlyService final : public grpc::health::v1::Health::Service {
 public:
  explicit HealthOnlyService(std::vector<std::string> names) : names_(std::move(names)) {}
  void SetServing(bool serving) { serving_.store(serving); }
  grpc::Status Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override {
    if (!request->service().empty() &&
        std::find(names_.begin(), names_.end(), request->service()) == names_.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "service name unknown");
    }
    response->set_status(serving_.load() ? grpc::health::v1::HealthCheckResponse::SERVING
                                         : grpc::health::v1::HealthCheckResponse::NOT_SERVING);
    return grpc::Status::OK;
  }

 private:
  const std::vector<std::string> names_;
  std::atomic<bool> serving_{false};
};

GrpcServer::GrpcServer(Options options) : options_(std::move(options)) {}
GrpcServer::~GrpcServer() = default;

absl::Status GrpcServer::Start() {
  // gRPC's built-in health service has no descriptor in the protobuf pool, so reflection clients
  // (grpcurl) could list it but not call it; touching the generated descriptor links it in.
  grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(options_.host, ":", options_.port),
                           ServerCredentialsFor(options_.tls), &port_);
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_AGE_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options_.max_connection_age)));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, kConnectionAgeGraceMs);
  // A client whose node went away leaves a connection nothing closes (no FIN, no RST): pinging
  // it finds out within a keepalive round, instead of the kernel's retransmission timeout.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, kServerKeepaliveMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  // And the same for clients checking on the server (ServiceChannel pings in its calls).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options_.min_client_ping_interval)));
  // The synchronous API with a bounded pool: handlers block on PostgreSQL, so they must not run
  // on callback reactor threads.
  builder.SetMaxReceiveMessageSize(options_.max_receive_message_bytes);
  grpc::ResourceQuota quota("techtrade");
  quota.SetMaxThreads(options_.max_threads);
  builder.SetResourceQuota(quota);
  // gRPC keeps at most MAX_POLLERS idle threads (default 2) and ends any beyond. Calls that wait
  // for a group commit end together, so a lower bound would end a share of the threads at every
  // commit and create new ones for the next calls; MAX_POLLERS at the pool's bound keeps the
  // threads a load made.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              options_.max_threads);
  for (grpc::Service* service : services_) builder.RegisterService(service);
  std::vector<std::string> service_names;
  builder.SetOption(std::make_unique<ServiceNamesOption>(&service_names));
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(NewUnparsableRequestInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.host, ":", options_.port, " (port in use?)"));
  }
  for (const std::string& name : service_names) {
    server_->GetHealthCheckService()->SetServingStatus(name, true);
  }
  server_->GetHealthCheckService()->SetServingStatus(true);
  if (options_.health_port >= 0) {
    health_ = std::make_unique<HealthOnlyService>(service_names);
    grpc::ServerBuilder health_builder;
    health_builder.AddListeningPort(absl::StrCat(options_.host, ":", options_.health_port),
                                    grpc::InsecureServerCredentials(), &health_port_);
    health_builder.RegisterService(health_.get());
    health_server_ = health_builder.BuildAndStart();
    if (health_server_ == nullptr || health_port_ == 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.host, ":",
                                                 options_.health_port, " (health port in use?)"));
    }
    health_->SetServing(true);
  }
  return absl::OkStatus();
}

void GrpcServer::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  if (health_ != nullptr) health_->SetServing(false);
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(grace));
  server_->Wait();
  server_.reset();
  if (health_server_ != nullptr) {
    health_server_->Shutdown(std::chrono::system_clock::now());
    health_server_->Wait();
    health_server_.reset();
  }
}

bool NearCopyAllowed(const grpc::ServerContext& context) {
  return context.client_metadata().count(kFreshReadMetadata) == 0;
}

namespace {

RateLimit FailureBudget(const std::map<std::string, RateLimit, std::less<>>& rate_limits) {
  auto it = rate_limits.find(kUnauthenticatedRateLimit);
  return it == rate_limits.end() ? RateLimit{} : it->second;
}

// What gRPC's insecure credentials name their transport (no public constant in gRPC 1.51).
constexpr char kInsecureTransport[] = "insecure";

// Whether the peer presented one of the platform's service certificates (verified by mutual TLS:
// PeerCommonName names only an authenticated peer).
bool IsServicePeer(const grpc::ServerContext& context) {
  return absl::c_linear_search(kServiceIdentities, PeerCommonName(context));
}

// OK for a peer presenting one of the platform's service certificates, or on a connection
// without TLS (gRPC's insecure credentials, in-process channels): fails open there, which only a
// server run without TECHTRADE_TLS_CA does (docs/security.md); PERMISSION_DENIED otherwise.
absl::Status RequireServicePeer(const grpc::ServerContext& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return absl::OkStatus();
  std::vector<grpc::string_ref> transport =
      auth->FindPropertyValues(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
  const bool plaintext =
      !auth->IsPeerAuthenticated() && (transport.empty() || transport[0] == kInsecureTransport);
  const std::string name = PeerCommonName(context);
  if (plaintext || absl::c_linear_search(kServiceIdentities, name)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("certificate: only the platform's services (",
                                                  absl::StrJoin(kServiceIdentities, ", "),
                                                  ") may call this; the peer's is '", name, "'"));
}

}  // namespace

RpcRunner::RpcRunner(Authenticator& authenticator, Metrics& metrics,
                     const std::map<std::string, RateLimit, std::less<>>& rate_limits,
                     const Clock& clock)
    : authenticator_(authenticator),
      memo_(dynamic_cast<const MemoizingAuthenticator*>(&authenticator)),
      metrics_(metrics),
      limiter_(clock),
      failures_(FailureBudget(rate_limits), clock) {
  const google::protobuf::EnumDescriptor* roles = registry::v1::ApiClientRole_descriptor();
  for (int i = 0; i < roles->value_count(); ++i) {
    absl::string_view name = roles->value(i)->name();
    absl::ConsumePrefix(&name, "API_CLIENT_ROLE_");
    if (auto it = rate_limits.find(name); it != rate_limits.end()) {
      limits_by_role_[roles->value(i)->number()] = it->second;
    }
  }
}

absl::Status RpcRunner::Admit(grpc::ServerContext& context, const Principal& caller) {
  auto it = limits_by_role_.find(caller.role());
  if (it == limits_by_role_.end()) return absl::OkStatus();
  absl::Duration wait;
  absl::Status allowed = limiter_.Take(caller.api_client_id(), it->second, &wait);
  if (!allowed.ok()) {
    context.AddTrailingMetadata(kRetryAfterMetadata, absl::StrCat(RetryAfterMillis(wait)));
  }
  return allowed;
}

grpc::Status RpcRunner::Run(grpc::ServerContext* context, absl::string_view method,
                            const google::protobuf::Message& request,
                            const std::function<absl::Status(const CallContext&)>& handler) {
  double started = NowSeconds();
  absl::StatusOr<std::string> key = ApiKeyFromMetadata(*context);
  const std::string peer = PeerHost(context->peer());
  // A service forwards its callers' keys: its failures are theirs, already counted where they
  // called from, and counting them against the service's address would refuse all its calls.
  const bool limited = !IsServicePeer(*context);
  // A remembered key costs no look-up, so a spent budget does not refuse it: one client with a
  // stale key does not lock out the others behind the same address.
  const bool remembered = key.ok() && memo_ != nullptr && memo_->Remembers(*key);
  // Once an address has failed, a token is taken before each look-up, which a caller guessing
  // keys would otherwise have the server make at will; taken, not checked, so that look-ups in
  // flight at once cannot share one.
  bool reserved = false;
  if (limited && !remembered) {
    absl::Duration wait;
    absl::StatusOr<bool> taken = failures_.Reserve(peer, &wait);
    if (!taken.ok()) {
      context->AddTrailingMetadata(kRetryAfterMetadata, absl::StrCat(RetryAfterMillis(wait)));
      return Finish(method, taken.status(), started);
    }
    reserved = *taken;
  }
  if (!key.ok()) return Finish(method, key.status(), started);
  absl::StatusOr<Principal> caller = authenticator_.Authenticate(*key);
  // Only a refused key counts: the registry being unreachable says nothing about the caller.
  const bool failed = absl::IsUnauthenticated(caller.status());
  if (reserved && !failed) failures_.Return(peer);
  // A look-up that reserved nothing (the address had not failed, or the key was remembered and
  // has been forgotten since): its failure is counted now.
  if (limited && !reserved && failed) failures_.RecordFailure(peer);
  if (!caller.ok()) return Finish(method, caller.status(), started);
  if (absl::Status allowed = Admit(*context, *caller); !allowed.ok()) {
    return Finish(method, allowed, started);
  }
  if (absl::Status valid = CheckFieldRules(request); !valid.ok()) {
    return Finish(method, valid, started);
  }
  CallContext call{*std::move(caller), TraceparentOf(*context), *std::move(key)};
  return Finish(method, handler(call), started);
}

grpc::Status RpcRunner::RunForServices(
    grpc::ServerContext* context, absl::string_view method,
    const google::protobuf::Message& request,
    const std::function<absl::Status(const CallContext&)>& handler) {
  double started = NowSeconds();
  if (absl::Status valid = CheckFieldRules(request); !valid.ok()) {
    return Finish(method, valid, started);
  }
  if (absl::Status allowed = RequireServicePeer(*context); !allowed.ok()) {
    return Finish(method, allowed, started);
  }
  CallContext call{Principal(), TraceparentOf(*context)};
  return Finish(method, handler(call), started);
}

grpc::Status RpcRunner::Finish(absl::string_view method, absl::Status status, double started) {
  double elapsed = NowSeconds() - started;
  metrics_.RecordRpc(method, CodeName(status.code()), elapsed);
  switch (status.code()) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnavailable:
      log::Error("rpc failed", {{"method", method},
                                {"code", CodeName(status.code())},
                                {"error", status.message()},
                                {"seconds", elapsed}});
      break;
    default:
      if (!status.ok()) {
        log::Debug(
            "rpc refused",
            {{"method", method}, {"code", CodeName(status.code())}, {"error", status.message()}});
      }
  }
  return ToGrpcStatus(status);
}

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
