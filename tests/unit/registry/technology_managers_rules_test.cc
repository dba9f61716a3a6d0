// Technology managers' rules at their edges: the certificate's expiry against now, the
// affiliation's status, and revocation once at the version read.
#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "services/registry/domain/technology_managers.h"

namespace techtrade::registry {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::StartsWith;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

v1::RegisterTechnologyManagerRequest Request() {
  v1::RegisterTechnologyManagerRequest r;
  r.set_request_id("r1");
  r.set_name("Li Wei");
  r.set_certificate_number("TM-2026-0001");
  r.set_certifying_authority("Hubei Provincial Department of Science and Technology");
  r.set_organization_id("7d0e5a52-5a3b-4c3e-9e51-0b8f2f1f5d11");
  return r;
}

TEST(TechnologyManagerRulesTest, ACertificateMustOutliveTheRegistration) {
  v1::RegisterTechnologyManagerRequest r = Request();
  EXPECT_TRUE(ValidateRegisterTechnologyManager(r, kNow).ok());  // no expiry: never expires
  *r.mutable_certificate_expire_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(kNow));
  absl::Status s = ValidateRegisterTechnologyManager(r, kNow);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), StartsWith("certificate_expire_time: "));
  *r.mutable_certificate_expire_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(kNow) + 1);
  EXPECT_TRUE(ValidateRegisterTechnologyManager(r, kNow).ok());
  r.mutable_certificate_expire_time()->set_nanos(-1);
  EXPECT_THAT(std::string(ValidateRegisterTechnologyManager(r, kNow).message()),
              StartsWith("certificate_expire_time.nanos: "));
}

TEST(TechnologyManagerRulesTest, EveryMissingFieldIsNamed) {
  for (const char* field :
       {"request_id", "name", "certificate_number", "certifying_authority", "organization_id"}) {
    v1::RegisterTechnologyManagerRequest r = Request();
    r.GetReflection()->ClearField(&r, r.GetDescriptor()->FindFieldByName(field));
    absl::Status s = ValidateRegisterTechnologyManager(r, kNow);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_THAT(std::string(s.message()), StartsWith(std::string(field) + ": ")) << field;
  }
  v1::RegisterTechnologyManagerRequest spaced = Request();
  spaced.set_certificate_number("TM 2026");
  EXPECT_THAT(std::string(ValidateRegisterTechnologyManager(spaced, kNow).message()),
              StartsWith("certificate_number: "));
}

TEST(TechnologyManagerRulesTest, OnlyAVerifiedOrganisationIsAnAffiliation) {
  for (int status = 0; status <= 3; ++status) {
    v1::Organization org;
    org.set_id("o1");
    org.set_status(static_cast<v1::OrganizationStatus>(status));
    absl::Status s = CheckAffiliation(org);
    if (status == v1::ORGANIZATION_STATUS_VERIFIED) {
      EXPECT_TRUE(s.ok()) << status;
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << status;
      EXPECT_THAT(std::string(s.message()), StartsWith("organization_id: ")) << status;
    }
  }
}

TEST(TechnologyManagerRulesTest, ANewManagerIsCertifiedInItsOrganisationsCity) {
  v1::Organization org;
  org.set_id("o1");
  org.set_city_id("wuhan");
  v1::TechnologyManager m = NewTechnologyManager(Request(), org, "m1", kNow);
  EXPECT_EQ(m.id(), "m1");
  EXPECT_EQ(m.organization_id(), "o1");
  EXPECT_EQ(m.city_id(), "wuhan");
  EXPECT_EQ(m.status(), v1::TECHNOLOGY_MANAGER_STATUS_CERTIFIED);
  EXPECT_EQ(m.version(), 1);
  EXPECT_FALSE(m.has_certificate_expire_time());
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(m.create_time()), absl::ToUnixMicros(kNow));
}

TEST(TechnologyManagerRulesTest, ARevocationHappensOnceAtTheVersionRead) {
  v1::Organization org;
  org.set_id("o1");
  v1::TechnologyManager m = NewTechnologyManager(Request(), org, "m1", kNow);
  EXPECT_EQ(RevokeTechnologyManager(m, 2, "why", kNow).status().code(), absl::StatusCode::kAborted);
  absl::StatusOr<v1::TechnologyManager> revoked =
      RevokeTechnologyManager(m, 1, "withdrawn", kNow + absl::Hours(1));
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->status(), v1::TECHNOLOGY_MANAGER_STATUS_REVOKED);
  EXPECT_EQ(revoked->revocation_reason(), "withdrawn");
  EXPECT_EQ(revoked->version(), 2);
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(revoked->update_time()),
            absl::ToUnixMicros(kNow + absl::Hours(1)));
  EXPECT_EQ(RevokeTechnologyManager(*revoked, 2, "again", kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace techtrade::registry
