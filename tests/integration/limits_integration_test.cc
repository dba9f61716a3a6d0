// The limits against a running registry process (issue #22): a key past its expiry is refused,
// a rotated-out key stops working after its overlap while the client (and its idempotent
// retries) carries on with the new key, a burst past a small rate limit is refused with a retry
// hint and served again after it, and an oversized request is refused before any handler runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/auth.h"
#include "common/server.h"
#include "services/registry/domain/credit_code.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"
#include "tests/support/harness.h"

namespace techtrade::testing {
namespace {

namespace v1 = techtrade::registry::v1;
using ::testing::HasSubstr;

class LimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    db_ = std::make_unique<ScratchDatabase>(stack_, "limits_it");
    operator_key_ = NewApiKey();
  }

  void TearDown() override {
    registry_.reset();
    db_.reset();
  }

  // The registry with the settings given beside the stack's, and the pilot city "wuhan".
  void StartRegistry(std::map<std::string, std::string> settings = {}) {
    registry_ = std::make_unique<ServiceProcess>(
        "registry", RegistryEnv(stack_, db_->url(), operator_key_, std::move(settings)));
    ASSERT_TRUE(registry_->WaitUntilServing()) << "log: " << registry_->log_path();
    stub_ = v1::RegistryService::NewStub(registry_->channel());
    v1::CreatePilotCityRequest city;
    city.set_request_id("city-wuhan");
    city.set_id("wuhan");
    city.set_name("Wuhan");
    city.set_kind(v1::PILOT_CITY_KIND_CITY);
    city.set_division_code("420100");
    v1::PilotCity created;
    grpc::Status s = stub_->CreatePilotCity(AuthedContext(operator_key_).get(), city, &created);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  v1::IssueApiKeyResponse IssueCityKey(int64_t ttl_seconds = 0) {
    v1::IssueApiKeyRequest r;
    r.set_request_id("key-" + NewApiKey().substr(3, 8));
    r.set_name("Wuhan portal");
    r.set_role(v1::API_CLIENT_ROLE_CITY_SYSTEM);
    r.set_city_id("wuhan");
    r.set_ttl_seconds(ttl_seconds);
    v1::IssueApiKeyResponse issued;
    grpc::Status s = stub_->IssueApiKey(AuthedContext(operator_key_).get(), r, &issued);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return issued;
  }

  grpc::Status ReadCity(const std::string& key, grpc::ClientContext* context = nullptr) {
    v1::GetPilotCityRequest r;
    r.set_id("wuhan");
    v1::PilotCity city;
    if (context != nullptr) return stub_->GetPilotCity(context, r, &city);
    return stub_->GetPilotCity(AuthedContext(key).get(), r, &city);
  }

  Stack stack_;
  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<ServiceProcess> registry_;
  std::unique_ptr<v1::RegistryService::Stub> stub_;
  std::string operator_key_;
};

TEST_F(LimitsTest, AKeyPastItsExpiryIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  v1::IssueApiKeyResponse issued = IssueCityKey(/*ttl_seconds=*/2);
  ASSERT_TRUE(issued.key().has_expire_time());
  grpc::Status s = ReadCity(issued.api_key());
  ASSERT_TRUE(s.ok()) << s.error_message();
  // Past the expire time (the cached record and the in-process memo included).
  absl::SleepFor(
      absl::Seconds(issued.key().expire_time().seconds() - absl::ToUnixSeconds(absl::Now())) +
      absl::Milliseconds(1200));
  s = ReadCity(issued.api_key());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_EQ(s.error_message(), "API key expired");
  // Through the registry's Authenticate too, as the other services ask it (with their
  // certificates: only they may).
  v1::AuthenticateRequest r;
  r.set_api_key(issued.api_key());
  Principal who;
  grpc::ClientContext context;
  s = v1::RegistryService::NewStub(ServiceIdentityChannel(registry_->address(), "fund"))
          ->Authenticate(&context, r, &who);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "API key expired");
}

TEST_F(LimitsTest, ARotatedOutKeyStopsAfterItsOverlapAndTheClientCarriesOnWithTheNewKey) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  v1::IssueApiKeyResponse issued = IssueCityKey();
  const std::string old_key = issued.api_key();
  // A registration whose answer the client lost just before rotating.
  v1::RegisterOrganizationRequest reg;
  reg.set_request_id("reg-before-rotation");
  std::string first17 = "914201000000000" + std::string("42");
  reg.set_credit_code(first17 + registry::CreditCodeCheckCharacter(first17));
  reg.set_name("华中科技大学");
  reg.set_kind(v1::ORGANIZATION_KIND_UNIVERSITY);
  reg.set_city_id("wuhan");
  v1::Organization org;
  grpc::Status s = stub_->RegisterOrganization(AuthedContext(old_key).get(), reg, &org);
  ASSERT_TRUE(s.ok()) << s.error_message();

  v1::RotateApiKeyRequest rotate;
  rotate.set_request_id("rotate-1");
  rotate.set_id(issued.api_client().id());
  rotate.set_overlap_seconds(2);
  v1::RotateApiKeyResponse rotated;
  s = stub_->RotateApiKey(AuthedContext(old_key).get(), rotate, &rotated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string new_key = rotated.api_key();
  EXPECT_TRUE(ReadCity(old_key).ok());  // within the overlap
  EXPECT_TRUE(ReadCity(new_key).ok());

  // The retry under the new key is the same client's: the first answer, not a second record.
  v1::Organization retried;
  s = stub_->RegisterOrganization(AuthedContext(new_key).get(), reg, &retried);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(retried.id(), org.id());

  // A third live key is refused while both work.
  rotate.set_request_id("rotate-2");
  v1::RotateApiKeyResponse third;
  s = stub_->RotateApiKey(AuthedContext(new_key).get(), rotate, &third);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("id: "));

  absl::SleepFor(absl::Seconds(rotated.previous_key().expire_time().seconds() -
                               absl::ToUnixSeconds(absl::Now())) +
                 absl::Milliseconds(1200));
  s = ReadCity(old_key);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_EQ(s.error_message(), "API key expired");
  EXPECT_TRUE(ReadCity(new_key).ok());

  // Revoking the client ends its new key as well.
  v1::RevokeApiKeyRequest revoke;
  revoke.set_request_id("revoke-1");
  revoke.set_id(issued.api_client().id());
  revoke.set_expected_version(rotated.api_client().version());
  v1::ApiClient revoked;
  s = stub_->RevokeApiKey(AuthedContext(operator_key_).get(), revoke, &revoked);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ReadCity(new_key).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(LimitsTest, ABurstPastTheRateLimitIsRefusedWithARetryHintThenServedAfterIt) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry({{"TECHTRADE_RATE_LIMIT_CITY_SYSTEM", "2/3"}}));
  const std::string key = IssueCityKey().api_key();
  for (int i = 0; i < 3; ++i) {
    grpc::Status s = ReadCity(key);
    ASSERT_TRUE(s.ok()) << i << ": " << s.error_message();
  }
  auto context = AuthedContext(key);
  grpc::Status s = ReadCity(key, context.get());
  ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("2 calls a second (bursts of 3)"));
  EXPECT_THAT(s.error_message(), HasSubstr("retry after"));
  const auto& trailers = context->GetServerTrailingMetadata();
  auto hint = trailers.find(kRetryAfterMetadata);
  ASSERT_NE(hint, trailers.end());
  int64_t retry_after_ms = 0;
  ASSERT_TRUE(
      absl::SimpleAtoi(std::string(hint->second.data(), hint->second.size()), &retry_after_ms));
  EXPECT_GT(retry_after_ms, 0);
  EXPECT_LE(retry_after_ms, 500);  // one token at 2 a second
  // The operator's calls are not limited, nor counted against the city's key.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(ReadCity(operator_key_).ok()) << i;

  absl::SleepFor(absl::Milliseconds(retry_after_ms));
  s = ReadCity(key);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(LimitsTest, AnOversizedRequestIsRefusedAndTheServerCarriesOn) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  v1::RegisterOrganizationRequest r;
  r.set_request_id("too-big");
  r.set_credit_code("91420100MA4K2X8Q00");
  r.set_name("x");
  r.set_kind(v1::ORGANIZATION_KIND_ENTERPRISE);
  r.set_city_id("wuhan");
  r.set_description(std::string(kDefaultMaxReceiveMessageBytes + 1, 'a'));
  v1::Organization org;
  grpc::Status s = stub_->RegisterOrganization(AuthedContext(operator_key_).get(), r, &org);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_EQ(db_->QueryInt("SELECT count(*) FROM organizations"), 0);
  EXPECT_TRUE(ReadCity(operator_key_).ok());
}

TEST_F(LimitsTest, TheMessageSizeLimitIsASetting) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry({{"TECHTRADE_GRPC_MAX_RECEIVE_MESSAGE_BYTES", "65536"}}));
  v1::AuthenticateRequest r;
  r.set_api_key(std::string(70 * 1024, 'k'));
  Principal who;
  grpc::ClientContext context;
  grpc::Status s = stub_->Authenticate(&context, r, &who);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  // Under the limit, the same field is refused by its own rule instead.
  r.set_api_key(std::string(60 * 1024, 'k'));
  grpc::ClientContext again;
  s = stub_->Authenticate(&again, r, &who);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
}

}  // namespace
}  // namespace techtrade::testing
