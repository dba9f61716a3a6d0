// The fund's gauges for Prometheus: a worker beside the handlers.
#pragma once

#include "absl/time/time.h"
#include "common/db.h"
#include "common/metrics.h"
#include "common/worker.h"

namespace techtrade::fund {

// Prometheus gauges of the appraisal (per pilot city, current year) and of every programme's
// balances, refreshed every `interval`.
class FundGauges : public PeriodicWorker {
 public:
  FundGauges(PgPool& db, Metrics& metrics, absl::Duration interval);
  ~FundGauges() override;
  // One refresh (also run by the loop).
  absl::Status Refresh();

 private:
  PgPool& db_;
  prometheus::Family<prometheus::Gauge>& appraisal_;
  prometheus::Family<prometheus::Gauge>& balances_;
};

}  // namespace techtrade::fund
