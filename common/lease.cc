#include "common/lease.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"

namespace techtrade {
namespace {

absl::Time MonotonicNow() { return absl::FromUnixNanos(Clock::Real().MonotonicNanos()); }

// Each lease object holds as itself: two relays of one service in one process (tests, a
// misconfiguration) must not both lead.
std::string NewHolder() {
  static std::atomic<int> next{0};
  return absl::StrCat(LeaseHolderId(), "/", next.fetch_add(1));
}

enum class Answer { kGranted, kRefused, kFailed };

}  // namespace

LeaseTerm::LeaseTerm(absl::Duration ttl) : ttl_(ttl) {}

void LeaseTerm::Granted(absl::Time asked_at) {
  valid_until_ = asked_at + ttl_ - safety_margin();
  next_ask_ = asked_at + renew_interval();
}

void LeaseTerm::Failed(absl::Time now) { next_ask_ = now + retry_interval(); }

void LeaseTerm::Dropped() { valid_until_ = absl::InfinitePast(); }

const std::string& LeaseHolderId() {
  static const std::string* id = [] {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    return new std::string(absl::StrCat(host, ":", getpid(), ":", RandomHex(4)));
  }();
  return *id;
}

LeaderLease::LeaderLease(LeaseOptions options)
    : options_(std::move(options)),
      row_name_(absl::StrCat(options_.job, ":", options_.service)),
      holder_(options_.holder.empty() ? NewHolder() : options_.holder),
      term_(options_.ttl) {}

bool LeaderLease::Held() const { return term_.Held(MonotonicNow()); }

bool LeaderLease::KeepAlive(pqxx::connection& conn) {
  const absl::Time asked_at = MonotonicNow();
  if (term_.AskDue(asked_at)) {
    const bool was_held = term_.Held(asked_at);
    // A renewal must not outlast the term it renews: past its end the answer comes too late.
    const absl::Duration timeout =
        was_held ? std::min(term_.valid_until() - asked_at, term_.renew_interval())
                 : term_.renew_interval();
    std::string failure;
    Answer answer = Answer::kFailed;
    try {
      answer = Ask(conn, timeout) ? Answer::kGranted : Answer::kRefused;
    } catch (const std::exception& e) {
      failure = e.what();
    }
    switch (answer) {
      case Answer::kGranted:
        term_.Granted(asked_at);
        if (!was_held) log::Info("lease acquired", {{"lease", row_name_}, {"holder", holder_}});
        break;
      case Answer::kRefused:
        if (was_held) log::Warn("lease taken by another holder", {{"lease", row_name_}});
        term_.Failed(asked_at);
        term_.Dropped();
        break;
      case Answer::kFailed:
        log::Warn("lease: cannot ask the database", {{"lease", row_name_}, {"error", failure}});
        term_.Failed(asked_at);
        break;
    }
  }
  const bool held = term_.Held(MonotonicNow());
  if (!held && reported_held_) {
    log::Warn("lease: not held any more; this replica stops its work", {{"lease", row_name_}});
  }
  reported_held_ = held;
  return held;
}

bool LeaderLease::Ask(pqxx::connection& conn, absl::Duration timeout) {
  pqxx::work tx(conn);
  // A statement blocked on the row (or a slow server) gives up in time; the connection may have
  // turned durability off for its own writes, and a lease the server forgets in a crash could be
  // granted twice.
  tx.exec(absl::StrCat("SET LOCAL statement_timeout = ",
                       std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout))));
  tx.exec("SET LOCAL synchronous_commit = on");
  pqxx::result r = tx.exec_params(
      "INSERT INTO leases (name, holder, expires_at) "
      "VALUES ($1, $2, now() + make_interval(secs => $3)) "
      "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at "
      "WHERE leases.expires_at < now() OR leases.holder = EXCLUDED.holder "
      "RETURNING holder",
      row_name_, holder_, absl::ToDoubleSeconds(term_.ttl()));
  tx.commit();
  return !r.empty();
}

void LeaderLease::Release(pqxx::connection& conn) {
  const bool held = Held();
  term_.Dropped();
  reported_held_ = false;
  if (!held) return;
  try {
    pqxx::work tx(conn);
    tx.exec("SET LOCAL statement_timeout = 2000");
    tx.exec_params("DELETE FROM leases WHERE name = $1 AND holder = $2", row_name_, holder_);
    tx.commit();
    log::Info("lease released", {{"lease", row_name_}});
  } catch (const std::exception& e) {
    // The row expires on its own: the next holder waits out the TTL.
    log::Warn("lease: cannot release", {{"lease", row_name_}, {"error", e.what()}});
  }
}

}  // namespace techtrade
