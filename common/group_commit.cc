#include "common/group_commit.h"

namespace techtrade {

GroupCommitter::GroupCommitter(PgPool& db, int committers, int max_batch)
    : db_(db), max_batch_(max_batch) {
  for (int i = 0; i < committers; ++i) committers_.emplace_back([this] { CommitLoop(); });
}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  for (auto& t : committers_) t.join();
}

absl::Status GroupCommitter::Run(const Unit& unit) {
  Pending pending{&unit};
  std::unique_lock lock(mutex_);
  if (stopping_) return absl::UnavailableError("shutting down");
  queue_.push_back(&pending);
  queued_.notify_one();
  finished_.wait(lock, [&] { return pending.done; });
  return pending.result;
}

void GroupCommitter::CommitLoop() {
  std::vector<Pending*> batch;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to commit
      while (!queue_.empty() && static_cast<int>(batch.size()) < max_batch_) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    CommitBatch(batch);
    {
      std::lock_guard lock(mutex_);
      for (Pending* p : batch) p->done = true;
    }
    finished_.notify_all();
    batch.clear();
  }
}

void GroupCommitter::CommitBatch(std::vector<Pending*>& batch) {
  std::vector<Pending*> included;
  absl::Status shared = InTransaction(db_, [&](pqxx::work& tx) -> absl::Status {
    included.clear();  // InTransaction may run this again after a deadlock
    for (Pending* p : batch) {
      const size_t mark = internal::StagedWriteCount();
      p->result = (*p->unit)(tx);
      if (p->result.ok()) {
        included.push_back(p);
      } else {
        internal::TruncateStagedWrites(mark);  // a failed unit contributes nothing
      }
    }
    return absl::OkStatus();
  });
  if (shared.ok() || included.size() <= 1) {
    for (Pending* p : included) p->result = shared;
    return;
  }
  // One unit spoiled the shared commit: give each its own transaction and its own outcome.
  for (Pending* p : included) p->result = InTransaction(db_, *p->unit);
}

}  // namespace techtrade
