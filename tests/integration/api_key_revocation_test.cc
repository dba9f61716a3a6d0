// A revoked or rotated-out API key, or a revoked finance partner, against the shared Redis entry
// (issue #22): a load that read the record before the registry's change never puts it back, a
// revocation deferred by a Redis outage is never read past while it is being written, and an
// idempotent replay of the change writes the registry's word again when the first write was lost.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <pqxx/pqxx>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/auth.h"
#include "common/cache.h"
#include "common/cache_keys.h"
#include "common/db.h"
#include "common/ids.h"
#include "common/server.h"
#include "services/registry/api/authenticator.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"
#include "tests/support/fake_clock.h"
#include "tests/support/harness.h"

namespace techtrade::testing {
namespace {

namespace v1 = techtrade::registry::v1;

RedisOptions StackRedis() {
  absl::StatusOr<RedisOptions> options = ParseRedisUrl(Stack::FromEnvironment().redis_url);
  EXPECT_TRUE(options.ok()) << options.status();
  return options.ok() ? *options : RedisOptions{};
}

std::unique_ptr<Cache> StackCache() { return std::make_unique<Cache>(StackRedis()); }

// How long `key` has left in Redis, in milliseconds (PTTL: -2 when absent).
int64_t RemainingMillis(const std::string& key) {
  const RedisOptions options = StackRedis();
  redisContext* c = redisConnect(options.host.c_str(), options.port);
  EXPECT_TRUE(c != nullptr && c->err == 0);
  if (c == nullptr) return -2;
  if (!options.user.empty()) {
    freeReplyObject(redisCommand(c, "AUTH %s %s", options.user.c_str(), options.password.c_str()));
  }
  auto* reply = static_cast<redisReply*>(redisCommand(c, "PTTL %s", key.c_str()));
  const int64_t millis =
      reply != nullptr && reply->type == REDIS_REPLY_INTEGER ? reply->integer : int64_t{-2};
  if (reply != nullptr) freeReplyObject(reply);
  redisFree(c);
  return millis;
}

// A service's authenticator whose load the registry's change overtakes: Load reads the active
// record, then `change` runs (the registry committing and writing the entry) before the loader
// caches what it read.
class OvertakenAuthenticator final : public CachedKeyAuthenticator {
 public:
  OvertakenAuthenticator(Cache& cache, std::string api_key, std::function<void()> change)
      : CachedKeyAuthenticator(cache), api_key_(std::move(api_key)), change_(std::move(change)) {}

  int loads() const { return loads_; }

 protected:
  absl::StatusOr<ApiKeyRecord> Load(const ParsedApiKey&) override {
    ++loads_;
    ApiKeyRecord record{.secret_hash = Sha256Hex(ParseApiKey(api_key_)->secret),
                        .role = v1::API_CLIENT_ROLE_CITY_SYSTEM,
                        .city_id = "wuhan",
                        .active = true};
    if (change_) std::exchange(change_, nullptr)();
    return record;
  }

 private:
  const std::string api_key_;
  std::function<void()> change_;
  int loads_ = 0;
};

TEST(ApiKeyRevocationTest, ALoadOvertakenByARevocationNeverCachesTheKeyAgain) {
  std::unique_ptr<Cache> service_cache = StackCache();
  std::unique_ptr<Cache> registry_cache = StackCache();  // another process's connections
  const std::string key = NewApiKey();
  const std::string key_id = ParseApiKey(key)->key_id;
  OvertakenAuthenticator keys(*service_cache, key,
                              [&] { MarkApiKeyRevoked(*registry_cache, key_id); });
  // The call in flight when the revocation commits may still pass: it read the key before.
  ASSERT_TRUE(keys.Authenticate(key).ok());
  // Every later one is refused from the registry's tombstone, without another load.
  absl::StatusOr<Principal> later = keys.Authenticate(key);
  EXPECT_TRUE(absl::IsUnauthenticated(later.status())) << later.status();
  EXPECT_EQ(later.status().message(), "unknown or revoked API key");
  EXPECT_EQ(keys.loads(), 1);
  registry_cache->Invalidate(ApiKeyCacheKey(key_id));
}

TEST(ApiKeyRevocationTest, ALoadOvertakenByARotationLeavesEveryReaderGoingToTheRegistry) {
  std::unique_ptr<Cache> service_cache = StackCache();
  std::unique_ptr<Cache> registry_cache = StackCache();
  const std::string key = NewApiKey();
  const std::string key_id = ParseApiKey(key)->key_id;
  OvertakenAuthenticator keys(*service_cache, key,
                              [&] { MarkApiKeyChanged(*registry_cache, key_id); });
  ASSERT_TRUE(keys.Authenticate(key).ok());
  // The record read before the rotation (no expiry) was not cached: the next call loads again.
  ASSERT_TRUE(keys.Authenticate(key).ok());
  EXPECT_EQ(keys.loads(), 2);
  EXPECT_THAT(registry_cache->Get(ApiKeyCacheKey(key_id)),
              ::testing::Optional(::testing::HasSubstr("reload")));
  registry_cache->Invalidate(ApiKeyCacheKey(key_id));
}

// The registry's own authenticator: loads the key's record as its table holds it.
class TableAuthenticator final : public CachedKeyAuthenticator {
 public:
  TableAuthenticator(Cache& cache, std::string api_key)
      : CachedKeyAuthenticator(cache), api_key_(std::move(api_key)) {}

  std::atomic<bool> revoked{false};

 protected:
  absl::StatusOr<ApiKeyRecord> Load(const ParsedApiKey&) override {
    return ApiKeyRecord{.secret_hash = Sha256Hex(ParseApiKey(api_key_)->secret),
                        .role = v1::API_CLIENT_ROLE_CITY_SYSTEM,
                        .city_id = "wuhan",
                        .active = !revoked};
  }

 private:
  const std::string api_key_;
};

TEST(ApiKeyRevocationTest, ARevocationDeferredByAnOutageIsNotReadPastWhileItIsWritten) {
  FakeClock clock;
  std::function<void()> during_flush;
  RedisOptions options = StackRedis();
  options.clock = &clock;
  options.before_deferred_writes = [&] {
    if (during_flush) std::exchange(during_flush, nullptr)();
  };
  Cache registry_cache(options);
  const std::string key = NewApiKey();
  const std::string key_id = ParseApiKey(key)->key_id;
  TableAuthenticator keys(registry_cache, key);
  ASSERT_TRUE(keys.Authenticate(key).ok());  // the active record now cached in Redis

  // Redis fails a command (an error reply stands in for the outage): the cache's cool-down
  // starts, and the revocation's tombstone waits in the registry replica.
  registry_cache.Set("revocation-test:outage", "x", absl::ZeroDuration());
  ASSERT_EQ(registry_cache.errors(), 1u);
  keys.revoked = true;
  MarkApiKeyRevoked(registry_cache, key_id);
  EXPECT_FALSE(keys.Authenticate(key).ok());

  // Redis back: while one thread writes the tombstone, another authenticates the key.
  clock.Advance(absl::Seconds(2));
  absl::StatusOr<Principal> meanwhile;
  during_flush = [&] { std::thread([&] { meanwhile = keys.Authenticate(key); }).join(); };
  EXPECT_THAT(registry_cache.Get(ApiKeyCacheKey(key_id)),
              ::testing::Optional(::testing::HasSubstr(R"("active":false)")));
  EXPECT_TRUE(absl::IsUnauthenticated(meanwhile.status())) << meanwhile.status();
  EXPECT_FALSE(keys.Authenticate(key).ok());
  registry_cache.Invalidate(ApiKeyCacheKey(key_id));
}

// A load may take a peer call's deadline or the key load's statement timeout between reading the
// record and caching it; the registry's tombstones and markers stand far longer.
TEST(ApiKeyRevocationTest, TheRegistrysMarkersOutliveAnyLoad) {
  EXPECT_GE(kOwnerMarkTtl, 100 * kPeerCallDeadline);
  EXPECT_GE(kOwnerMarkTtl, 100 * registry::kKeyLoadStatementTimeout);
  std::unique_ptr<Cache> registry_cache = StackCache();
  const std::string revoked = ParseApiKey(NewApiKey())->key_id;
  const std::string rotated = ParseApiKey(NewApiKey())->key_id;
  MarkApiKeyRevoked(*registry_cache, revoked);
  MarkApiKeyChanged(*registry_cache, rotated);
  EXPECT_GT(RemainingMillis(ApiKeyCacheKey(revoked)), absl::ToInt64Milliseconds(absl::Minutes(9)));
  EXPECT_GT(RemainingMillis(ApiKeyCacheKey(rotated)), absl::ToInt64Milliseconds(absl::Minutes(9)));
  registry_cache->Invalidate(ApiKeyCacheKey(revoked));
  registry_cache->Invalidate(ApiKeyCacheKey(rotated));
}

// Against a registry process: the first call's write to Redis is lost (the stale record put back,
// as a crash between commit and write or a Redis blip would leave it), then the client retries.
class ApiKeyReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    db_ = std::make_unique<ScratchDatabase>(stack_, "key_replay_it");
    operator_key_ = NewApiKey();
    cache_ = StackCache();
    registry_ = std::make_unique<ServiceProcess>("registry",
                                                 RegistryEnv(stack_, db_->url(), operator_key_));
    ASSERT_TRUE(registry_->WaitUntilServing()) << "log: " << registry_->log_path();
    stub_ = v1::RegistryService::NewStub(registry_->channel());
  }

  void TearDown() override {
    registry_.reset();
    db_.reset();
  }

  v1::IssueApiKeyResponse IssuePartnerKey() {
    v1::IssueApiKeyRequest r;
    r.set_request_id("key-" + NewApiKey().substr(3, 8));
    r.set_name("Partner bank");
    r.set_role(v1::API_CLIENT_ROLE_PARTNER);
    v1::IssueApiKeyResponse issued;
    grpc::Status s = stub_->IssueApiKey(AuthedContext(operator_key_).get(), r, &issued);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return issued;
  }

  grpc::Status Call(const std::string& key) {
    v1::ListPilotCitiesRequest r;
    v1::ListPilotCitiesResponse cities;
    return stub_->ListPilotCities(AuthedContext(key).get(), r, &cities);
  }

  // The shared entry for `key` as a service filled it before the change: active, no expiry.
  std::string CachedEntry(const std::string& key) {
    EXPECT_TRUE(Call(key).ok());
    std::optional<std::string> entry = cache_->Get(ApiKeyCacheKey(ParseApiKey(key)->key_id));
    EXPECT_TRUE(entry.has_value());
    return entry.value_or("");
  }

  Stack stack_;
  std::unique_ptr<ScratchDatabase> db_;
  std::string operator_key_;
  std::unique_ptr<Cache> cache_;
  std::unique_ptr<ServiceProcess> registry_;
  std::unique_ptr<v1::RegistryService::Stub> stub_;
};

TEST_F(ApiKeyReplayTest, ARotationReplayedAfterItsCacheWriteWasLostEndsTheOldKey) {
  v1::IssueApiKeyResponse issued = IssuePartnerKey();
  const std::string old_key = issued.api_key();
  const std::string stale = CachedEntry(old_key);
  v1::RotateApiKeyRequest rotate;
  rotate.set_request_id("rotate-1");
  rotate.set_id(issued.api_client().id());
  rotate.set_overlap_seconds(1);
  v1::RotateApiKeyResponse rotated;
  grpc::Status s = stub_->RotateApiKey(AuthedContext(old_key).get(), rotate, &rotated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  cache_->Set(ApiKeyCacheKey(ParseApiKey(old_key)->key_id), stale, kSharedCacheTtl);

  v1::RotateApiKeyResponse replayed;
  s = stub_->RotateApiKey(AuthedContext(rotated.api_key()).get(), rotate, &replayed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(replayed.key().id(), rotated.key().id());  // the first answer, not a second key

  // Past the overlap and the in-process memo.
  absl::SleepFor(absl::Seconds(rotated.previous_key().expire_time().seconds() -
                               absl::ToUnixSeconds(absl::Now())) +
                 absl::Milliseconds(1200));
  s = Call(old_key);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_EQ(s.error_message(), "API key expired");
  EXPECT_TRUE(Call(rotated.api_key()).ok());
}

TEST_F(ApiKeyReplayTest, ARevocationReplayedAfterItsCacheWriteWasLostEndsEveryKey) {
  v1::IssueApiKeyResponse issued = IssuePartnerKey();
  // A second key beside the client's first, by a rotation.
  v1::RotateApiKeyRequest rotate;
  rotate.set_request_id("rotate-1");
  rotate.set_id(issued.api_client().id());
  v1::RotateApiKeyResponse rotated;
  grpc::Status s = stub_->RotateApiKey(AuthedContext(issued.api_key()).get(), rotate, &rotated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // The rotated key's entry is the rotation's reload marker, the new key's a cached record.
  const std::vector<std::string> keys = {issued.api_key(), rotated.api_key()};
  std::vector<std::string> stale;
  for (const std::string& key : keys) stale.push_back(CachedEntry(key));

  v1::RevokeApiKeyRequest revoke;
  revoke.set_request_id("revoke-1");
  revoke.set_id(issued.api_client().id());
  revoke.set_expected_version(rotated.api_client().version());
  v1::ApiClient revoked;
  s = stub_->RevokeApiKey(AuthedContext(operator_key_).get(), revoke, &revoked);
  ASSERT_TRUE(s.ok()) << s.error_message();
  for (size_t i = 0; i < keys.size(); ++i) {
    cache_->Set(ApiKeyCacheKey(ParseApiKey(keys[i])->key_id), stale[i], kSharedCacheTtl);
  }

  s = stub_->RevokeApiKey(AuthedContext(operator_key_).get(), revoke, &revoked);
  ASSERT_TRUE(s.ok()) << s.error_message();
  absl::SleepFor(absl::Milliseconds(1200));  // past the in-process memo
  for (const std::string& key : keys) {
    s = Call(key);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  }
}

// A transactions replica's load of a partner (as RegistryClient::GetFinancePartner makes it) that
// the partner's revocation overtakes: it read the partner before, the registry revokes it, then
// the load caches what it read. OpenDeal must not find the partner afterwards.
TEST_F(ApiKeyReplayTest, ALoadOvertakenByAPartnersRevocationNeverCachesThePartnerAgain) {
  v1::IssueApiKeyResponse issued = IssuePartnerKey();
  const std::string id = issued.api_client().id();
  int loads = 0;
  auto read_partner = [&]() -> absl::StatusOr<v1::FinancePartner> {
    ++loads;
    v1::GetFinancePartnerRequest r;
    r.set_id(id);
    v1::FinancePartner partner;
    grpc::Status s = stub_->GetFinancePartner(AuthedContext(operator_key_).get(), r, &partner);
    if (!s.ok()) return absl::NotFoundError(s.error_message());
    return partner;
  };
  absl::StatusOr<v1::FinancePartner> first = cache_->GetOrLoad<v1::FinancePartner>(
      FinancePartnerCacheKey(id), kSharedCacheTtl, [&]() -> absl::StatusOr<v1::FinancePartner> {
        absl::StatusOr<v1::FinancePartner> partner = read_partner();
        v1::RevokeApiKeyRequest revoke;
        revoke.set_request_id("revoke-partner");
        revoke.set_id(id);
        revoke.set_expected_version(issued.api_client().version());
        v1::ApiClient revoked;
        grpc::Status s = stub_->RevokeApiKey(AuthedContext(operator_key_).get(), revoke, &revoked);
        EXPECT_TRUE(s.ok()) << s.error_message();
        return partner;
      });
  ASSERT_TRUE(first.ok()) << first.status();

  absl::StatusOr<v1::FinancePartner> later = cache_->GetOrLoad<v1::FinancePartner>(
      FinancePartnerCacheKey(id), kSharedCacheTtl, read_partner);
  EXPECT_TRUE(absl::IsNotFound(later.status())) << later.status();
  EXPECT_EQ(loads, 2);  // from the registry, not from the cache
  EXPECT_EQ(cache_->Get(FinancePartnerCacheKey(id)), std::string(kReloadMarker));
  EXPECT_GT(RemainingMillis(FinancePartnerCacheKey(id)),
            absl::ToInt64Milliseconds(absl::Minutes(9)));
  cache_->Invalidate(FinancePartnerCacheKey(id));
}

// The registry's key load ends within its statement timeout even when the key table is locked
// (say by a migration), well inside the life of a tombstone written meanwhile.
TEST_F(ApiKeyReplayTest, TheRegistrysKeyLoadIsBoundedByItsStatementTimeout) {
  absl::StatusOr<std::unique_ptr<PgPool>> pool = PgPool::Create(db_->url(), 1);
  ASSERT_TRUE(pool.ok()) << pool.status();
  std::unique_ptr<Cache> cache = StackCache();
  registry::LocalAuthenticator keys(**pool, *cache);
  pqxx::connection locker(db_->url());
  pqxx::work lock(locker);
  lock.exec("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE");
  absl::Notification loaded_once;
  std::thread release([&] {
    loaded_once.WaitForNotificationWithTimeout(absl::Seconds(15));
    lock.commit();
  });
  const absl::Time start = absl::Now();
  absl::StatusOr<Principal> loaded = keys.Authenticate(NewApiKey());
  const absl::Duration took = absl::Now() - start;
  loaded_once.Notify();
  release.join();
  EXPECT_FALSE(loaded.ok());
  EXPECT_LT(took, registry::kKeyLoadStatementTimeout + absl::Seconds(3));
}

}  // namespace
}  // namespace techtrade::testing
