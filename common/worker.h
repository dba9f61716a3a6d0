// Background work beside the handlers (event consumers, the read-model follower, gauges, the
// outbox relay, maintenance). Every loop is a LoopWorker: it owns the thread, and a stop request
// wakes whatever the loop sleeps on, so that stopping never waits out a sleep.
//
// The stop order (RunService): the gRPC server drains, then the service's workers stop (all
// asked at once, then each awaited), then the platform's (the outbox relay, which publishes what
// those committed, and maintenance).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "absl/time/time.h"

namespace techtrade {

class Worker {
 public:
  virtual ~Worker() = default;
  virtual void Start() = 0;
  // Asks the loop to end and returns at once, so that a process stopping several workers waits
  // for the slowest instead of for each in turn.
  virtual void RequestStop() = 0;
  // Ends the loop and waits for it (RequestStop first if it was not).
  virtual void Stop() = 0;
};

// Asks every worker to stop, then waits for each.
void StopWorkers(std::span<const std::unique_ptr<Worker>> workers);

// A worker running Run() on its own thread. A subclass calls Stop() in its own destructor: the
// thread runs the subclass's code on its members.
class LoopWorker : public Worker {
 public:
  explicit LoopWorker(std::string name) : name_(std::move(name)) {}
  ~LoopWorker() override;
  LoopWorker(const LoopWorker&) = delete;
  LoopWorker& operator=(const LoopWorker&) = delete;

  void Start() final;
  void RequestStop() final;
  void Stop() final;
  const std::string& name() const { return name_; }

 protected:
  // The loop: returns once stopping() (checked between steps; sleeps end early on stop).
  virtual void Run() = 0;
  // Runs in RequestStop, on the stopping thread, after stopping() became true: for a loop that
  // sleeps on something of its own to wake it.
  virtual void OnStopRequested() {}

  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  // Sleeps for `duration` or until stop is requested; false if stopping.
  bool SleepFor(absl::Duration duration);

 private:
  const std::string name_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

// Calls `tick` at start and then every `interval` until stopped.
class PeriodicWorker : public LoopWorker {
 public:
  PeriodicWorker(std::string name, absl::Duration interval, std::function<void()> tick)
      : LoopWorker(std::move(name)), interval_(interval), tick_(std::move(tick)) {}
  ~PeriodicWorker() override { Stop(); }

 private:
  void Run() override;

  const absl::Duration interval_;
  const std::function<void()> tick_;
};

}  // namespace techtrade
