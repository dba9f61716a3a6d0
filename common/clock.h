// Time as the process reads it, behind an interface so that tests move it instead of sleeping
// past a TTL or a cool-down (tests/support/fake_clock.h).
#pragma once

#include <chrono>
#include <cstdint>

namespace techtrade {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds since an arbitrary origin: for lifetimes and cool-downs.
  virtual int64_t MonotonicNanos() const = 0;

  // The process's clock (std::chrono::steady_clock).
  static const Clock& Real();
};

class SteadyClock final : public Clock {
 public:
  int64_t MonotonicNanos() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

inline const Clock& Clock::Real() {
  static const SteadyClock clock;
  return clock;
}

}  // namespace techtrade
