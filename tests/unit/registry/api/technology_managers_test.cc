// Certified technology managers through the registry's handlers: who registers and revokes them,
// what an affiliation must be, one registration per certificate, and their events.
#include <google/protobuf/util/time_util.h>

#include "tests/unit/registry/api/registry_handler_fixture.h"

namespace techtrade::registry {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;

class TechnologyManagersTest : public RegistryHandlerTest {
 protected:
  // A VERIFIED organisation of `city`.
  v1::Organization Verified(const std::string& city, int n) {
    v1::Organization org = Registered(city, n);
    v1::VerifyOrganizationRequest r;
    r.set_request_id(absl::StrCat("verify-", n));
    r.set_id(org.id());
    r.set_expected_version(org.version());
    grpc::Status s = stub_->VerifyOrganization(testing::CallAs(operator_key_).get(), r, &org);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return org;
  }

  static v1::RegisterTechnologyManagerRequest Request(const std::string& request_id,
                                                      const std::string& certificate,
                                                      const std::string& org_id) {
    v1::RegisterTechnologyManagerRequest r;
    r.set_request_id(request_id);
    r.set_name("Li Wei");
    r.set_certificate_number(certificate);
    r.set_certifying_authority("Hubei Provincial Department of Science and Technology");
    r.set_organization_id(org_id);
    *r.mutable_certificate_expire_time() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now() + absl::Hours(24 * 365)));
    return r;
  }

  grpc::Status Register(const std::string& key, const v1::RegisterTechnologyManagerRequest& r,
                        v1::TechnologyManager* out) {
    return stub_->RegisterTechnologyManager(testing::CallAs(key).get(), r, out);
  }
};

TEST_F(TechnologyManagersTest, ACitySystemRegistersAManagerOfItsCitysVerifiedOrganisation) {
  v1::Organization office = Verified("wuhan", 1);
  const v1::RegisterTechnologyManagerRequest request = Request("m1", "TM-2026-0001", office.id());
  v1::TechnologyManager m;
  grpc::Status s = Register(wuhan_key_, request, &m);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(m.status(), v1::TECHNOLOGY_MANAGER_STATUS_CERTIFIED);
  EXPECT_EQ(m.organization_id(), office.id());
  EXPECT_EQ(m.city_id(), "wuhan");
  EXPECT_EQ(m.version(), 1);
  EXPECT_TRUE(m.has_certificate_expire_time());
  // A retry answers the same manager and registers nothing more.
  v1::TechnologyManager again;
  ASSERT_TRUE(Register(wuhan_key_, request, &again).ok());
  EXPECT_EQ(again.id(), m.id());
  std::vector<testing::EmittedEvent> events = transactor_.events();
  ASSERT_THAT(events, SizeIs(3));  // registered and verified organisation, then the manager
  EXPECT_EQ(events[2].type, "techtrade.registry.v1.TechnologyManagerRegistered");
  EXPECT_EQ(events[2].aggregate.type, "technology_manager");
  EXPECT_EQ(events[2].aggregate.id, m.id());
  EXPECT_EQ(Payload<v1::TechnologyManagerRegistered>(events[2]).technology_manager().id(), m.id());

  v1::GetTechnologyManagerRequest get;
  get.set_id(m.id());
  v1::TechnologyManager read;
  ASSERT_TRUE(stub_->GetTechnologyManager(testing::CallAs(partner_key_).get(), get, &read).ok());
  EXPECT_EQ(read.SerializeAsString(), m.SerializeAsString());
}

TEST_F(TechnologyManagersTest, RefusedRegistrationsNameTheirCauseAndRegisterNothing) {
  v1::Organization wuhan_office = Verified("wuhan", 1);
  v1::Organization pending = Registered("wuhan", 2);
  v1::TechnologyManager m;
  ASSERT_TRUE(Register(operator_key_, Request("ok", "TM-1", wuhan_office.id()), &m).ok());
  const size_t events = transactor_.events().size();

  struct Case {
    std::string key;
    v1::RegisterTechnologyManagerRequest request;
    grpc::StatusCode code;
    std::string prefix;
  };
  v1::RegisterTechnologyManagerRequest expired = Request("e", "TM-2", wuhan_office.id());
  *expired.mutable_certificate_expire_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now() - absl::Hours(1)));
  v1::RegisterTechnologyManagerRequest no_number = Request("n", "", wuhan_office.id());
  const std::vector<Case> cases = {
      {hefei_key_, Request("h", "TM-3", wuhan_office.id()), grpc::StatusCode::PERMISSION_DENIED,
       ""},
      {partner_key_, Request("p", "TM-4", wuhan_office.id()), grpc::StatusCode::PERMISSION_DENIED,
       ""},
      {operator_key_, Request("u", "TM-5", pending.id()), grpc::StatusCode::FAILED_PRECONDITION,
       "organization_id: "},
      {operator_key_, Request("x", "TM-6", "00000000-0000-4000-8000-000000000000"),
       grpc::StatusCode::INVALID_ARGUMENT, "organization_id: "},
      {operator_key_, Request("d", "TM-1", wuhan_office.id()), grpc::StatusCode::ALREADY_EXISTS,
       "certificate_number: "},
      {operator_key_, expired, grpc::StatusCode::INVALID_ARGUMENT, "certificate_expire_time: "},
      {operator_key_, no_number, grpc::StatusCode::INVALID_ARGUMENT, "certificate_number: "},
  };
  for (const Case& c : cases) {
    grpc::Status s = Register(c.key, c.request, &m);
    EXPECT_EQ(s.error_code(), c.code) << c.request.request_id() << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), StartsWith(c.prefix)) << c.request.request_id();
  }
  EXPECT_THAT(transactor_.events(), SizeIs(events));
  v1::ListTechnologyManagersRequest list;
  v1::ListTechnologyManagersResponse listed;
  ASSERT_TRUE(stub_->ListTechnologyManagers(testing::CallAs(wuhan_key_).get(), list, &listed).ok());
  EXPECT_THAT(listed.technology_managers(), SizeIs(1));
}

TEST_F(TechnologyManagersTest, ARevocationIsRecordedOnceWithItsReasonAndFiltersTheList) {
  v1::Organization office = Verified("wuhan", 1);
  v1::Organization hefei_office = Verified("hefei", 2);
  v1::TechnologyManager a, b;
  ASSERT_TRUE(Register(wuhan_key_, Request("a", "TM-A", office.id()), &a).ok());
  ASSERT_TRUE(Register(hefei_key_, Request("b", "TM-B", hefei_office.id()), &b).ok());

  v1::RevokeTechnologyManagerRequest revoke;
  revoke.set_request_id("revoke-a");
  revoke.set_id(a.id());
  revoke.set_expected_version(1);
  revoke.set_reason("certificate withdrawn by the authority");
  v1::TechnologyManager revoked;
  // Another city's system may not; the manager's city may.
  grpc::Status s =
      stub_->RevokeTechnologyManager(testing::CallAs(hefei_key_).get(), revoke, &revoked);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  s = stub_->RevokeTechnologyManager(testing::CallAs(wuhan_key_).get(), revoke, &revoked);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(revoked.status(), v1::TECHNOLOGY_MANAGER_STATUS_REVOKED);
  EXPECT_EQ(revoked.revocation_reason(), "certificate withdrawn by the authority");
  EXPECT_EQ(revoked.version(), 2);
  EXPECT_EQ(transactor_.events().back().type, "techtrade.registry.v1.TechnologyManagerRevoked");
  EXPECT_EQ(transactor_.events().back().sequence, 2);

  revoke.set_request_id("revoke-a-again");
  s = stub_->RevokeTechnologyManager(testing::CallAs(operator_key_).get(), revoke, &revoked);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  revoke.set_expected_version(2);
  s = stub_->RevokeTechnologyManager(testing::CallAs(operator_key_).get(), revoke, &revoked);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("revoked already"));

  v1::ListTechnologyManagersRequest list;
  list.set_status(v1::TECHNOLOGY_MANAGER_STATUS_CERTIFIED);
  v1::ListTechnologyManagersResponse listed;
  ASSERT_TRUE(stub_->ListTechnologyManagers(testing::CallAs(wuhan_key_).get(), list, &listed).ok());
  ASSERT_THAT(listed.technology_managers(), SizeIs(1));
  EXPECT_EQ(listed.technology_managers(0).id(), b.id());
  list.Clear();
  list.set_city_id("wuhan");
  ASSERT_TRUE(stub_->ListTechnologyManagers(testing::CallAs(wuhan_key_).get(), list, &listed).ok());
  ASSERT_THAT(listed.technology_managers(), SizeIs(1));
  EXPECT_EQ(listed.technology_managers(0).id(), a.id());
}

}  // namespace
}  // namespace techtrade::registry
