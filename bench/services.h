// What the service benchmarks share: one channel per client thread, and the echo ceiling every
// throughput figure is a ratio to, measured in the same run.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/load.h"

namespace techtrade::bench {

// One channel per client thread, so threads do not queue behind one HTTP/2 connection.
template <class Service>
std::vector<std::unique_ptr<typename Service::Stub>> Stubs(const std::string& address, int n) {
  std::vector<std::unique_ptr<typename Service::Stub>> stubs;
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("techtrade.bench.channel", i);
    stubs.push_back(Service::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args)));
  }
  return stubs;
}

// Starts the echo server (the same gRPC bootstrap as the services, no work behind it), runs a
// closed loop against it and stops it. `rss_kib`, if given, gets its resident memory after load.
// `name` keeps each benchmark's ceiling apart in the merged JSON.
ScenarioResult MeasureEchoCeiling(const std::string& name, int threads, absl::Duration duration,
                                  long* rss_kib = nullptr);

}  // namespace techtrade::bench
