#include "services/transactions/domain/commission.h"

#include <algorithm>

#include "services/transactions/domain/deal_rules.h"
#include "services/transactions/domain/transition_steps.h"

namespace techtrade::transactions {
namespace {

// C(x): the commission on the first `x` minor units of the price.
int64_t CommissionUpTo(const v1::Deal& deal, int64_t x, int64_t price) {
  if (deal.has_broker_commission_fixed()) {
    if (price <= 0) return 0;
    return static_cast<int64_t>(
        static_cast<__int128>(deal.broker_commission_fixed().amount_minor()) * x / price);
  }
  return static_cast<int64_t>(static_cast<__int128>(x) * deal.broker_commission_bps() / 10000);
}

}  // namespace

int64_t BrokerShareMinor(const v1::Deal& deal, int index) {
  if (deal.broker().organization_id().empty()) return 0;
  if (deal.broker_commission_bps() <= 0 && !deal.has_broker_commission_fixed()) return 0;
  if (index < 1 || index > deal.milestones_size()) return 0;
  int64_t price = 0, before = 0;
  for (int i = 0; i < deal.milestones_size(); ++i) {
    const int64_t amount = deal.milestones(i).amount().amount_minor();
    if (i + 1 < index) before += amount;
    price += amount;
  }
  const int64_t through = before + deal.milestones(index - 1).amount().amount_minor();
  return CommissionUpTo(deal, through, price) - CommissionUpTo(deal, before, price);
}

std::vector<v1::PaymentInstruction> PaymentInstructions(const v1::Deal& deal, int index,
                                                        int64_t amount_due) {
  const std::string& currency = index >= 1 && index <= deal.milestones_size()
                                    ? deal.milestones(index - 1).amount().currency()
                                    : deal.paid_total().currency();
  const int64_t broker = std::clamp<int64_t>(BrokerShareMinor(deal, index), 0, amount_due);
  std::vector<v1::PaymentInstruction> out;
  v1::PaymentInstruction seller;
  seller.set_payee_role(v1::PARTY_ROLE_SELLER);
  *seller.mutable_payee() = deal.seller();
  seller.mutable_amount()->set_currency(currency);
  seller.mutable_amount()->set_amount_minor(amount_due - broker);
  out.push_back(std::move(seller));
  if (broker > 0) {
    v1::PaymentInstruction to_broker;
    to_broker.set_payee_role(v1::PARTY_ROLE_BROKER);
    *to_broker.mutable_payee() = deal.broker();
    to_broker.mutable_amount()->set_currency(currency);
    to_broker.mutable_amount()->set_amount_minor(broker);
    out.push_back(std::move(to_broker));
  }
  return out;
}

using namespace steps;

bool BrokerActsFor(const v1::Deal& deal, v1::PartyRole party) {
  if (deal.broker().organization_id().empty()) return false;
  return std::find(deal.broker_acts_for().begin(), deal.broker_acts_for().end(), party) !=
         deal.broker_acts_for().end();
}

absl::StatusOr<Transition> AllowBroker(const v1::Deal& deal, v1::PartyRole party, bool allowed,
                                       absl::Time now) {
  TT_RETURN_IF_ERROR(CheckParty("acting_as", party));
  if (deal.broker().organization_id().empty()) {
    return absl::FailedPreconditionError("the deal has no broker");
  }
  if (deal.state() == v1::DEAL_STATE_COMPLETED || deal.state() == v1::DEAL_STATE_CANCELLED) {
    return Refuse(deal, "its parties take no more steps");
  }
  if (BrokerActsFor(deal, party) == allowed) {
    return absl::FailedPreconditionError(absl::StrCat("the broker ",
                                                      allowed ? "may act" : "does not act",
                                                      " for the ", PartyName(party), " already"));
  }
  Transition t = Step(deal, now);
  auto* acts_for = t.deal.mutable_broker_acts_for();
  if (allowed) {
    acts_for->Add(party);
  } else {
    acts_for->erase(std::remove(acts_for->begin(), acts_for->end(), party), acts_for->end());
  }
  t.Record(New<v1::BrokerAuthorityChanged>([&](auto& e) {
    e.set_party(party);
    e.set_allowed(allowed);
  }));
  return t;
}

}  // namespace techtrade::transactions
