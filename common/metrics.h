// Prometheus metrics: one registry per process, served over HTTP at /metrics on its own port.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace techtrade {

class Metrics {
 public:
  explicit Metrics(std::string service);
  // Stops serving (see StopServing).
  ~Metrics();

  // Serves /metrics on host:port; port 0 picks a free one (see bound_port()).
  absl::Status Serve(const std::string& host, int port);
  int bound_port() const;
  // Closes the endpoint. civetweb's listener notices a stop only when its poll returns — on a
  // connection, or every 2 s — which made every process's exit take up to 2 s more; the
  // listener is woken by connecting to it, so the stop takes milliseconds.
  void StopServing();

  prometheus::Registry& registry() { return *registry_; }
  const std::string& service() const { return service_; }

  // One finished RPC: counted by method and status code, timed by method.
  void RecordRpc(absl::string_view method, absl::string_view code, double seconds);

  // Latency buckets from 0.25 ms to ~10 s, for every latency histogram of the project.
  static const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

 private:
  std::string service_;
  std::string host_;  // where the endpoint listens, for StopServing's wake-up
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Counter>* rpc_requests_;
  prometheus::Family<prometheus::Histogram>* rpc_duration_;
  // The series of each method and code, found once: the families' Add builds label maps (and
  // the histogram its 40 bucket bounds) on every call.
  struct RpcSeries {
    prometheus::Counter* requests;
    prometheus::Histogram* duration;
  };
  std::mutex rpc_series_mutex_;
  // method → code → series; guarded by rpc_series_mutex_
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, RpcSeries>> rpc_series_;
};

// techtrade_tls_certificate_expiry_timestamp_seconds{certificate}: when each certificate this
// process serves expires, from the files themselves, read again on every Refresh (at the cadence
// gRPC re-reads them: TECHTRADE_TLS_REFRESH_SECONDS), so a rotated file shows its new date.
class CertificateExpiryGauge {
 public:
  struct Certificate {
    std::string name;  // the `certificate` label: "server", "ca"
    std::string path;  // PEM file; its first certificate counts
  };
  CertificateExpiryGauge(Metrics& metrics, std::vector<Certificate> certificates);

  // Reads every file; one that cannot be read or parsed keeps its last figure (gRPC, too, keeps
  // serving what it last loaded) and is named in the error.
  absl::Status Refresh();

 private:
  prometheus::Family<prometheus::Gauge>& family_;
  std::vector<Certificate> certificates_;
  std::vector<prometheus::Gauge*> gauges_;  // by index of certificates_; null until first read
};

}  // namespace techtrade
