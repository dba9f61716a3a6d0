// GrpcServer: the gRPC server every service runs, with its plaintext health port.
#include <grpc/grpc_security_constants.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/impl/server_initializer.h>

#include <algorithm>
#include <atomic>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/request_parsing.h"
#include "common/server.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/health/v1/health.pb.h"

namespace techtrade {

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

}  // namespace techtrade
