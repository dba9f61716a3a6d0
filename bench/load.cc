#include "bench/load.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

namespace techtrade::bench {

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

namespace {

// Runs call(t, i) on `threads` threads while more(t, i) holds, timing every call.
ScenarioResult Loop(const std::string& name, int threads,
                    const std::function<bool(int, int64_t)>& more,
                    const std::function<bool(int, int64_t)>& call) {
  using Clock = std::chrono::steady_clock;
  std::vector<std::vector<double>> latencies(threads);
  std::atomic<int64_t> errors{0};
  auto started = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int64_t i = 0; more(t, i); ++i) {
        auto before = Clock::now();
        bool ok = call(t, i);
        auto after = Clock::now();
        if (!ok) ++errors;
        latencies[t].push_back(std::chrono::duration<double, std::milli>(after - before).count());
      }
    });
  }
  for (auto& w : workers) w.join();
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  ScenarioResult r;
  r.name = name;
  r.calls = static_cast<int64_t>(all.size());
  r.errors = errors;
  r.qps = static_cast<double>(r.calls - r.errors) / seconds;
  r.p50_ms = Percentile(all, 50);
  r.p99_ms = Percentile(all, 99);
  std::fprintf(stderr, "bench: %-26s %8.0f qps  p50 %6.2f ms  p99 %6.2f ms  errors %lld\n",
               name.c_str(), r.qps, r.p50_ms, r.p99_ms, static_cast<long long>(r.errors));
  return r;
}

}  // namespace

ScenarioResult ClosedLoop(const std::string& name, int threads, absl::Duration duration,
                          const std::function<bool(int, int64_t)>& call) {
  const auto end = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(duration);
  return Loop(
      name, threads, [&](int, int64_t) { return std::chrono::steady_clock::now() < end; }, call);
}

ScenarioResult CountedLoop(const std::string& name, const std::vector<int64_t>& calls_per_thread,
                           const std::function<bool(int, int64_t)>& call) {
  return Loop(
      name, static_cast<int>(calls_per_thread.size()),
      [&](int t, int64_t i) { return i < calls_per_thread[t]; }, call);
}

const ScenarioResult& Find(const std::vector<ScenarioResult>& results, const std::string& name) {
  for (const auto& r : results) {
    if (r.name == name) return r;
  }
  static const ScenarioResult none;
  return none;
}

void Report(const std::vector<ScenarioResult>& scenarios, const std::vector<Figure>& figures,
            const std::string& path) {
  std::printf("\n%-28s %10s %10s %10s %8s %8s  %s\n", "scenario", "qps", "p50_ms", "p99_ms",
              "calls", "errors", "note");
  for (const auto& s : scenarios) {
    std::printf("%-28s %10.0f %10.2f %10.2f %8lld %8lld  %s\n", s.name.c_str(), s.qps, s.p50_ms,
                s.p99_ms, static_cast<long long>(s.calls), static_cast<long long>(s.errors),
                s.note.c_str());
  }
  std::printf("\n%-36s %10s %10s %6s\n", "figure", "value", "target", "met");
  for (const auto& f : figures) {
    std::printf("%-36s %10.3f %10s %6s\n", f.name.c_str(), f.value, f.target.c_str(),
                f.met ? "yes" : "NO");
  }

  nlohmann::json doc = nlohmann::json::object();
  if (std::ifstream in(path); in) {
    doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) doc = nlohmann::json::object();
  }
  for (const auto& s : scenarios) {
    doc["scenarios"][s.name] = {{"qps", s.qps},     {"p50_ms", s.p50_ms}, {"p99_ms", s.p99_ms},
                                {"calls", s.calls}, {"errors", s.errors}, {"note", s.note}};
  }
  for (const auto& f : figures) {
    doc["figures"][f.name] = f.value;
    doc["targets"][f.name] = {{"target", f.target}, {"met", f.met}};
  }
  doc["machine"] = {{"cores", std::thread::hardware_concurrency()}};
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << doc.dump(2) << "\n";
  std::printf("\nwritten: %s\n", path.c_str());
}

}  // namespace techtrade::bench
