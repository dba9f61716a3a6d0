// Which deals a finance partner sees (services/transactions/domain/deal_scope.h), for every role
// against every kind of deal: one naming the caller, one naming another partner, one naming none.
#include "services/transactions/domain/deal_scope.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace techtrade::transactions {
namespace {

namespace reg = techtrade::registry::v1;

reg::Principal Caller(reg::ApiClientRole role, const std::string& id) {
  reg::Principal p;
  p.set_role(role);
  p.set_api_client_id(id);
  if (role == reg::API_CLIENT_ROLE_CITY_SYSTEM) p.set_city_id("wuhan");
  return p;
}

v1::Deal DealOf(const std::string& partner_id) {
  v1::Deal d;
  d.set_id("7d1c1e2a-5b0e-4c1f-9a53-0c7e4b1d2f3a");
  d.set_finance_partner_id(partner_id);
  return d;
}

TEST(DealScopeTest, EveryRoleAgainstEveryKindOfDeal) {
  struct Case {
    reg::ApiClientRole role;
    std::string deal_partner;
    bool sees;
  };
  const std::string me = "aaaaaaaaaaaaaaaa", other = "bbbbbbbbbbbbbbbb";
  const std::vector<Case> cases = {
      {reg::API_CLIENT_ROLE_PARTNER, me, true},
      {reg::API_CLIENT_ROLE_PARTNER, other, false},
      {reg::API_CLIENT_ROLE_PARTNER, "", false},  // a deal that names no partner is none's
      {reg::API_CLIENT_ROLE_OPERATOR, me, true},
      {reg::API_CLIENT_ROLE_OPERATOR, other, true},
      {reg::API_CLIENT_ROLE_OPERATOR, "", true},
      {reg::API_CLIENT_ROLE_CITY_SYSTEM, me, true},  // cities have their own rule
      {reg::API_CLIENT_ROLE_CITY_SYSTEM, other, true},
      {reg::API_CLIENT_ROLE_CITY_SYSTEM, "", true},
      {reg::API_CLIENT_ROLE_UNSPECIFIED, other, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(
        absl::StrCat(reg::ApiClientRole_Name(c.role), " on a deal of '", c.deal_partner, "'"));
    const reg::Principal caller = Caller(c.role, me);
    const v1::Deal deal = DealOf(c.deal_partner);
    EXPECT_EQ(InPartnerScope(caller, deal), c.sees);
    absl::Status checked = CheckPartnerScope(caller, deal, "deal_id");
    EXPECT_EQ(checked.ok(), c.sees);
    if (!c.sees) {
      EXPECT_EQ(checked.code(), absl::StatusCode::kNotFound);
      EXPECT_EQ(checked, DealNotFound("deal_id", deal.id()));
    }
  }
}

TEST(DealScopeTest, APartnerWithoutAnIdSeesNoDeal) {
  EXPECT_FALSE(InPartnerScope(Caller(reg::API_CLIENT_ROLE_PARTNER, ""), DealOf("")));
}

TEST(DealScopeTest, PartnerScopeIsThePartnersOwnIdOnly) {
  EXPECT_EQ(PartnerScope(Caller(reg::API_CLIENT_ROLE_PARTNER, "aaaa")), "aaaa");
  EXPECT_EQ(PartnerScope(Caller(reg::API_CLIENT_ROLE_OPERATOR, "aaaa")), "");
  EXPECT_EQ(PartnerScope(Caller(reg::API_CLIENT_ROLE_CITY_SYSTEM, "aaaa")), "");
}

TEST(DealScopeTest, NotFoundReadsAsForAnUnknownId) {
  EXPECT_EQ(DealNotFound("id", "x").message(), "id: no deal x");
  EXPECT_EQ(DealNotFound("id", "x").code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace techtrade::transactions
