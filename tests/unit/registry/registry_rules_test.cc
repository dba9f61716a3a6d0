#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "services/registry/domain/rules.h"

namespace techtrade::registry {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr v1::OrganizationStatus kPending = v1::ORGANIZATION_STATUS_PENDING;
constexpr v1::OrganizationStatus kVerified = v1::ORGANIZATION_STATUS_VERIFIED;
constexpr v1::OrganizationStatus kSuspended = v1::ORGANIZATION_STATUS_SUSPENDED;

struct TransitionCase {
  v1::OrganizationStatus from;
  OrganizationAction action;
  bool ever_verified;
  std::optional<v1::OrganizationStatus> to;  // nullopt: refused
};

class TransitionTest : public ::testing::TestWithParam<TransitionCase> {};

TEST_P(TransitionTest, FollowsTheStatusMachine) {
  const TransitionCase& c = GetParam();
  absl::StatusOr<v1::OrganizationStatus> next = NextStatus(c.from, c.action, c.ever_verified);
  if (c.to.has_value()) {
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_EQ(*next, *c.to);
  } else {
    EXPECT_EQ(next.status().code(), absl::StatusCode::kFailedPrecondition);
  }
}

// Every (status, action) pair, exhaustively.
INSTANTIATE_TEST_SUITE_P(
    AllPairs, TransitionTest,
    ::testing::Values(TransitionCase{kPending, OrganizationAction::kVerify, false, kVerified},
                      TransitionCase{kPending, OrganizationAction::kSuspend, false, kSuspended},
                      TransitionCase{kPending, OrganizationAction::kReinstate, false, std::nullopt},
                      TransitionCase{kVerified, OrganizationAction::kVerify, true, std::nullopt},
                      TransitionCase{kVerified, OrganizationAction::kSuspend, true, kSuspended},
                      TransitionCase{kVerified, OrganizationAction::kReinstate, true, std::nullopt},
                      TransitionCase{kSuspended, OrganizationAction::kVerify, true, std::nullopt},
                      TransitionCase{kSuspended, OrganizationAction::kSuspend, true, std::nullopt},
                      TransitionCase{kSuspended, OrganizationAction::kReinstate, true, kVerified},
                      TransitionCase{kSuspended, OrganizationAction::kReinstate, false, kPending},
                      TransitionCase{v1::ORGANIZATION_STATUS_UNSPECIFIED,
                                     OrganizationAction::kVerify, false, std::nullopt}));

v1::RegisterOrganizationRequest ValidRegistration() {
  v1::RegisterOrganizationRequest r;
  r.set_request_id("r1");
  r.set_credit_code("91350100M000100Y43");
  r.set_name("华中科技大学");
  r.set_kind(v1::ORGANIZATION_KIND_UNIVERSITY);
  r.set_city_id("wuhan-east-lake");
  r.set_contact_email("tto@hust.edu.cn");
  return r;
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(RegisterValidationTest, AcceptsValidRequest) {
  EXPECT_TRUE(ValidateRegisterOrganization(ValidRegistration()).ok());
}

TEST(RegisterValidationTest, NamesTheOffendingField) {
  struct Case {
    std::function<void(v1::RegisterOrganizationRequest&)> mutate;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](auto& r) { r.set_credit_code("91350100M000100Y44"); }, "credit_code"},
      {[](auto& r) { r.set_name(""); }, "name"},
      {[](auto& r) { r.set_name(std::string(201, 'a')); }, "name"},
      {[](auto& r) { r.set_kind(v1::ORGANIZATION_KIND_UNSPECIFIED); }, "kind"},
      {[](auto& r) { r.set_kind(static_cast<v1::OrganizationKind>(42)); }, "kind"},
      {[](auto& r) { r.set_city_id(""); }, "city_id"},
      {[](auto& r) { r.set_city_id("Wuhan East"); }, "city_id"},
      {[](auto& r) { r.set_address(std::string(501, 'x')); }, "address"},
      {[](auto& r) { r.set_contact_email("not-an-email"); }, "contact_email"},
      {[](auto& r) { r.set_description(std::string(4001, 'x')); }, "description"},
      {[](auto& r) { r.set_name("bad\x01name"); }, "name"},
  };
  for (const Case& c : cases) {
    v1::RegisterOrganizationRequest r = ValidRegistration();
    c.mutate(r);
    absl::Status s = ValidateRegisterOrganization(r);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(Message(s), StartsWith(c.field + ": "));
  }
}

TEST(RegisterValidationTest, CountsChineseCharactersNotBytes) {
  v1::RegisterOrganizationRequest r = ValidRegistration();
  std::string name;
  for (int i = 0; i < 200; ++i) name += "学";  // 600 bytes, 200 characters
  r.set_name(name);
  EXPECT_TRUE(ValidateRegisterOrganization(r).ok());
  r.set_name(name + "学");
  EXPECT_THAT(Message(ValidateRegisterOrganization(r)), HasSubstr("got 201"));
}

TEST(UpdateValidationTest, RequiresVersionIdAndSomethingToChange) {
  v1::UpdateOrganizationRequest r;
  r.set_request_id("r1");
  r.set_id("3f0c9a8e-1b2c-4d5e-8f90-123456789abc");
  r.set_expected_version(1);
  EXPECT_THAT(Message(ValidateUpdateOrganization(r)), HasSubstr("nothing to update"));
  r.set_name("New name");
  EXPECT_TRUE(ValidateUpdateOrganization(r).ok());
  r.set_expected_version(0);
  EXPECT_THAT(Message(ValidateUpdateOrganization(r)), StartsWith("expected_version: "));
  r.set_expected_version(2);
  r.set_id("not-a-uuid");
  EXPECT_THAT(Message(ValidateUpdateOrganization(r)), StartsWith("id: "));
  r.set_id("3f0c9a8e-1b2c-4d5e-8f90-123456789abc");
  r.set_name("");
  EXPECT_THAT(Message(ValidateUpdateOrganization(r)), StartsWith("name: "));
}

TEST(PilotCityValidationTest, ChecksEveryField) {
  v1::CreatePilotCityRequest r;
  r.set_request_id("r1");
  r.set_id("wuhan-east-lake");
  r.set_name("武汉东湖新技术开发区");
  r.set_kind(v1::PILOT_CITY_KIND_PARK);
  r.set_division_code("420100");
  EXPECT_TRUE(ValidateCreatePilotCity(r).ok());
  r.set_division_code("42010");
  EXPECT_THAT(Message(ValidateCreatePilotCity(r)), StartsWith("division_code: "));
  r.set_division_code("420100");
  r.set_kind(v1::PILOT_CITY_KIND_UNSPECIFIED);
  EXPECT_THAT(Message(ValidateCreatePilotCity(r)), StartsWith("kind: "));
  r.set_kind(v1::PILOT_CITY_KIND_CITY);
  r.set_id("x");
  EXPECT_THAT(Message(ValidateCreatePilotCity(r)), StartsWith("id: "));
  r.set_id("1abc");
  EXPECT_THAT(Message(ValidateCreatePilotCity(r)), StartsWith("id: "));
  r.set_id("sanming");
  for (int days : {1, 30, 365}) {
    r.set_contract_registration_days(days);
    EXPECT_TRUE(ValidateCreatePilotCity(r).ok()) << days;
  }
  for (int days : {-1, 366}) {
    r.set_contract_registration_days(days);
    EXPECT_THAT(Message(ValidateCreatePilotCity(r)), StartsWith("contract_registration_days: "));
  }
}

TEST(IssueApiKeyValidationTest, CityOnlyForCitySystems) {
  v1::IssueApiKeyRequest r;
  r.set_request_id("r1");
  r.set_name("Wuhan portal");
  r.set_role(v1::API_CLIENT_ROLE_CITY_SYSTEM);
  EXPECT_THAT(Message(ValidateIssueApiKey(r)), StartsWith("city_id: "));
  r.set_city_id("wuhan-east-lake");
  EXPECT_TRUE(ValidateIssueApiKey(r).ok());
  r.set_role(v1::API_CLIENT_ROLE_PARTNER);
  EXPECT_THAT(Message(ValidateIssueApiKey(r)), StartsWith("city_id: "));
  r.clear_city_id();
  EXPECT_TRUE(ValidateIssueApiKey(r).ok());
  r.set_role(v1::API_CLIENT_ROLE_UNSPECIFIED);
  EXPECT_THAT(Message(ValidateIssueApiKey(r)), StartsWith("role: "));
}

TEST(IssueApiKeyValidationTest, ARegistrationBodyBelongsToACity) {
  v1::IssueApiKeyRequest r;
  r.set_request_id("r1");
  r.set_name("Sanming technology-contract registration office");
  r.set_role(v1::API_CLIENT_ROLE_REGISTRATION_BODY);
  EXPECT_THAT(Message(ValidateIssueApiKey(r)), StartsWith("city_id: "));
  r.set_city_id("sanming");
  EXPECT_TRUE(ValidateIssueApiKey(r).ok());
}

TEST(IssueApiKeyValidationTest, OnlyARegistrationBodyNamesItsGovernmentOrganisation) {
  v1::IssueApiKeyRequest r;
  r.set_request_id("r1");
  r.set_name("Sanming technology-contract registration office");
  r.set_role(v1::API_CLIENT_ROLE_REGISTRATION_BODY);
  r.set_city_id("sanming");
  r.set_organization_id("not-a-uuid");
  EXPECT_THAT(Message(ValidateIssueApiKey(r)), StartsWith("organization_id: "));
  r.set_organization_id("3f0c9a8e-1b2c-4d5e-8f90-123456789abc");
  EXPECT_TRUE(ValidateIssueApiKey(r).ok());
  v1::Organization office;
  office.set_kind(v1::ORGANIZATION_KIND_GOVERNMENT);
  office.set_city_id("sanming");
  EXPECT_TRUE(CheckBodyOrganization(r, office).ok());
  office.set_city_id("wuhan");
  EXPECT_THAT(Message(CheckBodyOrganization(r, office)), StartsWith("organization_id: "));
  office.set_city_id("sanming");
  office.set_kind(v1::ORGANIZATION_KIND_ENTERPRISE);
  EXPECT_THAT(Message(CheckBodyOrganization(r, office)), StartsWith("organization_id: "));
  r.set_role(v1::API_CLIENT_ROLE_CITY_SYSTEM);
  EXPECT_THAT(Message(ValidateIssueApiKey(r)), StartsWith("organization_id: "));
}

TEST(SuspendValidationTest, NeedsReason) {
  v1::SuspendOrganizationRequest r;
  r.set_request_id("r1");
  r.set_id("3f0c9a8e-1b2c-4d5e-8f90-123456789abc");
  r.set_expected_version(3);
  EXPECT_THAT(Message(ValidateSuspendOrganization(r)), StartsWith("reason: "));
  r.set_reason("licence revoked");
  EXPECT_TRUE(ValidateSuspendOrganization(r).ok());
}

}  // namespace
}  // namespace techtrade::registry
