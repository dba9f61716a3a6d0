#include "common/rate_limit.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

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

bool TokenBucket::Full(const RateLimit& limit, int64_t now_ns) const {
  return limit.unlimited() || full_at_ns_ <= now_ns;
}

absl::Status RateLimiter::Take(absl::string_view client_id, const RateLimit& limit,
                               absl::Duration* retry_after) {
  if (retry_after != nullptr) *retry_after = absl::ZeroDuration();
  if (limit.unlimited()) return absl::OkStatus();
  const int64_t now = clock_.MonotonicNanos();
  absl::Duration wait;
  {
    std::lock_guard lock(mutex_);
    if (++calls_since_sweep_ >= sweep_every_ || buckets_.size() >= max_buckets_) {
      calls_since_sweep_ = 0;
      absl::erase_if(buckets_, [&](const auto& entry) {
        return entry.second.bucket.Full(entry.second.limit, now);
      });
      // Still at the bound: forgetting is lenient (full buckets), never a refusal.
      if (buckets_.size() >= max_buckets_) buckets_.clear();
    }
    auto it = buckets_.find(client_id);
    if (it == buckets_.end()) {
      it = buckets_.emplace(std::string(client_id), Entry{TokenBucket(limit, now), limit}).first;
    }
    it->second.limit = limit;
    wait = it->second.bucket.Take(limit, now);
    empty_.store(buckets_.empty(), std::memory_order_relaxed);
  }
  if (wait == absl::ZeroDuration()) return absl::OkStatus();
  if (retry_after != nullptr) *retry_after = wait;
  return absl::ResourceExhaustedError(absl::StrCat(
      "rate limit: this API client may make ", limit.per_second, " calls a second (bursts of ",
      limit.burst, ") on this replica; retry after ", RetryAfterMillis(wait), " ms"));
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

namespace {

std::string PeerBucket(absl::string_view peer_host) { return absl::StrCat("peer:", peer_host); }

}  // namespace

absl::Status FailedAuthLimiter::Check(absl::string_view peer_host,
                                      absl::Duration* retry_after) const {
  if (retry_after != nullptr) *retry_after = absl::ZeroDuration();
  if (limit_.unlimited()) return absl::OkStatus();
  const absl::Duration wait = limiter_.Wait(PeerBucket(peer_host), limit_);
  if (wait == absl::ZeroDuration()) return absl::OkStatus();
  if (retry_after != nullptr) *retry_after = wait;
  return absl::ResourceExhaustedError(
      absl::StrCat("rate limit: too many failed authentications from this address (",
                   limit_.per_second, " a second, bursts of ", limit_.burst,
                   ") on this replica; retry after ", RetryAfterMillis(wait), " ms"));
}

void FailedAuthLimiter::RecordFailure(absl::string_view peer_host) {
  if (limit_.unlimited()) return;
  // A failure past a spent budget takes nothing (RateLimiter::Take refuses it).
  limiter_.Take(PeerBucket(peer_host), limit_).IgnoreError();
}

}  // namespace techtrade
