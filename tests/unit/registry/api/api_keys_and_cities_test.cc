// The registry's pilot city and API key handlers in process: operator only, validated, idempotent,
// and what they save and emit.
#include "services/registry/api/authenticator.h"
#include "tests/unit/registry/api/registry_handler_fixture.h"

namespace techtrade::registry {
namespace {

using ::testing::SizeIs;
using ::testing::StartsWith;

v1::CreatePilotCityRequest CityRequest(const std::string& request_id, const std::string& id) {
  v1::CreatePilotCityRequest r;
  r.set_request_id(request_id);
  r.set_id(id);
  r.set_name("Nanjing");
  r.set_kind(v1::PILOT_CITY_KIND_CITY);
  r.set_division_code("320100");
  return r;
}

v1::IssueApiKeyRequest KeyRequest(const std::string& request_id) {
  v1::IssueApiKeyRequest r;
  r.set_request_id(request_id);
  r.set_name("Wuhan portal");
  r.set_role(v1::API_CLIENT_ROLE_CITY_SYSTEM);
  r.set_city_id("wuhan");
  return r;
}

TEST_F(RegistryHandlerTest, OnlyAnOperatorCreatesCitiesAndIssuesKeys) {
  v1::PilotCity city;
  grpc::Status s = stub_->CreatePilotCity(testing::CallAs(wuhan_key_).get(),
                                          CityRequest("c1", "nanjing"), &city);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  v1::IssueApiKeyResponse issued;
  s = stub_->IssueApiKey(testing::CallAs(partner_key_).get(), KeyRequest("k1"), &issued);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  v1::ListApiClientsResponse clients;
  s = stub_->ListApiClients(testing::CallAs(wuhan_key_).get(), v1::ListApiClientsRequest(),
                            &clients);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(transactor_.state().city_count(), 2u);
  EXPECT_EQ(transactor_.state().client_count(), 0u);
  EXPECT_TRUE(transactor_.events().empty());
}

TEST_F(RegistryHandlerTest, CreatingACitySavesItAndEmitsItsCreation) {
  v1::PilotCity city;
  grpc::Status s = stub_->CreatePilotCity(testing::CallAs(operator_key_).get(),
                                          CityRequest("c1", "nanjing"), &city);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(city.version(), 1);
  v1::GetPilotCityRequest get;
  get.set_id("nanjing");
  v1::PilotCity got;
  ASSERT_TRUE(stub_->GetPilotCity(testing::CallAs(hefei_key_).get(), get, &got).ok());
  EXPECT_EQ(got.SerializeAsString(), city.SerializeAsString());
  std::vector<testing::EmittedEvent> events = transactor_.events();
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].type, "techtrade.registry.v1.PilotCityCreated");
  EXPECT_EQ(events[0].aggregate.type, "pilot_city");
  EXPECT_EQ(events[0].aggregate.id, "nanjing");
  EXPECT_EQ(events[0].sequence, 1);
  EXPECT_EQ(Payload<v1::PilotCityCreated>(events[0]).pilot_city().name(), "Nanjing");
}

TEST_F(RegistryHandlerTest, ABadCityIdIsRefusedNamingIt) {
  v1::PilotCity city;
  grpc::Status s = stub_->CreatePilotCity(testing::CallAs(operator_key_).get(),
                                          CityRequest("c1", "Nanjing!"), &city);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("id"));
  EXPECT_EQ(transactor_.state().city_count(), 2u);
  EXPECT_TRUE(transactor_.events().empty());
}

TEST_F(RegistryHandlerTest, ACityThatExistsIsAlreadyExistsNamingId) {
  v1::PilotCity city;
  grpc::Status s = stub_->CreatePilotCity(testing::CallAs(operator_key_).get(),
                                          CityRequest("c1", "wuhan"), &city);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), StartsWith("id"));
  EXPECT_TRUE(transactor_.events().empty());
}

TEST_F(RegistryHandlerTest, ACitySystemKeyWithoutACityIsRefusedNamingCityId) {
  v1::IssueApiKeyRequest r = KeyRequest("k1");
  r.clear_city_id();
  v1::IssueApiKeyResponse issued;
  grpc::Status s = stub_->IssueApiKey(testing::CallAs(operator_key_).get(), r, &issued);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("city_id"));
  EXPECT_EQ(transactor_.state().client_count(), 0u);
}

TEST_F(RegistryHandlerTest, IssuingAKeyShowsItsSecretOnceAndARetryGetsTheSameClient) {
  v1::IssueApiKeyResponse first, retried;
  ASSERT_TRUE(
      stub_->IssueApiKey(testing::CallAs(operator_key_).get(), KeyRequest("k1"), &first).ok());
  EXPECT_FALSE(first.api_key().empty());
  EXPECT_EQ(first.api_client().status(), v1::API_CLIENT_STATUS_ACTIVE);
  EXPECT_EQ(ParseApiKey(first.api_key())->key_id, first.api_client().id());
  grpc::Status s =
      stub_->IssueApiKey(testing::CallAs(operator_key_).get(), KeyRequest("k1"), &retried);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(retried.api_client().SerializeAsString(), first.api_client().SerializeAsString());
  EXPECT_TRUE(retried.api_key().empty());  // the secret is not kept
  EXPECT_EQ(transactor_.state().client_count(), 1u);
  std::vector<testing::EmittedEvent> events = transactor_.events();
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].type, "techtrade.registry.v1.ApiKeyIssued");
  EXPECT_EQ(events[0].aggregate.type, "api_client");
  EXPECT_EQ(events[0].aggregate.id, first.api_client().id());
  EXPECT_EQ(events[0].sequence, 1);
}

TEST_F(RegistryHandlerTest, AnIssuedKeyWhoseAnswerWasLostIsIssuedOnce) {
  transactor_.LoseNextCommitAnswers(1);
  v1::IssueApiKeyResponse first, retried;
  grpc::Status s =
      stub_->IssueApiKey(testing::CallAs(operator_key_).get(), KeyRequest("k1"), &first);
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = stub_->IssueApiKey(testing::CallAs(operator_key_).get(), KeyRequest("k1"), &retried);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(retried.api_client().id(), first.api_client().id());
  EXPECT_EQ(transactor_.state().client_count(), 1u);
  EXPECT_THAT(transactor_.events(), SizeIs(1));
}

TEST_F(RegistryHandlerTest, RevokingAKeySavesItRevokedOnceAndForgetsIt) {
  v1::IssueApiKeyResponse issued;
  ASSERT_TRUE(
      stub_->IssueApiKey(testing::CallAs(operator_key_).get(), KeyRequest("k1"), &issued).ok());
  v1::RevokeApiKeyRequest r;
  r.set_request_id("rk1");
  r.set_id(issued.api_client().id());
  r.set_expected_version(1);
  v1::ApiClient revoked;
  ASSERT_TRUE(stub_->RevokeApiKey(testing::CallAs(operator_key_).get(), r, &revoked).ok());
  EXPECT_EQ(revoked.status(), v1::API_CLIENT_STATUS_REVOKED);
  EXPECT_EQ(revoked.version(), 2);
  EXPECT_TRUE(revoked.has_revoke_time());

  v1::GetApiClientRequest get;
  get.set_id(revoked.id());
  v1::ApiClient got;
  ASSERT_TRUE(stub_->GetApiClient(testing::CallAs(operator_key_).get(), get, &got).ok());
  EXPECT_EQ(got.SerializeAsString(), revoked.SerializeAsString());

  std::vector<testing::EmittedEvent> events = transactor_.events();
  ASSERT_THAT(events, SizeIs(2));
  EXPECT_EQ(events[1].type, "techtrade.registry.v1.ApiKeyRevoked");
  EXPECT_EQ(events[1].aggregate.id, revoked.id());
  EXPECT_EQ(events[1].sequence, 2);

  r.set_request_id("rk2");
  r.set_expected_version(2);
  grpc::Status s = stub_->RevokeApiKey(testing::CallAs(operator_key_).get(), r, &revoked);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(transactor_.events(), SizeIs(2));
}

TEST_F(RegistryHandlerTest, KeysAreListedInPagesForTheOperator) {
  v1::IssueApiKeyResponse issued;
  for (const char* id : {"k1", "k2", "k3"}) {
    ASSERT_TRUE(
        stub_->IssueApiKey(testing::CallAs(operator_key_).get(), KeyRequest(id), &issued).ok());
  }
  v1::ListApiClientsRequest list;
  list.set_page_size(2);
  v1::ListApiClientsResponse page;
  ASSERT_TRUE(stub_->ListApiClients(testing::CallAs(operator_key_).get(), list, &page).ok());
  EXPECT_THAT(page.api_clients(), SizeIs(2));
  list.set_page_token(page.next_page_token());
  ASSERT_TRUE(stub_->ListApiClients(testing::CallAs(operator_key_).get(), list, &page).ok());
  EXPECT_THAT(page.api_clients(), SizeIs(1));
  EXPECT_EQ(page.api_clients(0).id(), issued.api_client().id());
}

TEST_F(RegistryHandlerTest, AuthenticateAnswersWhoAKeyBelongsTo) {
  v1::AuthenticateRequest r;
  r.set_api_key(wuhan_key_);
  Principal who;
  grpc::ClientContext context;  // the request carries the credential
  ASSERT_TRUE(stub_->Authenticate(&context, r, &who).ok());
  EXPECT_EQ(who.city_id(), "wuhan");
  r.set_api_key("tt_0000000000000000_" + std::string(64, '0'));
  grpc::ClientContext again;
  EXPECT_EQ(stub_->Authenticate(&again, r, &who).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(RegistryHandlerTest, TheBootstrapOperatorKeyIsRegisteredOnce) {
  const std::string key = NewApiKey();
  ASSERT_TRUE(EnsureBootstrapOperatorKey(transactor_, key).ok());
  ASSERT_TRUE(EnsureBootstrapOperatorKey(transactor_, key).ok());  // a restart
  EXPECT_EQ(transactor_.state().client_count(), 1u);
  std::vector<testing::EmittedEvent> events = transactor_.events();
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].type, "techtrade.registry.v1.ApiKeyIssued");
  EXPECT_EQ(events[0].aggregate.id, ParseApiKey(key)->key_id);
  EXPECT_EQ(Payload<v1::ApiKeyIssued>(events[0]).api_client().role(), v1::API_CLIENT_ROLE_OPERATOR);
  EXPECT_TRUE(absl::IsInvalidArgument(EnsureBootstrapOperatorKey(transactor_, "tt_nope")));
}

}  // namespace
}  // namespace techtrade::registry
