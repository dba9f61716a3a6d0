#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "services/registry/domain/records.h"

namespace techtrade::registry {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::StartsWith;

const absl::Time kNow = absl::FromUnixMicros(1'750'000'000'123'456);
const absl::Time kLater = kNow + absl::Hours(1);

int64_t Micros(const google::protobuf::Timestamp& t) {
  return TimeUtil::TimestampToMicroseconds(t);
}

v1::Organization Registered() {
  v1::RegisterOrganizationRequest r;
  r.set_credit_code("91350100M000100Y43");
  r.set_name("Lake Labs");
  r.set_kind(v1::ORGANIZATION_KIND_ENTERPRISE);
  r.set_city_id("wuhan");
  r.set_address("1 Lake Road");
  r.set_contact_email("a@lake.example");
  r.set_description("optics");
  return NewOrganization(r, "org-1", kNow);
}

TEST(RegistryRecordsTest, NewPilotCityIsAtVersionOneCreatedNow) {
  v1::CreatePilotCityRequest r;
  r.set_id("wuhan");
  r.set_name("Wuhan");
  r.set_kind(v1::PILOT_CITY_KIND_PARK);
  r.set_division_code("420100");
  v1::PilotCity city = NewPilotCity(r, kNow);
  EXPECT_EQ(city.id(), "wuhan");
  EXPECT_EQ(city.name(), "Wuhan");
  EXPECT_EQ(city.kind(), v1::PILOT_CITY_KIND_PARK);
  EXPECT_EQ(city.division_code(), "420100");
  EXPECT_EQ(city.version(), 1);
  EXPECT_EQ(Micros(city.create_time()), absl::ToUnixMicros(kNow));
  EXPECT_EQ(Micros(city.update_time()), absl::ToUnixMicros(kNow));
  EXPECT_EQ(city.contract_registration_days(), kDefaultContractRegistrationDays);
  r.set_contract_registration_days(45);
  EXPECT_EQ(NewPilotCity(r, kNow).contract_registration_days(), 45);
}

TEST(RegistryRecordsTest, NewOrganizationIsPendingAtVersionOne) {
  v1::Organization org = Registered();
  EXPECT_EQ(org.id(), "org-1");
  EXPECT_EQ(org.status(), v1::ORGANIZATION_STATUS_PENDING);
  EXPECT_EQ(org.version(), 1);
  EXPECT_EQ(org.credit_code(), "91350100M000100Y43");
  EXPECT_EQ(org.city_id(), "wuhan");
  EXPECT_EQ(org.contact_email(), "a@lake.example");
  EXPECT_EQ(Micros(org.create_time()), absl::ToUnixMicros(kNow));
  EXPECT_EQ(org.update_time(), org.create_time());
  EXPECT_FALSE(org.has_verify_time());
}

TEST(RegistryRecordsTest, UpdateChangesOnlyTheFieldsSetAndBumpsTheVersion) {
  v1::UpdateOrganizationRequest r;
  r.set_expected_version(1);
  r.set_name("Lake Labs Ltd");
  absl::StatusOr<v1::Organization> org = UpdateOrganization(Registered(), r, kLater);
  ASSERT_TRUE(org.ok()) << org.status();
  EXPECT_EQ(org->name(), "Lake Labs Ltd");
  EXPECT_EQ(org->address(), "1 Lake Road");
  EXPECT_EQ(org->description(), "optics");
  EXPECT_EQ(org->version(), 2);
  EXPECT_EQ(Micros(org->update_time()), absl::ToUnixMicros(kLater));
  EXPECT_EQ(Micros(org->create_time()), absl::ToUnixMicros(kNow));
}

TEST(RegistryRecordsTest, UpdateOfAStaleVersionIsAborted) {
  v1::UpdateOrganizationRequest r;
  r.set_expected_version(2);
  r.set_name("x");
  absl::StatusOr<v1::Organization> org = UpdateOrganization(Registered(), r, kLater);
  EXPECT_TRUE(absl::IsAborted(org.status())) << org.status();
  EXPECT_THAT(std::string(org.status().message()), StartsWith("expected_version"));
}

TEST(RegistryRecordsTest, AnyChangeOfAVerifiedOrganisationKeepsOrGivesItAVerifyTime) {
  v1::UpdateOrganizationRequest r;
  r.set_expected_version(1);
  r.set_name("x");
  v1::Organization verified = Registered();
  verified.set_status(v1::ORGANIZATION_STATUS_VERIFIED);
  absl::StatusOr<v1::Organization> stamped = UpdateOrganization(verified, r, kLater);
  ASSERT_TRUE(stamped.ok()) << stamped.status();
  EXPECT_EQ(Micros(stamped->verify_time()), absl::ToUnixMicros(kLater));

  *verified.mutable_verify_time() = verified.create_time();
  absl::StatusOr<v1::Organization> kept = UpdateOrganization(verified, r, kLater);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(Micros(kept->verify_time()), absl::ToUnixMicros(kNow));
}

TEST(RegistryRecordsTest, VerifyingStampsTheVerifyTimeOnce) {
  absl::StatusOr<v1::Organization> verified =
      TransitionOrganization(Registered(), false, OrganizationAction::kVerify, 1, "", kLater);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->status(), v1::ORGANIZATION_STATUS_VERIFIED);
  EXPECT_EQ(verified->version(), 2);
  EXPECT_EQ(Micros(verified->verify_time()), absl::ToUnixMicros(kLater));

  absl::StatusOr<v1::Organization> suspended = TransitionOrganization(
      *verified, true, OrganizationAction::kSuspend, 2, "audit", kLater + absl::Hours(1));
  ASSERT_TRUE(suspended.ok()) << suspended.status();
  absl::StatusOr<v1::Organization> reinstated = TransitionOrganization(
      *suspended, true, OrganizationAction::kReinstate, 3, "", kLater + absl::Hours(2));
  ASSERT_TRUE(reinstated.ok()) << reinstated.status();
  EXPECT_EQ(reinstated->status(), v1::ORGANIZATION_STATUS_VERIFIED);
  // Verified again by reinstatement: the first verification's time stands.
  EXPECT_EQ(Micros(reinstated->verify_time()), absl::ToUnixMicros(kLater));
}

TEST(RegistryRecordsTest, SuspensionRecordsItsReasonAndReinstatementClearsIt) {
  absl::StatusOr<v1::Organization> suspended =
      TransitionOrganization(Registered(), false, OrganizationAction::kSuspend, 1, "fraud", kLater);
  ASSERT_TRUE(suspended.ok()) << suspended.status();
  EXPECT_EQ(suspended->status(), v1::ORGANIZATION_STATUS_SUSPENDED);
  EXPECT_EQ(suspended->suspension_reason(), "fraud");
  EXPECT_FALSE(suspended->has_verify_time());

  absl::StatusOr<v1::Organization> reinstated =
      TransitionOrganization(*suspended, false, OrganizationAction::kReinstate, 2, "", kLater);
  ASSERT_TRUE(reinstated.ok()) << reinstated.status();
  EXPECT_EQ(reinstated->status(), v1::ORGANIZATION_STATUS_PENDING);
  EXPECT_EQ(reinstated->suspension_reason(), "");
  EXPECT_EQ(reinstated->version(), 3);
}

TEST(RegistryRecordsTest, RefusedTransitionsSayWhy) {
  absl::StatusOr<v1::Organization> again =
      TransitionOrganization(Registered(), false, OrganizationAction::kReinstate, 1, "", kLater);
  EXPECT_TRUE(absl::IsFailedPrecondition(again.status())) << again.status();
  absl::StatusOr<v1::Organization> stale =
      TransitionOrganization(Registered(), false, OrganizationAction::kVerify, 5, "", kLater);
  EXPECT_TRUE(absl::IsAborted(stale.status())) << stale.status();
}

TEST(RegistryRecordsTest, NewApiClientIsActiveAtVersionOne) {
  v1::IssueApiKeyRequest r;
  r.set_name("portal");
  r.set_role(v1::API_CLIENT_ROLE_CITY_SYSTEM);
  r.set_city_id("wuhan");
  v1::ApiClient client = NewApiClient(r, "0123456789abcdef");
  EXPECT_EQ(client.id(), "0123456789abcdef");
  EXPECT_EQ(client.name(), "portal");
  EXPECT_EQ(client.role(), v1::API_CLIENT_ROLE_CITY_SYSTEM);
  EXPECT_EQ(client.city_id(), "wuhan");
  EXPECT_EQ(client.status(), v1::API_CLIENT_STATUS_ACTIVE);
  EXPECT_EQ(client.version(), 1);
}

TEST(RegistryRecordsTest, RevokingAKeyOnceAtItsVersion) {
  v1::ApiClient client = NewApiClient(v1::IssueApiKeyRequest(), "k");
  absl::StatusOr<v1::ApiClient> revoked = RevokeApiClient(client, 1);
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->status(), v1::API_CLIENT_STATUS_REVOKED);
  EXPECT_EQ(revoked->version(), 2);
  EXPECT_TRUE(absl::IsFailedPrecondition(RevokeApiClient(*revoked, 2).status()));
  EXPECT_TRUE(absl::IsAborted(RevokeApiClient(client, 3).status()));
}

}  // namespace
}  // namespace techtrade::registry
