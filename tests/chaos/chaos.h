// The chaos suite ("Faults on purpose"): two replicas of every service on scratch databases, a
// seeded workload of whole life cycles, a seeded schedule of faults (processes killed or stopped,
// the broker, the cache and the database killed, slow links, failpoints), and a checker of the
// platform's guarantees once everything is up again. See docs/chaos.md.
#pragma once

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "tests/support/harness.h"

namespace techtrade::chaos {

inline constexpr const char* kServices[] = {"registry", "listings", "transactions", "fund"};
inline constexpr const char* kTopics[] = {
    "techtrade.registry.events.v1", "techtrade.listings.events.v1",
    "techtrade.transactions.events.v1", "techtrade.fund.events.v1"};

// What happened when, for the report of a violation. Thread-safe.
class Timeline {
 public:
  Timeline() : start_(absl::Now()) {}
  void Log(const std::string& kind, const std::string& text);
  std::string Dump() const;
  absl::Time start() const { return start_; }

 private:
  const absl::Time start_;
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

// Faults in force now: an operation started while any is active counts as "under a fault".
struct FaultState {
  std::atomic<int> active{0};
  std::mutex mu;
  std::map<std::string, int> counts;  // by kind, faults injected or observed
  void Count(const std::string& kind) {
    std::lock_guard<std::mutex> l(mu);
    ++counts[kind];
  }
};

// A child process (the slow-link proxy) that dies with the thread that forked it.
class Child {
 public:
  explicit Child(std::vector<std::string> argv, const std::string& log_path);
  ~Child();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// A single thread that runs every fork of service processes (a child's PR_SET_PDEATHSIG follows
// the forking thread, so it must live as long as the run) and restarts replicas that died on
// their own (a failpoint's crash).
class Supervisor {
 public:
  Supervisor();
  ~Supervisor();
  // Runs `task` on the supervisor's thread and waits for it.
  void Run(std::function<void()> task);
  // Called every 200 ms on the supervisor thread while set.
  void SetPoll(std::function<void()> poll);

 private:
  void Loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::function<void()>, std::shared_ptr<std::promise<void>>>> tasks_;
  std::function<void()> poll_;
  bool stop_ = false;
  std::thread thread_;
};

struct PlatformOptions {
  int replicas = 2;
  std::string failpoints;         // TECHTRADE_FAILPOINTS of every replica
  bool slow_link_proxies = true;  // the last replica of each service reaches PostgreSQL via one
  std::string db_prefix = "chaos_";
};

// The four services, `replicas` processes each, on scratch databases of the stack.
class Platform {
 public:
  struct Replica {
    std::string service;
    int index = 0;
    int port = 0;
    std::map<std::string, std::string> env;
    std::unique_ptr<testing::ServiceProcess> process;
    bool held_down = false;  // killed on purpose: the supervisor leaves it alone
    bool stopped = false;    // SIGSTOPped
    int restarts = 0;
  };

  Platform(const testing::Stack& stack, PlatformOptions options, Timeline* timeline,
           FaultState* faults);
  ~Platform();
  // Creates the databases, starts every replica; false (with a message on stderr) on failure.
  bool Start();
  void Shutdown();

  // A gRPC target naming every replica of `service` (round robin, skipping dead ones).
  std::string Target(const std::string& service) const;
  std::shared_ptr<grpc::Channel> Channel(const std::string& service, int replica) const;
  const std::string& DbUrl(const std::string& service) const { return db_urls_.at(service); }
  const testing::ScratchDatabase& Db(const std::string& service) const { return *dbs_.at(service); }
  const std::string& operator_key() const { return operator_key_; }
  const testing::Stack& stack() const { return stack_; }
  int replicas() const { return options_.replicas; }
  // The consumer groups the services use.
  const std::map<std::string, std::string>& groups() const { return groups_; }

  // Faults on replicas (all thread-safe; forks happen on the supervisor's thread).
  bool KillReplica(const std::string& service, int index);      // SIGKILL, held down
  bool RestartReplica(const std::string& service, int index);   // start again on its port
  bool StopReplica(const std::string& service, int index);      // SIGSTOP
  void ContinueReplica(const std::string& service, int index);  // SIGCONT
  void ContinueAll();
  // One-way delay of the slow link of `service`'s last replica to PostgreSQL.
  void SetLinkDelay(const std::string& service, int delay_ms);
  bool HasSlowLinks() const { return !proxies_.empty(); }
  // Every replica serving? Restarts what is down (not held) and waits up to `timeout`.
  bool EnsureAllUp(absl::Duration timeout);
  // Log paths of every process started, for reports.
  std::vector<std::string> LogPaths() const;

 private:
  Replica& At(const std::string& service, int index);
  bool StartReplicaLocked(Replica& r);  // on the supervisor thread
  void PollDead();                      // on the supervisor thread

  const testing::Stack stack_;
  const PlatformOptions options_;
  Timeline* timeline_;
  FaultState* faults_;
  std::string operator_key_;
  std::map<std::string, std::unique_ptr<testing::ScratchDatabase>> dbs_;
  std::map<std::string, std::string> db_urls_;
  std::map<std::string, std::string> groups_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<Replica>>> replicas_;
  std::map<std::string, std::unique_ptr<Child>> proxies_;
  std::map<std::string, std::string> delay_files_;
  std::vector<std::string> log_paths_;
  std::unique_ptr<Supervisor> supervisor_;
};

// One acknowledged (successful) mutation.
struct Ack {
  std::string method;
  std::string request_id;
  std::string kind;  // the table of the resource: organizations, offers, deals, ...
  std::string service;
  std::string id;
  int64_t version = 0;
  bool under_fault = false;
  int attempts = 1;
  // Issues the same request again (same request_id, retried while unanswered); returns the
  // resource id and version it answers with, or an error.
  std::function<absl::StatusOr<std::pair<std::string, int64_t>>()> replay;
};

struct WorkloadOptions {
  uint64_t seed = 1;
  int workers = 4;
  int64_t target_operations = 5000;
  absl::Duration call_deadline = absl::Seconds(3);
  absl::Duration give_up_after = absl::Seconds(180);  // per operation, retries included
  int think_ms = 10;
};

struct WorkloadStats {
  std::atomic<int64_t> operations{0};    // mutations attempted (each once, retries included)
  std::atomic<int64_t> acknowledged{0};  // answered OK
  std::atomic<int64_t> retried{0};       // needed more than one attempt
  std::atomic<int64_t> under_faults{0};
  std::atomic<int64_t> refused{0};     // answered with a non-transient error
  std::atomic<int64_t> unanswered{0};  // gave up: no answer within give_up_after
  std::atomic<int64_t> reads{0};
  std::atomic<int64_t> life_cycles{0};
};

class Workload {
 public:
  Workload(Platform& platform, WorkloadOptions options, FaultState* faults, Timeline* timeline);
  ~Workload();
  // Creates the pilot cities, keys and programmes; false on failure.
  bool Setup();
  // Starts the worker threads; they run until `keep_going()` is false and the target is reached
  // (or Stop()).
  void Start(std::function<bool()> keep_going);
  void Stop();
  void Join();
  bool Done() const { return done_workers_ == options_.workers; }
  const WorkloadStats& stats() const { return stats_; }
  std::vector<Ack> Acks() const;
  // Records an acknowledgement made outside the workload (tests break the checker's input so).
  void AddAck(Ack ack);
  const std::string& partner_key() const { return partner_key_; }
  std::vector<std::string> programme_ids() const { return programmes_all_; }
  std::map<std::string, int64_t> method_counts() const;

  // Plays one whole life cycle with `rng` (public so tests can play a few by hand).
  void LifeCycle(std::mt19937_64& rng, int worker, int iteration);

 private:
  friend class Caller;
  void Worker(int index);

  Platform& platform_;
  const WorkloadOptions options_;
  FaultState* faults_;
  Timeline* timeline_;
  WorkloadStats stats_;
  std::vector<std::string> cities_;
  std::map<std::string, std::string> city_keys_;
  std::string partner_key_;
  std::map<std::string, std::string> programme_auto_;  // city → programme auto-approving
  std::string programme_review_;                       // national, every application reviewed
  std::vector<std::string> programmes_all_;
  mutable std::mutex mu_;
  std::vector<Ack> acks_;
  std::map<std::string, int64_t> method_counts_;
  std::atomic<int> refusals_printed_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> done_workers_{0};
  std::atomic<int64_t> org_counter_{0};
  std::function<bool()> keep_going_;
  std::vector<std::thread> threads_;
};

// The topics' end offsets when the run began, and a consumer group committed there.
struct TopicMarks {
  std::map<std::string, std::map<int32_t, int64_t>> start;  // topic → partition → offset
  std::string partner_group;
  static TopicMarks Now(const std::string& brokers);
};

struct Violation {
  int invariant;  // 1..6 as in docs/chaos.md
  std::string message;
};

struct CheckOptions {
  absl::Duration settle_timeout = absl::Seconds(240);
  absl::Duration listings_timeout = absl::Seconds(60);
  int partner_idle_exit_seconds = 8;
};

// Runs invariants 1–6 against the platform as it is now (after the faults ended).
class Checker {
 public:
  Checker(Platform& platform, const TopicMarks& marks, std::vector<Ack> acks,
          std::string partner_key, CheckOptions options = {});
  // Waits until outboxes are drained and consumers caught up (bounded); false if not.
  bool Settle();
  std::vector<Violation> CheckAll();
  std::vector<Violation> CheckAcknowledged();    // 1
  std::vector<Violation> CheckTopics();          // 2
  std::vector<Violation> CheckOutboxAndInbox();  // 3
  std::vector<Violation> CheckLedger();          // 4
  std::vector<Violation> CheckListings();        // 5
  std::vector<Violation> CheckPartner();         // 6
  // Counts of what was checked, for the summary.
  std::map<std::string, int64_t> checked;

 private:
  struct TopicEvent {
    std::string aggregate_type, aggregate_id, event_id, event_type;
    int64_t sequence;
    int32_t partition;
    int64_t offset;
  };
  const std::vector<TopicEvent>& Events(const std::string& topic);
  std::map<std::string, std::vector<TopicEvent>> events_;

  Platform& platform_;
  TopicMarks marks_;
  std::vector<Ack> acks_;
  std::string partner_key_;
  CheckOptions options_;
};

// Runs a query on a database and returns the rows as strings.
std::vector<std::vector<std::string>> Query(const std::string& url, const std::string& sql);

// deploy/local/stack.sh VERB COMPONENT for the stack's instance; true on success.
bool StackCommand(const testing::Stack& stack, const std::string& verb,
                  const std::string& component);

}  // namespace techtrade::chaos
