// A deal's audit records through the transactions service's AuditService: the deal's finance
// partner and the systems of the cities it involves see them; another partner or city sees an
// empty page, as for a deal that does not exist.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "techtrade/audit/v1/audit.grpc.pb.h"
#include "tests/support/deal_fixture.h"

namespace techtrade::testing {
namespace {

namespace av1 = techtrade::audit::v1;
using ::testing::UnorderedElementsAre;

class AuditOfDealsTest : public DealFixture {
 protected:
  AuditOfDealsTest() : DealFixture("audit_deal_") {}

  // The deal's records as `key` sees them (oldest first).
  std::vector<av1::AuditRecord> RecordsOf(const std::string& deal_id, const std::string& key) {
    av1::QueryAuditRequest request;
    request.set_aggregate_type("deal");
    request.set_aggregate_id(deal_id);
    av1::QueryAuditResponse page;
    grpc::Status s = av1::AuditService::NewStub(transactions_->channel())
                         ->QueryAudit(AuthedContext(key).get(), request, &page);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {page.records().begin(), page.records().end()};
  }
};

TEST_F(AuditOfDealsTest, APartnerSeesItsDealsRecordsAndNoOtherPartnerDoes) {
  tv1::Deal deal;
  ASSERT_TRUE(Open(&deal, shenzhen_key_).ok());
  std::vector<av1::AuditRecord> seen = RecordsOf(deal.id(), partner_key_);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].event_type(), "techtrade.transactions.v1.DealOpened");
  EXPECT_EQ(seen[0].partner_id(), partner_id_);
  EXPECT_EQ(seen[0].actor().api_client_id(), KeyId(shenzhen_key_));
  EXPECT_EQ(seen[0].actor().role(), "city_system");
  EXPECT_EQ(seen[0].actor().city_id(), "shenzhen");
  EXPECT_THAT(seen[0].city_ids(), UnorderedElementsAre("wuhan-east-lake", "shenzhen"));
  // The seller's city sees it too; a partner that does not settle it, and a city it does not
  // involve, get an empty page.
  EXPECT_EQ(RecordsOf(deal.id(), wuhan_key_).size(), 1u);
  EXPECT_EQ(RecordsOf(deal.id(), operator_key_).size(), 1u);
  EXPECT_TRUE(RecordsOf(deal.id(), Key(reg::API_CLIENT_ROLE_PARTNER, "")).empty());
  City("chengdu");
  EXPECT_TRUE(RecordsOf(deal.id(), Key(reg::API_CLIENT_ROLE_CITY_SYSTEM, "chengdu")).empty());
}

}  // namespace
}  // namespace techtrade::testing
