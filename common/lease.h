// Leadership by a lease row (table `leases`, common/migrations/0013_leases.sql): one replica at a
// time does a job (the outbox relay, the retention sweeper) while its row names it and has not
// expired. One statement grants or renews it; it lasts a TTL, is renewed every TTL/3 and deleted
// on a clean stop. Unlike a session-level advisory lock it needs no session of its own, so it
// works through PgBouncer in transaction mode.
//
// Fencing: the holder counts its lease from before it asked (its own monotonic clock), minus a
// margin, so it believes it leads only while the server surely still records it. A holder that
// cannot renew in time stops at once, before another replica can be granted the lease.
#pragma once

#include <pqxx/pqxx>
#include <string>

#include "absl/time/time.h"

namespace techtrade {

// What a holder knows of its lease, in its own monotonic time: pure, so that the timing rules are
// tested without a database.
class LeaseTerm {
 public:
  explicit LeaseTerm(absl::Duration ttl);

  absl::Duration ttl() const { return ttl_; }
  // A granted lease is renewed this often: two renewals may fail before it runs out.
  absl::Duration renew_interval() const { return ttl_ / 3; }
  // How much sooner than the server the holder gives up: covers the rates of the two clocks and
  // the last batch's wait for acknowledgements.
  absl::Duration safety_margin() const { return ttl_ / 5; }
  // After a failed or refused attempt, the next comes this much later.
  absl::Duration retry_interval() const { return ttl_ / 12; }

  // The statement that granted (or renewed) the lease was sent at `asked_at`. The server set the
  // expiry from its own now(), which is no earlier, so counting from `asked_at` errs short.
  void Granted(absl::Time asked_at);
  // Asking failed or was refused at `now`: the term stands until its end (a refusal by another
  // holder ends it: Dropped), and the next attempt comes sooner than a regular renewal.
  void Failed(absl::Time now);
  // Released, or taken by another holder.
  void Dropped();

  bool Held(absl::Time now) const { return now < valid_until_; }
  // Whether to send the statement now: a held lease at its renewal time, an unheld one at its
  // next attempt.
  bool AskDue(absl::Time now) const { return now >= next_ask_; }
  absl::Time valid_until() const { return valid_until_; }

 private:
  const absl::Duration ttl_;
  absl::Time valid_until_ = absl::InfinitePast();
  absl::Time next_ask_ = absl::InfinitePast();
};

// This process's identity as a lease holder: host name, pid and a random part (a pid is reused
// across restarts and containers).
const std::string& LeaseHolderId();

struct LeaseOptions {
  // The row's name is "<job>:<service>", e.g. "outbox_relay:registry".
  std::string service;
  std::string job;  // "outbox_relay", "maintenance"
  absl::Duration ttl = absl::Seconds(15);
  // Holder id; empty: LeaseHolderId() and a number of this lease object in the process.
  std::string holder;
};

// A lease used by one thread, on the connection that thread already has.
class LeaderLease {
 public:
  // (Its user reports leadership: the relay as techtrade_outbox_relay_leader.)
  explicit LeaderLease(LeaseOptions options);

  // Acquires or renews the lease when due (on `conn`; a failed statement is logged and counts as
  // a failed attempt), and says whether this holder leads now. Call it before each piece of
  // leader-only work: it is the fence.
  bool KeepAlive(pqxx::connection& conn);
  // Whether the lease still holds by this holder's clock, without asking the server.
  bool Held() const;
  // Gives the lease up (deletes the row if it is still this holder's); errors are logged.
  void Release(pqxx::connection& conn);

  // How long to wait before asking again for a lease not held.
  absl::Duration retry_interval() const { return term_.retry_interval(); }
  const std::string& row_name() const { return row_name_; }
  const std::string& holder() const { return holder_; }

 private:
  // Sends the grant-or-renew statement; true if this holder has the lease.
  bool Ask(pqxx::connection& conn, absl::Duration timeout);

  const LeaseOptions options_;
  const std::string row_name_;
  const std::string holder_;
  LeaseTerm term_;
  bool reported_held_ = false;  // what the last KeepAlive said
};

}  // namespace techtrade
