#include "common/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/tls_files.h"

namespace techtrade {

Metrics::Metrics(std::string service)
    : service_(std::move(service)), registry_(std::make_shared<prometheus::Registry>()) {
  rpc_requests_ = &prometheus::BuildCounter()
                       .Name("techtrade_rpc_requests_total")
                       .Help("gRPC calls served, by method and status code")
                       .Labels({{"service", service_}})
                       .Register(*registry_);
  rpc_duration_ = &prometheus::BuildHistogram()
                       .Name("techtrade_rpc_duration_seconds")
                       .Help("gRPC call latency in the handler, by method")
                       .Labels({{"service", service_}})
                       .Register(*registry_);
}

Metrics::~Metrics() { StopServing(); }

absl::Status Metrics::Serve(const std::string& host, int port) {
  host_ = host == "0.0.0.0" ? "127.0.0.1" : host;
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(absl::StrCat(host, ":", port));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("metrics port ", port, ": ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  return absl::OkStatus();
}

int Metrics::bound_port() const {
  if (exposer_ == nullptr) return -1;
  std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? -1 : ports.front();
}

namespace {

// Connects to host:port and closes at once; errors are ignored (the listener may be gone).
void Knock(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  close(fd);
}

}  // namespace

void Metrics::StopServing() {
  if (exposer_ == nullptr) return;
  const int port = bound_port();
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    exposer_.reset();
    stopped = true;
  });
  // Until the stop is seen: a knock before civetweb raised its stop flag only restarts the wait.
  while (!stopped && port > 0) {
    Knock(host_, port);
    absl::SleepFor(absl::Milliseconds(20));
  }
  stopper.join();
}

void Metrics::RecordRpc(absl::string_view method, absl::string_view code, double seconds) {
  RpcSeries series;
  {
    std::lock_guard<std::mutex> lock(rpc_series_mutex_);
    auto& by_code = rpc_series_[method];  // looked up by the view; a string only when added
    auto it = by_code.find(code);
    if (it == by_code.end()) {
      const std::string method_name(method), code_name(code);
      it = by_code
               .try_emplace(
                   code_name,
                   RpcSeries{&rpc_requests_->Add({{"method", method_name}, {"code", code_name}}),
                             &rpc_duration_->Add({{"method", method_name}}, LatencyBuckets())})
               .first;
    }
    series = it->second;
  }
  series.requests->Increment();
  series.duration->Observe(seconds);
}

const prometheus::Histogram::BucketBoundaries& Metrics::LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = [] {
    prometheus::Histogram::BucketBoundaries b;
    // Factor 1.25 from 0.25 ms: fine enough to read a p99 off the buckets within 25%.
    for (double bound = 0.00025; bound < 10; bound *= 1.25) b.push_back(bound);
    return b;
  }();
  return buckets;
}

CertificateExpiryGauge::CertificateExpiryGauge(Metrics& metrics,
                                               std::vector<Certificate> certificates)
    : family_(prometheus::BuildGauge()
                  .Name("techtrade_tls_certificate_expiry_timestamp_seconds")
                  .Help("When the certificate this process serves expires (notAfter, Unix "
                        "seconds), read from its file at every TLS refresh")
                  .Labels({{"service", metrics.service()}})
                  .Register(metrics.registry())),
      certificates_(std::move(certificates)),
      gauges_(certificates_.size(), nullptr) {}

absl::Status CertificateExpiryGauge::Refresh() {
  std::vector<std::string> problems;
  for (size_t i = 0; i < certificates_.size(); ++i) {
    absl::StatusOr<absl::Time> not_after = CertificateFileNotAfter(certificates_[i].path);
    if (!not_after.ok()) {
      problems.push_back(absl::StrCat(certificates_[i].name, ": ", not_after.status().message()));
      continue;
    }
    if (gauges_[i] == nullptr) gauges_[i] = &family_.Add({{"certificate", certificates_[i].name}});
    gauges_[i]->Set(static_cast<double>(absl::ToUnixSeconds(*not_after)));
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrJoin(problems, "; "));
}

}  // namespace techtrade
