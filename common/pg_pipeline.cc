#include "common/pg_pipeline.h"

#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
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
  pending_.clear();
}

void PipelinedConnection::Broken(const std::string& what) {
  std::string error = absl::StrCat(what, ": ", conn_ != nullptr ? PQerrorMessage(conn_) : "");
  Drop();
  throw pqxx::broken_connection(error);
}

void PipelinedConnection::Connect() {
  conn_ = PQconnectdb(url_.c_str());
  if (PQstatus(conn_) != CONNECTION_OK) Broken("connect");
  if (PQenterPipelineMode(conn_) != 1) Broken("cannot enter pipeline mode");
  // Sending never blocks on a full socket buffer (Flush waits for room), so that what the server
  // answers meanwhile is read and it cannot block on us in turn.
  if (PQsetnonblocking(conn_, 1) != 0) Broken("cannot make the connection non-blocking");
}

void PipelinedConnection::Flush() {
  for (;;) {
    const int left = PQflush(conn_);
    if (left == 0) return;
    if (left < 0) Broken("send");
    pollfd fd{PQsocket(conn_), POLLIN | POLLOUT, 0};
    if (poll(&fd, 1, -1) < 0 && errno != EINTR) Broken("poll");
    if ((fd.revents & POLLIN) != 0 && PQconsumeInput(conn_) != 1) Broken("read");
  }
}

void PipelinedConnection::Send(const std::vector<Statement>& statements) {
  if (conn_ != nullptr && PQstatus(conn_) != CONNECTION_OK) Broken("connection lost");
  if (conn_ == nullptr) Connect();
  Pending& sent = pending_.emplace_back();
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
          Broken("send prepare");
        }
        sent.answers.push_back({Answer::Kind::kPrepare, s.sql});
        // Taken back when its answer is read unless the server prepared it. A transaction sent
        // before then may use it; if the prepare failed, so does that transaction (and the
        // batcher runs its callers again, alone).
        prepared_.emplace(s.sql, name);
      }
    }
    const int ok = name.empty() ? PQsendQueryParams(conn_, s.sql.c_str(), n, nullptr, values.data(),
                                                    lengths.data(), formats.data(), 0)
                                : PQsendQueryPrepared(conn_, name.c_str(), n, values.data(),
                                                      lengths.data(), formats.data(), 0);
    if (ok != 1) Broken("send statement");
    sent.answers.push_back({Answer::Kind::kStatement, {}});
  }
  if (PQpipelineSync(conn_) != 1) Broken("send sync");
  sent.answers.push_back({Answer::Kind::kSync, {}});
  Flush();
}

void PipelinedConnection::Wait(int wake_fd) {
  if (conn_ == nullptr) return;
  pollfd fds[2] = {{PQsocket(conn_), POLLIN, 0}, {wake_fd, POLLIN, 0}};
  if (poll(fds, wake_fd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR) Broken("poll");
  if ((fds[1].revents & POLLIN) != 0) {
    uint64_t signals;
    (void)!read(wake_fd, &signals, sizeof signals);
  }
}

std::vector<std::exception_ptr> PipelinedConnection::ReadCompleted() {
  std::vector<std::exception_ptr> outcomes;
  if (conn_ == nullptr) return outcomes;
  if (PQconsumeInput(conn_) != 1) Broken("read");
  while (!pending_.empty() && PQisBusy(conn_) == 0) {
    Pending& front = pending_.front();
    PGresult* result = PQgetResult(conn_);
    const Answer& answer = front.answers[front.next];
    if (front.awaiting_end) {
      // The end of one statement's results.
      if (result != nullptr) {
        PQclear(result);
        Broken("more results than statements");
      }
      front.awaiting_end = false;
      ++front.next;
      continue;
    }
    if (result == nullptr) Broken("read result");
    const ExecStatusType status = PQresultStatus(result);
    if (answer.kind == Answer::Kind::kSync) {
      PQclear(result);
      if (status != PGRES_PIPELINE_SYNC) Broken("read sync");
      // The server rolled back everything since the previous Sync if anything failed.
      if (absl::StartsWith(front.error_state, "08")) Broken(front.error_message);
      std::exception_ptr outcome;
      if (!front.error_state.empty()) {
        try {
          ThrowSqlError(front.error_state.c_str(), front.error_message);
        } catch (...) {
          outcome = std::current_exception();
        }
      }
      outcomes.push_back(outcome);
      pending_.pop_front();
      continue;
    }
    if (answer.kind == Answer::Kind::kPrepare && status != PGRES_COMMAND_OK) {
      prepared_.erase(answer.prepared_sql);  // failed, or skipped after an earlier failure
    }
    if (status == PGRES_FATAL_ERROR && front.error_state.empty()) {
      const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      front.error_state = state != nullptr ? state : "XX000";
      front.error_message = PQresultErrorMessage(result);
    } else if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
               status != PGRES_PIPELINE_ABORTED && status != PGRES_FATAL_ERROR) {
      PQclear(result);
      Broken(absl::StrCat("unexpected result status ", PQresStatus(status)));
    }
    PQclear(result);
    front.awaiting_end = true;
  }
  return outcomes;
}

}  // namespace internal
}  // namespace techtrade
