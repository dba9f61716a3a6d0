#include "services/transactions/domain/escrow.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/validation.h"
#include "services/transactions/domain/commission.h"
#include "services/transactions/domain/transition_steps.h"

namespace techtrade::transactions {
namespace {

using namespace steps;

// Adds `minor` to one of the account's sums and keeps held = funded − released − refunded.
void Post(v1::Deal& deal, v1::EscrowState to, const std::string& currency, int64_t minor) {
  v1::EscrowAccount& a = *deal.mutable_escrow();
  for (techtrade::common::v1::Money* m :
       {a.mutable_funded(), a.mutable_released(), a.mutable_refunded(), a.mutable_held()}) {
    m->set_currency(currency);
  }
  switch (to) {
    case v1::ESCROW_STATE_HELD:
      a.mutable_funded()->set_amount_minor(a.funded().amount_minor() + minor);
      break;
    case v1::ESCROW_STATE_RELEASED:
      a.mutable_released()->set_amount_minor(a.released().amount_minor() + minor);
      break;
    case v1::ESCROW_STATE_REFUNDED:
      a.mutable_refunded()->set_amount_minor(a.refunded().amount_minor() + minor);
      break;
    default:
      return;
  }
  a.mutable_held()->set_amount_minor(a.funded().amount_minor() - a.released().amount_minor() -
                                     a.refunded().amount_minor());
}

}  // namespace

absl::Status ValidateMilestoneFunding(const v1::RecordMilestoneFundingRequest& r) {
  return CheckMoney("amount", r.amount());
}

absl::StatusOr<Transition> RecordMilestoneFunding(const v1::Deal& deal,
                                                  const v1::RecordMilestoneFundingRequest& r,
                                                  absl::Time now) {
  if (deal.state() != v1::DEAL_STATE_SIGNED && deal.state() != v1::DEAL_STATE_IN_PERFORMANCE) {
    return Refuse(deal, "escrow is funded under a signed contract");
  }
  TT_RETURN_IF_ERROR(CheckMilestoneIndex(deal, r.milestone_index()));
  Transition t = Step(deal, now);
  v1::Milestone* m = FindMilestone(t.deal, r.milestone_index());
  if (m->escrow() != v1::ESCROW_STATE_AWAITING_FUNDS) {
    return absl::FailedPreconditionError(
        absl::StrCat("milestone_index: milestone ", r.milestone_index(),
                     m->escrow() == v1::ESCROW_STATE_UNSPECIFIED
                         ? " is paid directly, not through escrow"
                         : absl::StrCat(" escrow is ", v1::EscrowState_Name(m->escrow()))));
  }
  if (r.amount().currency() != m->amount().currency() ||
      r.amount().amount_minor() != m->amount().amount_minor()) {
    return FieldError("amount",
                      absl::StrCat("the milestone's amount is ", m->amount().amount_minor(), " ",
                                   m->amount().currency()));
  }
  m->set_escrow(v1::ESCROW_STATE_HELD);
  *m->mutable_escrow_amount() = r.amount();
  m->set_funding_reference(r.funding_reference());
  *m->mutable_fund_time() = Ts(now);
  Post(t.deal, v1::ESCROW_STATE_HELD, r.amount().currency(), r.amount().amount_minor());
  const v1::Milestone funded = *m;
  t.Record(New<v1::MilestoneFunded>([&](auto& e) {
    *e.mutable_milestone() = funded;
    *e.mutable_amount() = r.amount();
    e.set_funding_reference(r.funding_reference());
  }));
  return t;
}

absl::Status CheckFundedForDelivery(const v1::Milestone& m) {
  if (m.escrow() != v1::ESCROW_STATE_AWAITING_FUNDS) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("milestone_index: milestone ", m.index(),
                   " awaits its escrow funds (RecordMilestoneFunding by the finance partner)"));
}

void ReleaseEscrow(Transition& t, int index, absl::Time now) {
  v1::Milestone* m = FindMilestone(t.deal, index);
  const techtrade::common::v1::Money amount = m->escrow_amount();
  m->set_escrow(v1::ESCROW_STATE_RELEASED);
  *m->mutable_paid() = amount;
  m->set_state(v1::MILESTONE_STATE_PAID);
  *m->mutable_paid_time() = Ts(now);
  t.deal.mutable_paid_total()->set_amount_minor(t.deal.paid_total().amount_minor() +
                                                amount.amount_minor());
  Post(t.deal, v1::ESCROW_STATE_RELEASED, amount.currency(), amount.amount_minor());
  const v1::Milestone released = *m;
  std::vector<v1::PaymentInstruction> parts =
      PaymentInstructions(t.deal, index, amount.amount_minor());
  t.Record(New<v1::EscrowReleased>([&](auto& e) {
    *e.mutable_milestone() = released;
    *e.mutable_amount() = amount;
    for (v1::PaymentInstruction& part : parts) *e.add_instructions() = std::move(part);
  }));
  CompleteIfAllPaid(t);
}

void RefundHeldEscrow(Transition& t) {
  for (int i = 0; i < t.deal.milestones_size(); ++i) {
    v1::Milestone* m = t.deal.mutable_milestones(i);
    if (m->escrow() != v1::ESCROW_STATE_HELD) continue;
    m->set_escrow(v1::ESCROW_STATE_REFUNDED);
    const techtrade::common::v1::Money amount = m->escrow_amount();
    Post(t.deal, v1::ESCROW_STATE_REFUNDED, amount.currency(), amount.amount_minor());
    const v1::Milestone refunded = *m;
    const v1::Party buyer = t.deal.buyer();
    t.Record(New<v1::EscrowRefunded>([&](auto& e) {
      *e.mutable_milestone() = refunded;
      *e.mutable_amount() = amount;
      *e.mutable_payee() = buyer;
    }));
  }
}

std::vector<EscrowMovement> EscrowMovements(const v1::Deal& before, const v1::Deal& after) {
  std::vector<EscrowMovement> moves;
  for (const v1::Milestone& m : after.milestones()) {
    v1::EscrowState was = v1::ESCROW_STATE_UNSPECIFIED;
    for (const v1::Milestone& b : before.milestones()) {
      if (b.index() == m.index()) was = b.escrow();
    }
    if (m.escrow() == was) continue;
    const char* kind = m.escrow() == v1::ESCROW_STATE_HELD       ? "funded"
                       : m.escrow() == v1::ESCROW_STATE_RELEASED ? "released"
                       : m.escrow() == v1::ESCROW_STATE_REFUNDED ? "refunded"
                                                                 : nullptr;
    if (kind == nullptr) continue;  // awaiting funds: nothing moved yet
    moves.push_back({m.index(), kind, m.escrow_amount().amount_minor(),
                     m.escrow_amount().currency(), m.funding_reference()});
  }
  return moves;
}

}  // namespace techtrade::transactions
