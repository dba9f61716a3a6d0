// A small load generator: closed loops — N client threads each waiting for its call, or N
// asynchronous calls in flight served by a few threads (AsyncCalls) — latencies per call, and a
// report as a table and JSON. Every loop is bounded in time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace techtrade::bench {

struct ScenarioResult {
  std::string name;
  std::string note;
  int64_t calls = 0;
  int64_t errors = 0;
  double qps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  // CPU time per successful call, in µs, of every user-space process that used more than 1 %
  // of the run's calls' CPU, by command name ("postgres" sums all backends), plus "idle": what
  // the machine left unused per call. Where a figure's time goes, measured in the same run.
  std::map<std::string, double> cpu_us_per_call;
};

// Runs call(thread, i) from `threads` threads for `duration`; a call returns false on error.
ScenarioResult ClosedLoop(const std::string& name, int threads, absl::Duration duration,
                          const std::function<bool(int thread, int64_t i)>& call);

// Calls kept in flight without a thread each: `slots` clients, each with one call at a time,
// served by `queues` threads, slot s by thread s % queues. A client thread blocked in every
// call costs the load generator thread hand-offs (a context switch or more) per call, and it
// shares the machine with what it measures; a few threads that each take whichever call ended
// next cost far fewer (see AsyncUnary in services.h).
class AsyncCalls {
 public:
  virtual ~AsyncCalls() = default;
  virtual int slots() const = 0;
  virtual int queues() const = 0;
  // Starts call i in `slot`, whose previous call has ended. Called by the slot's queue thread.
  virtual void Start(int slot, int64_t i) = 0;
  // Waits until `deadline` for a call of `queue` to end: true with its slot and whether it
  // succeeded; false if none ended by then.
  virtual bool Next(int queue, std::chrono::steady_clock::time_point deadline, int* slot,
                    bool* ok) = 0;
};

// A closed loop of `calls` for `duration`: each slot starts its next call when its last ends.
ScenarioResult ClosedLoop(const std::string& name, AsyncCalls& calls, absl::Duration duration);

// Two closed loops taking turns — a (asynchronous) for duration/slices, then b (on as many
// threads as a has slots), `slices` times — each `duration` in all; call indices run on across a
// side's slices. Both sides of a ratio then meet the same machine: on shared cores whose speed
// drifts by more than the effect measured, one
// scenario after the other would compare two machines.
std::pair<ScenarioResult, ScenarioResult> TakingTurns(
    const std::string& name_a, AsyncCalls& a, const std::string& name_b,
    const std::function<bool(int thread, int64_t i)>& call_b, absl::Duration duration,
    int slices = 5);
// The same with b asynchronous too.
std::pair<ScenarioResult, ScenarioResult> TakingTurns(const std::string& name_a, AsyncCalls& a,
                                                      const std::string& name_b, AsyncCalls& b,
                                                      absl::Duration duration, int slices = 5);

// The scenario called `name` in `results` (an empty one if there is none).
const ScenarioResult& Find(const std::vector<ScenarioResult>& results, const std::string& name);

// p-th percentile (0..100) of `values` (sorted in place).
double Percentile(std::vector<double>& values, double p);

struct Figure {
  std::string name;
  double value;
  std::string target;  // human-readable, e.g. ">= 0.50"
  bool met;
};

// Prints the table and merges scenarios and figures into the JSON file at `path` (other keys,
// e.g. from other services' benchmarks, are kept).
void Report(const std::vector<ScenarioResult>& scenarios, const std::vector<Figure>& figures,
            const std::string& path);

}  // namespace techtrade::bench
