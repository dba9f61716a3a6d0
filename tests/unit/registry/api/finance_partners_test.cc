// The finance partners a deal may name, through the registry's handlers: any API client lists
// and gets them; only ACTIVE clients of role PARTNER are partners.
#include "common/ids.h"
#include "tests/unit/registry/api/registry_handler_fixture.h"

namespace techtrade::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;

class FinancePartnersTest : public RegistryHandlerTest {
 protected:
  // Issues a key of `role` named `name`; returns its client.
  v1::ApiClient Issue(const std::string& name, v1::ApiClientRole role,
                      const std::string& city = "") {
    v1::IssueApiKeyRequest r;
    r.set_request_id("key-" + NewUuid());
    r.set_name(name);
    r.set_role(role);
    r.set_city_id(city);
    v1::IssueApiKeyResponse issued;
    grpc::Status s = stub_->IssueApiKey(testing::CallAs(operator_key_).get(), r, &issued);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return issued.api_client();
  }

  std::vector<std::string> Listed(int page_size) {
    std::vector<std::string> names;
    v1::ListFinancePartnersRequest r;
    r.set_page_size(page_size);
    for (int pages = 0; pages < 10; ++pages) {
      v1::ListFinancePartnersResponse page;
      grpc::Status s = stub_->ListFinancePartners(testing::CallAs(wuhan_key_).get(), r, &page);
      EXPECT_TRUE(s.ok()) << s.error_message();
      for (const v1::FinancePartner& p : page.finance_partners()) names.push_back(p.name());
      if (page.next_page_token().empty()) break;
      r.set_page_token(page.next_page_token());
    }
    return names;
  }
};

TEST_F(FinancePartnersTest, AnyClientListsTheActivePartnersOnly) {
  Issue("Bank A", v1::API_CLIENT_ROLE_PARTNER);
  Issue("Portal", v1::API_CLIENT_ROLE_CITY_SYSTEM, "wuhan");
  v1::ApiClient b = Issue("Bank B", v1::API_CLIENT_ROLE_PARTNER);
  Issue("Ops", v1::API_CLIENT_ROLE_OPERATOR);
  Issue("Bank C", v1::API_CLIENT_ROLE_PARTNER);
  v1::RevokeApiKeyRequest revoke;
  revoke.set_request_id("revoke-b");
  revoke.set_id(b.id());
  revoke.set_expected_version(b.version());
  v1::ApiClient revoked;
  ASSERT_TRUE(stub_->RevokeApiKey(testing::CallAs(operator_key_).get(), revoke, &revoked).ok());
  EXPECT_THAT(Listed(100), ElementsAre("Bank A", "Bank C"));
  EXPECT_THAT(Listed(1), ElementsAre("Bank A", "Bank C"));  // page by page
}

TEST_F(FinancePartnersTest, GetFinancePartnerFindsAnActivePartnerOnly) {
  v1::ApiClient bank = Issue("Bank A", v1::API_CLIENT_ROLE_PARTNER);
  v1::ApiClient portal = Issue("Portal", v1::API_CLIENT_ROLE_CITY_SYSTEM, "wuhan");
  v1::GetFinancePartnerRequest get;
  get.set_id(bank.id());
  v1::FinancePartner partner;
  grpc::Status s = stub_->GetFinancePartner(testing::CallAs(partner_key_).get(), get, &partner);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(partner.id(), bank.id());
  EXPECT_EQ(partner.name(), "Bank A");
  for (const std::string& id : {portal.id(), std::string("0123456789abcdef")}) {
    get.set_id(id);
    s = stub_->GetFinancePartner(testing::CallAs(wuhan_key_).get(), get, &partner);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << id;
    EXPECT_THAT(s.error_message(), StartsWith("id: "));
  }
}

}  // namespace
}  // namespace techtrade::registry
