#include "common/worker.h"

#include "common/log.h"

namespace techtrade {

void StopWorkers(std::span<const std::unique_ptr<Worker>> workers) {
  for (const auto& worker : workers) worker->RequestStop();
  for (const auto& worker : workers) worker->Stop();
}

LoopWorker::~LoopWorker() {
  // A subclass has stopped the thread already; this only catches one that forgot.
  if (thread_.joinable()) {
    log::Error("worker destroyed while running; stopping it", {{"worker", name_}});
    Stop();
  }
}

void LoopWorker::Start() {
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void LoopWorker::RequestStop() {
  {
    // Under the mutex, so that a SleepFor between its check and its wait does not miss it.
    std::lock_guard lock(mutex_);
    if (stopping_.exchange(true, std::memory_order_acq_rel)) return;
  }
  wake_.notify_all();
  OnStopRequested();
}

void LoopWorker::Stop() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
}

bool LoopWorker::SleepFor(absl::Duration duration) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, absl::ToChronoNanoseconds(duration), [this] { return stopping(); });
}

void PeriodicWorker::Run() {
  do {
    tick_();
  } while (SleepFor(interval_));
}

}  // namespace techtrade
