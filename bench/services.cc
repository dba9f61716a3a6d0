#include "bench/services.h"

#include <atomic>
#include <pqxx/pqxx>
#include <thread>

#include "techtrade/bench/v1/echo.grpc.pb.h"
#include "tests/support/harness.h"

namespace techtrade::bench {

std::pair<ScenarioResult, ScenarioResult> EchoCeilingTakingTurns(
    const std::string& echo_name, int threads, const std::string& reads_name, AsyncCalls& reads,
    absl::Duration duration, long* rss_kib) {
  testing::ServiceProcess echo("echo_server", {});
  if (!echo.WaitUntilServing()) {
    ScenarioResult failed;
    failed.name = echo_name;
    failed.errors = 1;
    return {failed, ClosedLoop(reads_name, reads, duration)};
  }
  auto stubs = Stubs<techtrade::bench::v1::EchoService>(echo.address(), threads);
  techtrade::bench::v1::EchoRequest request;
  request.set_message("ping");
  AsyncUnary<techtrade::bench::v1::EchoResponse> calls(
      threads, [] { return testing::AuthedContext(""); },
      [&](int slot, int64_t, grpc::ClientContext* context, grpc::CompletionQueue* queue) {
        return stubs[slot]->AsyncEcho(context, request, queue);
      });
  auto turns = TakingTurns(echo_name, calls, reads_name, reads, duration);
  turns.first.note = "ceiling: same gRPC stack, no work";
  if (rss_kib != nullptr) *rss_kib = echo.RssKib();
  echo.Terminate();
  return turns;
}

namespace {

// Starts the paced senders; the caller joins them.
std::vector<std::thread> StartPaced(int total, int rate, int threads, std::atomic<int>& sent,
                                    std::atomic<int>& failed,
                                    const std::function<bool(int, int64_t)>& send) {
  std::vector<std::thread> workers;
  const absl::Time start = absl::Now();
  for (int t = 0; t < threads; ++t) {
    // By value: the threads outlive this function's frame.
    workers.emplace_back([t, start, total, rate, threads, sent = &sent, failed = &failed, send] {
      for (int64_t i = t; i < total; i += threads) {
        absl::Time due = start + absl::Seconds(1) * i / rate;
        if (absl::Now() < due) absl::SleepFor(due - absl::Now());
        ++*(send(t, i) ? sent : failed);
      }
    });
  }
  return workers;
}

}  // namespace

void Paced(int rate, int seconds, int threads, const std::function<bool(int, int64_t)>& send) {
  std::atomic<int> sent{0}, failed{0};
  for (auto& w : StartPaced(rate * seconds, rate, threads, sent, failed, send)) w.join();
}

ScenarioResult PacedLag(const std::string& name, const std::string& brokers,
                        const std::string& topic, int rate, int seconds, int threads,
                        const std::string& tag, const std::function<bool(int, int64_t)>& send) {
  testing::TopicReader reader(brokers, topic);
  const int total = rate * seconds;
  const std::string prefix = tag + "-";
  std::atomic<int> sent{0}, failed{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> workers = StartPaced(total, rate, threads, sent, failed, send);
  std::vector<double> lag_ms;
  size_t examined = 0;
  reader.ReadUntil(
      [&](const std::vector<testing::TopicReader::Event>& events) {
        // Taken as the events arrive; events of earlier scenarios still in flight are not ours.
        for (; examined < events.size(); ++examined) {
          const auto& e = events[examined].envelope;
          if (e.causation_request_id().rfind(prefix, 0) != 0) continue;
          absl::Time occurred = absl::FromUnixSeconds(e.occurred_at().seconds()) +
                                absl::Nanoseconds(e.occurred_at().nanos());
          lag_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - occurred));
        }
        return static_cast<int>(lag_ms.size()) >= total;
      },
      absl::Seconds(seconds + 30));
  for (auto& w : workers) w.join();
  ScenarioResult r;
  r.name = name;
  r.calls = static_cast<int64_t>(lag_ms.size());
  r.errors = failed + (sent - r.calls);
  r.qps = static_cast<double>(sent) / absl::ToDoubleSeconds(absl::Now() - start);
  r.p50_ms = Percentile(lag_ms, 50);
  r.p99_ms = Percentile(lag_ms, 99);
  std::fprintf(stderr, "bench: %-26s %8.0f /s   p50 %6.2f ms  p99 %6.2f ms  errors %lld\n",
               name.c_str(), r.qps, r.p50_ms, r.p99_ms, static_cast<long long>(r.errors));
  return r;
}

void QuietDatabase(const std::string& db_url) {
  pqxx::connection conn(db_url);
  pqxx::nontransaction tx(conn);
  tx.exec("CHECKPOINT");
}

int WalSegmentFiles(const std::string& db_url) {
  pqxx::connection conn(db_url);
  pqxx::nontransaction tx(conn);
  return tx.exec1("SELECT count(*) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'")[0].as<int>();
}

RawInsert::RawInsert(const std::string& db_url, int threads) {
  {
    pqxx::connection setup(db_url);
    pqxx::nontransaction tx(setup);
    tx.exec(
        "CREATE TABLE IF NOT EXISTS bench_raw (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
        "payload text NOT NULL, created timestamptz NOT NULL DEFAULT now())");
  }
  for (int i = 0; i < threads; ++i) {
    connections_.push_back(std::make_unique<pqxx::connection>(db_url));
  }
}

bool RawInsert::operator()(int thread, int64_t i) {
  pqxx::work tx(*connections_[thread]);
  tx.exec_params("INSERT INTO bench_raw (payload) VALUES ($1)",
                 absl::StrCat("row ", thread, "-", i));
  tx.commit();
  return true;
}

namespace {
constexpr char kRawInsertNote[] = "baseline: one INSERT per transaction, libpqxx";
}  // namespace

ScenarioResult RawInsertBaseline(const std::string& name, const std::string& db_url, int threads,
                                 absl::Duration duration) {
  RawInsert raw(db_url, threads);
  ScenarioResult r = ClosedLoop(name, threads, duration, std::ref(raw));
  r.note = kRawInsertNote;
  return r;
}

void AgainstRawInsert(std::vector<ScenarioResult>& results, const std::string& name,
                      const std::string& note, AsyncCalls& scenario, const std::string& raw_name,
                      const std::string& db_url, absl::Duration duration) {
  RawInsert raw(db_url, scenario.slots());
  auto [measured, baseline] = TakingTurns(name, scenario, raw_name, std::ref(raw), duration);
  measured.note = note;
  baseline.note = kRawInsertNote;
  results.push_back(std::move(measured));
  results.push_back(std::move(baseline));
}

}  // namespace techtrade::bench
