// Awards without an application through the fund's deal-event consumer, on in-memory storage:
// the Sanming table of docs/fund.md decided from three registrations of one seller, once each
// however often the events come, and no body award where the registration names no payee.
#include "tests/unit/fund/api/fund_handler_fixture.h"

namespace techtrade::fund::test {
namespace {

class AutomaticAwards : public FundHandlerTest {
 protected:
  void SetUp() override {
    FundHandlerTest::SetUp();
    reg::PilotCity sanming;
    sanming.set_id("sanming");
    directory_.PutCity(sanming);
    v1::CreateProgrammeRequest request = MakeRequest();
    const v1::Programme p = SanmingProgramme();
    request.set_name(p.name());
    request.set_city_id(p.city_id());
    *request.mutable_rules() = p.rules();
    const grpc::Status s = CreateProgramme(operator_, request, &programme_);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  absl::Status Consume(const tv1::Deal& deal) {
    return transactor_.Run([&](FundStore& store, UnitOfWork& work) {
      return FundServiceImpl::HandleTransactionsEvent(store, work, DealEvent(deal));
    });
  }
  // The award of `deal` to `beneficiary`, or an empty one.
  v1::Application AwardOf(const std::string& deal_id, v1::Beneficiary beneficiary) {
    for (const v1::Application& a : store().applications()) {
      if (a.deal_id() == deal_id && a.beneficiary() == beneficiary) return a;
    }
    return v1::Application();
  }

  v1::Programme programme_;
};

TEST_F(AutomaticAwards, ThreeRegistrationsOfOneSellerPayTheSanmingTable) {
  tv1::Deal deals[] = {RegisteredDeal(kDealId, 60'000'37), RegisteredDeal(kUnknownId, 539'999'88),
                       RegisteredDeal(kBuyerId, 99'500'000'00)};
  for (tv1::Deal& d : deals) d.set_version(10);  // newer than the fixture's signed deal
  for (const tv1::Deal& d : deals) ASSERT_TRUE(Consume(d).ok());
  for (const tv1::Deal& d : deals) ASSERT_TRUE(Consume(d).ok());  // redelivered: nothing new
  const int64_t seller_paid[] = {600'00, 2'900'00, 46'500'00};
  const int64_t body_paid[] = {0, 0, 30'000'00};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const v1::Application seller = AwardOf(deals[i].id(), v1::BENEFICIARY_SELLER);
    const v1::Application body = AwardOf(deals[i].id(), v1::BENEFICIARY_REGISTRATION_BODY);
    EXPECT_EQ(seller.disbursed_minor(), seller_paid[i]);
    EXPECT_EQ(body.disbursed_minor(), body_paid[i]);
  }
  EXPECT_EQ(store().applications().size(), 6u);
  EXPECT_EQ(AwardOf(kBuyerId, v1::BENEFICIARY_SELLER).award_basis().cumulative_after_minor(),
            100'100'000'25);
  EXPECT_EQ(store().AnnualGranted(programme_.id(), "seller-org", v1::BENEFICIARY_SELLER, 2026),
            50'000'00);
  const v1::Balances& b = store().programmes().at(programme_.id()).balances();
  EXPECT_EQ(b.disbursed_minor(), 600'00 + 2'900'00 + 46'500'00 + 30'000'00);
  EXPECT_EQ(b.reserved_minor(), 0);
  int decided = 0;
  for (const EmittedEvent& e : events()) {
    if (e.type == v1::AutomaticAwardDecided::descriptor()->full_name()) ++decided;
  }
  EXPECT_EQ(decided, 6);
}

TEST_F(AutomaticAwards, AnUnregisteredDealAndABodyWithoutOrganisationGetNoAward) {
  tv1::Deal signed_only = RegisteredDeal(kDealId, 500'000'00);
  signed_only.set_version(10);
  signed_only.mutable_registration()->set_state(tv1::REGISTRATION_STATE_SUBMITTED);
  ASSERT_TRUE(Consume(signed_only).ok());
  EXPECT_TRUE(store().applications().empty());
  tv1::Deal registered = RegisteredDeal(kDealId, 500'000'00, /*body_org=*/"");
  registered.set_version(signed_only.version() + 1);
  ASSERT_TRUE(Consume(registered).ok());
  ASSERT_EQ(store().applications().size(), 1u);
  EXPECT_EQ(AwardOf(kDealId, v1::BENEFICIARY_SELLER).disbursed_minor(), 3'000'00);
}

// Regression: the award of a suspended seller was paid at once.
TEST_F(AutomaticAwards, ASuspendedSellersAwardWaitsForItsReinstatement) {
  ASSERT_TRUE(Standing("seller-org", /*suspended=*/true, 4).ok());
  tv1::Deal d = RegisteredDeal(kDealId, 60'000'37);
  d.set_version(10);
  ASSERT_TRUE(Consume(d).ok());
  v1::Application seller = AwardOf(kDealId, v1::BENEFICIARY_SELLER);
  EXPECT_EQ(seller.status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(seller.approved_minor(), 600'00);
  EXPECT_EQ(seller.disbursed_minor(), 0);
  ASSERT_TRUE(Standing("seller-org", /*suspended=*/false, 5).ok());
  EXPECT_EQ(AwardOf(kDealId, v1::BENEFICIARY_SELLER).disbursed_minor(), 600'00);
}

TEST_F(AutomaticAwards, AnApplicationToTheProgrammeIsRefused) {
  tv1::Deal d = RegisteredDeal(kDealId, 500'000'00);
  d.mutable_buyer()->set_organization_id(kBuyerId);
  store().PutDeal(d);
  v1::Application a;
  const grpc::Status s = Submit(operator_, SubmitRequest(programme_.id()), &a);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(a.status(), v1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(a.refusal_reason(), v1::REFUSAL_REASON_NO_APPLICATIONS);
}

}  // namespace
}  // namespace techtrade::fund::test
