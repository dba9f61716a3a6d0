// Awards without an application (免申即享) on the real stack: a Sanming-style programme pays a
// seller and the registration body of its city for three contracts registered in turn, whose
// cumulative registered value crosses two of the seller's bands and the body's first unit. The
// amounts equal the hand-worked table of docs/fund.md ("Awards without an application") to the
// fen, every award is decided once, and the ledger reconciles.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "tests/support/platform_fixture.h"

namespace techtrade::testing {
namespace {

using Stub = tv1::TransactionsService::Stub;

class AutomaticAwardsTest : public PlatformFixture {
 protected:
  AutomaticAwardsTest() : PlatformFixture("fund_auto_it_") {}

  // Sanming's rules, for contracts registered in the seller's city (wuhan-east-lake here).
  static fv1::CreateProgrammeRequest SanmingRequest(int64_t budget) {
    fv1::CreateProgrammeRequest r = SubsidyProgrammeRequest(
        "programme-" + NewUuid(), "Technology contract awards", "wuhan-east-lake", budget, 0);
    fv1::ProgrammeRules& rules = *r.mutable_rules();
    rules.clear_bands();
    rules.set_per_deal_cap_minor(0);
    rules.set_per_organization_annual_cap_minor(0);
    rules.set_min_contract_value_minor(0);
    rules.clear_tranches();
    fv1::Tranche* at_once = rules.add_tranches();
    at_once->set_trigger(fv1::TRANCHE_TRIGGER_SIGNING);
    at_once->set_share_bps(10000);
    fv1::AutomaticAward* seller = rules.add_automatic_awards();
    seller->set_beneficiary(fv1::BENEFICIARY_SELLER);
    for (auto [from, bps] :
         {std::pair<int64_t, int>{0, 100}, {100'000'00, 50}, {1'000'000'00, 10}}) {
      fv1::CumulativeBand* b = seller->add_bands();
      b->set_from_minor(from);
      b->set_rate_bps(bps);
    }
    seller->set_annual_cap_minor(50'000'00);
    fv1::AutomaticAward* body = rules.add_automatic_awards();
    body->set_beneficiary(fv1::BENEFICIARY_REGISTRATION_BODY);
    for (auto [from, unit, amount] :
         {std::tuple<int64_t, int64_t, int64_t>{0, 100'000'000'00, 30'000'00},
          {100'000'000'00, 50'000'000'00, 10'000'00}}) {
      fv1::CumulativeBand* b = body->add_bands();
      b->set_from_minor(from);
      b->set_unit_minor(unit);
      b->set_amount_per_unit_minor(amount);
    }
    body->set_annual_cap_minor(100'000'00);
    return r;
  }

  // A deal of seller_ signed at `price`, registered by `body_key` at the full price.
  tv1::Deal Registered(int64_t price, const std::string& number, const std::string& body_key) {
    tv1::Deal d;
    EXPECT_TRUE(Open(&d, shenzhen_key_).ok());
    d = Must(&Stub::ProposeTerms, Terms(d, tv1::PARTY_ROLE_SELLER, price), wuhan_key_);
    d = Accept(d, tv1::PARTY_ROLE_SELLER, wuhan_key_);
    d = Accept(d, tv1::PARTY_ROLE_BUYER, shenzhen_key_);
    for (auto [as, key] : {std::pair{tv1::PARTY_ROLE_SELLER, wuhan_key_},
                           std::pair{tv1::PARTY_ROLE_BUYER, shenzhen_key_}}) {
      grpc::Status s = SignAs(d, as, key, &d, number);
      EXPECT_TRUE(s.ok()) << "SignContract: " << s.error_message();
    }
    tv1::SubmitContractRegistrationRequest submit;
    submit.set_request_id("submit-" + NewUuid());
    submit.set_deal_id(d.id());
    submit.set_expected_version(d.version());
    submit.set_category(tv1::CONTRACT_CATEGORY_LICENCE);
    submit.mutable_declared_value()->set_currency("CNY");
    submit.mutable_declared_value()->set_amount_minor(price);
    submit.set_document_reference("FILE-" + number);
    d = Must(&Stub::SubmitContractRegistration, submit, wuhan_key_);
    tv1::RegisterContractRequest reg;
    reg.set_request_id("register-" + NewUuid());
    reg.set_deal_id(d.id());
    reg.set_expected_version(d.version());
    reg.set_registration_number(number);
    reg.set_category(tv1::CONTRACT_CATEGORY_LICENCE);
    reg.mutable_registered_value()->set_currency("CNY");
    reg.mutable_registered_value()->set_amount_minor(price);
    return Must(&Stub::RegisterContract, reg, body_key);
  }

  // The deal's awards once the fund decided `count` of them (seller first, then the body).
  std::vector<fv1::Application> AwardsOf(const std::string& deal_id, int count) {
    std::vector<fv1::Application> awards;
    for (absl::Time deadline = absl::Now() + absl::Seconds(30); absl::Now() < deadline;
         absl::SleepFor(absl::Milliseconds(100))) {
      fv1::ListApplicationsRequest r;
      r.set_deal_id(deal_id);
      fv1::ListApplicationsResponse out;
      EXPECT_TRUE(fund_->ListApplications(AuthedContext(operator_key_).get(), r, &out).ok());
      awards.assign(out.applications().begin(), out.applications().end());
      if (static_cast<int>(awards.size()) >= count) break;
    }
    std::sort(awards.begin(), awards.end(),
              [](const auto& a, const auto& b) { return a.beneficiary() < b.beneficiary(); });
    return awards;
  }
};

TEST_F(AutomaticAwardsTest, ThreeContractsOfOneSellerPayTheHandWorkedTable) {
  const reg::Organization office =
      Organization(3, "wuhan-east-lake", reg::ORGANIZATION_KIND_GOVERNMENT);
  // The body's client names its organisation, which must be a GOVERNMENT one of its city.
  reg::IssueApiKeyRequest issue;
  issue.set_request_id("key-" + NewUuid());
  issue.set_name("technology-contract registration office");
  issue.set_role(reg::API_CLIENT_ROLE_REGISTRATION_BODY);
  issue.set_city_id("wuhan-east-lake");
  issue.set_organization_id(buyer_.id());  // an enterprise in Shenzhen
  reg::IssueApiKeyResponse issued;
  grpc::Status s = registry_stub_->IssueApiKey(AuthedContext(operator_key_).get(), issue, &issued);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("organization_id"));
  issue.set_organization_id(office.id());
  s = registry_stub_->IssueApiKey(AuthedContext(operator_key_).get(), issue, &issued);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(issued.api_client().organization_id(), office.id());
  const std::string body_key = issued.api_key();

  const int64_t budget = 1'000'000'00;
  const fv1::Programme p = CreateProgramme(SanmingRequest(budget));
  ASSERT_FALSE(p.id().empty());

  struct Row {
    int64_t registered, cumulative_after, seller_paid, body_paid;
    const char* seller_limited_by;
  };
  const Row table[] = {{60'000'37, 60'000'37, 600'00, 0, "bands"},
                       {539'999'88, 600'000'25, 2'900'00, 0, "bands"},
                       {99'500'000'00, 100'100'000'25, 46'500'00, 30'000'00, "annual cap"}};
  int64_t paid = 0;
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const tv1::Deal d =
        Registered(table[i].registered, absl::StrCat("420101202600001", i), body_key);
    ASSERT_EQ(d.registration().body().organization_id(), office.id());
    const std::vector<fv1::Application> awards = AwardsOf(d.id(), 2);
    ASSERT_EQ(awards.size(), 2u);
    const fv1::Application& seller = awards[0];
    const fv1::Application& body = awards[1];
    EXPECT_EQ(seller.beneficiary(), fv1::BENEFICIARY_SELLER);
    EXPECT_EQ(seller.applicant().organization_id(), seller_.id());
    EXPECT_EQ(seller.award_basis().cumulative_after_minor(), table[i].cumulative_after);
    EXPECT_EQ(seller.disbursed_minor(), table[i].seller_paid);
    EXPECT_EQ(seller.calculation().limited_by(), table[i].seller_limited_by);
    EXPECT_EQ(body.beneficiary(), fv1::BENEFICIARY_REGISTRATION_BODY);
    EXPECT_EQ(body.applicant().organization_id(), office.id());
    EXPECT_EQ(body.disbursed_minor(), table[i].body_paid);
    EXPECT_EQ(body.award_basis().cumulative_after_minor(), table[i].cumulative_after);
    paid += table[i].seller_paid + table[i].body_paid;
  }
  const fv1::Programme after = GetProgramme(p.id());
  EXPECT_EQ(after.balances().disbursed_minor(), paid);
  EXPECT_EQ(after.balances().reserved_minor(), 0);
  EXPECT_EQ(after.balances().available_minor(), budget - paid);
  const fv1::ReconcileResponse r = Reconcile(p.id());
  EXPECT_TRUE(r.balanced());

  // Applications to such a programme are refused: it pays without them.
  fv1::Application refused;
  const tv1::Deal other = Signed();
  s = Submit(p.id(), other, &refused);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(refused.refusal_reason(), fv1::REFUSAL_REASON_NO_APPLICATIONS);
}

}  // namespace
}  // namespace techtrade::testing
