// Which applications a finance partner sees (services/fund/domain/application_scope.h), for every
// role against every kind of application: of a deal naming the caller, naming another partner,
// naming none; and that a submission copies the deal's partner onto the application.
#include "services/fund/domain/application_scope.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/fund/domain/application_transition.h"
#include "tests/unit/fund/fund_test_data.h"

namespace techtrade::fund {
namespace {

namespace reg = techtrade::registry::v1;
using ::testing::Optional;

constexpr char kId[] = "5e2b7c4d-1a3f-4b8e-9c0d-2f4a6b8c0e1f";

reg::Principal Caller(reg::ApiClientRole role, const std::string& id) {
  reg::Principal p;
  p.set_role(role);
  p.set_api_client_id(id);
  if (role == reg::API_CLIENT_ROLE_CITY_SYSTEM) p.set_city_id("wuhan");
  return p;
}

v1::Application ApplicationOf(const std::string& partner_id) {
  v1::Application a;
  a.set_id(kId);
  a.set_finance_partner_id(partner_id);
  return a;
}

TEST(ApplicationScopeTest, EveryRoleAgainstEveryKindOfApplication) {
  struct Case {
    reg::ApiClientRole role;
    std::string caller_id;
    std::string partner;  // the application's (its deal's) finance partner
    bool sees;
  };
  const std::string me = "aaaaaaaaaaaaaaaa", other = "bbbbbbbbbbbbbbbb";
  std::vector<Case> cases;
  for (const std::string& partner : {me, other, std::string()}) {
    // A partner sees its own deals' applications only; one of a deal naming no partner is none's.
    cases.push_back({reg::API_CLIENT_ROLE_PARTNER, me, partner, partner == me});
    // A partner's key that names no client sees nothing, not the applications that name none.
    cases.push_back({reg::API_CLIENT_ROLE_PARTNER, "", partner, false});
    // Every other role is not scoped by the partner (its own rules apply in the handlers).
    for (reg::ApiClientRole role : {reg::API_CLIENT_ROLE_OPERATOR, reg::API_CLIENT_ROLE_CITY_SYSTEM,
                                    reg::API_CLIENT_ROLE_UNSPECIFIED}) {
      cases.push_back({role, me, partner, true});
    }
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(reg::ApiClientRole_Name(c.role), " '", c.caller_id,
                              "' reading an application of partner '", c.partner, "'"));
    const reg::Principal caller = Caller(c.role, c.caller_id);
    const v1::Application a = ApplicationOf(c.partner);
    EXPECT_EQ(InApplicationPartnerScope(caller, a), c.sees);
    const absl::Status s = CheckApplicationPartnerScope(caller, a, "id");
    if (c.sees) {
      EXPECT_TRUE(s.ok()) << s;
    } else {
      // Exactly what an unknown id gets: existence is not leaked.
      EXPECT_EQ(s, ApplicationNotFound("id", kId));
      EXPECT_TRUE(absl::IsNotFound(s));
      EXPECT_EQ(s.message(), absl::StrCat("id: no application ", kId));
    }
  }
}

TEST(ApplicationScopeTest, OnlyAPartnerIsScopedAndByItsOwnId) {
  EXPECT_THAT(ApplicationPartnerScope(Caller(reg::API_CLIENT_ROLE_PARTNER, "aaaaaaaaaaaaaaaa")),
              Optional(std::string("aaaaaaaaaaaaaaaa")));
  // Scoped to the id no application carries (the store matches none).
  EXPECT_THAT(ApplicationPartnerScope(Caller(reg::API_CLIENT_ROLE_PARTNER, "")),
              Optional(std::string()));
  for (reg::ApiClientRole role : {reg::API_CLIENT_ROLE_OPERATOR, reg::API_CLIENT_ROLE_CITY_SYSTEM,
                                  reg::API_CLIENT_ROLE_UNSPECIFIED}) {
    EXPECT_EQ(ApplicationPartnerScope(Caller(role, "aaaaaaaaaaaaaaaa")), std::nullopt)
        << reg::ApiClientRole_Name(role);
  }
}

TEST(ApplicationScopeTest, ASubmissionCarriesItsDealsPartnerIntoEveryEvent) {
  for (const std::string& partner : {std::string("aaaaaaaaaaaaaaaa"), std::string()}) {
    tv1::Deal deal = test::MakeDeal();
    deal.set_finance_partner_id(partner);
    v1::Programme programme = test::MakeProgramme();
    v1::Balances* b = programme.mutable_balances();
    b->set_total_minor(programme.total_budget().amount_minor());
    b->set_available_minor(programme.total_budget().amount_minor());
    const ApplicationTransition t = SubmitApplication(kId, programme, deal, 0, test::kNow);
    ASSERT_TRUE(t.inserted().has_value());
    EXPECT_EQ(t.inserted()->finance_partner_id(), partner);
    EXPECT_EQ(t.application().finance_partner_id(), partner);
    ASSERT_FALSE(t.events().empty());
    for (const auto& event : t.events()) {
      const auto* field = event->GetDescriptor()->FindFieldByName("application");
      ASSERT_NE(field, nullptr);
      const auto& carried =
          static_cast<const v1::Application&>(event->GetReflection()->GetMessage(*event, field));
      EXPECT_EQ(carried.finance_partner_id(), partner);
    }
  }
}

}  // namespace
}  // namespace techtrade::fund
