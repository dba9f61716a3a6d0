#include "bench/load.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace techtrade::bench {

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

namespace {

// CPU seconds used so far (user + system, threads that ended included) by each user-space
// process: pid → (command name, seconds). Pid 0 is the machine's idle time over all cores.
using CpuReading = std::map<int, std::pair<std::string, double>>;

CpuReading ReadCpu() {
  CpuReading reading;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream cmdline(entry.path() / "cmdline");
    if (cmdline.peek() == std::ifstream::traits_type::eof()) continue;  // a kernel thread
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const size_t open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14 and 15: utime, stime
      if (i == 14) utime = std::stod(field);
      if (i == 15) stime = std::stod(field);
    }
    reading[std::stoi(pid)] = {line.substr(open + 1, close - open - 1), (utime + stime) / tick};
  }
  std::ifstream proc_stat("/proc/stat");
  std::string cpu;
  double user, nice, system, idle;
  if (proc_stat >> cpu >> user >> nice >> system >> idle) reading[0] = {"idle", idle / tick};
  return reading;
}

// CPU seconds used between the two readings by command name (processes of one name summed, e.g.
// every PostgreSQL backend), and "idle". A process that ended in between is missed (the backends
// of a closed pool, say).
std::map<std::string, double> CpuUsed(const CpuReading& before, const CpuReading& after) {
  std::map<std::string, double> used;
  for (const auto& [pid, now] : after) {
    auto was = before.find(pid);
    double delta = now.second - (was == before.end() ? 0 : was->second.second);
    if (delta > 0) used[now.first] += delta;
  }
  return used;
}

// What `used` comes to per successful call; names under 1 % of the busy time left out.
std::map<std::string, double> CpuPerCall(const std::map<std::string, double>& used, int64_t calls) {
  double busy = 0;
  for (const auto& [command, seconds] : used) {
    if (command != "idle") busy += seconds;
  }
  std::map<std::string, double> per_call;
  if (calls <= 0) return per_call;
  for (const auto& [command, seconds] : used) {
    if (command == "idle" || seconds >= 0.01 * busy) {
      per_call[command] = seconds * 1e6 / static_cast<double>(calls);
    }
  }
  return per_call;
}

// One stretch of a scenario: every call's latency, and what the machine did meanwhile.
struct Stretch {
  std::vector<double> latencies_ms;
  int64_t errors = 0;
  double seconds = 0;
  std::map<std::string, double> cpu_seconds;
};

// Runs call(t, first[t] + i) on `threads` threads for `duration`, timing every call; advances
// first[t] past the calls thread t made.
Stretch Run(int threads, absl::Duration duration, const std::function<bool(int, int64_t)>& call,
            std::vector<int64_t>& first) {
  using Clock = std::chrono::steady_clock;
  std::vector<std::vector<double>> latencies(threads);
  std::atomic<int64_t> errors{0};
  const CpuReading cpu_before = ReadCpu();
  const auto started = Clock::now();
  const auto end = started + absl::ToChronoNanoseconds(duration);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int64_t i = 0; Clock::now() < end; ++i) {
        auto before = Clock::now();
        bool ok = call(t, first[t] + i);
        auto after = Clock::now();
        if (!ok) ++errors;
        latencies[t].push_back(std::chrono::duration<double, std::milli>(after - before).count());
      }
    });
  }
  for (auto& w : workers) w.join();
  Stretch stretch;
  stretch.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  stretch.cpu_seconds = CpuUsed(cpu_before, ReadCpu());
  stretch.errors = errors;
  for (int t = 0; t < threads; ++t) {
    first[t] += static_cast<int64_t>(latencies[t].size());
    stretch.latencies_ms.insert(stretch.latencies_ms.end(), latencies[t].begin(),
                                latencies[t].end());
  }
  return stretch;
}

// The same for asynchronous calls: every slot keeps one call in flight, from the queue threads.
Stretch RunAsync(AsyncCalls& calls, absl::Duration duration, std::vector<int64_t>& first) {
  using Clock = std::chrono::steady_clock;
  const int slots = calls.slots();
  const int queues = calls.queues();
  std::vector<std::vector<double>> latencies(queues);
  std::vector<int64_t> made(slots, 0);
  std::vector<Clock::time_point> began(slots);
  std::atomic<int64_t> errors{0};
  const CpuReading cpu_before = ReadCpu();
  const auto started = Clock::now();
  const auto end = started + absl::ToChronoNanoseconds(duration);
  auto start = [&](int slot) {
    began[slot] = Clock::now();
    calls.Start(slot, first[slot] + made[slot]++);
  };
  std::vector<std::thread> workers;
  for (int q = 0; q < queues; ++q) {
    workers.emplace_back([&, q] {
      int in_flight = 0;
      for (int slot = q; slot < slots; slot += queues, ++in_flight) start(slot);
      // Every call has a deadline of its own, so each ends; the bound is a backstop.
      const auto give_up = end + std::chrono::minutes(1);
      int slot;
      bool ok;
      while (in_flight > 0 && calls.Next(q, give_up, &slot, &ok)) {
        const auto now = Clock::now();
        if (!ok) ++errors;
        latencies[q].push_back(
            std::chrono::duration<double, std::milli>(now - began[slot]).count());
        if (now < end) {
          start(slot);
        } else {
          --in_flight;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  Stretch stretch;
  stretch.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  stretch.cpu_seconds = CpuUsed(cpu_before, ReadCpu());
  stretch.errors = errors;
  for (int slot = 0; slot < slots; ++slot) first[slot] += made[slot];
  for (const auto& l : latencies) {
    stretch.latencies_ms.insert(stretch.latencies_ms.end(), l.begin(), l.end());
  }
  return stretch;
}

// A scenario's result from its stretches (one, or its turns), logged as it is made.
ScenarioResult Summarize(const std::string& name, const std::vector<Stretch>& stretches) {
  std::vector<double> all;
  std::map<std::string, double> cpu_seconds;
  double seconds = 0;
  ScenarioResult r;
  r.name = name;
  for (const Stretch& s : stretches) {
    all.insert(all.end(), s.latencies_ms.begin(), s.latencies_ms.end());
    for (const auto& [command, used] : s.cpu_seconds) cpu_seconds[command] += used;
    seconds += s.seconds;
    r.errors += s.errors;
  }
  r.calls = static_cast<int64_t>(all.size());
  r.qps = seconds > 0 ? static_cast<double>(r.calls - r.errors) / seconds : 0;
  r.p50_ms = Percentile(all, 50);
  r.p99_ms = Percentile(all, 99);
  r.cpu_us_per_call = CpuPerCall(cpu_seconds, r.calls - r.errors);
  std::fprintf(stderr, "bench: %-26s %8.0f qps  p50 %6.2f ms  p99 %6.2f ms  errors %lld\n",
               name.c_str(), r.qps, r.p50_ms, r.p99_ms, static_cast<long long>(r.errors));
  return r;
}

}  // namespace

ScenarioResult ClosedLoop(const std::string& name, int threads, absl::Duration duration,
                          const std::function<bool(int, int64_t)>& call) {
  std::vector<int64_t> first(threads, 0);
  return Summarize(name, {Run(threads, duration, call, first)});
}

ScenarioResult ClosedLoop(const std::string& name, AsyncCalls& calls, absl::Duration duration) {
  std::vector<int64_t> first(calls.slots(), 0);
  return Summarize(name, {RunAsync(calls, duration, first)});
}

namespace {

// a for duration/slices, then run_b(slice, b's next call indices), `slices` times.
std::pair<ScenarioResult, ScenarioResult> Alternate(
    const std::string& name_a, AsyncCalls& a, const std::string& name_b, int slots_b,
    const std::function<Stretch(absl::Duration, std::vector<int64_t>&)>& run_b,
    absl::Duration duration, int slices) {
  slices = std::max(1, slices);
  const absl::Duration slice = duration / slices;
  std::vector<Stretch> stretches_a, stretches_b;
  std::vector<int64_t> first_a(a.slots(), 0), first_b(slots_b, 0);
  for (int k = 0; k < slices; ++k) {
    stretches_a.push_back(RunAsync(a, slice, first_a));
    stretches_b.push_back(run_b(slice, first_b));
  }
  return {Summarize(name_a, stretches_a), Summarize(name_b, stretches_b)};
}

}  // namespace

std::pair<ScenarioResult, ScenarioResult> TakingTurns(
    const std::string& name_a, AsyncCalls& a, const std::string& name_b,
    const std::function<bool(int, int64_t)>& call_b, absl::Duration duration, int slices) {
  return Alternate(
      name_a, a, name_b, a.slots(),
      [&](absl::Duration slice, std::vector<int64_t>& first) {
        return Run(a.slots(), slice, call_b, first);
      },
      duration, slices);
}

std::pair<ScenarioResult, ScenarioResult> TakingTurns(const std::string& name_a, AsyncCalls& a,
                                                      const std::string& name_b, AsyncCalls& b,
                                                      absl::Duration duration, int slices) {
  return Alternate(
      name_a, a, name_b, b.slots(),
      [&](absl::Duration slice, std::vector<int64_t>& first) { return RunAsync(b, slice, first); },
      duration, slices);
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
  std::printf("\nCPU per call, µs (processes above 1%% of the scenario's CPU; idle: unused)\n");
  for (const auto& s : scenarios) {
    if (s.cpu_us_per_call.empty()) continue;
    std::printf("%-28s", s.name.c_str());
    for (const auto& [command, us] : s.cpu_us_per_call)
      std::printf(" %s %.0f", command.c_str(), us);
    std::printf("\n");
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
    if (!s.cpu_us_per_call.empty()) doc["scenarios"][s.name]["cpu_us_per_call"] = s.cpu_us_per_call;
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
