// The ceiling for `make bench`: an Echo service on the same bootstrap (GrpcServer: sync API,
// bounded pool, health, reflection) as every techtrade service, with no work behind it.
#include <fstream>

#include "common/config.h"
#include "common/log.h"
#include "common/server.h"
#include "techtrade/bench/v1/echo.grpc.pb.h"

namespace {

class EchoService final : public techtrade::bench::v1::EchoService::Service {
  grpc::Status Echo(grpc::ServerContext*, const techtrade::bench::v1::EchoRequest* request,
                    techtrade::bench::v1::EchoResponse* response) override {
    response->set_message(request->message());
    return grpc::Status::OK;
  }
};

}  // namespace

int main() {
  using namespace techtrade;
  InitProcess();
  BlockShutdownSignals();
  log::SetService("echo");
  EchoService echo;
  GrpcServer server({.host = "127.0.0.1",
                     .port = std::stoi(EnvOr("TECHTRADE_GRPC_PORT", "0")),
                     .max_threads = std::stoi(EnvOr("TECHTRADE_GRPC_MAX_THREADS", "64")),
                     .tls = TlsFilesFromEnvironment()});
  server.AddService(&echo);
  if (absl::Status s = server.Start(); !s.ok()) {
    log::Error("cannot start", {{"error", s.ToString()}});
    return 1;
  }
  if (std::string port_file = EnvOr("TECHTRADE_PORT_FILE", ""); !port_file.empty()) {
    std::ofstream(port_file) << server.port() << "\n";
  }
  WaitForShutdownSignal();
  server.Shutdown(absl::Seconds(1));
  return 0;
}
