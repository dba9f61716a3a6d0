// What the service benchmarks share: one channel per client thread, and the two baselines every
// throughput figure is a ratio to, measured in the same run: the echo ceiling and the raw insert.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <pqxx/connection>
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

// Open-loop load at a steady rate: send(thread, i) for i < rate × seconds, spread over `threads`,
// each call at its time. While it runs, `topic` is read from its end, and the lag from each
// event's occurred_at to its arrival is taken for events whose causation_request_id starts with
// `tag` + "-" (the sends must use such request ids). qps: commands sent per second; errors:
// failed sends plus events that never arrived.
ScenarioResult PacedLag(const std::string& name, const std::string& brokers,
                        const std::string& topic, int rate, int seconds, int threads,
                        const std::string& tag, const std::function<bool(int, int64_t)>& send);

// The same load without reading anything, to bring a system to its steady state first.
void Paced(int rate, int seconds, int threads, const std::function<bool(int, int64_t)>& send);

// Forces a checkpoint on the stack's PostgreSQL, so that what an earlier benchmark wrote (a
// million rows, say) is not written out during this one's measurements.
void QuietDatabase(const std::string& db_url);

// The raw single-row insert: `threads` libpqxx connections to `db_url`, each inserting one row
// per transaction (BEGIN, INSERT, COMMIT) into a table of its own. A call of a load loop.
class RawInsert {
 public:
  RawInsert(const std::string& db_url, int threads);
  bool operator()(int thread, int64_t i);

 private:
  std::vector<std::unique_ptr<pqxx::connection>> connections_;
};

// The raw insert baseline alone, for `duration`.
ScenarioResult RawInsertBaseline(const std::string& name, const std::string& db_url, int threads,
                                 absl::Duration duration);

// `scenario` and the raw insert baseline taking turns (TakingTurns): the two sides of a ratio.
// Returns {scenario's result, the baseline's}.
std::pair<ScenarioResult, ScenarioResult> AgainstRawInsert(
    const std::string& name, const std::function<bool(int thread, int64_t i)>& scenario,
    const std::string& raw_name, const std::string& db_url, int threads, absl::Duration duration);

}  // namespace techtrade::bench
