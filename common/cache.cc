#include "common/cache.h"

#include <sys/time.h>

#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/status.h"

namespace techtrade {
namespace {

constexpr size_t kMaxPendingInvalidations = 100000;
// Near copies are for a hot few; past this many the map starts afresh (crude, bounded, rare).
constexpr size_t kMaxLocalCopies = 10000;

}  // namespace

absl::StatusOr<RedisOptions> ParseRedisUrl(absl::string_view url) {
  constexpr absl::string_view kScheme = "redis://";
  if (!absl::StartsWith(url, kScheme)) return FieldError("redis_url", "must start with redis://");
  absl::string_view rest = url.substr(kScheme.size());
  if (size_t slash = rest.find('/'); slash != absl::string_view::npos) rest = rest.substr(0, slash);
  RedisOptions options;
  // redis://user:password@host:port (the password may not hold '@' or ':').
  if (size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    std::vector<absl::string_view> credentials =
        absl::StrSplit(rest.substr(0, at), absl::MaxSplits(':', 1));
    if (credentials.size() != 2 || credentials[0].empty() || credentials[1].empty()) {
      return FieldError("redis_url", "credentials must be user:password@");
    }
    options.user = std::string(credentials[0]);
    options.password = std::string(credentials[1]);
    rest = rest.substr(at + 1);
  }
  std::vector<absl::string_view> parts = absl::StrSplit(rest, absl::MaxSplits(':', 1));
  if (parts[0].empty()) return FieldError("redis_url", "missing host");
  options.host = std::string(parts[0]);
  if (parts.size() == 2 && !absl::SimpleAtoi(parts[1], &options.port)) {
    return FieldError("redis_url", absl::StrCat("bad port '", parts[1], "'"));
  }
  return options;
}

Cache::Cache(RedisOptions options) : options_(std::move(options)) {}

void Cache::ExportMetrics(prometheus::Registry& registry, const std::string& service) {
  auto& family = prometheus::BuildCounter()
                     .Name("techtrade_cache_requests_total")
                     .Help(
                         "Cache look-ups by result (local_hit: the near copy in the process); "
                         "an error is also a miss")
                     .Labels({{"service", service}})
                     .Register(registry);
  hit_counter_ = &family.Add({{"result", "hit"}});
  local_hit_counter_ = &family.Add({{"result", "local_hit"}});
  miss_counter_ = &family.Add({{"result", "miss"}});
  error_counter_ = &family.Add({{"result", "error"}});
}

Cache::~Cache() {
  for (redisContext* c : idle_) redisFree(c);
}

bool Cache::InCooldown() {
  return options_.clock->MonotonicNanos() < down_until_ns_.load(std::memory_order_relaxed);
}

redisContext* Cache::Borrow() {
  {
    std::unique_lock lock(mutex_);
    if (!returned_.wait_for(lock, absl::ToChronoNanoseconds(options_.command_timeout),
                            [&] { return !idle_.empty() || open_ < options_.pool_size; })) {
      return nullptr;  // none came back in time: Redis is stuck, and this a miss
    }
    if (!idle_.empty()) {
      redisContext* c = idle_.back();
      idle_.pop_back();
      return c;
    }
    ++open_;
  }
  timeval connect_timeout = absl::ToTimeval(options_.connect_timeout);
  redisContext* c = redisConnectWithTimeout(options_.host.c_str(), options_.port, connect_timeout);
  if (c == nullptr || c->err != 0) {
    if (c != nullptr) redisFree(c);
    Return(nullptr, false);
    return nullptr;
  }
  redisSetTimeout(c, absl::ToTimeval(options_.command_timeout));
  if (!options_.user.empty()) {
    auto* reply = static_cast<redisReply*>(
        redisCommand(c, "AUTH %s %s", options_.user.c_str(), options_.password.c_str()));
    const bool accepted = reply != nullptr && c->err == 0 && reply->type == REDIS_REPLY_STATUS;
    if (reply != nullptr) freeReplyObject(reply);
    if (!accepted) {
      redisFree(c);
      Return(nullptr, false);
      return nullptr;
    }
  }
  return c;
}

void Cache::Return(redisContext* context, bool healthy) {
  if (!healthy) {
    down_until_ns_ = options_.clock->MonotonicNanos() + absl::ToInt64Nanoseconds(options_.cooldown);
    ++errors_;
    if (error_counter_ != nullptr) error_counter_->Increment();
  }
  {
    std::lock_guard lock(mutex_);
    if (context != nullptr && healthy) {
      idle_.push_back(context);
    } else {
      if (context != nullptr) redisFree(context);
      --open_;
    }
  }
  returned_.notify_one();
}

redisReply* Cache::Command(const std::vector<absl::string_view>& args) {
  if (options_.host.empty()) return nullptr;
  if (InCooldown()) return nullptr;
  redisContext* c = Borrow();
  if (c == nullptr) return nullptr;
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (absl::string_view a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lengths.data()));
  bool healthy = reply != nullptr && c->err == 0 && reply->type != REDIS_REPLY_ERROR;
  if (!healthy && reply != nullptr) {
    freeReplyObject(reply);
    reply = nullptr;
  }
  Return(c, healthy);
  return reply;
}

bool Cache::FlushPendingInvalidations(bool wait) {
  {
    std::lock_guard lock(mutex_);
    if (pending_invalidations_.empty()) return true;
  }
  std::unique_lock flush(flush_mutex_, std::defer_lock);
  if (wait) {
    flush.lock();
  } else if (!flush.try_lock()) {
    return false;  // another thread is writing them; reads of their keys miss meanwhile
  }
  for (;;) {
    if (InCooldown()) {  // rather than copy every pending entry for each read in an outage
      std::lock_guard lock(mutex_);
      deferred_ = true;
      return false;
    }
    std::vector<std::pair<std::string, Pending>> batch;
    {
      std::lock_guard lock(mutex_);
      if (pending_invalidations_.empty()) return true;
      batch.assign(pending_invalidations_.begin(), pending_invalidations_.end());
    }
    if (options_.before_deferred_writes) options_.before_deferred_writes();
    std::vector<absl::string_view> deletions = {"DEL"};
    for (const auto& [key, pending] : batch) {
      if (!pending.value.has_value()) deletions.push_back(key);
    }
    bool deleted = deletions.size() == 1;
    if (!deleted) {
      if (redisReply* reply = Command(deletions)) {
        freeReplyObject(reply);
        deleted = true;
      }
    }
    // Entries written; a failed command stops the rest (Redis is then in its cool-down).
    std::vector<const std::pair<std::string, Pending>*> written;
    bool failed = !deleted;
    for (const auto& entry : batch) {
      const Pending& pending = entry.second;
      if (!pending.value.has_value()) {
        if (deleted) written.push_back(&entry);
        continue;
      }
      if (failed) continue;
      const std::string ttl_ms = absl::StrCat(absl::ToInt64Milliseconds(pending.ttl));
      redisReply* reply = Command({"SET", entry.first, *pending.value, "PX", ttl_ms});
      if (reply == nullptr) {
        failed = true;
        continue;
      }
      freeReplyObject(reply);
      written.push_back(&entry);
    }
    std::lock_guard lock(mutex_);
    for (const auto* entry : written) {
      // A newer invalidation of the key, deferred meanwhile, stays for the next round.
      auto it = pending_invalidations_.find(entry->first);
      if (it != pending_invalidations_.end() && it->second.sequence == entry->second.sequence) {
        pending_invalidations_.erase(it);
      }
    }
    if (failed) {
      deferred_ = true;
      return false;
    }
    if (deferred_) {
      log::Info("cache: deferred invalidations applied", {{"keys", batch.size()}});
      deferred_ = false;
    }
  }
}

bool Cache::IsPending(const std::string& key) {
  std::lock_guard lock(mutex_);
  return pending_invalidations_.contains(key);
}

namespace {

// What this thread's last Prefetch read: key → value (nullopt: not in Redis).
struct Prefetched {
  const Cache* cache = nullptr;
  uint64_t generation = 0;  // the cache's invalidation generation when read
  std::unordered_map<std::string, std::optional<std::string>> values;
};
thread_local Prefetched prefetched;

}  // namespace

void Cache::Prefetch(const std::vector<std::string>& keys) {
  prefetched.values.clear();
  prefetched.cache = this;
  prefetched.generation = local_generation_.load();
  if (keys.empty() || !FlushPendingInvalidations(/*wait=*/false)) return;
  std::vector<absl::string_view> args = {"MGET"};
  for (const std::string& key : keys) args.push_back(key);
  redisReply* reply = Command(args);
  if (reply == nullptr) return;
  if (reply->type == REDIS_REPLY_ARRAY && reply->elements == keys.size()) {
    for (size_t i = 0; i < keys.size(); ++i) {
      const redisReply* value = reply->element[i];
      prefetched.values[keys[i]] =
          value->type == REDIS_REPLY_STRING
              ? std::optional<std::string>(std::string(value->str, value->len))
              : std::nullopt;
    }
  }
  freeReplyObject(reply);
}

std::optional<std::string> Cache::Get(const std::string& key) {
  if (prefetched.cache == this && !prefetched.values.empty()) {
    if (prefetched.generation != local_generation_.load()) {
      prefetched.values.clear();  // an invalidation since: read afresh
    } else if (auto it = prefetched.values.find(key); it != prefetched.values.end()) {
      std::optional<std::string> value = std::move(it->second);
      prefetched.values.erase(it);
      if (auto* counter = value.has_value() ? hit_counter_ : miss_counter_) counter->Increment();
      return value;
    }
  }
  // A key awaiting invalidation is a miss until the invalidation is written, even while another
  // thread writes it: Redis may still hold the record it replaces.
  if (!FlushPendingInvalidations(/*wait=*/false) && IsPending(key)) {
    if (miss_counter_ != nullptr) miss_counter_->Increment();
    return std::nullopt;
  }
  redisReply* reply = Command({"GET", key});
  if (reply == nullptr || reply->type != REDIS_REPLY_STRING) {
    if (reply != nullptr) freeReplyObject(reply);
    if (miss_counter_ != nullptr) miss_counter_->Increment();
    return std::nullopt;
  }
  std::string value(reply->str, reply->len);
  freeReplyObject(reply);
  if (hit_counter_ != nullptr) hit_counter_->Increment();
  return value;
}

void Cache::Set(const std::string& key, absl::string_view value, absl::Duration ttl) {
  Write(key, value, ttl, /*if_absent=*/false);
}

void Cache::SetIfAbsent(const std::string& key, absl::string_view value, absl::Duration ttl) {
  Write(key, value, ttl, /*if_absent=*/true);
}

void Cache::Write(const std::string& key, absl::string_view value, absl::Duration ttl,
                  bool if_absent) {
  {
    // A key awaiting invalidation must not be refilled with what may be a stale read.
    std::lock_guard lock(mutex_);
    if (pending_invalidations_.contains(key)) return;
  }
  std::string ttl_ms = absl::StrCat(absl::ToInt64Milliseconds(ttl));
  std::vector<absl::string_view> args = {"SET", key, value, "PX", ttl_ms};
  if (if_absent) args.push_back("NX");
  if (redisReply* reply = Command(args)) freeReplyObject(reply);
}

std::optional<std::string> Cache::LocalGet(const std::string& key) {
  std::lock_guard lock(local_mutex_);
  auto it = local_.find(key);
  if (it == local_.end()) return std::nullopt;
  if (it->second.expires_ns <= options_.clock->MonotonicNanos()) {
    local_.erase(it);
    return std::nullopt;
  }
  if (local_hit_counter_ != nullptr) local_hit_counter_->Increment();
  return it->second.value;
}

void Cache::LocalPut(const std::string& key, std::string value, uint64_t generation) {
  std::lock_guard lock(local_mutex_);
  if (local_generation_.load() != generation) return;
  if (local_.size() >= kMaxLocalCopies) local_.clear();
  local_[key] = LocalCopy{std::move(value), options_.clock->MonotonicNanos() +
                                                absl::ToInt64Nanoseconds(options_.near_copy_ttl)};
}

void Cache::Invalidate(const std::string& key) {
  InvalidateWith(key, std::nullopt, absl::ZeroDuration());
}

void Cache::Replace(const std::string& key, absl::string_view value, absl::Duration ttl) {
  InvalidateWith(key, std::string(value), ttl);
}

void Cache::MarkChanged(const std::string& key) { Replace(key, kReloadMarker, kOwnerMarkTtl); }

void Cache::InvalidateWith(const std::string& key, std::optional<std::string> replacement,
                           absl::Duration ttl) {
  {
    std::lock_guard lock(local_mutex_);
    local_.erase(key);
    ++local_generation_;
  }
  if (options_.host.empty()) return;  // nothing to keep in step
  bool tracked = false;
  {
    // Through the pending map even when Redis answers: it orders this write after any older
    // invalidation of the key still being written, and reads miss until it is written.
    std::lock_guard lock(mutex_);
    if (pending_invalidations_.size() < kMaxPendingInvalidations ||
        pending_invalidations_.contains(key)) {
      pending_invalidations_[key] = Pending{replacement, ttl, ++pending_sequence_};
      tracked = true;
    }
  }
  if (tracked) {
    FlushPendingInvalidations(/*wait=*/true);
    return;
  }
  redisReply* reply = nullptr;
  if (replacement.has_value()) {
    const std::string ttl_ms = absl::StrCat(absl::ToInt64Milliseconds(ttl));
    reply = Command({"SET", key, *replacement, "PX", ttl_ms});
  } else {
    reply = Command({"DEL", key});
  }
  if (reply != nullptr) {
    freeReplyObject(reply);
  } else {
    log::Error("cache: too many deferred invalidations; relying on TTL", {{"key", key}});
  }
}

}  // namespace techtrade
