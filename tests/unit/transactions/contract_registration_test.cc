// Technology-contract registration as the deal rules decide it: the deadline set at signing, who
// may submit when, registration and refusal of a submission, corrections, values within the
// contract price, and the overdue flag at its edge (docs/deals.md, "Contract registration").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "google/protobuf/util/time_util.h"
#include "services/transactions/domain/deal_rules.h"

namespace techtrade::transactions {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace lv1 = techtrade::listings::v1;

const absl::Time kOpened = absl::FromUnixSeconds(1'800'000'000);
const absl::Time kSigned = kOpened + absl::Hours(2);
const absl::Time kNow = kSigned + absl::Hours(1);
constexpr int64_t kPrice = 100000;

v1::Deal Apply(const absl::StatusOr<Transition>& t) {
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? t->deal : v1::Deal();
}

std::string EventName(const absl::StatusOr<Transition>& t) {
  return t.ok() && !t->events.empty() ? t->events.back()->GetDescriptor()->name() : "";
}

techtrade::common::v1::Money Cny(int64_t minor) {
  techtrade::common::v1::Money m;
  m.set_currency("CNY");
  m.set_amount_minor(minor);
  return m;
}

// A deal signed at kSigned by a Sanming seller, with `days` to have its contract registered.
v1::Deal Signed(int days = kDefaultRegistrationDays) {
  v1::Deal d;
  d.set_id("deal-1");
  d.set_listing_kind(lv1::LISTING_KIND_OFFER);
  d.mutable_seller()->set_city_id("sanming");
  d.mutable_buyer()->set_city_id("fuzhou");
  d = OpenDeal(d, kOpened).deal;
  v1::ProposeTermsRequest terms;
  terms.set_acting_as(v1::PARTY_ROLE_SELLER);
  *terms.mutable_price() = Cny(kPrice);
  terms.set_transfer_mode(lv1::TRANSFER_MODE_ASSIGNMENT);
  v1::MilestonePlan* m = terms.add_milestones();
  m->set_title("all rights");
  *m->mutable_amount() = Cny(kPrice);
  *m->mutable_due_time() = TimeUtil::SecondsToTimestamp(1'810'000'000);
  d = Apply(ProposeTerms(d, terms, kOpened));
  d = Apply(AcceptTerms(d, v1::PARTY_ROLE_SELLER, 1, kOpened));
  d = Apply(AcceptTerms(d, v1::PARTY_ROLE_BUYER, 1, kOpened));
  v1::SignContractRequest sign;
  sign.set_registration_number("HT-2026-0001");
  *sign.mutable_signing_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(kSigned));
  d = Apply(SignContract(d, sign, kSigned, days));
  EXPECT_EQ(d.state(), v1::DEAL_STATE_SIGNED);
  return d;
}

v1::SubmitContractRegistrationRequest Submission(int64_t value = kPrice) {
  v1::SubmitContractRegistrationRequest r;
  r.set_category(v1::CONTRACT_CATEGORY_TRANSFER);
  *r.mutable_declared_value() = Cny(value);
  r.set_document_reference("SM-DOC-1");
  return r;
}

v1::RegisterContractRequest Registration(int64_t value = kPrice) {
  v1::RegisterContractRequest r;
  r.set_registration_number("3504012026000017");
  r.set_category(v1::CONTRACT_CATEGORY_TRANSFER);
  *r.mutable_registered_value() = Cny(value);
  return r;
}

int64_t Micros(const google::protobuf::Timestamp& t) {
  return TimeUtil::TimestampToMicroseconds(t);
}

TEST(RegistrationDeadlineTest, SigningSetsTheSellersCityAndTheDeadlineFromTheSigningTime) {
  const v1::Deal d = Signed(45);
  EXPECT_EQ(d.registration().city_id(), "sanming");
  EXPECT_EQ(d.registration().state(), v1::REGISTRATION_STATE_UNSPECIFIED);
  EXPECT_EQ(Micros(d.registration().deadline()),
            absl::ToUnixMicros(kSigned + absl::Hours(24 * 45)));
  EXPECT_EQ(Micros(Signed().registration().deadline()),
            absl::ToUnixMicros(kSigned + absl::Hours(24 * 30)));
}

TEST(RegistrationDeadlineTest, OverdueFromTheDeadlineOnOnceAndNeverForARegisteredContract) {
  const v1::Deal d = Signed();
  const absl::Time deadline = kSigned + absl::Hours(24 * 30);
  EXPECT_FALSE(RegistrationOverdue(d, deadline - absl::Microseconds(1)));
  EXPECT_TRUE(RegistrationOverdue(d, deadline));
  EXPECT_EQ(FlagRegistrationOverdue(d, deadline - absl::Microseconds(1)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<Transition> flagged = FlagRegistrationOverdue(d, deadline);
  EXPECT_EQ(EventName(flagged), "ContractRegistrationOverdue");
  const v1::Deal late = Apply(flagged);
  EXPECT_TRUE(late.registration().overdue());
  EXPECT_EQ(late.version(), d.version() + 1);
  // Once only.
  EXPECT_FALSE(RegistrationOverdue(late, deadline + absl::Hours(1)));
  EXPECT_EQ(FlagRegistrationOverdue(late, deadline + absl::Hours(1)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // A late registration is still possible; the flag stays.
  v1::Deal registered = Apply(SubmitContractRegistration(late, Submission(), deadline));
  registered = Apply(RegisterContract(registered, Registration(), "body-1", {}, deadline));
  EXPECT_EQ(registered.registration().state(), v1::REGISTRATION_STATE_REGISTERED);
  EXPECT_TRUE(registered.registration().overdue());
  // Registered in time: never overdue.
  v1::Deal in_time = Apply(SubmitContractRegistration(d, Submission(), kNow));
  in_time = Apply(RegisterContract(in_time, Registration(), "body-1", {}, kNow));
  EXPECT_FALSE(RegistrationOverdue(in_time, deadline + absl::Hours(24 * 365)));
  // Awaiting a decision is not registered: it is flagged too.
  const v1::Deal waiting = Apply(SubmitContractRegistration(d, Submission(), kNow));
  EXPECT_TRUE(RegistrationOverdue(waiting, deadline));
}

TEST(RegistrationDeadlineTest, NoDeadlineNoFlagAndACancelledDealIsNeverFlagged) {
  v1::Deal old = Signed();
  old.mutable_registration()->clear_deadline();
  EXPECT_FALSE(RegistrationOverdue(old, kNow + absl::Hours(24 * 3650)));
  v1::Deal cancelled = Apply(CancelDeal(Signed(), v1::PARTY_ROLE_OPERATOR, "fraud", kNow));
  EXPECT_FALSE(RegistrationOverdue(cancelled, kNow + absl::Hours(24 * 365)));
}

TEST(SubmitRegistrationTest, OnlyASignedContractAndNotTwiceWhileAwaitingOrRegistered) {
  v1::Deal open = OpenDeal(v1::Deal(), kOpened).deal;
  absl::StatusOr<Transition> t = SubmitContractRegistration(open, Submission(), kNow);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("signed contract"));

  const v1::Deal d = Signed();
  t = SubmitContractRegistration(d, Submission(), kNow);
  EXPECT_EQ(EventName(t), "ContractRegistrationSubmitted");
  const v1::Deal submitted = Apply(t);
  EXPECT_EQ(submitted.registration().state(), v1::REGISTRATION_STATE_SUBMITTED);
  EXPECT_EQ(submitted.registration().submissions(), 1);
  EXPECT_EQ(submitted.registration().document_reference(), "SM-DOC-1");
  EXPECT_EQ(Micros(submitted.registration().submit_time()), absl::ToUnixMicros(kNow));
  t = SubmitContractRegistration(submitted, Submission(), kNow);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("awaits"));

  const v1::Deal registered =
      Apply(RegisterContract(submitted, Registration(), "body-1", {}, kNow));
  t = SubmitContractRegistration(registered, Submission(), kNow);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("3504012026000017"));
}

TEST(SubmitRegistrationTest, DeclaredValueInTheDealsCurrencyUpToThePrice) {
  const v1::Deal d = Signed();
  EXPECT_TRUE(SubmitContractRegistration(d, Submission(kPrice), kNow).ok());
  EXPECT_TRUE(SubmitContractRegistration(d, Submission(1), kNow).ok());
  absl::StatusOr<Transition> t = SubmitContractRegistration(d, Submission(kPrice + 1), kNow);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()),
              StartsWith("declared_value: above the contract price"));
  v1::SubmitContractRegistrationRequest usd = Submission();
  usd.mutable_declared_value()->set_currency("USD");
  t = SubmitContractRegistration(d, usd, kNow);
  EXPECT_THAT(std::string(t.status().message()), StartsWith("declared_value.currency"));
}

TEST(SubmitRegistrationTest, RequestValidationNamesTheField) {
  v1::SubmitContractRegistrationRequest r = Submission();
  r.set_category(v1::CONTRACT_CATEGORY_UNSPECIFIED);
  EXPECT_THAT(std::string(ValidateSubmitRegistration(r).message()), StartsWith("category"));
  r = Submission(0);
  EXPECT_THAT(std::string(ValidateSubmitRegistration(r).message()), StartsWith("declared_value"));
  v1::RegisterContractRequest reg = Registration();
  reg.set_category(static_cast<v1::ContractCategory>(99));
  EXPECT_THAT(std::string(ValidateRegisterContract(reg).message()), StartsWith("category"));
  reg = Registration(-5);
  EXPECT_THAT(std::string(ValidateRegisterContract(reg).message()), StartsWith("registered_value"));
  EXPECT_TRUE(ValidateRegisterContract(Registration()).ok());
}

TEST(RegisterContractTest, RegistersTheSubmissionWithTheBodysNumberCategoryAndValue) {
  const v1::Deal submitted = Apply(SubmitContractRegistration(Signed(), Submission(), kNow));
  v1::RegisterContractRequest r = Registration(60000);  // below the price: allowed
  r.set_category(v1::CONTRACT_CATEGORY_LICENCE);        // the body's category wins
  v1::Party body;
  body.set_organization_id("0b0d0000-0000-4000-8000-000000000001");
  body.set_name("Sanming Technology Market Office");
  absl::StatusOr<Transition> t = RegisterContract(submitted, r, "body-1", body, kNow);
  EXPECT_EQ(EventName(t), "ContractRegistered");
  const v1::Deal d = Apply(t);
  EXPECT_EQ(d.registration().body().organization_id(), body.organization_id());
  EXPECT_EQ(d.registration().state(), v1::REGISTRATION_STATE_REGISTERED);
  EXPECT_EQ(d.registration().registration_number(), "3504012026000017");
  EXPECT_EQ(d.registration().category(), v1::CONTRACT_CATEGORY_LICENCE);
  EXPECT_EQ(d.registration().registered_value().amount_minor(), 60000);
  EXPECT_EQ(d.registration().decided_by(), "body-1");
  EXPECT_EQ(d.state(), v1::DEAL_STATE_SIGNED);  // registration runs beside performance
  // Final: no second decision.
  EXPECT_EQ(RegisterContract(d, r, "body-1", {}, kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(RefuseContractRegistration(d, "late", "body-1", kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(RegisterContractTest, ValueAboveThePriceOrADecisionWithoutASubmissionIsRefused) {
  const v1::Deal d = Signed();
  EXPECT_EQ(RegisterContract(d, Registration(), "body-1", {}, kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(RefuseContractRegistration(d, "no", "body-1", kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
  const v1::Deal submitted = Apply(SubmitContractRegistration(d, Submission(), kNow));
  absl::StatusOr<Transition> t =
      RegisterContract(submitted, Registration(kPrice + 1), "body-1", {}, kNow);
  EXPECT_THAT(std::string(t.status().message()),
              StartsWith("registered_value: above the contract price"));
  EXPECT_TRUE(RegisterContract(submitted, Registration(kPrice), "body-1", {}, kNow).ok());
}

TEST(RegisterContractTest, ACancelledDealsSubmissionIsNotDecided) {
  const v1::Deal submitted = Apply(SubmitContractRegistration(Signed(), Submission(), kNow));
  const v1::Deal cancelled =
      Apply(CancelDeal(submitted, v1::PARTY_ROLE_OPERATOR, "withdrawn", kNow));
  ASSERT_EQ(cancelled.state(), v1::DEAL_STATE_CANCELLED);
  EXPECT_EQ(RegisterContract(cancelled, Registration(), "body-1", {}, kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(RefuseRegistrationTest, ARefusalKeepsItsReasonAndACorrectionIsSubmittedAgain) {
  const v1::Deal submitted = Apply(SubmitContractRegistration(Signed(), Submission(), kNow));
  absl::StatusOr<Transition> t =
      RefuseContractRegistration(submitted, "the licence scope is missing", "body-1", kNow);
  EXPECT_EQ(EventName(t), "ContractRegistrationRefused");
  const v1::Deal refused = Apply(t);
  EXPECT_EQ(refused.registration().state(), v1::REGISTRATION_STATE_REFUSED);
  EXPECT_EQ(refused.registration().refuse_reason(), "the licence scope is missing");

  v1::SubmitContractRegistrationRequest corrected = Submission(90000);
  corrected.set_document_reference("SM-DOC-2");
  const v1::Deal again =
      Apply(SubmitContractRegistration(refused, corrected, kNow + absl::Hours(1)));
  EXPECT_EQ(again.registration().state(), v1::REGISTRATION_STATE_SUBMITTED);
  EXPECT_EQ(again.registration().submissions(), 2);
  EXPECT_EQ(again.registration().document_reference(), "SM-DOC-2");
  EXPECT_EQ(again.registration().declared_value().amount_minor(), 90000);
  const v1::Deal registered =
      Apply(RegisterContract(again, Registration(90000), "body-1", {}, kNow));
  EXPECT_TRUE(registered.registration().refuse_reason().empty());
  EXPECT_EQ(registered.registration().submissions(), 2);
}

TEST(SubmitRegistrationTest, ADealSignedBeforeTheWorkflowLearnsItsRegistrationCity) {
  v1::Deal old = Signed();
  old.clear_registration();
  const v1::Deal submitted = Apply(SubmitContractRegistration(old, Submission(), kNow));
  EXPECT_EQ(submitted.registration().city_id(), "sanming");
  EXPECT_FALSE(submitted.registration().has_deadline());
}

}  // namespace
}  // namespace techtrade::transactions
