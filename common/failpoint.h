// Failpoints: named places in the write and consume paths where a fault test can make the process
// crash, fail or stall, to prove that nothing is lost or doubled whatever happens there.
//
// Off unless configured, by TECHTRADE_FAILPOINTS (read once, at start-up) or Configure():
//   name=action[@probability][,name=action...]
// with action `crash` (SIGKILL to the process itself: nothing flushed, as kill -9), `error` (the
// place fails the way its I/O can fail; what that means is said where the point is), `stall(ms)`
// (sleeps that long, then goes on). Probability is 0 < p <= 1, default 1. Example:
//   TECHTRADE_FAILPOINTS='outbox.after_ack=crash@0.01,inbox.after_commit=stall(3000)@0.05'
//
// Points (see kFailpoints in failpoint.cc; an unknown name is refused at start-up):
//   db.after_commit            a transaction committed; its caller has not heard of it yet
//   db.group_commit.mid_batch  a group-commit batch is sent; its outcome not yet read
//   outbox.after_ack           the broker acknowledged a relay batch; its rows not yet deleted
//   inbox.after_commit         a consumer's transaction committed; its offsets not yet committed
//   inbox.apply                a consumer is about to apply an event (`error`: the handler
//                              refuses it, so that it ends as a dead letter)
//   outbox.producer_fatal      the relay is about to produce a batch (`error`: its Kafka
//                              producer fails fatally, as librdkafka 2.0's idempotence can)
// and, to break a guarantee on purpose so that a test can show the fault checker catches it:
//   inbox.skip_claim           the consumer applies an event without recording it in the inbox
//   outbox.drop                the relay deletes a batch's rows without publishing them
#pragma once

#include <atomic>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace techtrade::failpoint {

namespace internal {
// True once any point is configured; the only cost of a point while none is.
extern std::atomic<bool> g_armed;
absl::Status Evaluate(absl::string_view name);
}  // namespace internal

// Evaluates the point `name`: OK if it is not configured or did not fire (after a stall, too);
// UNAVAILABLE naming the point if its action is `error` and it fired; never returns if `crash`.
inline absl::Status Hit(absl::string_view name) {
  if (ABSL_PREDICT_TRUE(!internal::g_armed.load(std::memory_order_relaxed))) {
    return absl::OkStatus();
  }
  return internal::Evaluate(name);
}

// Replaces the configuration (the syntax above; empty: all off). INVALID_ARGUMENT naming the
// offending entry, and nothing changed, if it does not parse or names an unknown point.
absl::Status Configure(absl::string_view spec);

// Configures from TECHTRADE_FAILPOINTS; the server bootstrap calls it once migrations ran and
// the service is built, before its relay, workers and server start.
absl::Status ConfigureFromEnvironment();

}  // namespace techtrade::failpoint
