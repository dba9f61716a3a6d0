// Per-client rate limits: a token bucket per API client, pure (time comes from a Clock), so that
// every rule is tested by moving a fake clock. A bucket holds at most `burst` tokens, refills at
// `per_second` tokens a second, and a call takes one. The limiter is per process: with N replicas
// behind a balancer a client may make up to N times the rate.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace techtrade {

struct RateLimit {
  double per_second = 0;  // 0: unlimited
  double burst = 0;       // the most calls at once after a pause; at least 1 when limited
  bool unlimited() const { return per_second <= 0; }
};

// "<calls per second>/<burst>" (e.g. "50/100", "0.5/2"), or "0" for unlimited. INVALID_ARGUMENT
// saying what is wrong otherwise (a burst below 1, a negative or non-finite number).
absl::StatusOr<RateLimit> ParseRateLimit(absl::string_view text);
// The inverse, for messages and docs: "50/100", "0".
std::string FormatRateLimit(const RateLimit& limit);

// A wait in whole milliseconds, rounded up: a client retrying after it is served.
int64_t RetryAfterMillis(absl::Duration wait);

// One client's bucket, kept as the time it will next be full (the generic cell rate algorithm, a
// token bucket in integer nanoseconds): each call moves that time on by 1/rate, and a call is
// refused when it would move it further than (burst - 1)/rate ahead of now.
class TokenBucket {
 public:
  // A bucket is full when it is made: a client's first calls are never refused.
  TokenBucket(const RateLimit& limit, int64_t now_ns);
  // Takes a token: zero when the call may go ahead, else how long until a token is there (a
  // refused call takes nothing).
  absl::Duration Take(const RateLimit& limit, int64_t now_ns);
  // How long until Take would succeed, taking nothing.
  absl::Duration Wait(const RateLimit& limit, int64_t now_ns) const;
  // Gives back a token taken by Take, never filling the bucket past full.
  void Return(const RateLimit& limit, int64_t now_ns);
  // Whether the bucket has been left alone long enough to be full again: then it says nothing a
  // new bucket would not, and can be dropped.
  bool Full(const RateLimit& limit, int64_t now_ns) const;
  // When the bucket will be full: the earlier, the less a bucket knows that a new one would not.
  int64_t full_at_ns() const { return full_at_ns_; }

 private:
  int64_t full_at_ns_;
};

// Buckets by client id, with a bounded number of them: buckets that are full again are dropped
// every `sweep_every` calls, and if that is not enough the half of the buckets nearest to full is
// dropped (those clients start with a full bucket again), so memory never grows with the number
// of clients seen and the clients furthest over their limit stay refused.
class RateLimiter {
 public:
  explicit RateLimiter(const Clock& clock = Clock::Real(), size_t max_buckets = 100000,
                       int sweep_every = 4096)
      : clock_(clock), max_buckets_(max_buckets), sweep_every_(sweep_every) {}

  // OK when `client_id` may make a call under `limit` now, else RESOURCE_EXHAUSTED naming the
  // limit and when to retry; `retry_after` (if given) is set to that wait, zero when allowed.
  absl::Status Take(absl::string_view client_id, const RateLimit& limit,
                    absl::Duration* retry_after = nullptr);
  // How long until `client_id` could take a call under `limit`, taking nothing; zero for a client
  // without a bucket (its bucket would be full), without taking the lock while there is none.
  absl::Duration Wait(absl::string_view client_id, const RateLimit& limit) const;
  // As Take, but only from a bucket that has been drawn on: a client whose bucket is full (or
  // who has none) takes nothing, and `*taken` says whether a token was taken.
  absl::Status TakeIfDrawn(absl::string_view client_id, const RateLimit& limit, bool* taken,
                           absl::Duration* retry_after = nullptr);
  // Gives back the token a Take of `client_id` took (nothing when its bucket has been dropped).
  void Return(absl::string_view client_id, const RateLimit& limit);
  size_t buckets() const;

 private:
  const Clock& clock_;
  const size_t max_buckets_;
  const int sweep_every_;
  absl::Status TakeFrom(absl::string_view client_id, const RateLimit& limit, bool only_if_drawn,
                        bool* taken, absl::Duration* retry_after);
  // Makes room for a new bucket; with the lock held.
  void MakeRoom(int64_t now_ns);

  mutable std::mutex mutex_;
  // The limit each bucket was last taken under, so that a sweep knows when it is full.
  struct Entry {
    TokenBucket bucket;
    RateLimit limit;
  };
  absl::flat_hash_map<std::string, Entry> buckets_;  // guarded by mutex_
  int calls_since_sweep_ = 0;                        // guarded by mutex_
  std::atomic<bool> empty_{true};                    // buckets_.empty(), read without the lock
};

// The host of a gRPC peer ("ipv4:10.0.0.7:52344" -> "10.0.0.7", "ipv6:[::1]:52344" -> "::1"): a
// client's port changes with every connection, its address does not.
std::string PeerHost(absl::string_view peer);

// The budget of failed authentications a peer host draws on: an IPv6 address's /64
// ("2001:db8::/64"), since one client is given a whole /64 to rotate through; an IPv4 address
// (IPv4-mapped IPv6 included) or anything else as it is.
std::string PeerBudget(absl::string_view peer_host);

// Failed authentications, held to a budget per peer address (PeerBudget), so that a caller cannot
// have the server look keys up as fast as it answers. A look-up reserves a token first and gives
// it back when the key authenticates, so only failures spend a budget, and calls in flight at once
// cannot share one token; once a budget is spent, calls from that address are refused before their
// key is looked up, until it refills. Not per key id: a secret of 256 bits cannot be guessed
// anyway, and a budget per key id would let anyone who learnt a client's key id (events name it)
// lock that client out.
class FailedAuthLimiter {
 public:
  explicit FailedAuthLimiter(const RateLimit& limit, const Clock& clock = Clock::Real(),
                             size_t max_budgets = 100000)
      : limit_(limit), limiter_(clock, max_budgets) {}
  // OK, or RESOURCE_EXHAUSTED saying when to retry (`retry_after` set to that wait) when the peer
  // has no failure left; takes nothing.
  absl::Status Check(absl::string_view peer_host, absl::Duration* retry_after = nullptr) const;
  // Before a look-up: true when a token was taken from the peer's budget, false when the peer has
  // not failed lately (its budget is full) and nothing was taken, or RESOURCE_EXHAUSTED as Check.
  // An address that has not failed makes its first look-ups at once, however many: a client's
  // first calls on a cold replica are never refused, and a guesser gets one look-up's time before
  // its first failure makes every later look-up reserve.
  absl::StatusOr<bool> Reserve(absl::string_view peer_host, absl::Duration* retry_after = nullptr);
  // After a reserved look-up that did not fail for the key (it authenticated, or the registry was
  // unreachable): gives the token back.
  void Return(absl::string_view peer_host);
  // A failed authentication from `peer_host` that reserved nothing.
  void RecordFailure(absl::string_view peer_host);

 private:
  absl::Status Refusal(absl::Duration wait) const;
  const RateLimit limit_;
  RateLimiter limiter_;
};

}  // namespace techtrade
