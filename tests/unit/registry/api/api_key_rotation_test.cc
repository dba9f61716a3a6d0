// Expiring keys and key rotation in process: a key issued with a lifetime, a client rolling over
// to a new key while the old one works for the overlap, the third live key refused, revocation
// of every key a client holds.
#include <google/protobuf/util/time_util.h>

#include "services/registry/api/authenticator.h"
#include "tests/unit/registry/api/registry_handler_fixture.h"

namespace techtrade::registry {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::SizeIs;
using ::testing::StartsWith;

int64_t SecondsFromNow(const google::protobuf::Timestamp& t) {
  return t.seconds() - absl::ToUnixSeconds(absl::Now());
}

class ApiKeyRotationTest : public RegistryHandlerTest {
 protected:
  // A Wuhan client issued by the operator, and a key to call as it (the principal its keys
  // authenticate as).
  v1::IssueApiKeyResponse Issue(int64_t ttl_seconds = 0, const std::string& request_id = "k1") {
    v1::IssueApiKeyRequest r;
    r.set_request_id(request_id);
    r.set_name("Wuhan portal");
    r.set_role(v1::API_CLIENT_ROLE_CITY_SYSTEM);
    r.set_city_id("wuhan");
    r.set_ttl_seconds(ttl_seconds);
    v1::IssueApiKeyResponse issued;
    grpc::Status s = stub_->IssueApiKey(testing::CallAs(operator_key_).get(), r, &issued);
    EXPECT_TRUE(s.ok()) << s.error_message();
    Principal self = testing::CitySystemPrincipal("wuhan");
    self.set_api_client_id(issued.api_client().id());
    client_key_ = server_->keys().Add(self);
    return issued;
  }

  grpc::Status Rotate(const std::string& caller_key, const std::string& request_id,
                      const std::string& client_id, std::optional<int64_t> overlap_seconds,
                      v1::RotateApiKeyResponse* out) {
    v1::RotateApiKeyRequest r;
    r.set_request_id(request_id);
    r.set_id(client_id);
    if (overlap_seconds) r.set_overlap_seconds(*overlap_seconds);
    return stub_->RotateApiKey(testing::CallAs(caller_key).get(), r, out);
  }

  std::string client_key_;
};

TEST_F(ApiKeyRotationTest, AnIssuedKeyIsTheClientsFirstAndExpiresAfterItsTtl) {
  v1::IssueApiKeyResponse issued = Issue(3600);
  EXPECT_EQ(issued.key().id(), issued.api_client().id());
  EXPECT_EQ(issued.key().api_client_id(), issued.api_client().id());
  EXPECT_NEAR(SecondsFromNow(issued.key().expire_time()), 3600, 5);
  EXPECT_EQ(transactor_.state().key_count(), 1u);
  std::vector<testing::EmittedEvent> events = transactor_.events();
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(Payload<v1::ApiKeyIssued>(events[0]).key().SerializeAsString(),
            issued.key().SerializeAsString());
  // Without a ttl the key does not expire.
  EXPECT_FALSE(Issue(0, "k2").key().has_expire_time());
}

TEST_F(ApiKeyRotationTest, AClientRotatesItsOwnKeyAndTheOldOneWorksForTheOverlap) {
  v1::IssueApiKeyResponse issued = Issue();
  v1::RotateApiKeyResponse rotated;
  grpc::Status s = Rotate(client_key_, "r1", issued.api_client().id(), 600, &rotated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(ParseApiKey(rotated.api_key()).ok());
  EXPECT_EQ(ParseApiKey(rotated.api_key())->key_id, rotated.key().id());
  EXPECT_NE(rotated.key().id(), issued.api_client().id());
  EXPECT_EQ(rotated.key().api_client_id(), issued.api_client().id());
  EXPECT_FALSE(rotated.key().has_expire_time());
  EXPECT_EQ(rotated.previous_key().id(), issued.api_client().id());
  EXPECT_NEAR(SecondsFromNow(rotated.previous_key().expire_time()), 600, 5);
  EXPECT_EQ(rotated.api_client().version(), 2);
  EXPECT_EQ(transactor_.state().key_count(), 2u);
  // The store keeps the old key's new expiry, which authentication reads.
  absl::StatusOr<StoredApiKey> old = transactor_.state().GetApiKey(issued.api_client().id());
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->key.expire_time().seconds(), rotated.previous_key().expire_time().seconds());
  EXPECT_EQ(KeyRecordOf(*old).client_id, issued.api_client().id());

  std::vector<testing::EmittedEvent> events = transactor_.events();
  ASSERT_THAT(events, SizeIs(2));
  EXPECT_EQ(events[1].type, "techtrade.registry.v1.ApiKeyRotated");
  EXPECT_EQ(events[1].aggregate.id, issued.api_client().id());
  EXPECT_EQ(events[1].sequence, 2);
  v1::ApiKeyRotated event = Payload<v1::ApiKeyRotated>(events[1]);
  EXPECT_EQ(event.key().id(), rotated.key().id());
  EXPECT_EQ(event.previous_key().id(), issued.api_client().id());
}

TEST_F(ApiKeyRotationTest, TheDefaultOverlapIsADayAndNeverOutlivesTheOldKeysExpiry) {
  v1::IssueApiKeyResponse issued = Issue();
  v1::RotateApiKeyResponse rotated;
  ASSERT_TRUE(Rotate(operator_key_, "r1", issued.api_client().id(), std::nullopt, &rotated).ok());
  EXPECT_NEAR(SecondsFromNow(rotated.previous_key().expire_time()), 86400, 5);

  v1::IssueApiKeyResponse short_lived = Issue(600, "k2");
  ASSERT_TRUE(
      Rotate(operator_key_, "r2", short_lived.api_client().id(), std::nullopt, &rotated).ok());
  EXPECT_EQ(rotated.previous_key().expire_time().seconds(),
            short_lived.key().expire_time().seconds());
}

TEST_F(ApiKeyRotationTest, AThirdLiveKeyIsRefusedNamingIdAndChangesNothing) {
  v1::IssueApiKeyResponse issued = Issue();
  v1::RotateApiKeyResponse rotated;
  ASSERT_TRUE(Rotate(client_key_, "r1", issued.api_client().id(), 600, &rotated).ok());
  grpc::Status s = Rotate(client_key_, "r2", issued.api_client().id(), 600, &rotated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), StartsWith("id: "));
  EXPECT_EQ(transactor_.state().key_count(), 2u);
  EXPECT_THAT(transactor_.events(), SizeIs(2));
}

TEST_F(ApiKeyRotationTest, AnOverlapOfZeroEndsTheOldKeyNowSoTheClientMayRotateAgain) {
  v1::IssueApiKeyResponse issued = Issue();
  v1::RotateApiKeyResponse first, second;
  ASSERT_TRUE(Rotate(client_key_, "r1", issued.api_client().id(), 0, &first).ok());
  EXPECT_LE(SecondsFromNow(first.previous_key().expire_time()), 0);
  grpc::Status s = Rotate(client_key_, "r2", issued.api_client().id(), 60, &second);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(second.previous_key().id(), first.key().id());
  EXPECT_EQ(second.api_client().version(), 3);
}

TEST_F(ApiKeyRotationTest, OnlyTheClientItselfOrAnOperatorRotatesItsKey) {
  v1::IssueApiKeyResponse issued = Issue();
  v1::RotateApiKeyResponse rotated;
  for (const std::string& other : {hefei_key_, partner_key_, wuhan_key_}) {
    grpc::Status s = Rotate(other, "r1", issued.api_client().id(), 60, &rotated);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  }
  EXPECT_EQ(transactor_.state().key_count(), 1u);
  EXPECT_THAT(transactor_.events(), SizeIs(1));
}

TEST_F(ApiKeyRotationTest, ARetriedRotationReturnsTheSameKeyWithoutItsSecret) {
  v1::IssueApiKeyResponse issued = Issue();
  v1::RotateApiKeyResponse first, retried;
  ASSERT_TRUE(Rotate(client_key_, "r1", issued.api_client().id(), 60, &first).ok());
  grpc::Status s = Rotate(client_key_, "r1", issued.api_client().id(), 60, &retried);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(retried.key().id(), first.key().id());
  EXPECT_TRUE(retried.api_key().empty());
  EXPECT_EQ(transactor_.state().key_count(), 2u);
  EXPECT_THAT(transactor_.events(), SizeIs(2));
}

TEST_F(ApiKeyRotationTest, ABadOverlapOrTtlIsRefusedNamingIt) {
  v1::IssueApiKeyResponse issued = Issue();
  v1::RotateApiKeyResponse rotated;
  grpc::Status s = Rotate(client_key_, "r1", issued.api_client().id(), -1, &rotated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("overlap_seconds"));
  v1::RotateApiKeyRequest r;
  r.set_request_id("r2");
  r.set_id(issued.api_client().id());
  r.set_ttl_seconds(-5);
  s = stub_->RotateApiKey(testing::CallAs(client_key_).get(), r, &rotated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("ttl_seconds"));
  EXPECT_EQ(transactor_.state().key_count(), 1u);
}

TEST_F(ApiKeyRotationTest, RevokingTheClientRevokesEveryKeyItHolds) {
  v1::IssueApiKeyResponse issued = Issue();
  v1::RotateApiKeyResponse rotated;
  ASSERT_TRUE(Rotate(client_key_, "r1", issued.api_client().id(), 600, &rotated).ok());
  v1::RevokeApiKeyRequest r;
  r.set_request_id("rk1");
  r.set_id(issued.api_client().id());
  r.set_expected_version(2);
  v1::ApiClient revoked;
  grpc::Status s = stub_->RevokeApiKey(testing::CallAs(operator_key_).get(), r, &revoked);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::vector<testing::EmittedEvent> events = transactor_.events();
  ASSERT_THAT(events, SizeIs(3));
  v1::ApiKeyRevoked event = Payload<v1::ApiKeyRevoked>(events[2]);
  ASSERT_THAT(event.keys(), SizeIs(2));
  for (const v1::ApiKey& key : event.keys()) EXPECT_TRUE(key.has_revoke_time()) << key.id();
  for (const std::string& id : {issued.api_client().id(), rotated.key().id()}) {
    absl::StatusOr<StoredApiKey> stored = transactor_.state().GetApiKey(id);
    ASSERT_TRUE(stored.ok());
    EXPECT_FALSE(KeyRecordOf(*stored).active) << id;
  }
  // A revoked client gets no new key.
  s = Rotate(operator_key_, "r2", issued.api_client().id(), 600, &rotated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), StartsWith("id: "));
}

}  // namespace
}  // namespace techtrade::registry
