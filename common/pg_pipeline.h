// A libpq connection that sends a whole transaction — many statements with out-of-line
// parameters — in one round trip (libpq pipeline mode, one Sync), for group commit.
#pragma once

#include <cstdint>
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

class PipelinedConnection {
 public:
  explicit PipelinedConnection(std::string url) : url_(std::move(url)) {}
  ~PipelinedConnection();
  PipelinedConnection(const PipelinedConnection&) = delete;
  PipelinedConnection& operator=(const PipelinedConnection&) = delete;

  // Runs `statements` as one transaction (the implicit one of a pipeline up to its Sync): all
  // commit, or none. Throws the libpqxx exception of the first failing statement, or
  // pqxx::broken_connection if the connection failed (then the outcome is unknown; the next call
  // connects afresh). Statements with parameters are prepared once per connection.
  void RunTransaction(const std::vector<Statement>& statements);

 private:
  void Connect();
  void Drop();

  const std::string url_;
  pg_conn* conn_ = nullptr;
  // SQL text → name of its prepared statement on this connection.
  absl::flat_hash_map<std::string, std::string> prepared_;
  int64_t next_name_ = 0;  // names are never reused: a prepared statement outlives a rollback
};

}  // namespace internal
}  // namespace techtrade
