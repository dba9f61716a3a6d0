#include "common/db.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace techtrade {
namespace {

absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect(const std::string& url) {
  try {
    return std::make_unique<pqxx::connection>(url);
  } catch (const std::exception& e) {
    log::Warn("database connect failed", {{"error", e.what()}});
    return absl::UnavailableError(absl::StrCat("database unavailable: ", e.what()));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgPool>> PgPool::Create(std::string url, int size,
                                                       int commit_pipeline_depth) {
  std::unique_ptr<PgPool> pool(new PgPool(std::move(url), size, commit_pipeline_depth));
  for (int i = 0; i < size; ++i) {
    absl::StatusOr<std::unique_ptr<pqxx::connection>> conn = Connect(pool->url_);
    if (!conn.ok()) return conn.status();
    pool->idle_.push_back(std::move(*conn));
  }
  return pool;
}

absl::StatusOr<PgPool::Lease> PgPool::Acquire(absl::Duration wait) {
  std::unique_ptr<pqxx::connection> conn;
  {
    std::unique_lock lock(mutex_);
    auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(wait);
    if (!available_.wait_until(lock, deadline, [&] { return leased_ < size_; })) {
      return absl::UnavailableError("database: no free connection in the pool");
    }
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    }
    ++leased_;
  }
  if (conn == nullptr || !conn->is_open()) {
    absl::StatusOr<std::unique_ptr<pqxx::connection>> fresh = Connect(url_);
    if (!fresh.ok()) {
      Return(nullptr);
      return fresh.status();
    }
    conn = std::move(*fresh);
  }
  return Lease(this, std::move(conn));
}

void PgPool::Return(std::unique_ptr<pqxx::connection> conn) {
  {
    std::lock_guard lock(mutex_);
    --leased_;
    // A discarded connection leaves a free slot: the next Acquire connects afresh.
    if (conn != nullptr) idle_.push_back(std::move(conn));
  }
  available_.notify_one();
}

PgPool::Lease::~Lease() {
  if (pool_ != nullptr) pool_->Return(std::move(conn_));
}

namespace {

// Written once at start-up, read-only while serving.
std::vector<std::pair<std::string, absl::Status>>& ConstraintErrors() {
  static auto* errors = new std::vector<std::pair<std::string, absl::Status>>{
      {"idempotency_keys_pkey", absl::AbortedError("request_id: already used")},
  };
  return *errors;
}

}  // namespace

namespace internal {

// Copies `sql`, each placeholder $n replaced by replacement(n).
void AppendReplacingPlaceholders(std::string* out, absl::string_view sql,
                                 const std::function<void(std::string*, size_t)>& replacement) {
  for (size_t i = 0; i < sql.size();) {
    if (sql[i] == '$' && i + 1 < sql.size() && absl::ascii_isdigit(sql[i + 1])) {
      size_t j = i + 1;
      size_t n = 0;
      while (j < sql.size() && absl::ascii_isdigit(sql[j])) n = n * 10 + (sql[j++] - '0');
      replacement(out, n);
      i = j;
      continue;
    }
    out->push_back(sql[i++]);
  }
}

namespace {

// The value of placeholder $n of `w`.
const SqlParam& ParamOf(const StagedWrite& w, size_t n) {
  if (n < 1 || n > w.params.size()) throw pqxx::usage_error("placeholder without a value");
  return w.params[n - 1];
}

}  // namespace

std::string WritesSql(const std::vector<StagedWrite>& writes,
                      const std::function<std::string(const SqlParam&)>& literal) {
  std::string sql;
  for (const StagedWrite& w : writes) {
    const std::string statement = absl::StrCat(w.head, w.row, w.tail);
    if (w.params.empty()) {
      absl::StrAppend(&sql, statement, ";\n");
      continue;
    }
    AppendReplacingPlaceholders(&sql, statement, [&](std::string* out, size_t n) {
      absl::StrAppend(out, literal(ParamOf(w, n)));
    });
    absl::StrAppend(&sql, ";\n");
  }
  return sql;
}

std::vector<Statement> BatchStatements(
    const std::vector<const std::vector<StagedWrite>*>& transactions) {
  std::vector<Statement> out;
  size_t rounds = 0;
  for (const auto* writes : transactions) rounds = std::max(rounds, writes->size());
  // Round n: the n-th write of every transaction. A transaction's writes keep their order (its
  // n-th comes after its (n-1)-th); across transactions order does not matter, as they were
  // concurrent — and if two of them do conflict, the batch fails and each runs alone.
  for (size_t n = 0; n < rounds; ++n) {
    std::vector<std::vector<const StagedWrite*>> statements;  // in order of first appearance
    absl::flat_hash_map<std::pair<absl::string_view, absl::string_view>, size_t> mergeable;
    for (const auto* writes : transactions) {
      if (n >= writes->size()) continue;
      const StagedWrite& w = (*writes)[n];
      if (w.row.empty()) {
        statements.push_back({&w});
        continue;
      }
      auto [it, added] = mergeable.try_emplace({w.head, w.tail}, statements.size());
      if (added) statements.emplace_back();
      statements[it->second].push_back(&w);
    }
    for (const auto& group : statements) {
      Statement& statement = out.emplace_back();
      statement.sql = group[0]->head;
      for (size_t i = 0; i < group.size(); ++i) {
        const StagedWrite& w = *group[i];
        if (i > 0) statement.sql.append(", ");
        if (w.params.empty()) {
          statement.sql.append(w.row);  // literals only: nothing to renumber
        } else {
          const size_t offset = statement.params.size();
          AppendReplacingPlaceholders(&statement.sql, w.row, [&](std::string* sql, size_t k) {
            ParamOf(w, k);  // it has a value
            absl::StrAppend(sql, "$", k + offset);
          });
        }
        for (const SqlParam& p : w.params) statement.params.push_back(&p);
      }
      statement.sql.append(group[0]->tail);
    }
  }
  return out;
}

}  // namespace internal

CommitBatcher::CommitBatcher(std::string url, int depth)
    : depth_(static_cast<size_t>(std::max(1, depth))),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      connection_(std::move(url)) {
  if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

CommitBatcher::~CommitBatcher() { close(wake_fd_); }

CommitBatcher::Backlog CommitBatcher::backlog() {
  std::lock_guard lock(mutex_);
  Backlog backlog{.queued = queue_.size(), .batches_in_flight = in_flight_.size()};
  for (const auto& batch : in_flight_) backlog.in_flight += batch.size();
  return backlog;
}

void CommitBatcher::Commit(std::vector<StagedWrite> writes) {
  Entry entry;
  entry.writes = std::move(writes);
  std::unique_lock lock(mutex_);
  queue_.push_back(&entry);
  // The leader may be waiting for the server with room in the pipeline: it can send this now.
  constexpr uint64_t kOne = 1;
  if (leading_ && waiting_ && in_flight_.size() < depth_)
    (void)!write(wake_fd_, &kOne, sizeof kOne);
  while (!entry.done) {
    if (leading_) {
      entry.wake.wait(lock);
      continue;
    }
    leading_ = true;
    Lead(lock, &entry);
    leading_ = false;
    // Somebody else leads on: the caller of the oldest batch in flight (the database is busy
    // with it and the next; it reads their outcomes), else the first in the queue.
    Entry* next = !in_flight_.empty() ? in_flight_.front().front()
                  : !queue_.empty()   ? queue_.front()
                                      : nullptr;
    if (next != nullptr) next->wake.notify_one();
  }
  if (entry.error) std::rethrow_exception(entry.error);
}

std::vector<CommitBatcher::Entry*> CommitBatcher::TakeBatch() {
  // A bound that keeps a batch's locks short.
  constexpr size_t kMaxBatch = 64;
  std::vector<Entry*> batch;
  if (queue_.front()->alone) {
    batch.push_back(queue_.front());
    queue_.pop_front();
    return batch;
  }
  while (!queue_.empty() && !queue_.front()->alone && batch.size() < kMaxBatch) {
    batch.push_back(queue_.front());
    queue_.pop_front();
  }
  return batch;
}

void CommitBatcher::Finish(const std::vector<Entry*>& batch, std::exception_ptr error,
                           const Entry* self) {
  for (Entry* e : batch) {
    e->done = true;
    e->error = error;
    if (e != self) e->wake.notify_one();
  }
}

void CommitBatcher::Fail(const std::vector<Entry*>& batch, std::exception_ptr error,
                         const Entry* self) {
  if (batch.size() == 1) return Finish(batch, error, self);  // its own outcome
  // Each runs again alone, first in the queue, for its own outcome.
  for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
    (*it)->alone = true;
    queue_.push_front(*it);
  }
}

void CommitBatcher::LoseInFlight(std::exception_ptr lost, const Entry* self) {
  for (const auto& batch : in_flight_) Finish(batch, lost, self);
  in_flight_.clear();
}

void CommitBatcher::Lead(std::unique_lock<std::mutex>& lock, Entry* self) {
  auto in_doubt = [](const std::exception& e) {
    return std::make_exception_ptr(pqxx::in_doubt_error(e.what()));
  };
  while (!self->done) {
    if (!queue_.empty() && in_flight_.size() < depth_) {
      std::vector<Entry*> batch = TakeBatch();
      lock.unlock();
      std::exception_ptr lost;
      try {
        std::vector<const std::vector<StagedWrite>*> writes;
        writes.reserve(batch.size());
        for (const Entry* e : batch) writes.push_back(&e->writes);
        connection_.Send(internal::BatchStatements(writes));
        // Crash or stall with the batch on the wire (`error` does nothing here: what is sent
        // cannot be taken back).
        (void)failpoint::Hit("db.group_commit.mid_batch");
      } catch (const pqxx::broken_connection& e) {
        lost = in_doubt(e);
      } catch (...) {
        // Not sent (e.g. a placeholder without a value): the batch's own fault.
        lock.lock();
        Fail(batch, std::current_exception(), self);
        continue;
      }
      lock.lock();
      if (lost) {
        // Whatever was in flight is in doubt too; the connection is gone.
        LoseInFlight(lost, self);
        Finish(batch, lost, self);
        continue;
      }
      in_flight_.push_back(std::move(batch));
      continue;
    }
    if (in_flight_.empty()) return;  // nothing sent, nothing to send: self is done
    waiting_ = true;
    lock.unlock();
    std::vector<std::exception_ptr> outcomes;
    std::exception_ptr lost;
    try {
      connection_.Wait(wake_fd_);
      outcomes = connection_.ReadCompleted();
    } catch (const pqxx::broken_connection& e) {
      lost = in_doubt(e);
    }
    lock.lock();
    waiting_ = false;
    if (lost) {
      LoseInFlight(lost, self);
      continue;
    }
    for (std::exception_ptr& outcome : outcomes) {
      std::vector<Entry*> batch = std::move(in_flight_.front());
      in_flight_.pop_front();
      if (outcome) {
        // One of them failed (a constraint, most likely), and with it the batch, which the
        // server rolled back.
        Fail(batch, outcome, self);
      } else {
        Finish(batch, nullptr, self);
      }
    }
  }
}

Tx::~Tx() { Rollback(); }

pqxx::nontransaction& Tx::Flushed() {
  // BEGIN (if not sent yet) and the staged writes go in one round trip.
  if (!begun_ || !staged_.empty()) exec(std::string());
  return *raw_;
}

std::string Tx::TakeStagedSql() {
  std::string sql = internal::WritesSql(staged_, [&](const SqlParam& p) -> std::string {
    switch (p.kind) {
      case SqlParam::Kind::kText:
        return quote(p.value);
      case SqlParam::Kind::kBytes:
        return quote_raw(p.value);
      case SqlParam::Kind::kNull:
        break;
    }
    return "NULL";
  });
  staged_.clear();
  return sql;
}

pqxx::result Tx::exec(const std::string& sql) {
  return Guarded([&] {
    if (finished_) throw pqxx::usage_error("statement after the end of the transaction");
    if (!raw_) raw_.emplace(conn_);
    // The simple-query protocol takes BEGIN, the staged writes and the statement in one round
    // trip and answers with the last result.
    std::string prefix = begun_ ? std::string() : std::string("BEGIN;\n");
    begun_ = true;
    if (!staged_.empty()) absl::StrAppend(&prefix, TakeStagedSql());
    if (prefix.empty()) return raw_->exec(sql);
    return raw_->exec(absl::StrCat(prefix, sql));
  });
}

std::string Tx::Substitute(const std::string& sql, const std::vector<std::string>& literals) {
  std::string out;
  out.reserve(sql.size() + 64);
  internal::AppendReplacingPlaceholders(&out, sql, [&](std::string* to, size_t n) {
    if (n >= 1 && n <= literals.size()) {
      absl::StrAppend(to, literals[n - 1]);
    } else {
      absl::StrAppend(to, "$", n);
    }
  });
  return out;
}

pqxx::row Tx::exec1(const std::string& sql) {
  pqxx::result rows = exec(sql);
  if (rows.size() != 1) {
    failed_ = true;
    throw pqxx::unexpected_rows(absl::StrCat("expected 1 row, got ", rows.size()));
  }
  return rows[0];
}

void Tx::Commit() {
  if (finished_) throw pqxx::usage_error("commit after the end of the transaction");
  if (failed_) throw pqxx::usage_error("commit after a failed statement");
  if (std::optional<GroupCommit> group_commit = TakeGroupCommit()) {
    group_commit->Run(*batcher_);
    return;
  }
  std::string batch = TakeStagedSql();
  // Without a BEGIN, the statements of one simple query run as one implicit transaction.
  if (begun_) absl::StrAppend(&batch, "COMMIT");
  if (!batch.empty()) {
    if (!raw_) raw_.emplace(conn_);
    try {
      raw_->exec(batch);
    } catch (const pqxx::broken_connection& e) {
      failed_ = true;
      throw pqxx::in_doubt_error(e.what());
    } catch (...) {
      failed_ = true;
      throw;
    }
  }
  finished_ = true;
  staged_.clear();
  std::vector<std::function<void()>> hooks;
  hooks.swap(commit_hooks_);
  for (auto& hook : hooks) hook();
}

std::optional<Tx::GroupCommit> Tx::TakeGroupCommit() {
  if (finished_ || failed_ || begun_ || batcher_ == nullptr || staged_.empty()) return std::nullopt;
  finished_ = true;
  GroupCommit group_commit{std::move(staged_), std::move(commit_hooks_)};
  staged_.clear();
  commit_hooks_.clear();
  return group_commit;
}

void Tx::GroupCommit::Run(CommitBatcher& batcher) {
  batcher.Commit(std::move(writes));
  for (auto& hook : commit_hooks) hook();
}

bool Tx::Rollback() noexcept {
  if (finished_) return true;
  finished_ = true;
  staged_.clear();
  commit_hooks_.clear();
  raw_.reset();
  if (!begun_) return true;  // nothing open on the server (an implicit transaction ends itself)
  try {
    pqxx::nontransaction rollback(conn_);
    rollback.exec("ROLLBACK");
    return true;
  } catch (...) {
    return false;
  }
}

void RegisterConstraintErrors(const std::vector<std::pair<std::string, absl::Status>>& errors) {
  for (const auto& e : errors) ConstraintErrors().push_back(e);
}

std::string TimestampLiteral(int64_t unix_micros) {
  return absl::StrCat("to_timestamp(", unix_micros, "::double precision / 1000000)");
}

namespace internal {

absl::Status StatusFromException(const std::exception& e, bool* retryable, bool* broken) {
  *retryable = false;
  *broken = false;
  if (dynamic_cast<const pqxx::serialization_failure*>(&e) != nullptr ||
      dynamic_cast<const pqxx::deadlock_detected*>(&e) != nullptr) {
    *retryable = true;
    return absl::AbortedError("database: concurrent update, retry");
  }
  if (dynamic_cast<const pqxx::integrity_constraint_violation*>(&e) != nullptr) {
    // The constraint's name is quoted in the message whatever the server's language.
    for (const auto& [constraint, status] : ConstraintErrors()) {
      if (absl::StrContains(e.what(), absl::StrCat("\"", constraint, "\""))) return status;
    }
  }
  if (const auto* unique = dynamic_cast<const pqxx::unique_violation*>(&e)) {
    return absl::AlreadyExistsError(absl::StrCat("already exists (", unique->what(), ")"));
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    *broken = true;
    return absl::UnavailableError(
        "database: connection lost during commit, outcome unknown; retry with the same request_id");
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    *broken = true;
    log::Warn("database connection lost", {{"error", e.what()}});
    return absl::UnavailableError("database unavailable");
  }
  log::Error("database error", {{"error", e.what()}});
  return absl::InternalError("internal database error");
}

}  // namespace internal

std::string EpochMicros(absl::string_view column) {
  return absl::StrCat("(extract(epoch from ", column, ") * 1000000)::bigint");
}

}  // namespace techtrade
