// PostgreSQL: a bounded connection pool, one way to run a transaction, and versioned migrations.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace techtrade {

class PgPool {
 public:
  // Connects `size` connections eagerly so a wrong URL fails at start-up, not on the first call.
  static absl::StatusOr<std::unique_ptr<PgPool>> Create(std::string url, int size);

  // A connection on loan; returned to the pool when destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    pqxx::connection& conn() { return *conn_; }
    // The connection failed: the pool replaces it instead of reusing it.
    void Discard() { conn_.reset(); }

   private:
    friend class PgPool;
    Lease(PgPool* pool, std::unique_ptr<pqxx::connection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    PgPool* pool_;
    std::unique_ptr<pqxx::connection> conn_;
  };

  // UNAVAILABLE if no connection frees up within `wait` or the database cannot be reached.
  absl::StatusOr<Lease> Acquire(absl::Duration wait = absl::Seconds(5));

  const std::string& url() const { return url_; }

 private:
  PgPool(std::string url, int size) : url_(std::move(url)), size_(size) {}
  void Return(std::unique_ptr<pqxx::connection> conn);

  const std::string url_;
  const int size_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;  // guarded by mutex_
  int leased_ = 0;                                       // guarded by mutex_
};

// Runs `hook` on this thread after the transaction now running in InTransaction commits, and
// never if it rolls back. For effects that must follow the commit: waking the outbox relay,
// invalidating a cache entry.
void OnCommit(std::function<void()> hook);

// Adds a write whose result the transaction does not need. Staged writes are sent together, in
// one round trip, right before the commit of the transaction now running in InTransaction, so a
// mutation costs BEGIN, its reads, one write batch and COMMIT. Staged writes are not visible to
// later reads of the same transaction. Values must be literals made with tx.quote()/quote_raw().
// A constraint they violate fails the transaction with the status given to
// RegisterConstraintErrors, else ALREADY_EXISTS / INTERNAL.
void StageWrite(std::string sql);

// Maps violations of named database constraints (the source of truth for uniqueness and
// references) onto the error a caller should see, e.g. "organizations_credit_code_key" →
// ALREADY_EXISTS "credit_code: …". Call at start-up, before serving.
void RegisterConstraintErrors(const std::vector<std::pair<std::string, absl::Status>>& errors);

// SQL literal for a timestamptz given as microseconds since the epoch.
std::string TimestampLiteral(int64_t unix_micros);

namespace internal {
// Hooks registered by OnCommit during the current attempt.
void RunCommitHooks();
void DropCommitHooks();
// Sends the staged writes (if any) in one round trip.
void FlushStagedWrites(pqxx::transaction_base& tx);
void DropStagedWrites();
inline const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <class T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}
// Maps a database exception onto the error model; logs what the caller must not see.
absl::Status StatusFromException(const std::exception& e, bool* retryable, bool* broken);
}  // namespace internal

// Runs fn(pqxx::work&) in one transaction and commits iff fn returns OK (writes staged with
// StageWrite are sent just before the commit). fn returns absl::Status
// or absl::StatusOr<T>. Serialization failures and deadlocks are retried (fn must be safe to
// re-run); a unique violation becomes ALREADY_EXISTS; a lost connection UNAVAILABLE.
template <class Fn>
auto InTransaction(PgPool& pool, Fn&& fn) -> std::invoke_result_t<Fn&, pqxx::work&> {
  using Result = std::invoke_result_t<Fn&, pqxx::work&>;
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<PgPool::Lease> lease = pool.Acquire();
    if (!lease.ok()) return Result(lease.status());
    bool retryable = false;
    bool broken = false;
    absl::Status error;
    try {
      pqxx::work tx(lease->conn());
      Result result = fn(tx);
      if (internal::StatusOf(result).ok()) {
        internal::FlushStagedWrites(tx);
        tx.commit();
        internal::RunCommitHooks();
      } else {
        internal::DropStagedWrites();
        internal::DropCommitHooks();
      }
      return result;
    } catch (const std::exception& e) {
      internal::DropStagedWrites();
      internal::DropCommitHooks();
      error = internal::StatusFromException(e, &retryable, &broken);
    }
    if (broken) lease->Discard();
    if (!retryable || attempt == kAttempts) return Result(error);
  }
}

// Runs `sql` as a prepared statement named `name` on the transaction's connection: parsed and
// planned once per connection instead of on every call. `name` must be unique per SQL text.
template <class... Args>
pqxx::result ExecPrepared(pqxx::transaction_base& tx, const char* name, const std::string& sql,
                          Args&&... args) {
  // Registers the definition on the client side only (a no-op when already known); the server
  // prepares it on first use.
  tx.conn().prepare(name, sql);
  return tx.exec_prepared(name, std::forward<Args>(args)...);
}

// One schema change. Versions are per component and applied in ascending order, once.
struct Migration {
  int version;
  absl::string_view name;
  absl::string_view sql;
};

// Applies the migrations of `component` not yet recorded in schema_migrations, each in its own
// transaction, under an advisory lock so that replicas starting together do not race.
absl::Status ApplyMigrations(PgPool& pool, absl::string_view component,
                             std::span<const Migration> migrations);

// SQL expression for a timestamptz column as microseconds since the epoch.
std::string EpochMicros(absl::string_view column);

}  // namespace techtrade
