#include "common/rate_limit.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace techtrade {
namespace {

constexpr double kNanosPerSecond = 1e9;

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(why, ": use <calls per second>/<burst>, e.g. 50/100, or 0 for unlimited"));
}

}  // namespace

absl::StatusOr<RateLimit> ParseRateLimit(absl::string_view text) {
  if (text == "0") return RateLimit{};
  std::vector<absl::string_view> parts = absl::StrSplit(text, '/');
  if (parts.size() != 2) return Invalid(absl::StrCat("'", text, "' is not a rate limit"));
  RateLimit limit;
  if (!absl::SimpleAtod(parts[0], &limit.per_second) || !std::isfinite(limit.per_second) ||
      limit.per_second < 0) {
    return Invalid("the rate is not a number of at least 0");
  }
  if (!absl::SimpleAtod(parts[1], &limit.burst) || !std::isfinite(limit.burst)) {
    return Invalid("the burst is not a number");
  }
  if (limit.unlimited()) return RateLimit{};
  // Bounds that keep every wait an int64 of nanoseconds.
  if (limit.per_second < 0.001 || limit.per_second > 1e9) {
    return Invalid("the rate must be 0 or between 0.001 and 10^9");
  }
  if (limit.burst > 1e6) return Invalid("the burst must be at most 10^6");
  // A bucket that never holds a whole token would refuse every call.
  if (limit.burst < 1) return Invalid("the burst must be at least 1");
  return limit;
}

std::string FormatRateLimit(const RateLimit& limit) {
  if (limit.unlimited()) return "0";
  return absl::StrCat(limit.per_second, "/", limit.burst);
}

namespace {

// The time one token takes to come back, and the most the bucket may be ahead of now.
int64_t IntervalNanos(const RateLimit& limit) {
  return std::llround(kNanosPerSecond / limit.per_second);
}
int64_t ToleranceNanos(const RateLimit& limit) {
  return std::llround((limit.burst - 1) * kNanosPerSecond / limit.per_second);
}

}  // namespace

TokenBucket::TokenBucket(const RateLimit&, int64_t now_ns) : full_at_ns_(now_ns) {}

absl::Duration TokenBucket::Take(const RateLimit& limit, int64_t now_ns) {
  if (limit.unlimited()) return absl::ZeroDuration();
  const int64_t from = std::max(full_at_ns_, now_ns);
  const int64_t ahead = from - now_ns;
  const int64_t tolerance = ToleranceNanos(limit);
  if (ahead > tolerance) return absl::Nanoseconds(ahead - tolerance);
  full_at_ns_ = from + IntervalNanos(limit);
  return absl::ZeroDuration();
}

absl::Duration TokenBucket::Wait(const RateLimit& limit, int64_t now_ns) const {
  if (limit.unlimited()) return absl::ZeroDuration();
  const int64_t ahead = std::max(full_at_ns_, now_ns) - now_ns;
  const int64_t tolerance = ToleranceNanos(limit);
  return ahead > tolerance ? absl::Nanoseconds(ahead - tolerance) : absl::ZeroDuration();
}

void TokenBucket::Return(const RateLimit& limit, int64_t now_ns) {
  if (limit.unlimited()) return;
  full_at_ns_ = std::max(full_at_ns_ - IntervalNanos(limit), now_ns);
}

bool TokenBucket::Full(const RateLimit& limit, int64_t now_ns) const {
  return limit.unlimited() || full_at_ns_ <= now_ns;
}

absl::Status RateLimiter::Take(absl::string_view client_id, const RateLimit& limit,
                               absl::Duration* retry_after) {
  bool taken = false;
  return TakeFrom(client_id, limit, /*only_if_drawn=*/false, &taken, retry_after);
}

absl::Status RateLimiter::TakeIfDrawn(absl::string_view client_id, const RateLimit& limit,
                                      bool* taken, absl::Duration* retry_after) {
  return TakeFrom(client_id, limit, /*only_if_drawn=*/true, taken, retry_after);
}

absl::Status RateLimiter::TakeFrom(absl::string_view client_id, const RateLimit& limit,
                                   bool only_if_drawn, bool* taken, absl::Duration* retry_after) {
  *taken = false;
  if (retry_after != nullptr) *retry_after = absl::ZeroDuration();
  if (limit.unlimited()) return absl::OkStatus();
  const int64_t now = clock_.MonotonicNanos();
  absl::Duration wait;
  {
    std::lock_guard lock(mutex_);
    if (++calls_since_sweep_ >= sweep_every_) {
      calls_since_sweep_ = 0;
      absl::erase_if(buckets_, [&](const auto& entry) {
        return entry.second.bucket.Full(entry.second.limit, now);
      });
    }
    auto it = buckets_.find(client_id);
    if (only_if_drawn && (it == buckets_.end() || it->second.bucket.Full(limit, now))) {
      return absl::OkStatus();
    }
    if (it == buckets_.end()) {
      if (buckets_.size() >= max_buckets_) MakeRoom(now);
      it = buckets_.emplace(std::string(client_id), Entry{TokenBucket(limit, now), limit}).first;
    }
    it->second.limit = limit;
    wait = it->second.bucket.Take(limit, now);
    empty_.store(buckets_.empty(), std::memory_order_relaxed);
  }
  if (wait == absl::ZeroDuration()) {
    *taken = true;
    return absl::OkStatus();
  }
  if (retry_after != nullptr) *retry_after = wait;
  return absl::ResourceExhaustedError(absl::StrCat(
      "rate limit: this API client may make ", limit.per_second, " calls a second (bursts of ",
      limit.burst, ") on this replica; retry after ", RetryAfterMillis(wait), " ms"));
}

void RateLimiter::MakeRoom(int64_t now_ns) {
  calls_since_sweep_ = 0;
  absl::erase_if(buckets_, [&](const auto& entry) {
    return entry.second.bucket.Full(entry.second.limit, now_ns);
  });
  if (buckets_.size() < max_buckets_ || buckets_.empty()) return;
  // Forgetting is lenient (a dropped client gets a full bucket), never a refusal; dropping the
  // half nearest to full keeps the refusals that matter, and pays for this pass with as many
  // insertions before the next.
  std::vector<int64_t> full_at;
  full_at.reserve(buckets_.size());
  for (const auto& entry : buckets_) full_at.push_back(entry.second.bucket.full_at_ns());
  const size_t drop = buckets_.size() - max_buckets_ / 2;
  std::nth_element(full_at.begin(), full_at.begin() + (drop - 1), full_at.end());
  const int64_t last_dropped = full_at[drop - 1];
  absl::erase_if(buckets_, [&](const auto& entry) {
    return entry.second.bucket.full_at_ns() <= last_dropped;
  });
}

void RateLimiter::Return(absl::string_view client_id, const RateLimit& limit) {
  if (limit.unlimited()) return;
  const int64_t now = clock_.MonotonicNanos();
  std::lock_guard lock(mutex_);
  if (auto it = buckets_.find(client_id); it != buckets_.end()) {
    it->second.bucket.Return(limit, now);
  }
}

absl::Duration RateLimiter::Wait(absl::string_view client_id, const RateLimit& limit) const {
  if (limit.unlimited() || empty_.load(std::memory_order_relaxed)) return absl::ZeroDuration();
  const int64_t now = clock_.MonotonicNanos();
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(client_id);
  return it == buckets_.end() ? absl::ZeroDuration() : it->second.bucket.Wait(limit, now);
}

int64_t RetryAfterMillis(absl::Duration wait) {
  return absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1)));
}

size_t RateLimiter::buckets() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

std::string PeerHost(absl::string_view peer) {
  if (absl::ConsumePrefix(&peer, "ipv4:")) return std::string(peer.substr(0, peer.rfind(':')));
  if (absl::ConsumePrefix(&peer, "ipv6:")) {
    // Bracketed, the brackets percent-encoded as in a URI by gRPC's peer().
    for (auto [open, close] :
         {std::pair{"[", "]"}, std::pair{"%5B", "%5D"}, std::pair{"%5b", "%5d"}}) {
      if (absl::ConsumePrefix(&peer, open)) return std::string(peer.substr(0, peer.find(close)));
    }
  }
  // Anything else (a Unix socket, an in-process call) has no port to drop.
  return std::string(peer);
}

std::string PeerBudget(absl::string_view peer_host) {
  if (!absl::StrContains(peer_host, ':')) return std::string(peer_host);
  // A zone ("fe80::1%eth0") names the interface, not the client.
  const std::string address(peer_host.substr(0, peer_host.find('%')));
  in6_addr a;
  if (inet_pton(AF_INET6, address.c_str(), &a) != 1) return std::string(peer_host);
  char text[INET6_ADDRSTRLEN];
  if (IN6_IS_ADDR_V4MAPPED(&a)) {
    // An IPv4 client of a dual-stack port: its own address, as on an IPv4 port.
    if (inet_ntop(AF_INET, &a.s6_addr[12], text, sizeof text) == nullptr) {
      return std::string(peer_host);
    }
    return text;
  }
  std::fill(a.s6_addr + 8, a.s6_addr + 16, 0);
  if (inet_ntop(AF_INET6, &a, text, sizeof text) == nullptr) return std::string(peer_host);
  return absl::StrCat(text, "/64");
}

namespace {

std::string PeerBucket(absl::string_view peer_host) {
  return absl::StrCat("peer:", PeerBudget(peer_host));
}

}  // namespace

absl::Status FailedAuthLimiter::Refusal(absl::Duration wait) const {
  return absl::ResourceExhaustedError(
      absl::StrCat("rate limit: too many failed authentications from this address (",
                   limit_.per_second, " a second, bursts of ", limit_.burst,
                   ") on this replica; retry after ", RetryAfterMillis(wait), " ms"));
}

absl::Status FailedAuthLimiter::Check(absl::string_view peer_host,
                                      absl::Duration* retry_after) const {
  if (retry_after != nullptr) *retry_after = absl::ZeroDuration();
  if (limit_.unlimited()) return absl::OkStatus();
  const absl::Duration wait = limiter_.Wait(PeerBucket(peer_host), limit_);
  if (wait == absl::ZeroDuration()) return absl::OkStatus();
  if (retry_after != nullptr) *retry_after = wait;
  return Refusal(wait);
}

absl::StatusOr<bool> FailedAuthLimiter::Reserve(absl::string_view peer_host,
                                                absl::Duration* retry_after) {
  if (retry_after != nullptr) *retry_after = absl::ZeroDuration();
  if (limit_.unlimited()) return false;
  absl::Duration wait;
  bool taken = false;
  if (limiter_.TakeIfDrawn(PeerBucket(peer_host), limit_, &taken, &wait).ok()) return taken;
  if (retry_after != nullptr) *retry_after = wait;
  return Refusal(wait);
}

void FailedAuthLimiter::Return(absl::string_view peer_host) {
  if (limit_.unlimited()) return;
  limiter_.Return(PeerBucket(peer_host), limit_);
}

void FailedAuthLimiter::RecordFailure(absl::string_view peer_host) {
  if (limit_.unlimited()) return;
  // A failure past a spent budget takes nothing (RateLimiter::Take refuses it).
  limiter_.Take(PeerBucket(peer_host), limit_).IgnoreError();
}

}  // namespace techtrade
