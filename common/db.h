// PostgreSQL: a bounded connection pool and one way to run a transaction (migrations:
// common/migrations.h).
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
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
#include "common/failpoint.h"
#include "common/pg_pipeline.h"

namespace techtrade {

// A write staged in a transaction (Tx::StageWrite, Tx::StageRow), sent with its COMMIT: the
// statement `head` + `row` + `tail`. Writes with a row and the same head and tail, from
// transactions committed together, are sent as one statement `head` + row₁, row₂, … + `tail` —
// one parse, plan and execution for all of them.
//
// Values are either literals in the SQL (quote()/quote_raw()), or placeholders $1 … $n of `row`
// (of `head` when there is no row) with their `params`; when rows are merged, each row's
// placeholders are renumbered after the previous rows'. A statement with placeholders has the
// same text on every call and is prepared once per connection.
struct StagedWrite {
  std::string head;
  std::string row;  // empty: `head` is the whole statement, never merged
  std::string tail;
  std::vector<SqlParam> params;
};

namespace internal {
// Copies `sql` to `out`, each placeholder $n replaced by what replacement(out, n) appends.
void AppendReplacingPlaceholders(std::string* out, absl::string_view sql,
                                 const std::function<void(std::string*, size_t)>& replacement);
// The statements of transactions committed as one: each one's writes in its order, the n-th
// writes of all of them together, mergeable ones merged. (Of one transaction: its writes.)
std::vector<Statement> BatchStatements(
    const std::vector<const std::vector<StagedWrite>*>& transactions);
// One transaction's writes as one simple query (one implicit transaction without BEGIN), the
// placeholders replaced by `literal`(param).
std::string WritesSql(const std::vector<StagedWrite>& writes,
                      const std::function<std::string(const SqlParam&)>& literal);
}  // namespace internal

// Group commit. A transaction that only writes (everything staged, nothing read) needs nothing
// of its own connection but the round trip; concurrent ones are sent to PostgreSQL together as
// one transaction, in one round trip with one WAL flush, by whichever caller comes first while
// the others wait. If the batch fails, its transactions run again one by one, so each caller
// gets exactly the outcome its own statements have alone.
//
// Batches are pipelined: the next one is sent while the previous one is still running, on the
// same connection (so they still run one after the other, in order), so that PostgreSQL starts
// it the moment the previous one commits instead of idling while the leader wakes up, reads the
// outcome, hands over and sends again — a turnaround that can take longer than the batch itself.
inline constexpr int kDefaultCommitPipelineDepth = 2;

class CommitBatcher {
 public:
  // At most `depth` batches in flight (1: none sent before the previous one's outcome is read).
  // Two keep a database on the same machine busy — one running, the next waiting in its socket;
  // a distant one needs more to cover the round trip, while more than needed only makes batches
  // smaller.
  CommitBatcher(std::string url, int depth);
  ~CommitBatcher();
  CommitBatcher(const CommitBatcher&) = delete;
  CommitBatcher& operator=(const CommitBatcher&) = delete;

  // Commits `writes` (one write-only transaction) with what others commit meanwhile. Throws what
  // its own statements throw alone, or pqxx::in_doubt_error if the connection was lost while its
  // batch was in flight.
  void Commit(std::vector<StagedWrite> writes);

  // What waits, for tests that need a batch in a given state before they go on.
  struct Backlog {
    size_t queued = 0;             // transactions not sent yet
    size_t batches_in_flight = 0;  // sent, outcome not read yet
    size_t in_flight = 0;          // transactions in those batches
  };
  Backlog backlog();

 private:
  struct Entry {
    std::vector<StagedWrite> writes;
    bool alone = false;  // its batch failed: it runs again in a batch of its own
    bool done = false;
    std::exception_ptr error;
    std::condition_variable wake;  // done, or asked to lead
  };
  // Sends batches and reads their outcomes until `self` is done (with `lock` held, released
  // around I/O).
  void Lead(std::unique_lock<std::mutex>& lock, Entry* self);
  // Takes the next batch off the queue: an entry that runs alone, or up to kMaxBatch others.
  std::vector<Entry*> TakeBatch();
  // Marks `batch` done (with `error` unless null) and wakes its callers but `self`.
  void Finish(const std::vector<Entry*>& batch, std::exception_ptr error, const Entry* self);
  // The batch failed as a whole with `error`: a batch of one ends with it; a larger one's
  // entries each run again alone, first in the queue.
  void Fail(const std::vector<Entry*>& batch, std::exception_ptr error, const Entry* self);
  // The connection is gone: every batch in flight ends with `lost` (in doubt).
  void LoseInFlight(std::exception_ptr lost, const Entry* self);

  std::mutex mutex_;
  std::deque<Entry*> queue_;                   // guarded by mutex_: not sent yet
  std::deque<std::vector<Entry*>> in_flight_;  // guarded by mutex_: sent, in order of sending
  bool leading_ = false;  // guarded by mutex_: somebody sends and reads for everyone
  bool waiting_ = false;  // guarded by mutex_: the leader waits for the server or wake_fd_
  const size_t depth_;
  // Wakes a waiting leader when there is a batch to send (an eventfd).
  int wake_fd_ = -1;
  // The batches' own connection, in pipeline mode. Used by the leader only.
  internal::PipelinedConnection connection_;
};

class PgPool {
 public:
  // Connects `size` connections eagerly so a wrong URL fails at start-up, not on the first call.
  // `commit_pipeline_depth`: see CommitBatcher.
  static absl::StatusOr<std::unique_ptr<PgPool>> Create(
      std::string url, int size, int commit_pipeline_depth = kDefaultCommitPipelineDepth);

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
  CommitBatcher& batcher() { return batcher_; }

 private:
  PgPool(std::string url, int size, int commit_pipeline_depth)
      : url_(std::move(url)), size_(size), batcher_(url_, commit_pipeline_depth) {}
  void Return(std::unique_ptr<pqxx::connection> conn);

  const std::string url_;
  const int size_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;  // guarded by mutex_
  int leased_ = 0;                                       // guarded by mutex_
  CommitBatcher batcher_;
};

// Maps violations of named database constraints (the source of truth for uniqueness and
// references) onto the error a caller should see, e.g. "organizations_credit_code_key" →
// ALREADY_EXISTS "credit_code: …". Call at start-up, before serving.
void RegisterConstraintErrors(const std::vector<std::pair<std::string, absl::Status>>& errors);

// SQL literal for a timestamptz given as microseconds since the epoch.
std::string TimestampLiteral(int64_t unix_micros);

// A protobuf record stored as bytea (the `record` column of every service's tables).
template <class Message>
Message ParseRecord(const pqxx::field& field) {
  pqxx::binarystring bytes(field);
  Message message;
  message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  return message;
}

// One database transaction, run by InTransaction. Round trips are what a mutation costs on a
// loaded machine, so the transaction spends as few as it can:
//  - BEGIN is sent with the first statement, not on its own;
//  - writes whose results the transaction does not need are staged (StageWrite) and go with
//    COMMIT in one round trip; a transaction that only writes is that one round trip.
class Tx {
 public:
  // With a batcher, a transaction that only wrote commits through it (group commit).
  explicit Tx(pqxx::connection& conn, CommitBatcher* batcher = nullptr)
      : conn_(conn), batcher_(batcher) {}
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  ~Tx();

  pqxx::result exec(const std::string& sql);
  pqxx::row exec1(const std::string& sql);
  // Statements with parameters ($1, $2 … in `sql`). The transaction's first statement goes as a
  // simple query with the arguments as quoted literals, so that BEGIN travels with it; later ones
  // use the extended protocol.
  template <class... Args>
  pqxx::result exec_params(const std::string& sql, Args&&... args) {
    if (!begun_) return exec(Substitute(sql, {quote(args)...}));
    return Guarded([&] { return Flushed().exec_params(sql, std::forward<Args>(args)...); });
  }
  template <class... Args>
  pqxx::row exec_params1(const std::string& sql, Args&&... args) {
    if (!begun_) return exec1(Substitute(sql, {quote(args)...}));
    return Guarded([&] { return Flushed().exec_params1(sql, std::forward<Args>(args)...); });
  }
  // Runs `sql` as a prepared statement named `name` (unique per SQL text): parsed and planned
  // once per connection instead of on every call — except as the transaction's first statement
  // (see exec_params), where saving the round trip of a separate BEGIN is worth more.
  template <class... Args>
  pqxx::result ExecPrepared(const char* name, const std::string& sql, Args&&... args) {
    if (!begun_) return exec(Substitute(sql, {quote(args)...}));
    // Registers the definition on the client side only (a no-op when already known); the server
    // prepares it on first use.
    conn_.prepare(name, sql);
    return Guarded([&] { return Flushed().exec_prepared(name, std::forward<Args>(args)...); });
  }

  // Reads the latest committed state outside the transaction (on its own, holding no lock), so
  // that a transaction which otherwise only writes stays write-only and can be group-committed.
  // For optimistic writes: what is written must then be guarded against a change since the read
  // (techtrade_expect_rows, see the common migrations). Once the transaction has begun or has
  // staged writes, the read runs inside it instead, so that it sees the transaction's own writes
  // (an event consumer applies several events in one transaction, each on the state the previous
  // one left).
  template <class... Args>
  pqxx::result ReadLatest(const char* name, const std::string& sql, Args&&... args) {
    if (finished_) throw pqxx::usage_error("ReadLatest after the end of the transaction");
    if (begun_ || !staged_.empty()) {
      return ExecPrepared(name, sql, std::forward<Args>(args)...);
    }
    conn_.prepare(name, sql);
    pqxx::nontransaction read(conn_);
    return read.exec_prepared(name, std::forward<Args>(args)...);
  }

  template <class T>
  std::string quote(const T& value) {
    return conn_.quote(value);
  }
  std::string quote_raw(const std::string& bytes) {
    return conn_.quote_raw(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  }

  // Adds a write — one statement — whose result the transaction does not need; it is sent with
  // COMMIT, or before the transaction's next statement if there is one, so that later reads of
  // the same transaction see it (read-your-writes holds however writes are staged). Values are
  // literals made with quote()/quote_raw(), or placeholders $1 … with `params` (see StagedWrite).
  // A constraint they violate fails the transaction with the status given to
  // RegisterConstraintErrors, else ALREADY_EXISTS / INTERNAL.
  void StageWrite(std::string sql, std::vector<SqlParam> params = {}) {
    staged_.push_back({std::move(sql), "", "", std::move(params)});
  }
  // The same for a statement built around one row of a VALUES list — `head` + `row` + `tail`,
  // e.g. "INSERT INTO t (a, b) VALUES " + "($1, $2)" — which group commit may send as one
  // statement with the rows of concurrent transactions (see StagedWrite). `row` is one
  // parenthesised tuple; head and tail must not depend on the row and have no placeholders.
  void StageRow(std::string head, std::string row, std::string tail = "",
                std::vector<SqlParam> params = {}) {
    staged_.push_back({std::move(head), std::move(row), std::move(tail), std::move(params)});
  }

  // Runs `hook` after this transaction commits, never if it rolls back. For effects that must
  // follow the commit: waking the outbox relay, invalidating a cache entry.
  void OnCommit(std::function<void()> hook) { commit_hooks_.push_back(std::move(hook)); }

  // Sends the staged writes and COMMIT together, then runs the commit hooks. A connection lost
  // meanwhile throws pqxx::in_doubt_error: the outcome is unknown.
  void Commit();

  // What a transaction that only staged writes still has to do: its writes, group-committed
  // (CommitBatcher), then its commit hooks. None of it needs the transaction's connection.
  struct GroupCommit {
    std::vector<StagedWrite> writes;
    std::vector<std::function<void()>> commit_hooks;
    // Throws as Commit does.
    void Run(CommitBatcher& batcher);
  };
  // For a transaction that only staged writes (and has a batcher): ends it here and hands over
  // what its commit must do, so that the caller can give the connection back before waiting for
  // the group commit; nullopt for any other transaction, which must Commit.
  std::optional<GroupCommit> TakeGroupCommit();
  // Rolls back what was begun; false if the connection is unusable afterwards.
  bool Rollback() noexcept;

 private:
  // The transaction begun on the server and its staged writes sent: what every statement goes
  // through, so that it sees the transaction's earlier writes.
  pqxx::nontransaction& Flushed();
  // The staged writes as SQL of literals (one statement each, ';'-terminated); clears them.
  std::string TakeStagedSql();
  // `sql` with $1, $2 … replaced by `literals` (our statements have no '$' elsewhere).
  static std::string Substitute(const std::string& sql, const std::vector<std::string>& literals);
  // Runs a statement; a failed one poisons the transaction (the server has aborted it, and a
  // COMMIT would silently roll back), so Commit refuses afterwards.
  template <class F>
  auto Guarded(F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (...) {
      failed_ = true;
      throw;
    }
  }

  pqxx::connection& conn_;
  CommitBatcher* const batcher_;
  std::optional<pqxx::nontransaction> raw_;  // statements are sent through it; never commits
  bool begun_ = false;                       // BEGIN sent, transaction open on the server
  bool finished_ = false;
  bool failed_ = false;
  std::vector<StagedWrite> staged_;
  std::vector<std::function<void()>> commit_hooks_;
};

namespace internal {
inline const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <class T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}
// Maps a database exception onto the error model; logs what the caller must not see.
absl::Status StatusFromException(const std::exception& e, bool* retryable, bool* broken);
}  // namespace internal

// SQL literal for an optional uuid: NULL when `id` is empty.
inline std::string UuidLiteral(Tx& tx, const std::string& id) {
  return id.empty() ? std::string("NULL") : tx.quote(id) + "::uuid";
}

// Runs fn(Tx&) in one transaction and commits iff fn returns OK. fn returns absl::Status or
// absl::StatusOr<T>. Serialization failures and deadlocks are retried (fn must be safe to
// re-run); a unique violation becomes ALREADY_EXISTS; a lost connection UNAVAILABLE.
template <class Fn>
auto InTransaction(PgPool& pool, Fn&& fn) -> std::invoke_result_t<Fn&, Tx&> {
  using Result = std::invoke_result_t<Fn&, Tx&>;
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<PgPool::Lease> lease = pool.Acquire();
    if (!lease.ok()) return Result(lease.status());
    std::optional<PgPool::Lease> held(std::move(*lease));
    bool retryable = false;
    bool broken = false;
    absl::Status error;
    std::optional<Result> result;
    std::optional<Tx::GroupCommit> group_commit;
    {
      Tx tx(held->conn(), &pool.batcher());
      try {
        result.emplace(fn(tx));
        if (internal::StatusOf(*result).ok()) {
          group_commit = tx.TakeGroupCommit();
          if (!group_commit.has_value()) tx.Commit();
        }
      } catch (const std::exception& e) {
        result.reset();
        error = internal::StatusFromException(e, &retryable, &broken);
      }
      if (!tx.Rollback()) broken = true;  // a no-op after a commit
    }
    if (broken) held->Discard();
    // The connection goes back to the pool before the group commit, which does not use it:
    // held through the wait, it capped the transactions committing at once at the pool's size.
    held.reset();
    if (group_commit.has_value()) {
      try {
        group_commit->Run(pool.batcher());
      } catch (const std::exception& e) {
        result.reset();
        bool batcher_connection = false;  // the batcher replaces its own connection
        error = internal::StatusFromException(e, &retryable, &batcher_connection);
      }
    }
    if (result.has_value()) {
      if (internal::StatusOf(*result).ok()) {
        // Committed; `error` tells the caller the outcome is unknown, as a connection lost in
        // the commit's round trip would.
        if (absl::Status fault = failpoint::Hit("db.after_commit"); !fault.ok()) {
          return Result(absl::UnavailableError(
              "database: outcome unknown (failpoint db.after_commit); retry with the same "
              "request_id"));
        }
      }
      return std::move(*result);
    }
    if (!retryable || attempt == kAttempts) return Result(error);
  }
}

// SQL expression for a timestamptz column as microseconds since the epoch.
std::string EpochMicros(absl::string_view column);

}  // namespace techtrade
