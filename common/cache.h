// The one cache: cache-aside over Redis with a TTL as safety net. Redis is never a source of
// truth: every Redis error or timeout is a miss, so a Redis outage costs latency, not correctness.
// A read may opt into a near copy in this process for a short time (RedisOptions::near_copy_ttl),
// for the hottest reads of a record's owner: a Redis round trip costs a cached read more than the
// rest of the call. This process's invalidations reach the near copies at once; another
// replica's within near_copy_ttl.
#pragma once

#include <hiredis/hiredis.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace techtrade {

struct RedisOptions {
  // Empty: no Redis at all, every read a miss (the process-local near copies still work), for
  // handler tests that run no process.
  std::string host = "127.0.0.1";
  int port = 6379;
  // Redis 6 ACL credentials, sent with AUTH on every new connection; no user: none sent.
  std::string user;
  std::string password;
  // Connections at most, opened as needed. A command finding them all in use waits for one
  // (up to command_timeout) rather than miss: a miss costs its caller a call to the record's
  // owner, a Redis command's wait a fraction of a millisecond.
  int pool_size = 8;
  absl::Duration connect_timeout = absl::Milliseconds(100);
  absl::Duration command_timeout = absl::Milliseconds(50);
  // After a failure Redis is skipped for this long, so an outage does not add a timeout to
  // every call.
  absl::Duration cooldown = absl::Seconds(1);
  // How long a near copy (GetOrLoad with near_copy) lives in the process; zero turns them off.
  // It bounds how long another replica's change takes to reach this process's near reads.
  absl::Duration near_copy_ttl = absl::ZeroDuration();
  // What the cool-down and the near copies' lifetimes are measured with; must outlive the cache.
  const Clock* clock = &Clock::Real();
  // Tests only: runs while deferred invalidations are being written, before the writes.
  std::function<void()> before_deferred_writes;
};

// How long an owner's word about a changed record (Replace: a tombstone, kReloadMarker) stands.
// Far beyond what a loader may take between reading the record and its SetIfAbsent (a peer call's
// deadline, a key load's statement timeout), so that a load that read the record before the
// change cannot land after the word expired and cache the old record again.
inline constexpr absl::Duration kOwnerMarkTtl = absl::Minutes(10);
// An entry's owner's word that the record changed: every reader loads it from the owner and
// caches nothing until the marker expires. Never a valid protobuf message (field 15 starting a
// group that does not parse), so older readers see it as a miss.
inline constexpr char kReloadMarker[] = R"({"reload":true})";

// "redis://host:port" → options (other settings at their defaults).
absl::StatusOr<RedisOptions> ParseRedisUrl(absl::string_view url);

class Cache {
 public:
  explicit Cache(RedisOptions options);
  ~Cache();
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  std::optional<std::string> Get(const std::string& key);
  // Reads `keys` in one round trip (MGET) for the reads this thread makes next: each Get (and so
  // GetOrLoad) of one of them is then served from what was read, once. A call that needs several
  // records pays one round trip instead of one each. Dropped by an invalidation in this process
  // meanwhile, or by the next Prefetch.
  void Prefetch(const std::vector<std::string>& keys);
  void Set(const std::string& key, absl::string_view value, absl::Duration ttl);
  // Set only where the key holds nothing (SET NX): for a loader filling a miss, so that what its
  // record's owner wrote meanwhile (Replace) is never overwritten by an older read.
  void SetIfAbsent(const std::string& key, absl::string_view value, absl::Duration ttl);
  // Deletes the key; if Redis cannot be reached the key is remembered and deleted as soon as
  // Redis answers again. Until then every read of the key is a miss, and no write fills it.
  void Invalidate(const std::string& key);
  // Invalidate, leaving `value` in the key's place for `ttl` instead of nothing: the owner's word
  // after a change, which a loader's SetIfAbsent cannot displace. Deferred the same way.
  void Replace(const std::string& key, absl::string_view value, absl::Duration ttl);

  // Replace with kReloadMarker for kOwnerMarkTtl: the owner's word that `key`'s record changed.
  void MarkChanged(const std::string& key);

  // Cache-aside for protobuf messages: the cached copy if there is one, else load(), cached for
  // `ttl` when it succeeds and the key holds nothing (SetIfAbsent: the owner's word written since
  // load() read the record wins; under kReloadMarker nothing is cached). Errors from load() are
  // returned and never cached. With `near_copy`, the copy is also kept in this process (see
  // above).
  template <class Message, class Loader>
  absl::StatusOr<Message> GetOrLoad(const std::string& key, absl::Duration ttl, Loader&& load,
                                    bool near_copy = false) {
    const bool near = near_copy && options_.near_copy_ttl > absl::ZeroDuration();
    if (near) {
      if (std::optional<std::string> copy = LocalGet(key)) {
        Message message;
        if (message.ParseFromString(*copy)) return message;
      }
    }
    // Taken before reading: an invalidation during the read keeps its result out of the near copy.
    const uint64_t generation = local_generation_.load();
    bool marked = false;
    if (std::optional<std::string> cached = Get(key)) {
      marked = *cached == kReloadMarker;
      Message message;
      if (!marked && message.ParseFromString(*cached)) {
        if (near) LocalPut(key, *std::move(cached), generation);
        return message;
      }
    }
    absl::StatusOr<Message> loaded = load();
    if (loaded.ok() && !marked) {
      std::string bytes = loaded->SerializeAsString();
      SetIfAbsent(key, bytes, ttl);
      if (near) LocalPut(key, std::move(bytes), generation);
    }
    return loaded;
  }

  // Counts hits, misses and errors in techtrade_cache_requests_total{result} from now on.
  void ExportMetrics(prometheus::Registry& registry, const std::string& service);

  uint64_t errors() const { return errors_; }

 private:
  // Runs one command on a pooled connection; nullptr on any failure (the reply is owned by the
  // caller otherwise).
  redisReply* Command(const std::vector<absl::string_view>& args);
  redisContext* Borrow();
  void Return(redisContext* context, bool healthy);
  bool InCooldown();
  // Writes the deferred invalidations; true when none is left. `wait`: for another thread's
  // flush to end first, else leave what is pending to it (false).
  bool FlushPendingInvalidations(bool wait);
  bool IsPending(const std::string& key);
  void Write(const std::string& key, absl::string_view value, absl::Duration ttl, bool if_absent);
  void InvalidateWith(const std::string& key, std::optional<std::string> replacement,
                      absl::Duration ttl);
  std::optional<std::string> LocalGet(const std::string& key);
  // Keeps `value` near unless an invalidation came after `generation` was read.
  void LocalPut(const std::string& key, std::string value, uint64_t generation);

  const RedisOptions options_;
  std::mutex mutex_;
  std::condition_variable returned_;  // a connection became idle or closed
  std::vector<redisContext*> idle_;   // guarded by mutex_
  int open_ = 0;                      // guarded by mutex_
  // A deferred invalidation: what stands in its key once Redis answers (nothing, or a Replace
  // value), numbered so that a flush drops it only if no newer one for the key came meanwhile.
  struct Pending {
    std::optional<std::string> value;
    absl::Duration ttl;
    uint64_t sequence = 0;
  };
  // An invalidation leaves here only once written: until then reads of its key miss.
  std::unordered_map<std::string, Pending> pending_invalidations_;  // guarded by mutex_
  uint64_t pending_sequence_ = 0;                                   // guarded by mutex_
  bool deferred_ = false;  // guarded by mutex_; a flush failed since the last that wrote all
  // Held while writing pending invalidations, so that an older write never lands after a newer.
  std::mutex flush_mutex_;
  std::atomic<int64_t> down_until_ns_{0};
  struct LocalCopy {
    std::string value;
    int64_t expires_ns;
  };
  std::mutex local_mutex_;
  std::unordered_map<std::string, LocalCopy> local_;  // guarded by local_mutex_
  std::atomic<uint64_t> local_generation_{0};         // bumped by every Invalidate
  std::atomic<uint64_t> errors_{0};
  prometheus::Counter* hit_counter_ = nullptr;
  prometheus::Counter* local_hit_counter_ = nullptr;
  prometheus::Counter* miss_counter_ = nullptr;
  prometheus::Counter* error_counter_ = nullptr;
};

}  // namespace techtrade
