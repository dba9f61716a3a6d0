// The deal state machine: every action in every state, the invariants on terms and payments, and
// the events each transition produces.
#include "services/transactions/domain/deal_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"

namespace techtrade::transactions {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace lv1 = techtrade::listings::v1;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

v1::ProposeTermsRequest Terms(v1::PartyRole by, int64_t price = 100000) {
  v1::ProposeTermsRequest r;
  r.set_acting_as(by);
  r.mutable_price()->set_currency("CNY");
  r.mutable_price()->set_amount_minor(price);
  r.set_transfer_mode(lv1::TRANSFER_MODE_EXCLUSIVE_LICENSE);
  r.set_licence_scope("manufacture and sale of battery management systems");
  r.set_territory("CN");
  for (int i = 0; i < 2; ++i) {
    v1::MilestonePlan* m = r.add_milestones();
    m->set_title(i == 0 ? "source code and documentation" : "production ramp-up support");
    m->mutable_amount()->set_currency("CNY");
    m->mutable_amount()->set_amount_minor(i == 0 ? price * 3 / 10 : price - price * 3 / 10);
    *m->mutable_due_time() = TimeUtil::SecondsToTimestamp(1'810'000'000 + i * 1'000'000);
  }
  return r;
}

v1::RecordPaymentRequest Payment(int index, int64_t amount, const std::string& ref) {
  v1::RecordPaymentRequest r;
  r.set_milestone_index(index);
  r.mutable_amount()->set_currency("CNY");
  r.mutable_amount()->set_amount_minor(amount);
  r.set_payment_reference(ref);
  return r;
}

v1::SignContractRequest Contract() {
  v1::SignContractRequest r;
  r.set_registration_number("2026420100001234");
  // Signed when the deals of InState were agreed: not before (see deal_contract_rules_test.cc).
  *r.mutable_signing_time() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(kNow));
  return r;
}

v1::Deal Apply(const absl::StatusOr<Transition>& t) {
  EXPECT_TRUE(t.ok()) << t.status();
  return t->deal;
}

// A deal brought into each state along the happy path (and the side states).
v1::Deal InState(v1::DealState state) {
  v1::Deal d = OpenDeal(v1::Deal(), kNow).deal;
  if (state == v1::DEAL_STATE_OPEN) return d;
  d = Apply(ProposeTerms(d, Terms(v1::PARTY_ROLE_SELLER), kNow));
  if (state == v1::DEAL_STATE_NEGOTIATING) return d;
  if (state == v1::DEAL_STATE_CANCELLED) {
    return Apply(CancelDeal(d, v1::PARTY_ROLE_BUYER, "no budget", kNow));
  }
  d = Apply(AcceptTerms(d, v1::PARTY_ROLE_SELLER, 1, kNow));
  d = Apply(AcceptTerms(d, v1::PARTY_ROLE_BUYER, 1, kNow));
  if (state == v1::DEAL_STATE_AGREED) return d;
  d = Apply(SignContract(d, Contract(), kNow));
  if (state == v1::DEAL_STATE_SIGNED) return d;
  if (state == v1::DEAL_STATE_DISPUTED) {
    return Apply(OpenDispute(d, v1::PARTY_ROLE_BUYER, "late delivery", kNow));
  }
  d = Apply(DeliverMilestone(d, 1, kNow));
  if (state == v1::DEAL_STATE_IN_PERFORMANCE) return d;
  d = Apply(AcceptMilestone(d, 1, kNow));
  d = Apply(RecordPayment(d, Payment(1, 30000, "p1"), kNow));
  d = Apply(DeliverMilestone(d, 2, kNow));
  d = Apply(AcceptMilestone(d, 2, kNow));
  d = Apply(RecordPayment(d, Payment(2, 70000, "p2"), kNow));
  EXPECT_EQ(d.state(), v1::DEAL_STATE_COMPLETED);
  return d;
}

enum class Action {
  kPropose,
  kAccept,
  kSign,
  kDeliver,
  kAcceptMilestone,
  kPay,
  kCancelByParty,
  kCancelByOperator,
  kDispute,
  kResolve
};

absl::StatusOr<Transition> Do(const v1::Deal& d, Action a) {
  switch (a) {
    case Action::kPropose:
      return ProposeTerms(d, Terms(v1::PARTY_ROLE_BUYER), kNow);
    case Action::kAccept:
      return AcceptTerms(d, v1::PARTY_ROLE_BUYER, d.terms_size(), kNow);
    case Action::kSign:
      return SignContract(d, Contract(), kNow);
    case Action::kDeliver:
      return DeliverMilestone(d, d.milestones_size() > 0 ? d.milestones_size() : 1, kNow);
    case Action::kAcceptMilestone:
      return AcceptMilestone(d, 1, kNow);
    case Action::kPay:
      return RecordPayment(d, Payment(1, 1, "x"), kNow);
    case Action::kCancelByParty:
      return CancelDeal(d, v1::PARTY_ROLE_SELLER, "changed plans", kNow);
    case Action::kCancelByOperator:
      return CancelDeal(d, v1::PARTY_ROLE_OPERATOR, "fraud", kNow);
    case Action::kDispute:
      return OpenDispute(d, v1::PARTY_ROLE_SELLER, "unpaid", kNow);
    case Action::kResolve:
      return ResolveDispute(d, "settled", false, kNow);
  }
  return absl::InternalError("unknown");
}

TEST(DealStateMachineTest, EveryActionInEveryState) {
  using S = v1::DealState;
  // state → action → the state after it (UNSPECIFIED: refused with FAILED_PRECONDITION).
  const std::map<S, std::map<Action, S>> table = {
      {v1::DEAL_STATE_OPEN,
       {{Action::kPropose, v1::DEAL_STATE_NEGOTIATING},
        {Action::kCancelByParty, v1::DEAL_STATE_CANCELLED},
        {Action::kCancelByOperator, v1::DEAL_STATE_CANCELLED}}},
      {v1::DEAL_STATE_NEGOTIATING,
       {{Action::kPropose, v1::DEAL_STATE_NEGOTIATING},
        {Action::kAccept, v1::DEAL_STATE_NEGOTIATING},  // one side only so far
        {Action::kCancelByParty, v1::DEAL_STATE_CANCELLED},
        {Action::kCancelByOperator, v1::DEAL_STATE_CANCELLED}}},
      {v1::DEAL_STATE_AGREED,
       {{Action::kSign, v1::DEAL_STATE_SIGNED},
        {Action::kCancelByParty, v1::DEAL_STATE_CANCELLED},
        {Action::kCancelByOperator, v1::DEAL_STATE_CANCELLED}}},
      {v1::DEAL_STATE_SIGNED,
       {{Action::kDeliver, v1::DEAL_STATE_IN_PERFORMANCE},
        {Action::kCancelByOperator, v1::DEAL_STATE_CANCELLED},
        {Action::kDispute, v1::DEAL_STATE_DISPUTED}}},
      {v1::DEAL_STATE_IN_PERFORMANCE,
       {{Action::kDeliver, v1::DEAL_STATE_IN_PERFORMANCE},  // milestone 2
        {Action::kAcceptMilestone, v1::DEAL_STATE_IN_PERFORMANCE},
        {Action::kCancelByOperator, v1::DEAL_STATE_CANCELLED},
        {Action::kDispute, v1::DEAL_STATE_DISPUTED}}},
      {v1::DEAL_STATE_COMPLETED, {}},
      {v1::DEAL_STATE_CANCELLED, {}},
      {v1::DEAL_STATE_DISPUTED, {{Action::kResolve, v1::DEAL_STATE_SIGNED}}},
  };
  for (const auto& [state, allowed] : table) {
    const v1::Deal deal = InState(state);
    ASSERT_EQ(deal.state(), state);
    for (Action a : {Action::kPropose, Action::kAccept, Action::kSign, Action::kDeliver,
                     Action::kAcceptMilestone, Action::kPay, Action::kCancelByParty,
                     Action::kCancelByOperator, Action::kDispute, Action::kResolve}) {
      absl::StatusOr<Transition> t = Do(deal, a);
      auto it = allowed.find(a);
      const std::string where =
          absl::StrCat(v1::DealState_Name(state), " action ", static_cast<int>(a));
      if (it == allowed.end()) {
        EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition) << where;
      } else {
        ASSERT_TRUE(t.ok()) << where << ": " << t.status();
        EXPECT_EQ(t->deal.state(), it->second) << where;
        EXPECT_FALSE(t->events.empty()) << where;
      }
    }
  }
}

TEST(DealStateMachineTest, AgreementNeedsBothPartiesOnTheLatestVersion) {
  v1::Deal d = InState(v1::DEAL_STATE_NEGOTIATING);
  d = Apply(AcceptTerms(d, v1::PARTY_ROLE_SELLER, 1, kNow));
  // The buyer counters: version 2 supersedes 1, whatever was accepted before.
  d = Apply(ProposeTerms(d, Terms(v1::PARTY_ROLE_BUYER, 90000), kNow));
  EXPECT_EQ(d.terms_size(), 2);
  absl::StatusOr<Transition> stale = AcceptTerms(d, v1::PARTY_ROLE_BUYER, 1, kNow);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(stale.status().message()), StartsWith("terms_version:"));
  d = Apply(AcceptTerms(d, v1::PARTY_ROLE_BUYER, 2, kNow));
  EXPECT_EQ(d.state(), v1::DEAL_STATE_NEGOTIATING);
  EXPECT_EQ(AcceptTerms(d, v1::PARTY_ROLE_BUYER, 2, kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);  // already accepted
  absl::StatusOr<Transition> agreed = AcceptTerms(d, v1::PARTY_ROLE_SELLER, 2, kNow);
  ASSERT_TRUE(agreed.ok());
  EXPECT_EQ(agreed->deal.state(), v1::DEAL_STATE_AGREED);
  EXPECT_EQ(agreed->deal.agreed_terms_version(), 2);
  ASSERT_EQ(agreed->events.size(), 2u);  // TermsAccepted, then DealAgreed
  EXPECT_EQ(agreed->events[0]->GetDescriptor()->name(), "TermsAccepted");
  EXPECT_EQ(agreed->events[1]->GetDescriptor()->name(), "DealAgreed");
  ASSERT_EQ(agreed->deal.milestones_size(), 2);
  EXPECT_EQ(agreed->deal.milestones(0).amount().amount_minor(), 27000);
  EXPECT_EQ(agreed->deal.milestones(1).amount().amount_minor(), 63000);
}

TEST(DealStateMachineTest, PaymentsNeverExceedWhatIsDueAndTheLastCompletesTheDeal) {
  v1::Deal d = InState(v1::DEAL_STATE_IN_PERFORMANCE);
  // Nothing is due before acceptance.
  EXPECT_EQ(RecordPayment(d, Payment(1, 100, "a"), kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
  d = Apply(AcceptMilestone(d, 1, kNow));
  absl::StatusOr<Transition> too_much = RecordPayment(d, Payment(1, 30001, "b"), kNow);
  EXPECT_EQ(too_much.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(too_much.status().message()), StartsWith("amount:"));
  v1::RecordPaymentRequest usd = Payment(1, 100, "c");
  usd.mutable_amount()->set_currency("USD");
  EXPECT_THAT(std::string(RecordPayment(d, usd, kNow).status().message()),
              StartsWith("amount.currency:"));
  d = Apply(RecordPayment(d, Payment(1, 10000, "d"), kNow));  // partial
  EXPECT_EQ(d.milestones(0).state(), v1::MILESTONE_STATE_ACCEPTED);
  d = Apply(RecordPayment(d, Payment(1, 20000, "e"), kNow));
  EXPECT_EQ(d.milestones(0).state(), v1::MILESTONE_STATE_PAID);
  EXPECT_EQ(d.paid_total().amount_minor(), 30000);
  d = Apply(DeliverMilestone(d, 2, kNow));
  d = Apply(AcceptMilestone(d, 2, kNow));
  absl::StatusOr<Transition> last = RecordPayment(d, Payment(2, 70000, "f"), kNow);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->deal.state(), v1::DEAL_STATE_COMPLETED);
  ASSERT_EQ(last->events.size(), 2u);  // PaymentRecorded, then DealCompleted
  EXPECT_EQ(last->events[1]->GetDescriptor()->name(), "DealCompleted");
  EXPECT_EQ(DeliverMilestone(d, 3, kNow).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DealStateMachineTest, ADisputeResumesWhereTheDealWasOrCancelsIt) {
  v1::Deal d = InState(v1::DEAL_STATE_IN_PERFORMANCE);
  d = Apply(OpenDispute(d, v1::PARTY_ROLE_BUYER, "quality", kNow));
  EXPECT_EQ(Apply(ResolveDispute(d, "fixed", false, kNow)).state(), v1::DEAL_STATE_IN_PERFORMANCE);
  v1::Deal cancelled = Apply(ResolveDispute(d, "refund", true, kNow));
  EXPECT_EQ(cancelled.state(), v1::DEAL_STATE_CANCELLED);
  EXPECT_EQ(cancelled.cancel_reason(), "refund");
}

// Each event of a change is one step: the deal as of that step, at the next version (the
// event's sequence). The step that agrees or completes the deal comes after the acceptance or
// payment that led to it, whose deal is not yet agreed or completed.
TEST(DealStepsTest, EachEventOfATwoStepChangeCarriesTheDealAsOfItsStep) {
  v1::Deal d = InState(v1::DEAL_STATE_NEGOTIATING);
  d = Apply(AcceptTerms(d, v1::PARTY_ROLE_SELLER, 1, kNow));
  absl::StatusOr<Transition> agreed = AcceptTerms(d, v1::PARTY_ROLE_BUYER, 1, kNow);
  ASSERT_TRUE(agreed.ok()) << agreed.status();
  ASSERT_EQ(agreed->snapshots.size(), 2u);
  const v1::Deal& accepted = agreed->snapshots[0];  // with TermsAccepted
  EXPECT_EQ(accepted.version(), d.version() + 1);
  EXPECT_EQ(accepted.state(), v1::DEAL_STATE_NEGOTIATING);
  EXPECT_EQ(accepted.buyer_accepted_version(), 1);
  EXPECT_EQ(accepted.agreed_terms_version(), 0);
  EXPECT_EQ(accepted.milestones_size(), 0);
  EXPECT_EQ(agreed->snapshots[1].version(), d.version() + 2);  // with DealAgreed
  EXPECT_EQ(agreed->snapshots[1].state(), v1::DEAL_STATE_AGREED);

  d = InState(v1::DEAL_STATE_COMPLETED);
  v1::Deal before = InState(v1::DEAL_STATE_IN_PERFORMANCE);
  before = Apply(AcceptMilestone(before, 1, kNow));
  before = Apply(RecordPayment(before, Payment(1, 30000, "p1"), kNow));
  before = Apply(DeliverMilestone(before, 2, kNow));
  before = Apply(AcceptMilestone(before, 2, kNow));
  absl::StatusOr<Transition> completed = RecordPayment(before, Payment(2, 70000, "p2"), kNow);
  ASSERT_TRUE(completed.ok()) << completed.status();
  ASSERT_EQ(completed->snapshots.size(), 2u);
  const v1::Deal& paid = completed->snapshots[0];  // with PaymentRecorded
  EXPECT_EQ(paid.version(), before.version() + 1);
  EXPECT_EQ(paid.state(), v1::DEAL_STATE_IN_PERFORMANCE);
  EXPECT_EQ(paid.milestones(1).state(), v1::MILESTONE_STATE_PAID);
  EXPECT_EQ(paid.paid_total().amount_minor(), 100000);
  EXPECT_EQ(completed->snapshots[1].version(), before.version() + 2);  // with DealCompleted
  EXPECT_EQ(completed->snapshots[1].state(), v1::DEAL_STATE_COMPLETED);
  EXPECT_EQ(completed->deal.version(), d.version());
}

// Whatever the transition, one snapshot per event, versions one apart from the deal's, the last
// being the deal after the change.
TEST(DealStepsTest, EveryTransitionRecordsOneVersionPerEvent) {
  for (v1::DealState state :
       {v1::DEAL_STATE_OPEN, v1::DEAL_STATE_NEGOTIATING, v1::DEAL_STATE_AGREED,
        v1::DEAL_STATE_SIGNED, v1::DEAL_STATE_IN_PERFORMANCE, v1::DEAL_STATE_DISPUTED}) {
    const v1::Deal deal = InState(state);
    for (Action a : {Action::kPropose, Action::kAccept, Action::kSign, Action::kDeliver,
                     Action::kAcceptMilestone, Action::kPay, Action::kCancelByParty,
                     Action::kCancelByOperator, Action::kDispute, Action::kResolve}) {
      absl::StatusOr<Transition> t = Do(deal, a);
      if (!t.ok()) continue;
      const std::string where =
          absl::StrCat(v1::DealState_Name(state), " action ", static_cast<int>(a));
      ASSERT_EQ(t->snapshots.size(), t->events.size()) << where;
      for (size_t i = 0; i < t->snapshots.size(); ++i) {
        EXPECT_EQ(t->snapshots[i].version(), deal.version() + static_cast<int64_t>(i) + 1) << where;
      }
      EXPECT_EQ(t->deal.version(), deal.version() + static_cast<int64_t>(t->events.size()))
          << where;
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(t->snapshots.back(), t->deal))
          << where;
    }
  }
  EXPECT_EQ(OpenDeal(v1::Deal(), kNow).deal.version(), 1);
}

TEST(ValidateTermsTest, AmountsCurrenciesAndSums) {
  EXPECT_TRUE(ValidateTerms(Terms(v1::PARTY_ROLE_SELLER)).ok());
  struct Case {
    const char* field;
    std::function<void(v1::ProposeTermsRequest&)> spoil;
  };
  std::vector<Case> cases = {
      {"acting_as", [](auto& r) { r.set_acting_as(v1::PARTY_ROLE_BROKER); }},
      {"price.amount_minor", [](auto& r) { r.mutable_price()->set_amount_minor(0); }},
      {"price.amount_minor", [](auto& r) { r.mutable_price()->set_amount_minor(-5); }},
      {"price.currency", [](auto& r) { r.mutable_price()->set_currency("yuan"); }},
      {"transfer_mode", [](auto& r) { r.set_transfer_mode(lv1::TRANSFER_MODE_UNSPECIFIED); }},
      {"licence_scope", [](auto& r) { r.clear_licence_scope(); }},
      {"territory", [](auto& r) { r.clear_territory(); }},
      {"milestones", [](auto& r) { r.clear_milestones(); }},
      {"milestones",
       [](auto& r) { r.mutable_milestones(1)->mutable_amount()->set_amount_minor(1); }},
      {"milestones[1].amount.currency",
       [](auto& r) { r.mutable_milestones(1)->mutable_amount()->set_currency("USD"); }},
      {"milestones[0].amount.amount_minor",
       [](auto& r) { r.mutable_milestones(0)->mutable_amount()->set_amount_minor(0); }},
      {"milestones[1].due_time", [](auto& r) { r.mutable_milestones(1)->clear_due_time(); }},
      {"milestones[0].title", [](auto& r) { r.mutable_milestones(0)->clear_title(); }},
  };
  for (const Case& c : cases) {
    v1::ProposeTermsRequest r = Terms(v1::PARTY_ROLE_SELLER);
    c.spoil(r);
    absl::Status s = ValidateTerms(r);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(std::string(s.message()), StartsWith(std::string(c.field) + ":")) << s;
  }
  // Assignment needs no licence scope.
  v1::ProposeTermsRequest assignment = Terms(v1::PARTY_ROLE_SELLER);
  assignment.set_transfer_mode(lv1::TRANSFER_MODE_ASSIGNMENT);
  assignment.clear_licence_scope();
  assignment.clear_territory();
  EXPECT_TRUE(ValidateTerms(assignment).ok());
}

TEST(ValidateOpenDealTest, PartiesAndBroker) {
  v1::OpenDealRequest r;
  r.set_listing_id("0b2f5a36-3c87-4b1c-9d1e-5f0c8c7e1a11");
  r.set_listing_kind(lv1::LISTING_KIND_OFFER);
  r.set_buyer_org_id("1b2f5a36-3c87-4b1c-9d1e-5f0c8c7e1a11");
  r.set_seller_org_id("2b2f5a36-3c87-4b1c-9d1e-5f0c8c7e1a11");
  EXPECT_TRUE(ValidateOpenDeal(r).ok());
  v1::OpenDealRequest same = r;
  same.set_seller_org_id(r.buyer_org_id());
  EXPECT_THAT(std::string(ValidateOpenDeal(same).message()), StartsWith("seller_org_id:"));
  v1::OpenDealRequest commission = r;
  commission.set_broker_commission_bps(200);
  EXPECT_THAT(std::string(ValidateOpenDeal(commission).message()),
              StartsWith("broker_commission_bps:"));
  commission.set_broker_org_id("3b2f5a36-3c87-4b1c-9d1e-5f0c8c7e1a11");
  EXPECT_TRUE(ValidateOpenDeal(commission).ok());
  commission.set_broker_commission_bps(3001);
  EXPECT_FALSE(ValidateOpenDeal(commission).ok());
  v1::OpenDealRequest kind = r;
  kind.set_listing_kind(lv1::LISTING_KIND_UNSPECIFIED);
  EXPECT_THAT(std::string(ValidateOpenDeal(kind).message()), StartsWith("listing_kind:"));
}

TEST(ValidateOpenDealTest, ATechnologyManagerIsABrokerForTheCommission) {
  v1::OpenDealRequest r;
  r.set_listing_id("0b2f5a36-3c87-4b1c-9d1e-5f0c8c7e1a11");
  r.set_listing_kind(lv1::LISTING_KIND_OFFER);
  r.set_buyer_org_id("1b2f5a36-3c87-4b1c-9d1e-5f0c8c7e1a11");
  r.set_seller_org_id("2b2f5a36-3c87-4b1c-9d1e-5f0c8c7e1a11");
  r.set_broker_commission_bps(200);
  r.set_broker_manager_id("4b2f5a36-3c87-4b1c-9d1e-5f0c8c7e1a11");
  EXPECT_TRUE(ValidateOpenDeal(r).ok());
  r.set_broker_manager_id("not-a-uuid");
  EXPECT_THAT(std::string(ValidateOpenDeal(r).message()), StartsWith("broker_manager_id:"));
}

TEST(BrokerOfManagerTest, ACertifiedUnexpiredManagerBrokersForTheirOrganisationOnly) {
  namespace reg = techtrade::registry::v1;
  v1::OpenDealRequest r;
  r.set_buyer_org_id("buyer");
  r.set_seller_org_id("seller");
  reg::TechnologyManager m;
  m.set_id("m1");
  m.set_organization_id("office");
  m.set_status(reg::TECHNOLOGY_MANAGER_STATUS_CERTIFIED);
  EXPECT_EQ(BrokerOfManager(r, m, kNow).value(), "office");  // no expiry
  // The certificate's expiry: still valid a microsecond before it, not at it.
  *m.mutable_certificate_expire_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(kNow) + 1);
  EXPECT_EQ(BrokerOfManager(r, m, kNow).value(), "office");
  absl::StatusOr<std::string> b = BrokerOfManager(r, m, kNow + absl::Microseconds(1));
  EXPECT_EQ(b.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(b.status().message()), StartsWith("broker_manager_id:"));
  m.clear_certificate_expire_time();
  // Naming the organisation too is allowed, another one is not.
  r.set_broker_org_id("office");
  EXPECT_EQ(BrokerOfManager(r, m, kNow).value(), "office");
  r.set_broker_org_id("elsewhere");
  EXPECT_THAT(std::string(BrokerOfManager(r, m, kNow).status().message()),
              StartsWith("broker_org_id:"));
  r.clear_broker_org_id();
  for (const char* party : {"buyer", "seller"}) {
    reg::TechnologyManager own = m;
    own.set_organization_id(party);
    b = BrokerOfManager(r, own, kNow);
    EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument) << party;
    EXPECT_THAT(std::string(b.status().message()), StartsWith("broker_manager_id:")) << party;
  }
  m.set_status(reg::TECHNOLOGY_MANAGER_STATUS_REVOKED);
  m.set_revocation_reason("withdrawn");
  b = BrokerOfManager(r, m, kNow);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(b.status().message()), HasSubstr("REVOKED (withdrawn)"));
}

TEST(ValidateContractTest, NumberAndDate) {
  EXPECT_TRUE(ValidateSignContract(Contract(), kNow).ok());
  v1::SignContractRequest r = Contract();
  r.set_registration_number("no");
  EXPECT_THAT(std::string(ValidateSignContract(r, kNow).message()),
              StartsWith("registration_number:"));
  r = Contract();
  *r.mutable_signing_time() = TimeUtil::SecondsToTimestamp(1'900'000'000);
  EXPECT_THAT(std::string(ValidateSignContract(r, kNow).message()), StartsWith("signing_time:"));
}

}  // namespace
}  // namespace techtrade::transactions
