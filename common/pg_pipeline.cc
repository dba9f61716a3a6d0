#include "common/pg_pipeline.h"

#include <libpq-fe.h>

#include <cstring>
#include <pqxx/except>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace techtrade {

SqlParam SqlText(int64_t value) { return SqlText(absl::StrCat(value)); }

namespace internal {

void ThrowSqlError(const char* sqlstate, const std::string& message) {
  const std::string state = sqlstate != nullptr ? sqlstate : "";
  if (state == "23505") throw pqxx::unique_violation(message, "", sqlstate);
  if (state == "23503") throw pqxx::foreign_key_violation(message, "", sqlstate);
  if (state == "23514") throw pqxx::check_violation(message, "", sqlstate);
  if (state == "23502") throw pqxx::not_null_violation(message, "", sqlstate);
  if (state == "23001") throw pqxx::restrict_violation(message, "", sqlstate);
  if (absl::StartsWith(state, "23")) {
    throw pqxx::integrity_constraint_violation(message, "", sqlstate);
  }
  if (state == "40001") throw pqxx::serialization_failure(message);
  if (state == "40P01") throw pqxx::deadlock_detected(message);
  if (absl::StartsWith(state, "08")) throw pqxx::broken_connection(message);
  throw pqxx::sql_error(message, "", sqlstate);
}

PipelinedConnection::~PipelinedConnection() { Drop(); }

void PipelinedConnection::Drop() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
  prepared_.clear();
}

void PipelinedConnection::Connect() {
  conn_ = PQconnectdb(url_.c_str());
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string error = PQerrorMessage(conn_);
    Drop();
    throw pqxx::broken_connection(error);
  }
  if (PQenterPipelineMode(conn_) != 1) {
    std::string error = PQerrorMessage(conn_);
    Drop();
    throw pqxx::broken_connection(absl::StrCat("cannot enter pipeline mode: ", error));
  }
}

void PipelinedConnection::RunTransaction(const std::vector<Statement>& statements) {
  if (conn_ != nullptr && PQstatus(conn_) != CONNECTION_OK) Drop();
  if (conn_ == nullptr) Connect();
  auto broken = [&](const std::string& what) {
    std::string error = absl::StrCat(what, ": ", PQerrorMessage(conn_));
    Drop();
    throw pqxx::broken_connection(error);
  };

  // What each result read back answers: the SQL of a new statement's prepare, or nullptr for a
  // statement.
  std::vector<const std::string*> pending;
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  for (const Statement& s : statements) {
    values.clear();
    lengths.clear();
    formats.clear();
    for (const SqlParam* p : s.params) {
      values.push_back(p->kind == SqlParam::Kind::kNull ? nullptr : p->value.data());
      lengths.push_back(static_cast<int>(p->value.size()));
      formats.push_back(p->kind == SqlParam::Kind::kBytes ? 1 : 0);
    }
    const int n = static_cast<int>(s.params.size());
    // Literal statements differ on every call: nothing to gain from preparing them. The bound
    // keeps the server's memory in check should some caller vary its SQL text after all.
    constexpr size_t kMaxPrepared = 512;
    std::string name;
    if (n > 0) {
      if (auto it = prepared_.find(s.sql); it != prepared_.end()) {
        name = it->second;
      } else if (prepared_.size() < kMaxPrepared) {
        name = absl::StrCat("techtrade_batch_", next_name_++);
        if (PQsendPrepare(conn_, name.c_str(), s.sql.c_str(), n, nullptr) != 1) {
          broken("send prepare");
        }
        pending.push_back(&s.sql);
        prepared_.emplace(s.sql, name);  // taken back below unless the server prepared it
      }
    }
    const int sent = name.empty()
                         ? PQsendQueryParams(conn_, s.sql.c_str(), n, nullptr, values.data(),
                                             lengths.data(), formats.data(), 0)
                         : PQsendQueryPrepared(conn_, name.c_str(), n, values.data(),
                                               lengths.data(), formats.data(), 0);
    if (sent != 1) broken("send statement");
    pending.push_back(nullptr);
  }
  if (PQpipelineSync(conn_) != 1) broken("send sync");

  std::string error_state, error_message;
  for (const std::string* prepared_sql : pending) {
    PGresult* result = PQgetResult(conn_);
    if (result == nullptr) broken("read result");
    const ExecStatusType status = PQresultStatus(result);
    if (prepared_sql != nullptr && status != PGRES_COMMAND_OK) {
      prepared_.erase(*prepared_sql);  // failed, or skipped after an earlier failure
    }
    if (status == PGRES_FATAL_ERROR && error_state.empty()) {
      const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      error_state = state != nullptr ? state : "XX000";
      error_message = PQresultErrorMessage(result);
    } else if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
               status != PGRES_PIPELINE_ABORTED && status != PGRES_FATAL_ERROR) {
      PQclear(result);
      broken(absl::StrCat("unexpected result status ", PQresStatus(status)));
    }
    PQclear(result);
    // The end of this statement's results.
    if (PGresult* end = PQgetResult(conn_); end != nullptr) {
      PQclear(end);
      broken("more results than statements");
    }
  }
  PGresult* sync = PQgetResult(conn_);
  if (sync == nullptr || PQresultStatus(sync) != PGRES_PIPELINE_SYNC) {
    if (sync != nullptr) PQclear(sync);
    broken("read sync");
  }
  PQclear(sync);
  if (!error_state.empty()) {
    // The server rolled back everything since the previous Sync.
    if (absl::StartsWith(error_state, "08")) broken(error_message);
    ThrowSqlError(error_state.c_str(), error_message);
  }
}

}  // namespace internal
}  // namespace techtrade
