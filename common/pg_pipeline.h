// A libpq connection that sends a whole transaction — many statements with out-of-line
// parameters — in one round trip (libpq pipeline mode, one Sync), for group commit.
#pragma once

#include <cstdint>
#include <deque>
#include <exception>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"

struct pg_conn;  // libpq's PGconn

namespace techtrade {

// A value for a placeholder ($1, $2 …) of a staged write, sent apart from the SQL text: nothing
// to quote or escape, no long literal for the server to parse, and the statement's text, the same
// on every call, is parsed and planned once per connection.
struct SqlParam {
  enum class Kind : uint8_t { kText, kBytes, kNull };
  Kind kind = Kind::kText;
  std::string value;  // text in PostgreSQL's input syntax for the placeholder's type, or bytes
};
inline SqlParam SqlText(std::string value) { return {SqlParam::Kind::kText, std::move(value)}; }
SqlParam SqlText(int64_t value);
// Sent in binary: the placeholder must be typed bytea ($n::bytea).
inline SqlParam SqlBytes(std::string bytes) { return {SqlParam::Kind::kBytes, std::move(bytes)}; }
inline SqlParam SqlNull() { return {SqlParam::Kind::kNull, {}}; }
// An optional uuid (the placeholder typed $n::uuid): NULL when empty.
inline SqlParam SqlUuidOrNull(const std::string& id) {
  return id.empty() ? SqlNull() : SqlText(id);
}

namespace internal {

// One statement and the values of its placeholders, in order.
struct Statement {
  std::string sql;
  std::vector<const SqlParam*> params;
};

// Throws what libpqxx would throw for a failed statement with this SQLSTATE (so that the error
// model maps it the same way): unique_violation for 23505, serialization_failure for 40001, …
[[noreturn]] void ThrowSqlError(const char* sqlstate, const std::string& message);

// Transactions sent one after another without waiting for the previous one's outcome: while
// PostgreSQL runs one, the next is already on its way, so the server does not idle for the
// client's turnaround between them. Outcomes come back in the order of sending. Not
// thread-safe: one user at a time (CommitBatcher's leader).
class PipelinedConnection {
 public:
  explicit PipelinedConnection(std::string url) : url_(std::move(url)) {}
  ~PipelinedConnection();
  PipelinedConnection(const PipelinedConnection&) = delete;
  PipelinedConnection& operator=(const PipelinedConnection&) = delete;

  // Sends `statements` as one transaction (the implicit one of a pipeline up to its Sync): all
  // commit, or none. Connects first if needed. Statements with parameters are prepared once per
  // connection. Throws pqxx::broken_connection if the connection failed: then the outcome of
  // everything in flight is unknown, and the next Send connects afresh.
  void Send(const std::vector<Statement>& statements);
  // Blocks until the server has answered something or `wake_fd` (a non-blocking eventfd, -1 for
  // none) was signalled; consumes the signal.
  void Wait(int wake_fd);
  // The outcomes of the transactions (oldest first) whose answer has fully arrived, without
  // blocking: nullptr if one committed, else the libpqxx exception of its first failing
  // statement. Throws pqxx::broken_connection if the connection failed.
  std::vector<std::exception_ptr> ReadCompleted();

 private:
  // What the server answers, in order, for one transaction sent.
  struct Answer {
    enum class Kind : uint8_t { kPrepare, kStatement, kSync };
    Kind kind;
    std::string prepared_sql;  // kPrepare: taken out of prepared_ unless the server prepared it
  };
  struct Pending {
    std::vector<Answer> answers;
    size_t next = 0;
    bool awaiting_end = false;  // a statement's result was read, its terminating NULL not yet
    std::string error_state, error_message;  // of the first failure
  };

  void Connect();
  void Drop();
  [[noreturn]] void Broken(const std::string& what);
  void Flush();

  const std::string url_;
  pg_conn* conn_ = nullptr;
  // SQL text → name of its prepared statement on this connection.
  absl::flat_hash_map<std::string, std::string> prepared_;
  int64_t next_name_ = 0;  // names are never reused: a prepared statement outlives a rollback
  std::deque<Pending> pending_;
};

}  // namespace internal
}  // namespace techtrade
