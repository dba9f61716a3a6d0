// Expiring API keys in the shared authenticators: a key past its expire time is refused whatever
// the cache holds, the principal is the key's client, and the in-process memo forgets a key when
// it expires.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "absl/time/clock.h"
#include "common/auth.h"
#include "common/cache.h"
#include "common/ids.h"

namespace techtrade {
namespace {

namespace v1 = techtrade::registry::v1;

// Serves one record for every key, as the registry's table would; no Redis, so every
// authentication loads it.
class OneRecordAuthenticator final : public CachedKeyAuthenticator {
 public:
  OneRecordAuthenticator(Cache& cache, ApiKeyRecord record)
      : CachedKeyAuthenticator(cache), record_(std::move(record)) {}

 protected:
  absl::StatusOr<ApiKeyRecord> Load(const ParsedApiKey&) override { return record_; }

 private:
  ApiKeyRecord record_;
};

RedisOptions NoRedis() {
  RedisOptions options;
  options.host.clear();
  return options;
}

ApiKeyRecord RecordFor(const std::string& api_key, absl::Time expire_time) {
  return ApiKeyRecord{.secret_hash = Sha256Hex(ParseApiKey(api_key)->secret),
                      .role = v1::API_CLIENT_ROLE_CITY_SYSTEM,
                      .city_id = "wuhan",
                      .active = true,
                      .client_id = "00000000000000aa",
                      .expire_time = expire_time};
}

TEST(KeyExpiryTest, AKeyPastItsExpireTimeIsRefusedAsExpired) {
  Cache cache(NoRedis());
  const std::string key = NewApiKey();
  OneRecordAuthenticator keys(cache, RecordFor(key, absl::Now() - absl::Seconds(1)));
  absl::StatusOr<Principal> principal = keys.Authenticate(key);
  EXPECT_TRUE(absl::IsUnauthenticated(principal.status())) << principal.status();
  EXPECT_EQ(principal.status().message(), "API key expired");
  // The wrong secret says nothing about expiry.
  principal = keys.Authenticate(NewApiKey(ParseApiKey(key)->key_id));
  EXPECT_EQ(principal.status().message(), "unknown or revoked API key");
}

TEST(KeyExpiryTest, AKeyBeforeItsExpireTimeActsForItsClientAndSaysWhenItExpires) {
  Cache cache(NoRedis());
  const std::string key = NewApiKey();
  const absl::Time expires = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) + 3600);
  OneRecordAuthenticator keys(cache, RecordFor(key, expires));
  absl::StatusOr<Principal> principal = keys.Authenticate(key);
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->api_client_id(), "00000000000000aa");
  EXPECT_EQ(principal->api_key_id(), ParseApiKey(key)->key_id);
  EXPECT_EQ(principal->api_key_expire_time().seconds(), absl::ToUnixSeconds(expires));
  EXPECT_EQ(principal->city_id(), "wuhan");
}

TEST(KeyExpiryTest, AKeyWithoutAClientIsItsOwnClientAndNeverExpires) {
  Cache cache(NoRedis());
  const std::string key = NewApiKey();
  ApiKeyRecord record = RecordFor(key, absl::InfiniteFuture());
  record.client_id.clear();
  OneRecordAuthenticator keys(cache, record);
  absl::StatusOr<Principal> principal = keys.Authenticate(key);
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->api_client_id(), ParseApiKey(key)->key_id);
  EXPECT_FALSE(principal->has_api_key_expire_time());
}

// Answers with a principal whose key expires at a given time, counting the calls.
class ExpiringPrincipals final : public Authenticator {
 public:
  explicit ExpiringPrincipals(absl::Time expires) : expires_(expires) {}
  absl::StatusOr<Principal> Authenticate(absl::string_view) override {
    ++calls;
    Principal p;
    p.set_api_client_id("00000000000000aa");
    const int64_t micros = absl::ToUnixMicros(expires_);
    p.mutable_api_key_expire_time()->set_seconds(micros / 1'000'000);
    p.mutable_api_key_expire_time()->set_nanos(static_cast<int32_t>(micros % 1'000'000) * 1000);
    return p;
  }
  std::atomic<int> calls{0};

 private:
  absl::Time expires_;
};

TEST(KeyExpiryTest, TheMemoForgetsAKeyWhenItExpiresNotAfterItsOwnTtl) {
  ExpiringPrincipals inner(absl::Now() + absl::Milliseconds(100));
  MemoizingAuthenticator memo(inner, absl::Hours(1));
  const std::string key = NewApiKey();
  ASSERT_TRUE(memo.Authenticate(key).ok());
  ASSERT_TRUE(memo.Authenticate(key).ok());
  EXPECT_EQ(inner.calls.load(), 1);  // remembered
  absl::SleepFor(absl::Milliseconds(150));
  ASSERT_TRUE(memo.Authenticate(key).ok());
  EXPECT_EQ(inner.calls.load(), 2);  // asked again once the key expired
}

}  // namespace
}  // namespace techtrade
