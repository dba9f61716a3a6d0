// Group commit for creations: concurrent units of work that only stage writes (no reads) share
// one transaction, one round trip of writes and one fsync. Under load this turns N commits into
// one; an idle committer takes a unit at once, so a lone call waits for nobody.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <pqxx/pqxx>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/db.h"

namespace techtrade {

class GroupCommitter {
 public:
  // A unit may only stage writes (StageWrite, AppendToOutbox, idempotency records) and register
  // commit hooks: it must not read, since the writes of the units before it are not sent yet.
  using Unit = std::function<absl::Status(pqxx::work&)>;

  GroupCommitter(PgPool& db, int committers = 2, int max_batch = 64);
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Runs `unit` in a shared transaction and returns once it committed, or with the unit's error.
  // If the shared commit fails (e.g. one unit's insert violates a constraint), every unit of the
  // batch is run again in a transaction of its own, so each gets its own outcome.
  absl::Status Run(const Unit& unit);

 private:
  struct Pending {
    const Unit* unit;
    absl::Status result;
    bool done = false;
  };
  void CommitLoop();
  void CommitBatch(std::vector<Pending*>& batch);

  PgPool& db_;
  const int max_batch_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::condition_variable finished_;
  std::deque<Pending*> queue_;  // guarded by mutex_
  bool stopping_ = false;       // guarded by mutex_
  std::vector<std::thread> committers_;
};

}  // namespace techtrade
