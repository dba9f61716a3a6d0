// The declared field rules (common/field_rules.h) on real request messages: each kind of
// violation is refused naming the field's full path; valid requests pass.
#include "common/field_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/ids.h"
#include "techtrade/fund/v1/fund.pb.h"
#include "techtrade/listings/v1/listings.pb.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade {
namespace {

using ::testing::StartsWith;
namespace tx = techtrade::transactions::v1;
namespace reg = techtrade::registry::v1;

std::string Violation(const google::protobuf::Message& m) {
  absl::Status s = CheckFieldRules(m);
  if (s.ok()) return "OK";
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  return std::string(s.message());
}

tx::ProposeTermsRequest ValidTerms() {
  tx::ProposeTermsRequest r;
  r.set_request_id("req-1");
  r.set_deal_id(NewUuid());
  r.set_expected_version(3);
  r.set_acting_as(tx::PARTY_ROLE_SELLER);
  r.mutable_price()->set_currency("CNY");
  r.mutable_price()->set_amount_minor(100000);
  r.set_transfer_mode(techtrade::listings::v1::TRANSFER_MODE_ASSIGNMENT);
  for (int i = 0; i < 2; ++i) {
    tx::MilestonePlan* m = r.add_milestones();
    m->set_title("delivery");
    m->mutable_amount()->set_currency("CNY");
    m->mutable_amount()->set_amount_minor(50000);
    m->mutable_due_time()->set_seconds(1'900'000'000);
  }
  return r;
}

TEST(FieldRulesTest, AValidRequestPasses) { EXPECT_EQ(Violation(ValidTerms()), "OK"); }

TEST(FieldRulesTest, RequiredFieldsOfEveryKind) {
  auto r = ValidTerms();
  r.clear_request_id();
  EXPECT_EQ(Violation(r), "request_id: required");
  r = ValidTerms();
  r.clear_expected_version();
  EXPECT_EQ(Violation(r), "expected_version: required");
  r = ValidTerms();
  r.clear_acting_as();
  EXPECT_EQ(Violation(r), "acting_as: required");
  r = ValidTerms();
  r.clear_price();
  EXPECT_EQ(Violation(r), "price: required");
  r = ValidTerms();
  r.clear_milestones();
  EXPECT_EQ(Violation(r), "milestones: required");
  r = ValidTerms();
  r.mutable_milestones(1)->clear_due_time();
  EXPECT_EQ(Violation(r), "milestones[1].due_time: required");
}

TEST(FieldRulesTest, TimestampsOutsideTheirRangeNameTheNestedField) {
  auto r = ValidTerms();
  r.mutable_milestones(1)->mutable_due_time()->set_nanos(-1);
  EXPECT_THAT(Violation(r), StartsWith("milestones[1].due_time.nanos: "));
  r.mutable_milestones(1)->mutable_due_time()->set_nanos(1'000'000'000);
  EXPECT_THAT(Violation(r), StartsWith("milestones[1].due_time.nanos: "));
  r = ValidTerms();
  r.mutable_milestones(0)->mutable_due_time()->set_seconds(253402300800);  // 10000-01-01
  EXPECT_THAT(Violation(r), StartsWith("milestones[0].due_time.seconds: "));
  r.mutable_milestones(0)->mutable_due_time()->set_seconds(-62135596801);  // before 0001
  EXPECT_THAT(Violation(r), StartsWith("milestones[0].due_time.seconds: "));
}

TEST(FieldRulesTest, MoneyNeedsAnActiveCurrencyAndABoundedAmount) {
  auto r = ValidTerms();
  r.mutable_price()->set_currency("ZZZ");
  EXPECT_THAT(Violation(r), StartsWith("price.currency: not an active ISO 4217"));
  r = ValidTerms();
  r.mutable_price()->set_amount_minor(0);
  EXPECT_EQ(Violation(r), "price.amount_minor: must be positive");
  r.mutable_price()->set_amount_minor(100'000'000'000'001);
  EXPECT_THAT(Violation(r), StartsWith("price.amount_minor: at most 100000000000000"));
  r = ValidTerms();
  r.mutable_milestones(0)->mutable_amount()->set_amount_minor(-5);
  EXPECT_THAT(Violation(r), StartsWith("milestones[0].amount.amount_minor: "));
}

TEST(FieldRulesTest, UnknownEnumNumbersAreRefused) {
  auto r = ValidTerms();
  r.set_acting_as(static_cast<tx::PartyRole>(99));
  EXPECT_EQ(Violation(r), "acting_as: unknown value 99 of PartyRole");
  tx::ListDealsRequest list;
  list.set_state(static_cast<tx::DealState>(-3));
  EXPECT_EQ(Violation(list), "state: unknown value -3 of DealState");
}

TEST(FieldRulesTest, StringsRefuseControlBidiAndInvalidUtf8AndNeverEchoTheValue) {
  reg::RegisterOrganizationRequest r;
  r.set_request_id("r");
  r.set_credit_code("91350100M000100Y43");
  r.set_kind(reg::ORGANIZATION_KIND_ENTERPRISE);
  r.set_city_id("wuhan");
  r.set_name("东湖实验室");
  EXPECT_EQ(Violation(r), "OK");
  for (const std::string& bad :
       {std::string("a\0b", 3), std::string("evil\xE2\x80\xAEgnp"), std::string("\xC3\x28"),
        std::string("   \xE3\x80\x80"), std::string("tab\there"), std::string("\xE2\x80\xAF"),
        std::string("\xEF\xBB\xBF\xE2\x81\xA0"), std::string("\xE2\x80\x8D\xE1\x9A\x80")}) {
    r.set_name(bad);
    EXPECT_THAT(Violation(r), StartsWith("name: ")) << bad;
  }
  r.set_name(std::string(201, 'x'));
  EXPECT_EQ(Violation(r), "name: at most 200 characters, got 201");
  r.set_name(std::string(200, 'x'));
  r.set_description("line one\nline two\ttabbed");  // multiline free text
  EXPECT_EQ(Violation(r), "OK");
  r.set_address(std::string(100'000, 'y'));
  EXPECT_EQ(Violation(r), "address: at most 500 characters, got 100000");
}

TEST(FieldRulesTest, FormatsOfIdsCodesAndTokens) {
  reg::RegisterOrganizationRequest r;
  r.set_request_id("r");
  r.set_credit_code("91350100M000100Y43");
  r.set_name("n");
  r.set_kind(reg::ORGANIZATION_KIND_ENTERPRISE);
  r.set_city_id("Wuhan");
  EXPECT_THAT(Violation(r), StartsWith("city_id: 2-40 characters"));
  r.set_city_id("wuhan");
  r.set_credit_code("91350100M000100YI3");
  EXPECT_THAT(Violation(r), StartsWith("credit_code: 18 characters"));
  r.set_credit_code("91350100M000100Y43");
  r.set_request_id("has space");
  EXPECT_THAT(Violation(r), StartsWith("request_id: 1-64 printable ASCII"));

  tx::ListDealsRequest list;
  list.set_party_org_id("not-a-uuid");
  EXPECT_THAT(Violation(list), StartsWith("party_org_id: not a valid id"));
}

TEST(FieldRulesTest, RangesAndItemCounts) {
  auto r = ValidTerms();
  while (r.milestones_size() <= 20) *r.add_milestones() = r.milestones(0);
  EXPECT_EQ(Violation(r), "milestones: at most 20 items");
  tx::ListDealsRequest list;
  list.set_page_size(501);
  EXPECT_THAT(Violation(list), StartsWith("page_size: at most 500"));
  list.set_page_size(-1);
  EXPECT_THAT(Violation(list), StartsWith("page_size: at least 0"));
  tx::OpenDealRequest open;
  open.set_broker_commission_bps(3001);
  EXPECT_THAT(Violation(open), StartsWith("request_id: required"));  // declaration order
}

TEST(FieldRulesTest, EffectiveRulesFillTheDefaults) {
  const auto* field = reg::SuspendOrganizationRequest::descriptor()->FindFieldByName("reason");
  EXPECT_TRUE(EffectiveRules(field).required());
  EXPECT_EQ(EffectiveRules(field).max_chars(), 500u);
  const auto* undeclared = tx::Deal::descriptor()->FindFieldByName("cancel_reason");
  EXPECT_EQ(EffectiveRules(undeclared).max_chars(), kDefaultMaxChars);
  EXPECT_EQ(EffectiveRules(tx::Deal::descriptor()->FindFieldByName("terms")).max_items(),
            kDefaultMaxItems);
}

}  // namespace
}  // namespace techtrade
