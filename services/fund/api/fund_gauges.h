// The fund's gauges for Prometheus: a worker beside the handlers.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/time/time.h"
#include "common/db.h"
#include "common/metrics.h"
#include "common/worker.h"

namespace techtrade::fund {

// Prometheus gauges of the appraisal (per pilot city, current year) and of every programme's
// balances, refreshed every `interval`.
class FundGauges : public Worker {
 public:
  FundGauges(PgPool& db, Metrics& metrics, absl::Duration interval);
  ~FundGauges() override;
  void Start() override;
  void RequestStop() override;
  void Stop() override;
  // One refresh (also run by the loop).
  absl::Status Refresh();

 private:
  PgPool& db_;
  const absl::Duration interval_;
  prometheus::Family<prometheus::Gauge>& appraisal_;
  prometheus::Family<prometheus::Gauge>& balances_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace techtrade::fund
