// Waiting for what happens in the background (a relay, a lease), and reading the metrics it
// reports, in tests.
#pragma once

#include <functional>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/metrics.h"

namespace techtrade::testing {

// Polls `condition` every `every` until it holds (true) or `timeout` passes (false).
inline bool Eventually(const std::function<bool()>& condition, absl::Duration timeout,
                       absl::Duration every = absl::Milliseconds(20)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(every);
  }
  return true;
}

// The sum over every label set of the gauge (or counter) `name` in `metrics`.
inline double GaugeValue(Metrics& metrics, const std::string& name) {
  double total = 0;
  for (const prometheus::MetricFamily& family : metrics.registry().Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& m : family.metric) total += m.gauge.value;
  }
  return total;
}
inline double CounterValue(Metrics& metrics, const std::string& name) {
  double total = 0;
  for (const prometheus::MetricFamily& family : metrics.registry().Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& m : family.metric) total += m.counter.value;
  }
  return total;
}

}  // namespace techtrade::testing
