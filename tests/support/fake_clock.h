// A clock the test moves (common/clock.h): TTLs and cool-downs pass when the test says so.
#pragma once

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "common/clock.h"

namespace techtrade::testing {

class FakeClock final : public Clock {
 public:
  int64_t MonotonicNanos() const override { return now_ns_.load(); }
  void Advance(absl::Duration d) { now_ns_ += absl::ToInt64Nanoseconds(d); }

 private:
  std::atomic<int64_t> now_ns_{1'000'000'000};
};

}  // namespace techtrade::testing
