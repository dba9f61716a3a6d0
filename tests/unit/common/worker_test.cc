// The worker base every background loop uses: its sleeps end when a stop is requested, and stop
// order is the caller's.
#include "common/worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace techtrade {
namespace {

TEST(PeriodicWorkerTest, TicksAtStartAndStopWakesItsSleep) {
  absl::Notification ticked;
  std::atomic<int> ticks{0};
  PeriodicWorker worker("test", absl::Hours(1), [&] {
    if (++ticks == 1) ticked.Notify();
  });
  worker.Start();
  ASSERT_TRUE(ticked.WaitForNotificationWithTimeout(absl::Seconds(10)));
  const absl::Time stop_started = absl::Now();
  worker.Stop();
  // An hour's sleep ended by the stop, not waited out.
  EXPECT_LT(absl::Now() - stop_started, absl::Seconds(5));
  EXPECT_EQ(ticks.load(), 1);
}

class SleepyLoop : public LoopWorker {
 public:
  explicit SleepyLoop(std::atomic<int>& woken) : LoopWorker("sleepy"), woken_(woken) {}
  ~SleepyLoop() override { Stop(); }
  absl::Notification running;
  std::atomic<int> stop_hooks{0};

 private:
  void Run() override {
    running.Notify();
    while (SleepFor(absl::Hours(1))) {
    }
    ++woken_;
  }
  void OnStopRequested() override { ++stop_hooks; }
  std::atomic<int>& woken_;
};

TEST(LoopWorkerTest, StopWorkersAsksAllBeforeWaitingAndStopsOnce) {
  std::atomic<int> woken{0};
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<SleepyLoop*> loops;
  for (int i = 0; i < 3; ++i) {
    auto loop = std::make_unique<SleepyLoop>(woken);
    loops.push_back(loop.get());
    workers.push_back(std::move(loop));
  }
  for (auto& worker : workers) worker->Start();
  for (SleepyLoop* loop : loops) {
    ASSERT_TRUE(loop->running.WaitForNotificationWithTimeout(absl::Seconds(10)));
  }
  const absl::Time stop_started = absl::Now();
  StopWorkers(workers);
  EXPECT_LT(absl::Now() - stop_started, absl::Seconds(5));
  EXPECT_EQ(woken.load(), 3);
  StopWorkers(workers);  // a second stop is a no-op
  for (SleepyLoop* loop : loops) EXPECT_EQ(loop->stop_hooks.load(), 1);
}

TEST(LoopWorkerTest, StopBeforeStartReturns) {
  std::atomic<int> woken{0};
  SleepyLoop loop(woken);
  loop.Stop();
  EXPECT_EQ(woken.load(), 0);
}

}  // namespace
}  // namespace techtrade
