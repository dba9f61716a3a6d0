// The registry's organisation handlers in process: who may call them, what they refuse, how a
// retried call is answered, and what a command saves and emits.
#include "tests/unit/registry/api/registry_handler_fixture.h"

namespace techtrade::registry {
namespace {

using ::testing::SizeIs;
using ::testing::StartsWith;

// ---- Authorisation ----

TEST_F(RegistryHandlerTest, ACallWithoutAKeyIsUnauthenticated) {
  v1::Organization org;
  grpc::Status s = Register("", Registration("r1", "wuhan"), &org);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_EQ(transactor_.runs(), 0);
}

TEST_F(RegistryHandlerTest, ACitySystemCannotRegisterInAnotherCity) {
  v1::Organization org;
  grpc::Status s = Register(hefei_key_, Registration("r1", "wuhan"), &org);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_TRUE(transactor_.state().organizations().empty());
  EXPECT_TRUE(transactor_.events().empty());
}

TEST_F(RegistryHandlerTest, APartnerCannotWrite) {
  v1::Organization org;
  grpc::Status s = Register(partner_key_, Registration("r1", "wuhan"), &org);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_TRUE(transactor_.state().organizations().empty());
}

TEST_F(RegistryHandlerTest, ACitySystemCannotChangeAnotherCitysOrganisation) {
  v1::Organization org = Registered("wuhan");
  v1::VerifyOrganizationRequest r;
  r.set_request_id("v1");
  r.set_id(org.id());
  r.set_expected_version(1);
  v1::Organization out;
  grpc::Status s = stub_->VerifyOrganization(testing::CallAs(hefei_key_).get(), r, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(transactor_.state().organizations().at(org.id()).status(),
            v1::ORGANIZATION_STATUS_PENDING);
  EXPECT_THAT(transactor_.events(), SizeIs(1));  // the registration's alone
}

// ---- Validation ----

TEST_F(RegistryHandlerTest, ABadCreditCodeIsRefusedNamingTheFieldAndSavesNothing) {
  v1::RegisterOrganizationRequest r = Registration("r1", "wuhan");
  r.set_credit_code("91350100M000100Y44");  // wrong check character
  v1::Organization org;
  grpc::Status s = Register(wuhan_key_, r, &org);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("credit_code"));
  EXPECT_TRUE(transactor_.state().organizations().empty());
  EXPECT_TRUE(transactor_.events().empty());
}

TEST_F(RegistryHandlerTest, AMissingRequestIdIsRefusedNamingIt) {
  v1::Organization org;
  grpc::Status s = Register(wuhan_key_, Registration("", "wuhan"), &org);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("request_id"));
  EXPECT_TRUE(transactor_.events().empty());
}

TEST_F(RegistryHandlerTest, AnUpdateThatSetsNothingIsRefusedNamingName) {
  v1::Organization org = Registered();
  v1::UpdateOrganizationRequest r;
  r.set_request_id("u1");
  r.set_id(org.id());
  r.set_expected_version(1);
  v1::Organization out;
  grpc::Status s = stub_->UpdateOrganization(testing::CallAs(wuhan_key_).get(), r, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("name"));
  EXPECT_EQ(transactor_.state().organizations().at(org.id()).version(), 1);
}

TEST_F(RegistryHandlerTest, AnUnknownCityIsRefusedNamingCityIdWithNoEvent) {
  v1::Organization org;
  grpc::Status s = Register(operator_key_, Registration("r1", "nanjing"), &org);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("city_id"));
  EXPECT_TRUE(transactor_.state().organizations().empty());
  EXPECT_TRUE(transactor_.events().empty());
}

TEST_F(RegistryHandlerTest, AStaleExpectedVersionChangesNothing) {
  v1::Organization org = Registered();
  v1::UpdateOrganizationRequest r;
  r.set_request_id("u1");
  r.set_id(org.id());
  r.set_expected_version(7);
  r.set_name("Renamed");
  v1::Organization out;
  grpc::Status s = stub_->UpdateOrganization(testing::CallAs(wuhan_key_).get(), r, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  EXPECT_EQ(transactor_.state().organizations().at(org.id()).name(), org.name());
  EXPECT_THAT(transactor_.events(), SizeIs(1));
}

// ---- Idempotency ----

TEST_F(RegistryHandlerTest, ARetryGetsTheSameOrganisationAndEmitsNothingMore) {
  v1::Organization first, second;
  ASSERT_TRUE(Register(wuhan_key_, Registration("r1", "wuhan"), &first).ok());
  grpc::Status s = Register(wuhan_key_, Registration("r1", "wuhan"), &second);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(second.id(), first.id());
  EXPECT_EQ(second.SerializeAsString(), first.SerializeAsString());
  EXPECT_THAT(transactor_.state().organizations(), SizeIs(1));
  EXPECT_THAT(transactor_.events(), SizeIs(1));
}

TEST_F(RegistryHandlerTest, ARequestIdReusedForAnotherRequestIsRefusedNamingIt) {
  v1::Organization org;
  ASSERT_TRUE(Register(wuhan_key_, Registration("r1", "wuhan", 1), &org).ok());
  grpc::Status s = Register(wuhan_key_, Registration("r1", "wuhan", 2), &org);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("request_id"));
  EXPECT_THAT(transactor_.state().organizations(), SizeIs(1));
  EXPECT_THAT(transactor_.events(), SizeIs(1));
}

TEST_F(RegistryHandlerTest, ACommitWhoseAnswerWasLostIsAnsweredFromTheStoredResponse) {
  transactor_.LoseNextCommitAnswers(1);
  v1::Organization first, retried;
  grpc::Status s = Register(wuhan_key_, Registration("r1", "wuhan"), &first);
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = Register(wuhan_key_, Registration("r1", "wuhan"), &retried);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(retried.SerializeAsString(), first.SerializeAsString());
  EXPECT_THAT(transactor_.state().organizations(), SizeIs(1));
  EXPECT_THAT(transactor_.events(), SizeIs(1));
}

TEST_F(RegistryHandlerTest, ARetriedVerificationIsAnsweredAgainThoughTheStatusMovedOn) {
  v1::Organization org = Registered();
  v1::VerifyOrganizationRequest r;
  r.set_request_id("v1");
  r.set_id(org.id());
  r.set_expected_version(1);
  v1::Organization first, retried;
  ASSERT_TRUE(stub_->VerifyOrganization(testing::CallAs(wuhan_key_).get(), r, &first).ok());
  grpc::Status s = stub_->VerifyOrganization(testing::CallAs(wuhan_key_).get(), r, &retried);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(retried.SerializeAsString(), first.SerializeAsString());
  EXPECT_THAT(transactor_.events(), SizeIs(2));
}

// ---- The command path ----

TEST_F(RegistryHandlerTest, RegisteringSavesAPendingOrganisationAndEmitsItsRegistration) {
  v1::Organization org;
  ASSERT_TRUE(Register(wuhan_key_, Registration("r1", "wuhan"), &org).ok());
  EXPECT_EQ(org.status(), v1::ORGANIZATION_STATUS_PENDING);
  EXPECT_EQ(org.version(), 1);
  EXPECT_EQ(transactor_.state().organizations().at(org.id()).SerializeAsString(),
            org.SerializeAsString());
  std::vector<testing::EmittedEvent> events = transactor_.events();
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].producer, "registry");
  EXPECT_EQ(events[0].aggregate.type, "organization");
  EXPECT_EQ(events[0].aggregate.id, org.id());
  EXPECT_EQ(events[0].sequence, 1);
  EXPECT_EQ(events[0].cause.request_id, "r1");
  EXPECT_EQ(events[0].type, "techtrade.registry.v1.OrganizationRegistered");
  EXPECT_EQ(Payload<v1::OrganizationRegistered>(events[0]).organization().id(), org.id());
}

TEST_F(RegistryHandlerTest, VerifySuspendReinstateEmitOneEventEachInSequence) {
  v1::Organization org = Registered();
  v1::VerifyOrganizationRequest verify;
  verify.set_request_id("v1");
  verify.set_id(org.id());
  verify.set_expected_version(1);
  ASSERT_TRUE(stub_->VerifyOrganization(testing::CallAs(wuhan_key_).get(), verify, &org).ok());
  EXPECT_TRUE(org.has_verify_time());
  v1::SuspendOrganizationRequest suspend;
  suspend.set_request_id("s1");
  suspend.set_id(org.id());
  suspend.set_expected_version(2);
  suspend.set_reason("audit pending");
  ASSERT_TRUE(stub_->SuspendOrganization(testing::CallAs(operator_key_).get(), suspend, &org).ok());
  EXPECT_EQ(org.suspension_reason(), "audit pending");
  v1::ReinstateOrganizationRequest reinstate;
  reinstate.set_request_id("re1");
  reinstate.set_id(org.id());
  reinstate.set_expected_version(3);
  grpc::Status s =
      stub_->ReinstateOrganization(testing::CallAs(operator_key_).get(), reinstate, &org);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(org.status(), v1::ORGANIZATION_STATUS_VERIFIED);  // it was verified before
  EXPECT_EQ(org.suspension_reason(), "");
  EXPECT_EQ(org.version(), 4);
  EXPECT_EQ(transactor_.state().organizations().at(org.id()).SerializeAsString(),
            org.SerializeAsString());

  std::vector<testing::EmittedEvent> events = transactor_.events();
  ASSERT_THAT(events, SizeIs(4));
  const char* types[] = {"OrganizationRegistered", "OrganizationVerified", "OrganizationSuspended",
                         "OrganizationReinstated"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(events[i].type, absl::StrCat("techtrade.registry.v1.", types[i]));
    EXPECT_EQ(events[i].aggregate.id, org.id());
    EXPECT_EQ(events[i].sequence, i + 1);
  }
  EXPECT_EQ(Payload<v1::OrganizationSuspended>(events[2]).organization().status(),
            v1::ORGANIZATION_STATUS_SUSPENDED);
}

TEST_F(RegistryHandlerTest, AnIllegalTransitionIsAFailedPreconditionWithNoEvent) {
  v1::Organization org = Registered();
  v1::ReinstateOrganizationRequest r;
  r.set_request_id("re1");
  r.set_id(org.id());
  r.set_expected_version(1);
  v1::Organization out;
  grpc::Status s = stub_->ReinstateOrganization(testing::CallAs(wuhan_key_).get(), r, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(transactor_.events(), SizeIs(1));
}

TEST_F(RegistryHandlerTest, AnUpdateSavesTheFieldsSetAndEmitsAtTheNextVersion) {
  v1::Organization org = Registered();
  v1::UpdateOrganizationRequest r;
  r.set_request_id("u1");
  r.set_id(org.id());
  r.set_expected_version(1);
  r.set_address("2 Lake Road");
  v1::Organization out;
  ASSERT_TRUE(stub_->UpdateOrganization(testing::CallAs(wuhan_key_).get(), r, &out).ok());
  EXPECT_EQ(out.address(), "2 Lake Road");
  EXPECT_EQ(out.name(), org.name());
  EXPECT_EQ(out.version(), 2);
  EXPECT_EQ(transactor_.state().organizations().at(org.id()).address(), "2 Lake Road");
  std::vector<testing::EmittedEvent> events = transactor_.events();
  ASSERT_THAT(events, SizeIs(2));
  EXPECT_EQ(events[1].type, "techtrade.registry.v1.OrganizationUpdated");
  EXPECT_EQ(events[1].sequence, 2);
}

TEST_F(RegistryHandlerTest, ReadsFindFilterAndPageOrganisations) {
  v1::Organization a = Registered("wuhan", 1);
  Registered("hefei", 2);
  Registered("wuhan", 3);
  v1::Organization got;
  v1::GetOrganizationRequest get;
  get.set_id(a.id());
  ASSERT_TRUE(stub_->GetOrganization(testing::CallAs(partner_key_).get(), get, &got).ok());
  EXPECT_EQ(got.SerializeAsString(), a.SerializeAsString());
  get.set_id("00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(stub_->GetOrganization(testing::CallAs(partner_key_).get(), get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::ListOrganizationsRequest list;
  list.set_city_id("wuhan");
  list.set_page_size(1);
  v1::ListOrganizationsResponse page;
  ASSERT_TRUE(stub_->ListOrganizations(testing::CallAs(wuhan_key_).get(), list, &page).ok());
  ASSERT_THAT(page.organizations(), SizeIs(1));
  EXPECT_EQ(page.organizations(0).id(), a.id());
  ASSERT_FALSE(page.next_page_token().empty());
  list.set_page_token(page.next_page_token());
  ASSERT_TRUE(stub_->ListOrganizations(testing::CallAs(wuhan_key_).get(), list, &page).ok());
  ASSERT_THAT(page.organizations(), SizeIs(1));
  EXPECT_EQ(page.organizations(0).city_id(), "wuhan");
  EXPECT_TRUE(page.next_page_token().empty());
}

}  // namespace
}  // namespace techtrade::registry
