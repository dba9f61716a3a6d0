// The fund's figures over many deals: sums wider than one amount are added without overflow, and
// a sum that cannot be answered in an int64 amount is OUT_OF_RANGE naming the figure, not an
// INTERNAL error that stops every city's appraisal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "google/protobuf/util/time_util.h"
#include "tests/support/platform_fixture.h"

namespace techtrade::testing {
namespace {

using google::protobuf::util::TimeUtil;

class FundFiguresTest : public PlatformFixture {
 protected:
  FundFiguresTest() : PlatformFixture("fundfigures") {}

  grpc::Status Appraise(const std::string& city, fv1::Appraisal* out) {
    fv1::GetAppraisalRequest r;
    r.set_city_id(city);
    *r.mutable_period_start() =
        TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(absl::Now()) - 86400);
    *r.mutable_period_end() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(absl::Now()) + 60);
    return fund_->GetAppraisal(AuthedContext(operator_key_).get(), r, out);
  }
};

TEST_F(FundFiguresTest, AnAppraisalPastTheInt64RangeIsOutOfRangeAndOtherCitiesStillAnswer) {
  // Two signed deals whose values sum past 2^63: written straight to the fund's table, as only
  // a history from before amounts were bounded could leave them.
  ASSERT_EQ(fund_db_->QueryInt(
                "WITH added AS (INSERT INTO deals (id, sequence, state, city_id, buyer_org_id, "
                "currency, contract_value, opened_at, signed_at, record) SELECT "
                "gen_random_uuid(), 4, 4, 'overflow-city', gen_random_uuid(), 'CNY', "
                "9000000000000000000, now() - interval '1 hour', now() - interval '1 minute', "
                "''::bytea FROM generate_series(1, 2) RETURNING 1) SELECT count(*) FROM added"),
            2);
  fv1::Appraisal appraisal;
  grpc::Status s = Appraise("overflow-city", &appraisal);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE) << s.error_message();
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("contract_value: "));
  // The national appraisal sums them too; a city without them answers.
  EXPECT_EQ(Appraise("", &appraisal).error_code(), grpc::StatusCode::OUT_OF_RANGE);
  s = Appraise("shenzhen", &appraisal);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(appraisal.deals_signed(), 0);
}

}  // namespace
}  // namespace techtrade::testing
