// chaos: the workload, the fault schedule and the checker in one run (docs/chaos.md).
//   chaos [--seed N] [--operations 5000] [--max_minutes 30] [--fault_interval_seconds 2]
//         [--faults_per_kind 20] [--workers 4] [--failpoints SPEC]
// Needs a stack (TECHTRADE_* from .run/<instance>/env); kills and restarts its Kafka, Redis and
// PostgreSQL through deploy/local/stack.sh and starts them again before it ends.
#include <signal.h>

#include <algorithm>
#include <iostream>
#include <random>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/chaos/chaos.h"

ABSL_FLAG(uint64_t, seed, 0, "seed of the workload and the fault schedule (0: a random one)");
ABSL_FLAG(int64_t, operations, 5000, "target number of operations (mutations)");
ABSL_FLAG(double, max_minutes, 30, "hard bound on the whole run, the check included");
ABSL_FLAG(double, fault_interval_seconds, 2, "quiet time between two scheduled faults");
ABSL_FLAG(int, faults_per_kind, 20, "how many times each kind of fault is injected");
ABSL_FLAG(int, workers, 4, "concurrent life cycles");
ABSL_FLAG(std::string, failpoints,
          "db.after_commit=error@0.02,outbox.after_ack=crash@0.002,"
          "inbox.after_commit=crash@0.002,db.group_commit.mid_batch=crash@0.001",
          "TECHTRADE_FAILPOINTS of every replica (empty: none)");
ABSL_FLAG(double, call_deadline_seconds, 3, "deadline of each call");

namespace techtrade::chaos {
namespace {

std::atomic<bool> g_interrupted{false};
void OnSignal(int) { g_interrupted = true; }

const std::vector<std::string> kFaultKinds = {"replica-kill", "replica-stop",  "kafka-kill",
                                              "redis-kill",   "postgres-kill", "slow-link"};

// Plays the faults of the schedule one after the other.
class FaultSchedule {
 public:
  FaultSchedule(Platform& platform, const testing::Stack& stack, uint64_t seed, int per_kind,
                absl::Duration interval, absl::Duration call_deadline, absl::Time deadline,
                FaultState* faults, Timeline* timeline)
      : platform_(platform),
        stack_(stack),
        rng_(seed ^ 0x5eedfa17),
        interval_(interval),
        call_deadline_(call_deadline),
        deadline_(deadline),
        faults_(faults),
        timeline_(timeline) {
    for (int i = 0; i < per_kind; ++i) {
      std::vector<std::string> round = kFaultKinds;
      if (!platform_.HasSlowLinks()) round.erase(round.end() - 1);
      std::shuffle(round.begin(), round.end(), rng_);
      plan_.insert(plan_.end(), round.begin(), round.end());
    }
  }

  void Run() {
    for (size_t i = 0; i < plan_.size() && !g_interrupted && absl::Now() < deadline_; ++i) {
      absl::SleepFor(interval_ * (0.5 + Uniform()));
      Inject(plan_[i]);
      done_ = static_cast<int>(i + 1);
    }
    finished_ = true;
  }

  bool finished() const { return finished_; }
  int done() const { return done_; }
  size_t planned() const { return plan_.size(); }
  bool touched_stack() const { return touched_stack_; }

 private:
  double Uniform() { return static_cast<double>(rng_() % 10000) / 10000.0; }
  absl::Duration Between(double lo_s, double hi_s) {
    return absl::Seconds(lo_s + (hi_s - lo_s) * Uniform());
  }

  void Inject(const std::string& kind) {
    const std::string service = kServices[rng_() % 4];
    const int replica = static_cast<int>(rng_() % platform_.replicas());
    // A pause outlasts the callers' deadlines, and up to half the pauses the consumer group's
    // 10 s session too: the group then moves the paused replica's partitions, and the replica
    // wakes up holding events it had fetched before.
    const absl::Duration hold = kind == "replica-stop" ? call_deadline_ + Between(1, 12)
                                : kind == "slow-link"  ? Between(4, 8)
                                                       : Between(1, 4);
    const std::string who = absl::StrCat(service, "#", replica);
    faults_->active++;
    faults_->Count(kind);
    if (kind == "replica-kill") {
      timeline_->Log(kind, "kill -9 " + who);
      platform_.KillReplica(service, replica);
      absl::SleepFor(hold);
      bool ok = platform_.RestartReplica(service, replica);
      timeline_->Log(kind + "-end", who + (ok ? " restarted, serving" : " restart FAILED"));
    } else if (kind == "replica-stop") {
      timeline_->Log(kind, "SIGSTOP " + who + " for " + absl::FormatDuration(hold));
      platform_.StopReplica(service, replica);
      absl::SleepFor(hold);
      platform_.ContinueReplica(service, replica);
      timeline_->Log(kind + "-end", "SIGCONT " + who);
    } else if (kind == "slow-link") {
      const int delay = 100 + static_cast<int>(rng_() % 500);
      const int last = platform_.replicas() - 1;
      timeline_->Log(kind, absl::StrCat(service, "#", last, " <-> postgres one-way delay ", delay,
                                        " ms for ", absl::FormatDuration(hold)));
      platform_.SetLinkDelay(service, delay);
      absl::SleepFor(hold);
      platform_.SetLinkDelay(service, 0);
      timeline_->Log(kind + "-end", absl::StrCat(service, "#", last, " link fast again"));
    } else {
      const std::string component = kind == "kafka-kill"   ? "kafka"
                                    : kind == "redis-kill" ? "redis"
                                                           : "postgres";
      touched_stack_ = true;
      timeline_->Log(kind, component == "postgres" ? "postgres: pg_ctl stop -m immediate"
                                                   : "kill -9 " + component);
      StackCommand(stack_, "kill", component);
      absl::SleepFor(hold);
      bool ok = false;
      for (int attempt = 0; attempt < 3 && !ok; ++attempt)
        ok = StackCommand(stack_, "start", component);
      timeline_->Log(kind + "-end", component + (ok ? " started" : " start FAILED"));
    }
    faults_->active--;
  }

  Platform& platform_;
  const testing::Stack& stack_;
  std::mt19937_64 rng_;
  const absl::Duration interval_, call_deadline_;
  const absl::Time deadline_;
  FaultState* faults_;
  Timeline* timeline_;
  std::vector<std::string> plan_;
  std::atomic<bool> finished_{false};
  std::atomic<int> done_{0};
  std::atomic<bool> touched_stack_{false};
};

int Main() {
  uint64_t seed = absl::GetFlag(FLAGS_seed);
  if (seed == 0) seed = std::random_device()() % 1000000000 + 1;
  std::cout << "chaos: seed " << seed << " (again: --seed " << seed << ")" << std::endl;
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  const absl::Time start = absl::Now();
  const absl::Time hard_end = start + absl::Minutes(absl::GetFlag(FLAGS_max_minutes));
  // Faults and workload stop early enough for the settling and the check.
  const absl::Duration check_reserve =
      std::min(absl::Minutes(6), absl::Minutes(absl::GetFlag(FLAGS_max_minutes)) * 0.35);
  const absl::Time play_end = hard_end - check_reserve;

  testing::Stack stack = testing::Stack::FromEnvironment();
  Timeline timeline;
  FaultState faults;
  const absl::Duration deadline = absl::Seconds(absl::GetFlag(FLAGS_call_deadline_seconds));

  // The stack must be whole again when we leave, whatever happens.
  struct Restore {
    const testing::Stack& stack;
    bool done = false;
    ~Restore() {
      if (done) return;
      for (const char* c : {"postgres", "redis", "kafka"}) StackCommand(stack, "start", c);
    }
  } restore{stack};

  TopicMarks marks = TopicMarks::Now(stack.kafka_brokers);
  PlatformOptions popts;
  popts.failpoints = absl::GetFlag(FLAGS_failpoints);
  Platform platform(stack, popts, &timeline, &faults);
  if (!platform.Start()) {
    std::cout << "chaos: the platform did not start\n";
    std::cout << "chaos: 0 operations, 0 under faults, 1 violations (seed " << seed << ")\n";
    return 1;
  }
  timeline.Log("platform", "two replicas of each service serving");

  WorkloadOptions wopts;
  wopts.seed = seed;
  wopts.workers = absl::GetFlag(FLAGS_workers);
  wopts.target_operations = absl::GetFlag(FLAGS_operations);
  wopts.call_deadline = deadline;
  Workload workload(platform, wopts, &faults, &timeline);
  if (!workload.Setup()) {
    std::cout << "chaos: setting up cities, keys and programmes failed\n";
    std::cout << "chaos: 0 operations, 0 under faults, 1 violations (seed " << seed << ")\n";
    return 1;
  }
  FaultSchedule schedule(platform, stack, seed, absl::GetFlag(FLAGS_faults_per_kind),
                         absl::Seconds(absl::GetFlag(FLAGS_fault_interval_seconds)), deadline,
                         play_end, &faults, &timeline);
  workload.Start([&] { return !schedule.finished() && absl::Now() < play_end && !g_interrupted; });
  std::thread faults_thread([&] { schedule.Run(); });

  // Progress, and the hard bounds.
  absl::Time next_report = absl::Now();
  while (!workload.Done()) {
    if (absl::Now() >= play_end || g_interrupted) workload.Stop();
    if (absl::Now() >= next_report) {
      const auto& s = workload.stats();
      std::cout << absl::StrFormat(
                       "chaos: %5.0fs  %6d operations (%d acknowledged, %d retried, %d under "
                       "faults, %d refused, %d unanswered), %d life cycles, faults %d/%d%s",
                       absl::ToDoubleSeconds(absl::Now() - start), s.operations.load(),
                       s.acknowledged.load(), s.retried.load(), s.under_faults.load(),
                       s.refused.load(), s.unanswered.load(), s.life_cycles.load(), schedule.done(),
                       schedule.planned(), faults.active.load() > 0 ? " (fault active)" : "")
                << std::endl;
      next_report = absl::Now() + absl::Seconds(15);
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  workload.Join();
  g_interrupted = g_interrupted || absl::Now() >= play_end;  // ends the schedule early
  faults_thread.join();
  const absl::Duration played = absl::Now() - start;
  timeline.Log("workload", "ended; restoring everything");

  // Everything up again, then settle and check.
  for (const char* c : {"postgres", "redis", "kafka"}) StackCommand(stack, "start", c);
  restore.done = true;
  std::vector<Violation> violations;
  // A run that could not play what it promised proves less than it says: it fails.
  if (schedule.done() < static_cast<int>(schedule.planned())) {
    violations.push_back({0, absl::StrCat("only ", schedule.done(), " of ", schedule.planned(),
                                          " scheduled faults played within the time bound")});
  }
  if (workload.stats().operations.load() < wopts.target_operations) {
    violations.push_back({0, absl::StrCat("only ", workload.stats().operations.load(), " of ",
                                          wopts.target_operations, " operations played")});
  }
  if (!platform.EnsureAllUp(absl::Minutes(2))) {
    violations.push_back({0, "not every replica could be restarted"});
  }
  Checker checker(platform, marks, workload.Acks(), workload.partner_key());
  if (!checker.Settle()) {
    violations.push_back({3,
                          "the platform did not settle (outboxes not drained or consumers "
                          "behind) within the bound"});
  }
  std::vector<Violation> found = checker.CheckAll();
  violations.insert(violations.end(), found.begin(), found.end());
  const absl::Duration total = absl::Now() - start;

  // Summary.
  const auto& s = workload.stats();
  std::cout << "\n=== chaos summary (seed " << seed << ") ===\n";
  std::cout << absl::StrFormat("%-34s %10s\n", "what", "count");
  auto row = [](const std::string& k, int64_t v) {
    std::cout << absl::StrFormat("%-34s %10d\n", k, v);
  };
  row("operations", s.operations.load());
  row("acknowledged", s.acknowledged.load());
  row("retried (same request_id)", s.retried.load());
  row("under faults", s.under_faults.load());
  row("refused (non-transient answer)", s.refused.load());
  row("unanswered (gave up)", s.unanswered.load());
  row("reads", s.reads.load());
  row("life cycles", s.life_cycles.load());
  {
    std::lock_guard<std::mutex> l(faults.mu);
    for (const auto& [k, v] : faults.counts) row("fault: " + k, v);
  }
  for (const auto& [k, v] : workload.method_counts()) row("method: " + k, v);
  for (const auto& [k, v] : checker.checked) row("checked: " + k, v);
  std::map<int, int64_t> by_invariant;
  for (const Violation& v : violations) by_invariant[v.invariant]++;
  for (int i = 0; i <= 6; ++i) {
    if (i == 0 && !by_invariant.contains(0)) continue;
    row(i == 0 ? "violations: run" : absl::StrCat("violations: invariant ", i), by_invariant[i]);
  }
  std::cout << absl::StrFormat("%-34s %10.1f\n", "minutes (workload and faults)",
                               absl::ToDoubleMinutes(played));
  std::cout << absl::StrFormat("%-34s %10.1f\n", "minutes (total)", absl::ToDoubleMinutes(total));
  if (!violations.empty()) {
    std::cout << "\nVIOLATIONS (seed " << seed << "):\n";
    for (size_t i = 0; i < violations.size() && i < 20; ++i) {
      std::cout << "  invariant " << violations[i].invariant << ": " << violations[i].message
                << "\n";
    }
    std::cout << "first broken record: invariant " << violations[0].invariant << ": "
              << violations[0].message << "\n";
    std::cout << "\nfault timeline:\n" << timeline.Dump() << "\n";
  }
  platform.Shutdown();
  std::cout << "chaos: " << s.operations.load() << " operations, " << s.under_faults.load()
            << " under faults, " << violations.size() << " violations (seed " << seed << ")"
            << std::endl;
  return violations.empty() ? 0 : 1;
}

}  // namespace
}  // namespace techtrade::chaos

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return techtrade::chaos::Main();
}
