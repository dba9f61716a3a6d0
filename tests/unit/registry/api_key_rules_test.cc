// The rules of a client's keys (services/registry/domain/api_keys.h), at fixed times.
#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "services/registry/domain/api_keys.h"

namespace techtrade::registry {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::StartsWith;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

v1::ApiClient Client(v1::ApiClientStatus status = v1::API_CLIENT_STATUS_ACTIVE) {
  v1::ApiClient c;
  c.set_id("00000000000000aa");
  c.set_status(status);
  c.set_version(4);
  return c;
}

v1::ApiKey KeyExpiringAt(const std::string& id, std::optional<absl::Time> expires) {
  v1::ApiKey k = NewClientKey("00000000000000aa", id, kNow, absl::ZeroDuration());
  if (expires)
    *k.mutable_expire_time() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(*expires));
  return k;
}

TEST(ApiKeyRulesTest, AKeyIsLiveUntilItsExpireTimeAndNeverOnceRevoked) {
  EXPECT_TRUE(IsLive(KeyExpiringAt("a", std::nullopt), kNow));
  EXPECT_TRUE(IsLive(KeyExpiringAt("a", kNow + absl::Seconds(1)), kNow));
  EXPECT_FALSE(IsLive(KeyExpiringAt("a", kNow), kNow));  // the expire time itself is past
  EXPECT_FALSE(IsLive(KeyExpiringAt("a", kNow - absl::Seconds(1)), kNow));
  v1::ApiKey revoked = KeyExpiringAt("a", std::nullopt);
  *revoked.mutable_revoke_time() = TimeUtil::SecondsToTimestamp(0);
  EXPECT_FALSE(IsLive(revoked, kNow));
}

TEST(ApiKeyRulesTest, ANewKeyExpiresAfterItsTtlOrNever) {
  EXPECT_FALSE(NewClientKey("c", "k", kNow, absl::ZeroDuration()).has_expire_time());
  EXPECT_EQ(NewClientKey("c", "k", kNow, absl::Hours(1)).expire_time().seconds(),
            absl::ToUnixSeconds(kNow + absl::Hours(1)));
}

TEST(ApiKeyRulesTest, TheOverlapDefaultsToADayAndZeroMeansNow) {
  v1::RotateApiKeyRequest r;
  EXPECT_EQ(RotationOverlap(r), absl::Hours(24));
  r.set_overlap_seconds(0);
  EXPECT_EQ(RotationOverlap(r), absl::ZeroDuration());
  r.set_overlap_seconds(90);
  EXPECT_EQ(RotationOverlap(r), absl::Seconds(90));
}

TEST(ApiKeyRulesTest, ARotationCutsTheLiveKeyToTheOverlapAndMovesTheClientOn) {
  absl::StatusOr<KeyRotation> r = RotateKeys(Client(), {KeyExpiringAt("old", std::nullopt)}, "new",
                                             kNow, absl::Minutes(10), absl::Hours(2));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->client.version(), 5);
  EXPECT_EQ(r->key.id(), "new");
  EXPECT_EQ(r->key.expire_time().seconds(), absl::ToUnixSeconds(kNow + absl::Hours(2)));
  ASSERT_TRUE(r->previous_key.has_value());
  EXPECT_EQ(r->previous_key->id(), "old");
  EXPECT_EQ(r->previous_key->expire_time().seconds(),
            absl::ToUnixSeconds(kNow + absl::Minutes(10)));
}

TEST(ApiKeyRulesTest, ARotationNeverExtendsAKeysExpiry) {
  absl::StatusOr<KeyRotation> r =
      RotateKeys(Client(), {KeyExpiringAt("old", kNow + absl::Minutes(5))}, "new", kNow,
                 absl::Hours(24), absl::ZeroDuration());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->previous_key->expire_time().seconds(), absl::ToUnixSeconds(kNow + absl::Minutes(5)));
}

TEST(ApiKeyRulesTest, ExpiredKeysDoNotCountAndLeaveNothingToCut) {
  absl::StatusOr<KeyRotation> r = RotateKeys(
      Client(), {KeyExpiringAt("gone", kNow - absl::Hours(1)), KeyExpiringAt("also", kNow)}, "new",
      kNow, absl::Hours(24), absl::ZeroDuration());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->previous_key.has_value());
}

TEST(ApiKeyRulesTest, TwoLiveKeysAreTheMostAClientHolds) {
  absl::StatusOr<KeyRotation> r = RotateKeys(
      Client(), {KeyExpiringAt("a", kNow + absl::Hours(1)), KeyExpiringAt("b", std::nullopt)},
      "new", kNow, absl::Hours(24), absl::ZeroDuration());
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_THAT(std::string(r.status().message()), StartsWith("id: "));
}

TEST(ApiKeyRulesTest, ARevokedClientGetsNoNewKey) {
  absl::StatusOr<KeyRotation> r = RotateKeys(Client(v1::API_CLIENT_STATUS_REVOKED), {}, "new", kNow,
                                             absl::Hours(24), absl::ZeroDuration());
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_THAT(std::string(r.status().message()), StartsWith("id: "));
}

}  // namespace
}  // namespace techtrade::registry
