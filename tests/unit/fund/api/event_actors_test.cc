// Every event the fund emits names who caused it and the pilot city it concerns (the audit log's
// actor and scope): a request's caller, or, for a reaction to a deal event, that event's actor.
#include "common/auth.h"
#include "tests/unit/fund/api/fund_handler_fixture.h"

namespace techtrade::fund::test {
namespace {

using FundEventActors = FundHandlerTest;

TEST_F(FundEventActors, AnApplicationsEventsNameTheCallerAndTheApplicantsCity) {
  const v1::Programme p = Programme();
  v1::Application a;
  ASSERT_TRUE(Submit(wuhan_, SubmitRequest(p.id()), &a).ok());
  ASSERT_EQ(events().size(), 3u);
  // The programme, created by the operator, is national: no city's.
  EXPECT_EQ(events()[0].cause.actor.api_client_id(), ParseApiKey(operator_)->key_id);
  EXPECT_EQ(events()[0].cause.actor.role(), "operator");
  for (int i : {1, 2}) {
    EXPECT_EQ(events()[i].aggregate.id, a.id());
    EXPECT_EQ(events()[i].cause.actor.api_client_id(), ParseApiKey(wuhan_)->key_id);
    EXPECT_EQ(events()[i].cause.actor.role(), "city_system");
    EXPECT_EQ(events()[i].cause.actor.city_id(), "wuhan");
    EXPECT_EQ(events()[i].aggregate.city_ids, std::vector<std::string>{"wuhan"});
  }
}

TEST_F(FundEventActors, ATranchePaidOnADealEventKeepsThatEventsActor) {
  v1::Application a;
  ASSERT_TRUE(Submit(wuhan_, SubmitRequest(Programme().id()), &a).ok());
  tv1::Deal completed = HandlerDeal(500'000 * kYuan, 9);
  completed.set_state(tv1::DEAL_STATE_COMPLETED);
  for (tv1::Milestone& m : *completed.mutable_milestones()) m.set_state(tv1::MILESTONE_STATE_PAID);
  techtrade::common::v1::EventEnvelope event = DealEvent(completed);
  event.mutable_actor()->set_api_client_id("bank-1");
  event.mutable_actor()->set_role("partner");
  ASSERT_TRUE(transactor_
                  .Run([&](FundStore& store, UnitOfWork& work) {
                    return FundServiceImpl::HandleTransactionsEvent(store, work, event);
                  })
                  .ok());
  ASSERT_EQ(events().size(), 4u);
  EXPECT_EQ(events()[3].aggregate.id, a.id());
  EXPECT_EQ(events()[3].cause.request_id, "deal-request");
  EXPECT_EQ(events()[3].cause.actor.api_client_id(), "bank-1");
  EXPECT_EQ(events()[3].cause.actor.role(), "partner");
  EXPECT_EQ(events()[3].aggregate.city_ids, std::vector<std::string>{"wuhan"});
}

}  // namespace
}  // namespace techtrade::fund::test
