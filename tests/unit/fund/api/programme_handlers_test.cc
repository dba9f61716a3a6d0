// The fund's programme calls and its reads, in process: who may call them, what they refuse,
// request_id idempotency, and what a command saves and emits.
#include "tests/unit/fund/api/fund_handler_fixture.h"

namespace techtrade::fund::test {
namespace {

using ProgrammeHandlers = FundHandlerTest;

TEST_F(ProgrammeHandlers, CreateWithoutAKeyIsUnauthenticated) {
  v1::Programme p;
  grpc::Status s = CreateProgramme("", MakeRequest(), &p);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_TRUE(store().programmes().empty());
}

TEST_F(ProgrammeHandlers, OnlyAnOperatorCreatesOrClosesAProgramme) {
  v1::Programme p;
  for (const std::string& key : {wuhan_, partner_}) {
    grpc::Status s = CreateProgramme(key, MakeRequest(), &p);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  }
  EXPECT_TRUE(store().programmes().empty());
  const v1::Programme created = Programme();
  v1::CloseProgrammeRequest close;
  close.set_request_id("close-1");
  close.set_id(created.id());
  close.set_expected_version(created.version());
  close.set_reason("budget spent");
  grpc::Status s = stub_->CloseProgramme(CallAs(wuhan_).get(), close, &p);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(events().size(), 1u);
}

TEST_F(ProgrammeHandlers, CreateSavesTheProgrammeFundedAndEmitsProgrammeCreated) {
  const v1::Programme p = Programme("create-1");
  EXPECT_EQ(p.status(), v1::PROGRAMME_STATUS_ACTIVE);
  EXPECT_EQ(p.version(), 1);
  ASSERT_EQ(store().programmes().count(p.id()), 1u);
  const v1::Balances& b = store().programmes().at(p.id()).balances();
  EXPECT_EQ(b.total_minor(), 50'000'000 * kYuan);
  EXPECT_EQ(b.available_minor(), 50'000'000 * kYuan);
  ASSERT_EQ(store().entries().size(), 1u);
  EXPECT_EQ(store().entries()[0].kind(), "fund");
  ASSERT_EQ(events().size(), 1u);
  const EmittedEvent e = events()[0];
  EXPECT_EQ(e.producer, "fund");
  EXPECT_EQ(e.aggregate.type, "programme");
  EXPECT_EQ(e.aggregate.id, p.id());
  EXPECT_EQ(e.sequence, 1);
  EXPECT_EQ(e.cause.request_id, "create-1");
  EXPECT_EQ(Payload<v1::ProgrammeCreated>(e).programme().id(), p.id());
}

TEST_F(ProgrammeHandlers, AnInvalidProgrammeIsRefusedNamingTheFieldAndChangesNothing) {
  v1::CreateProgrammeRequest request = MakeRequest();
  request.clear_name();
  v1::Programme p;
  grpc::Status s = CreateProgramme(operator_, request, &p);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("name"));
  EXPECT_TRUE(store().programmes().empty());
  EXPECT_TRUE(events().empty());
}

TEST_F(ProgrammeHandlers, AnUnknownPilotCityIsTheRequestsFault) {
  v1::CreateProgrammeRequest request = MakeRequest();
  request.set_city_id("atlantis");
  v1::Programme p;
  grpc::Status s = CreateProgramme(operator_, request, &p);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("city_id"));
  EXPECT_EQ(transactor_.runs(), 0);
}

TEST_F(ProgrammeHandlers, AMutationWithoutARequestIdIsRefused) {
  v1::CreateProgrammeRequest request = MakeRequest();
  request.clear_request_id();
  v1::Programme p;
  grpc::Status s = CreateProgramme(operator_, request, &p);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("request_id"));
  EXPECT_TRUE(store().programmes().empty());
}

TEST_F(ProgrammeHandlers, ARetryGetsTheFirstResponseAndEmitsNothingMore) {
  const v1::Programme first = Programme("create-1");
  const v1::Programme retry = Programme("create-1");
  EXPECT_EQ(retry.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(store().programmes().size(), 1u);
  EXPECT_EQ(events().size(), 1u);
}

TEST_F(ProgrammeHandlers, ARequestIdReusedForAnotherRequestIsRefused) {
  Programme("create-1");
  v1::CreateProgrammeRequest other = MakeRequest();
  other.set_request_id("create-1");
  other.set_name("Another programme");
  v1::Programme p;
  grpc::Status s = CreateProgramme(operator_, other, &p);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("request_id"));
  EXPECT_EQ(store().programmes().size(), 1u);
  EXPECT_EQ(events().size(), 1u);
}

TEST_F(ProgrammeHandlers, ACommitWhoseAnswerWasLostAnswersWithWhatItStored) {
  transactor_.LoseNextCommitAnswers(1);
  const v1::Programme first = Programme("create-1");
  ASSERT_FALSE(first.id().empty());
  const v1::Programme retry = Programme("create-1");
  EXPECT_EQ(retry.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(store().programmes().size(), 1u);
  EXPECT_EQ(events().size(), 1u);
}

TEST_F(ProgrammeHandlers, CloseClosesTheCurrentVersionOnly) {
  const v1::Programme created = Programme();
  v1::CloseProgrammeRequest close;
  close.set_request_id("close-1");
  close.set_id(created.id());
  close.set_expected_version(created.version() + 1);
  close.set_reason("budget spent");
  v1::Programme closed;
  grpc::Status s = stub_->CloseProgramme(CallAs(operator_).get(), close, &closed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  close.set_request_id("close-2");
  close.set_expected_version(created.version());
  s = stub_->CloseProgramme(CallAs(operator_).get(), close, &closed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(closed.status(), v1::PROGRAMME_STATUS_CLOSED);
  EXPECT_EQ(store().programmes().at(created.id()).status(), v1::PROGRAMME_STATUS_CLOSED);
  // Closing moves no money: the balances stay as the funding entry left them.
  EXPECT_EQ(store().programmes().at(created.id()).balances().available_minor(), 50'000'000 * kYuan);
  ASSERT_EQ(events().size(), 2u);
  EXPECT_EQ(events()[1].aggregate.id, created.id());
  EXPECT_EQ(events()[1].sequence, 2);
  EXPECT_EQ(Payload<v1::ProgrammeClosed>(events()[1]).programme().close_reason(), "budget spent");
}

TEST_F(ProgrammeHandlers, CloseWithoutAReasonIsRefused) {
  const v1::Programme created = Programme();
  v1::CloseProgrammeRequest close;
  close.set_request_id("close-1");
  close.set_id(created.id());
  close.set_expected_version(created.version());
  v1::Programme closed;
  grpc::Status s = stub_->CloseProgramme(CallAs(operator_).get(), close, &closed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("reason"));
  EXPECT_EQ(store().programmes().at(created.id()).status(), v1::PROGRAMME_STATUS_ACTIVE);
  EXPECT_EQ(events().size(), 1u);
}

TEST_F(ProgrammeHandlers, GetAndListReadWhatWasSaved) {
  const v1::Programme created = Programme("create-1");
  Programme("create-2");
  v1::GetProgrammeRequest get;
  get.set_id(created.id());
  v1::Programme read;
  ASSERT_TRUE(stub_->GetProgramme(CallAs(wuhan_).get(), get, &read).ok());
  EXPECT_EQ(read.balances().total_minor(), 50'000'000 * kYuan);
  get.set_id(kUnknownId);
  EXPECT_EQ(stub_->GetProgramme(CallAs(wuhan_).get(), get, &read).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListProgrammesRequest list;
  list.set_page_size(1);
  v1::ListProgrammesResponse page;
  ASSERT_TRUE(stub_->ListProgrammes(CallAs(partner_).get(), list, &page).ok());
  ASSERT_EQ(page.programmes_size(), 1);
  EXPECT_EQ(page.programmes(0).id(), created.id());
  list.set_page_token(page.next_page_token());
  ASSERT_TRUE(stub_->ListProgrammes(CallAs(partner_).get(), list, &page).ok());
  EXPECT_EQ(page.programmes_size(), 1);
  EXPECT_TRUE(page.next_page_token().empty());
}

TEST_F(ProgrammeHandlers, TheLedgerAndItsReconciliationAreForAuditorsOnly) {
  const v1::Programme p = Programme();
  v1::ListLedgerEntriesRequest list;
  list.set_programme_id(p.id());
  v1::ListLedgerEntriesResponse entries;
  grpc::Status s = stub_->ListLedgerEntries(CallAs(wuhan_).get(), list, &entries);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  ASSERT_TRUE(stub_->ListLedgerEntries(CallAs(partner_).get(), list, &entries).ok());
  ASSERT_EQ(entries.entries_size(), 1);
  EXPECT_EQ(entries.entries(0).kind(), "fund");
  v1::ReconcileResponse reconciled;
  s = stub_->Reconcile(CallAs(wuhan_).get(), v1::ReconcileRequest(), &reconciled);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  ASSERT_TRUE(stub_->Reconcile(CallAs(operator_).get(), v1::ReconcileRequest(), &reconciled).ok());
  EXPECT_TRUE(reconciled.balanced());
  EXPECT_EQ(reconciled.entries_checked(), 1);
}

TEST_F(ProgrammeHandlers, ACitySystemAppraisesItsOwnCityOnly) {
  v1::GetAppraisalRequest request;
  request.set_city_id("wuhan");
  *request.mutable_period_start() = At("2026-01-01T00:00:00Z");
  *request.mutable_period_end() = At("2027-01-01T00:00:00Z");
  v1::Appraisal appraisal;
  grpc::Status s = stub_->GetAppraisal(CallAs(hefei_).get(), request, &appraisal);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), StartsWith("city_id"));
  s = stub_->GetAppraisal(CallAs(wuhan_).get(), request, &appraisal);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(appraisal.deals_signed(), 1);
  EXPECT_EQ(appraisal.contract_value().amount_minor(), 500'000 * kYuan);
  request.clear_period_end();
  s = stub_->GetAppraisal(CallAs(wuhan_).get(), request, &appraisal);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("period_end"));
}

}  // namespace
}  // namespace techtrade::fund::test
