// The one server bootstrap. GrpcServer: a synchronous gRPC server with a bounded thread pool,
// the health service and reflection. RpcRunner: the one request pipeline (authenticate, hold
// the caller to its rate limit, run, map the status, count and time). RunService: everything a
// service process does around its handlers — configuration, logs, metrics, database and migrations,
// cache, outbox relay, graceful shutdown on SIGTERM.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/auth.h"
#include "common/cache.h"
#include "common/command.h"
#include "common/config.h"
#include "common/db.h"
#include "common/grpc_status.h"
#include "common/metrics.h"
#include "common/migrations.h"
#include "common/rate_limit.h"
#include "common/registry_client.h"
#include "common/settings.h"
#include "common/tls.h"
#include "common/worker.h"

namespace techtrade {

class HealthOnlyService;

class GrpcServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 0;  // 0 = any free port
    int max_threads = 64;
    // gRPC refuses a larger request with RESOURCE_EXHAUSTED before any handler runs.
    int max_receive_message_bytes = kDefaultMaxReceiveMessageBytes;
    // Mutual TLS on the port when enabled (common/tls.h).
    TlsFiles tls;
    // A second, plaintext port serving nothing but grpc.health.v1.Health, for probes that
    // cannot present a client certificate (the kubelet's); -1 = none, 0 = any free port.
    int health_port = -1;
    // Connections are closed gracefully after this long, so that clients reconnect: to replicas
    // started since, and with certificates rotated since (a handshake happens only once).
    absl::Duration max_connection_age = absl::Minutes(30);
    // Clients may ping a connection (HTTP/2 keepalive) this often, calls or not; more often is
    // answered with GOAWAY. At most ServiceChannel's keepalive time.
    absl::Duration min_client_ping_interval = absl::Seconds(20);
  };
  explicit GrpcServer(Options options);
  ~GrpcServer();
  void AddService(grpc::Service* service) { services_.push_back(service); }
  // Binds, starts serving and reports SERVING to the health service.
  absl::Status Start();
  int port() const { return port_; }
  int health_port() const { return health_port_; }
  // Health NOT_SERVING, stop accepting, let calls in flight finish until `grace`, then cancel.
  void Shutdown(absl::Duration grace);

 private:
  Options options_;
  std::vector<grpc::Service*> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<HealthOnlyService> health_;
  std::unique_ptr<grpc::Server> health_server_;
  int health_port_ = 0;
};

// What a handler knows about the call it serves.
struct CallContext {
  Principal caller;
  std::string traceparent;  // W3C trace context from the request, or a new one
  // The caller's credential, for look-ups made on its behalf in other services.
  std::string api_key;
};

// The idempotency key of a mutation: request ids are scoped per API client and method.
inline IdempotencyKey IdempotencyKeyFor(const CallContext& call, const std::string& request_id,
                                        std::string method) {
  return {call.caller.api_client_id(), request_id, std::move(method)};
}

// Whether a read may be answered from a near copy in this process (Cache::GetOrLoad near_copy):
// not when the caller asked for a fresh read (kFreshReadMetadata) to fill the shared cache.
bool NearCopyAllowed(const grpc::ServerContext& context);

// Trailing metadata of a call refused by a rate limit: how many milliseconds to wait before
// retrying.
inline constexpr char kRetryAfterMetadata[] = "retry-after-ms";

// The key of RpcRunner's `rate_limits` for failed authentications, per peer address (an IPv6
// address's /64; TECHTRADE_RATE_LIMIT_UNAUTHENTICATED).
inline constexpr char kUnauthenticatedRateLimit[] = "UNAUTHENTICATED";

// The common names of the platform's own services' certificates: the only callers of what only
// services may ask (RpcRunner::RunForServices).
inline constexpr absl::string_view kServiceIdentities[] = {"registry", "listings", "transactions",
                                                           "fund"};

class RpcRunner {
 public:
  // `rate_limits`: each API client's calls, by role name without its prefix ("CITY_SYSTEM"); a
  // role not named is not limited. Under kUnauthenticatedRateLimit: failed authentications per
  // peer address (FailedAuthLimiter; not limited when absent).
  RpcRunner(Authenticator& authenticator, Metrics& metrics,
            const std::map<std::string, RateLimit, std::less<>>& rate_limits = {},
            const Clock& clock = Clock::Real());

  // Authenticates the caller from metadata (refused at once, RESOURCE_EXHAUSTED with
  // kRetryAfterMetadata, while its address has spent its budget of failures and its key is not
  // remembered by `authenticator`, when that is a MemoizingAuthenticator; peers with a service
  // certificate, which forward their callers' keys, have no budget), holds it to its role's rate
  // limit (RESOURCE_EXHAUSTED with kRetryAfterMetadata), checks `request` against the rules its
  // fields declare (common/field_rules.h), runs `handler`, maps its status to gRPC, records metrics
  // and logs server-side failures.
  grpc::Status Run(grpc::ServerContext* context, absl::string_view method,
                   const google::protobuf::Message& request,
                   const std::function<absl::Status(const CallContext&)>& handler);
  // The same without an API key, for calls only the platform's services may make (the request
  // carries the credential): after the request's field rules, PERMISSION_DENIED unless the peer's
  // certificate names one of kServiceIdentities. A connection without TLS (a server run without
  // it: tests of what refuses plaintext, in-process handler tests) carries no identity and is let
  // through; a TLS port accepts no such connection.
  grpc::Status RunForServices(grpc::ServerContext* context, absl::string_view method,
                              const google::protobuf::Message& request,
                              const std::function<absl::Status(const CallContext&)>& handler);

 private:
  grpc::Status Finish(absl::string_view method, absl::Status status, double started);
  // OK, or RESOURCE_EXHAUSTED with the wait set in the call's trailing metadata.
  absl::Status Admit(grpc::ServerContext& context, const Principal& caller);
  Authenticator& authenticator_;
  const MemoizingAuthenticator* memo_;  // authenticator_, when it is one
  Metrics& metrics_;
  absl::flat_hash_map<int, RateLimit> limits_by_role_;  // ApiClientRole -> limit
  RateLimiter limiter_;
  FailedAuthLimiter failures_;
};

// What RunService hands a service to build its handlers from.
// How long a process may still accept an API key revoked elsewhere: callers are remembered this
// long between authentications.
inline constexpr absl::Duration kPrincipalMemoTtl = absl::Seconds(1);
// The deadline of a call to another techtrade service made on a caller's behalf.
inline constexpr absl::Duration kPeerCallDeadline = absl::Seconds(2);

struct ServiceEnvironment {
  const ServiceConfig& config;
  const Settings& settings;  // the service's own, as its definition declares them
  Metrics& metrics;
  PgPool& db;
  Cache& cache;
  // Background loops to run while serving; RunService starts and stops them.
  std::vector<std::unique_ptr<Worker>>& workers;
  // Every handler runs through this runner; its callers are authenticated by `keys` (the
  // definition's authenticator, or the registry's through RemoteAuthenticator), remembered for
  // kPrincipalMemoTtl by `principals`.
  RpcRunner& runner;
  Authenticator& keys;
  MemoizingAuthenticator& principals;
  // The registry, when the service has TECHTRADE_REGISTRY_ADDR (all but the registry itself).
  RegistryClient* registry;
};

struct ServiceDefinition {
  std::string name;   // "registry"
  std::string topic;  // outbox topic, e.g. "techtrade.registry.events.v1"
  std::span<const Migration> migrations;
  // Settings beyond the common ones (common/settings.h), read and checked before anything starts.
  std::vector<SettingSpec> settings;
  // How API keys are checked. Unset: through the registry, which then must be configured.
  std::function<std::unique_ptr<Authenticator>(PgPool&, Cache&)> authenticator;
  // Runs once the database is migrated; returns the gRPC services to serve (kept alive until
  // shutdown) or an error that stops the process.
  std::function<absl::StatusOr<std::vector<std::unique_ptr<grpc::Service>>>(ServiceEnvironment&)>
      build;
};

// The whole life of a service process; returns the exit code.
int RunService(int argc, char** argv, const ServiceDefinition& definition);

// Process-wide settings, first thing in main() of every techtrade binary. Debian's abseil is built
// without NDEBUG, which leaves absl::Mutex deadlock detection on: gRPC would record a lock graph,
// with a stack trace, on every lock it takes.
void InitProcess();

// Blocks SIGTERM/SIGINT in this and every later thread and returns when one arrives.
void BlockShutdownSignals();
void WaitForShutdownSignal();

}  // namespace techtrade
