// The fund's application calls in process: submission (decided at once, or left for an
// operator), an operator's review, who may call them, what they refuse, and idempotency.
#include "tests/unit/fund/api/fund_handler_fixture.h"

namespace techtrade::fund::test {
namespace {

using ApplicationHandlers = FundHandlerTest;

// Above the auto-approval threshold (200k CNY): 10% of 1m + 5% of 4m = 300k CNY.
constexpr int64_t kReviewedPrice = 5'000'000 * kYuan;

TEST_F(ApplicationHandlers, ASubmissionWithinTheThresholdIsApprovedAndPaysTheSigningTranche) {
  const v1::Programme p = Programme();
  v1::Application a;
  grpc::Status s = Submit(wuhan_, SubmitRequest(p.id()), &a);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(a.status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(a.approved_minor(), 50'000 * kYuan);   // 10% of 500k
  EXPECT_EQ(a.disbursed_minor(), 15'000 * kYuan);  // 30% at signing
  ASSERT_EQ(store().applications().size(), 1u);
  EXPECT_EQ(store().applications()[0].SerializeAsString(), a.SerializeAsString());
  const v1::Balances& b = store().programmes().at(p.id()).balances();
  EXPECT_EQ(b.reserved_minor(), 35'000 * kYuan);
  EXPECT_EQ(b.disbursed_minor(), 15'000 * kYuan);
  EXPECT_EQ(store().AnnualGranted(p.id(), kBuyerId, fund::v1::BENEFICIARY_BUYER, 2026),
            50'000 * kYuan);
  ASSERT_EQ(events().size(), 3u);  // ProgrammeCreated, then the application's two steps
  EXPECT_EQ(events()[1].aggregate.type, "application");
  EXPECT_EQ(events()[1].aggregate.id, a.id());
  EXPECT_EQ(events()[1].sequence, 1);
  EXPECT_EQ(events()[1].cause.request_id, "submit-1");
  EXPECT_EQ(Payload<v1::ApplicationDecided>(events()[1]).application().status(),
            v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(events()[2].sequence, 2);
  EXPECT_EQ(Payload<v1::TrancheDisbursed>(events()[2]).amount().amount_minor(), 15'000 * kYuan);
}

TEST_F(ApplicationHandlers, APartnerMayNotSubmit) {
  const v1::Programme p = Programme();
  v1::Application a;
  grpc::Status s = Submit(partner_, SubmitRequest(p.id()), &a);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_TRUE(store().applications().empty());
  EXPECT_EQ(events().size(), 1u);
}

TEST_F(ApplicationHandlers, AnotherCitysSystemMayNotSubmitForTheDeal) {
  const v1::Programme p = Programme();
  v1::Application a;
  grpc::Status s = Submit(hefei_, SubmitRequest(p.id()), &a);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_TRUE(store().applications().empty());
  EXPECT_EQ(store().programmes().at(p.id()).balances().reserved_minor(), 0);
  EXPECT_EQ(events().size(), 1u);
}

TEST_F(ApplicationHandlers, ABadIdIsRefusedNamingTheField) {
  const v1::Programme p = Programme();
  v1::SubmitApplicationRequest request = SubmitRequest(p.id());
  request.set_deal_id("not-a-uuid");
  v1::Application a;
  grpc::Status s = Submit(wuhan_, request, &a);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("deal_id"));
  EXPECT_TRUE(store().applications().empty());
  EXPECT_EQ(events().size(), 1u);
}

TEST_F(ApplicationHandlers, ADealTheFundHasNotSeenSignedIsAFailedPrecondition) {
  const v1::Programme p = Programme();
  v1::SubmitApplicationRequest request = SubmitRequest(p.id());
  request.set_deal_id(kUnknownId);
  v1::Application a;
  grpc::Status s = Submit(wuhan_, request, &a);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), StartsWith("deal_id"));
  request.set_deal_id(kDealId);
  request.set_programme_id(kUnknownId);
  request.set_request_id("submit-2");
  s = Submit(wuhan_, request, &a);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), StartsWith("programme_id"));
  EXPECT_TRUE(store().applications().empty());
}

TEST_F(ApplicationHandlers, ASuspendedApplicantIsRefused) {
  const v1::Programme p = Programme();
  reg::Organization buyer;
  buyer.set_id(kBuyerId);
  buyer.set_status(reg::ORGANIZATION_STATUS_SUSPENDED);
  directory_.Put(buyer);
  v1::Application a;
  grpc::Status s = Submit(wuhan_, SubmitRequest(p.id()), &a);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), StartsWith("applicant"));
  EXPECT_TRUE(store().applications().empty());
  EXPECT_EQ(events().size(), 1u);
}

TEST_F(ApplicationHandlers, ASecondApplicationForTheDealIsRefused) {
  const v1::Programme p = Programme();
  v1::Application a;
  ASSERT_TRUE(Submit(wuhan_, SubmitRequest(p.id(), "submit-1"), &a).ok());
  grpc::Status s = Submit(wuhan_, SubmitRequest(p.id(), "submit-2"), &a);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  EXPECT_THAT(s.error_message(), StartsWith("deal_id"));
  EXPECT_EQ(store().applications().size(), 1u);
  EXPECT_EQ(events().size(), 3u);
}

TEST_F(ApplicationHandlers, ASubmissionRetriedAfterALostAnswerIsAppliedOnce) {
  const v1::Programme p = Programme();
  transactor_.LoseNextCommitAnswers(1);
  v1::Application first, retry;
  ASSERT_TRUE(Submit(wuhan_, SubmitRequest(p.id()), &first).ok());
  ASSERT_TRUE(Submit(wuhan_, SubmitRequest(p.id()), &retry).ok());
  EXPECT_EQ(retry.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(store().applications().size(), 1u);
  EXPECT_EQ(store().programmes().at(p.id()).balances().reserved_minor(), 35'000 * kYuan);
  EXPECT_EQ(events().size(), 3u);
  v1::SubmitApplicationRequest other = SubmitRequest(p.id());
  other.set_deal_id(kUnknownId);
  grpc::Status s = Submit(wuhan_, other, &retry);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("request_id"));
}

TEST_F(ApplicationHandlers, AnApplicationAboveTheThresholdWaitsForAnOperator) {
  store().PutDeal(HandlerDeal(kReviewedPrice));
  const v1::Programme p = Programme();
  v1::Application a;
  ASSERT_TRUE(Submit(wuhan_, SubmitRequest(p.id()), &a).ok());
  EXPECT_EQ(a.status(), v1::APPLICATION_STATUS_PENDING_REVIEW);
  EXPECT_EQ(store().programmes().at(p.id()).balances().reserved_minor(), 0);
  ASSERT_EQ(events().size(), 2u);
  EXPECT_EQ(Payload<v1::ApplicationSubmitted>(events()[1]).application().id(), a.id());
  EXPECT_EQ(events()[1].sequence, 1);
}

TEST_F(ApplicationHandlers, OnlyAnOperatorDecides) {
  store().PutDeal(HandlerDeal(kReviewedPrice));
  const v1::Programme p = Programme();
  v1::Application a, decided;
  ASSERT_TRUE(Submit(wuhan_, SubmitRequest(p.id()), &a).ok());
  for (const std::string& key : {wuhan_, partner_}) {
    grpc::Status s = stub_->ApproveApplication(CallAs(key).get(), DecideRequest(a), &decided);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  }
  EXPECT_EQ(store().applications()[0].status(), v1::APPLICATION_STATUS_PENDING_REVIEW);
  EXPECT_EQ(events().size(), 2u);
}

TEST_F(ApplicationHandlers, AnOperatorsApprovalReservesPaysAndEmitsAtTheNextVersions) {
  store().PutDeal(HandlerDeal(kReviewedPrice));
  const v1::Programme p = Programme();
  v1::Application a, approved, retry;
  ASSERT_TRUE(Submit(wuhan_, SubmitRequest(p.id()), &a).ok());
  grpc::Status s = stub_->ApproveApplication(CallAs(operator_).get(), DecideRequest(a), &approved);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(approved.status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(approved.approved_minor(), 300'000 * kYuan);
  EXPECT_EQ(store().programmes().at(p.id()).balances().disbursed_minor(), 90'000 * kYuan);
  ASSERT_EQ(events().size(), 4u);
  EXPECT_EQ(events()[2].sequence, 2);
  EXPECT_EQ(events()[2].cause.request_id, "decide-1");
  EXPECT_EQ(Payload<v1::ApplicationDecided>(events()[2]).application().decision_reason(),
            "within the budget");
  EXPECT_EQ(events()[3].sequence, 3);
  // The same decision retried: the first answer, nothing more.
  ASSERT_TRUE(stub_->ApproveApplication(CallAs(operator_).get(), DecideRequest(a), &retry).ok());
  EXPECT_EQ(retry.SerializeAsString(), approved.SerializeAsString());
  EXPECT_EQ(events().size(), 4u);
}

TEST_F(ApplicationHandlers, ARejectionNeedsAReasonAndReservesNothing) {
  store().PutDeal(HandlerDeal(kReviewedPrice));
  const v1::Programme p = Programme();
  v1::Application a, rejected;
  ASSERT_TRUE(Submit(wuhan_, SubmitRequest(p.id()), &a).ok());
  v1::DecideApplicationRequest request = DecideRequest(a);
  request.clear_reason();
  grpc::Status s = stub_->RejectApplication(CallAs(operator_).get(), request, &rejected);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("reason"));
  EXPECT_EQ(events().size(), 2u);
  request.set_reason("not a transfer of technology");
  s = stub_->RejectApplication(CallAs(operator_).get(), request, &rejected);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(rejected.status(), v1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(store().programmes().at(p.id()).balances().reserved_minor(), 0);
  ASSERT_EQ(events().size(), 3u);
  EXPECT_EQ(events()[2].sequence, 2);
}

TEST_F(ApplicationHandlers, AnotherCitysSystemReadsNeitherTheApplicationNorItsList) {
  const v1::Programme p = Programme();
  v1::Application a, read;
  ASSERT_TRUE(Submit(wuhan_, SubmitRequest(p.id()), &a).ok());
  v1::GetApplicationRequest get;
  get.set_id(a.id());
  EXPECT_TRUE(stub_->GetApplication(CallAs(wuhan_).get(), get, &read).ok());
  grpc::Status s = stub_->GetApplication(CallAs(hefei_).get(), get, &read);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  v1::ListApplicationsResponse list;
  ASSERT_TRUE(
      stub_->ListApplications(CallAs(hefei_).get(), v1::ListApplicationsRequest(), &list).ok());
  EXPECT_EQ(list.applications_size(), 0);
  ASSERT_TRUE(
      stub_->ListApplications(CallAs(operator_).get(), v1::ListApplicationsRequest(), &list).ok());
  EXPECT_EQ(list.applications_size(), 1);
}

}  // namespace
}  // namespace techtrade::fund::test
