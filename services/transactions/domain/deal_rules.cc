#include "services/transactions/domain/deal_rules.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "common/validation.h"
#include "google/protobuf/util/time_util.h"
#include "services/transactions/domain/commission.h"
#include "services/transactions/domain/escrow.h"
#include "services/transactions/domain/transition_steps.h"

namespace techtrade::transactions {
namespace {

using google::protobuf::util::TimeUtil;
namespace listings = techtrade::listings::v1;
using namespace steps;

bool IsLicence(int mode) {
  return mode == listings::TRANSFER_MODE_EXCLUSIVE_LICENSE ||
         mode == listings::TRANSFER_MODE_NON_EXCLUSIVE_LICENSE;
}

// When the deal was agreed, in microseconds since the epoch. A deal agreed before agree_time was
// recorded falls back to when its agreed terms were proposed (agreement came after), then to its
// opening.
int64_t AgreedAtMicros(const v1::Deal& deal) {
  if (deal.has_agree_time()) return TimeUtil::TimestampToMicroseconds(deal.agree_time());
  const int64_t v = deal.agreed_terms_version();
  if (v >= 1 && v <= deal.terms_size() && deal.terms(static_cast<int>(v - 1)).has_propose_time()) {
    return TimeUtil::TimestampToMicroseconds(deal.terms(static_cast<int>(v - 1)).propose_time());
  }
  return TimeUtil::TimestampToMicroseconds(deal.create_time());
}

}  // namespace

absl::Status ValidateOpenDeal(const v1::OpenDealRequest& r) {
  TT_RETURN_IF_ERROR(CheckUuid("listing_id", r.listing_id()));
  if (r.listing_kind() != listings::LISTING_KIND_OFFER &&
      r.listing_kind() != listings::LISTING_KIND_DEMAND) {
    return FieldError("listing_kind", "LISTING_KIND_OFFER or LISTING_KIND_DEMAND required");
  }
  TT_RETURN_IF_ERROR(CheckUuid("buyer_org_id", r.buyer_org_id()));
  TT_RETURN_IF_ERROR(CheckUuid("seller_org_id", r.seller_org_id()));
  if (r.buyer_org_id() == r.seller_org_id()) {
    return FieldError("seller_org_id", "the buyer and the seller must be different organisations");
  }
  if (!r.broker_org_id().empty()) {
    TT_RETURN_IF_ERROR(CheckUuid("broker_org_id", r.broker_org_id()));
    if (r.broker_org_id() == r.buyer_org_id() || r.broker_org_id() == r.seller_org_id()) {
      return FieldError("broker_org_id", "the broker must be neither the buyer nor the seller");
    }
  }
  if (r.broker_commission_bps() < 0 || r.broker_commission_bps() > kMaxBrokerCommissionBps) {
    return FieldError("broker_commission_bps",
                      absl::StrCat("0–", kMaxBrokerCommissionBps, " basis points"));
  }
  if (!r.broker_manager_id().empty()) {
    TT_RETURN_IF_ERROR(CheckUuid("broker_manager_id", r.broker_manager_id()));
  }
  const bool brokered = !r.broker_org_id().empty() || !r.broker_manager_id().empty();
  if (r.broker_commission_bps() > 0 && !brokered) {
    return FieldError("broker_commission_bps",
                      "a commission needs a broker (broker_org_id or broker_manager_id)");
  }
  if (r.has_broker_commission_fixed()) {
    TT_RETURN_IF_ERROR(CheckMoney("broker_commission_fixed", r.broker_commission_fixed()));
    if (!brokered) {
      return FieldError("broker_commission_fixed",
                        "a commission needs a broker (broker_org_id or broker_manager_id)");
    }
    if (r.broker_commission_bps() > 0) {
      return FieldError("broker_commission_fixed",
                        "a commission is either broker_commission_bps or a fixed amount");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> BrokerOfManager(const v1::OpenDealRequest& r,
                                            const techtrade::registry::v1::TechnologyManager& m,
                                            absl::Time now) {
  namespace reg = techtrade::registry::v1;
  if (m.status() != reg::TECHNOLOGY_MANAGER_STATUS_CERTIFIED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "broker_manager_id: technology manager ", m.id(), " is ",
        reg::TechnologyManagerStatus_Name(m.status()), " (", m.revocation_reason(), ")"));
  }
  if (m.has_certificate_expire_time() &&
      TimeUtil::TimestampToMicroseconds(m.certificate_expire_time()) <= absl::ToUnixMicros(now)) {
    return absl::FailedPreconditionError(
        absl::StrCat("broker_manager_id: the certificate of technology manager ", m.id(),
                     " expired at ", TimeUtil::ToString(m.certificate_expire_time())));
  }
  if (!r.broker_org_id().empty() && r.broker_org_id() != m.organization_id()) {
    return FieldError("broker_org_id",
                      absl::StrCat("must be the technology manager's organisation ",
                                   m.organization_id(), ", or left out"));
  }
  if (m.organization_id() == r.buyer_org_id() || m.organization_id() == r.seller_org_id()) {
    return FieldError("broker_manager_id",
                      "the technology manager's organisation is a party; a broker must be neither "
                      "the buyer nor the seller");
  }
  return m.organization_id();
}

absl::Status ValidateTerms(const v1::ProposeTermsRequest& r) {
  TT_RETURN_IF_ERROR(CheckParty("acting_as", r.acting_as()));
  TT_RETURN_IF_ERROR(CheckMoney("price", r.price()));
  if (!listings::TransferMode_IsValid(r.transfer_mode()) ||
      r.transfer_mode() == listings::TRANSFER_MODE_UNSPECIFIED) {
    return FieldError("transfer_mode", "a transfer mode is required");
  }
  if (IsLicence(r.transfer_mode())) {
    TT_RETURN_IF_ERROR(CheckText("licence_scope", r.licence_scope(), 1, 500));
    TT_RETURN_IF_ERROR(CheckText("territory", r.territory(), 1, 200));
  } else {
    TT_RETURN_IF_ERROR(CheckText("licence_scope", r.licence_scope(), 0, 500));
    TT_RETURN_IF_ERROR(CheckText("territory", r.territory(), 0, 200));
  }
  if (r.milestones_size() < 1 || r.milestones_size() > kMaxMilestones) {
    return FieldError("milestones", absl::StrCat("1–", kMaxMilestones, " milestones required"));
  }
  int64_t sum = 0;
  for (int i = 0; i < r.milestones_size(); ++i) {
    const v1::MilestonePlan& m = r.milestones(i);
    const std::string field = absl::StrCat("milestones[", i, "]");
    TT_RETURN_IF_ERROR(CheckText(field + ".title", m.title(), 1, 200));
    TT_RETURN_IF_ERROR(CheckMoney(field + ".amount", m.amount()));
    if (m.amount().currency() != r.price().currency()) {
      return FieldError(
          field + ".amount.currency",
          absl::StrCat("one currency per deal: the price is in ", r.price().currency()));
    }
    if (!m.has_due_time()) return FieldError(field + ".due_time", "required");
    if (i > 0 && m.due_time() < r.milestones(i - 1).due_time()) {
      return FieldError(field + ".due_time", "before the previous milestone's");
    }
    if (__builtin_add_overflow(sum, m.amount().amount_minor(), &sum)) {
      return FieldError("milestones", "amounts overflow");
    }
  }
  if (sum != r.price().amount_minor()) {
    return FieldError("milestones", absl::StrCat("amounts sum to ", sum, ", the price is ",
                                                 r.price().amount_minor(), " (minor units)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateSignContract(const v1::SignContractRequest& r, absl::Time now) {
  const std::string& n = r.registration_number();
  if (n.size() < 6 || n.size() > 40 ||
      !std::all_of(n.begin(), n.end(), [](char c) { return absl::ascii_isalnum(c) || c == '-'; })) {
    return FieldError("registration_number", "6–40 letters, digits or '-'");
  }
  if (!r.has_signing_time()) return FieldError("signing_time", "required");
  if (TimeUtil::TimestampToMicroseconds(r.signing_time()) > absl::ToUnixMicros(now)) {
    return FieldError("signing_time", "in the future");
  }
  if (r.acting_as() != v1::PARTY_ROLE_UNSPECIFIED && !IsParty(r.acting_as())) {
    return FieldError("acting_as",
                      "PARTY_ROLE_BUYER, PARTY_ROLE_SELLER, or unset to sign for both parties");
  }
  return absl::OkStatus();
}

std::vector<v1::PartyRole> Signers(const v1::SignContractRequest& r) {
  if (IsParty(r.acting_as())) return {r.acting_as()};
  return {v1::PARTY_ROLE_BUYER, v1::PARTY_ROLE_SELLER};
}

absl::Status CheckTransferModeOfListing(const v1::Deal& deal, const std::vector<int>& listing_modes,
                                        int mode) {
  const bool offer = deal.listing_kind() == listings::LISTING_KIND_OFFER;
  if (!offer && listing_modes.empty()) return absl::OkStatus();  // the demand accepts any mode
  if (std::find(listing_modes.begin(), listing_modes.end(), mode) != listing_modes.end()) {
    return absl::OkStatus();
  }
  std::vector<std::string> names;
  for (int m : listing_modes) names.push_back(listings::TransferMode_Name(m));
  return absl::FailedPreconditionError(absl::StrCat(
      "transfer_mode: ", listings::TransferMode_Name(mode), " is not a mode the ",
      offer ? "offer allows" : "demand accepts", " (", absl::StrJoin(names, ", "), ")"));
}

absl::Status CheckNoPartySuspended(const v1::Deal& deal,
                                   const std::vector<std::string>& suspended) {
  const std::pair<const char*, const v1::Party*> parties[] = {
      {"buyer", &deal.buyer()}, {"seller", &deal.seller()}, {"broker", &deal.broker()}};
  for (const auto& [role, party] : parties) {
    if (party->organization_id().empty()) continue;
    if (std::find(suspended.begin(), suspended.end(), party->organization_id()) ==
        suspended.end()) {
      continue;
    }
    return absl::FailedPreconditionError(
        absl::StrCat(role, ": organisation ", party->organization_id(), " (", party->name(),
                     ") is suspended in the registry; the deal's steps towards money wait for its "
                     "reinstatement (cancelling or disputing the deal remains possible)"));
  }
  return absl::OkStatus();
}

absl::Status ValidatePayment(const v1::RecordPaymentRequest& r) {
  TT_RETURN_IF_ERROR(CheckMoney("amount", r.amount()));
  const std::string& ref = r.payment_reference();
  if (ref.empty() || ref.size() > 64 ||
      !std::all_of(ref.begin(), ref.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return FieldError("payment_reference", "1–64 printable ASCII characters required");
  }
  return absl::OkStatus();
}

Transition OpenDeal(v1::Deal deal, absl::Time now) {
  deal.set_state(v1::DEAL_STATE_OPEN);
  *deal.mutable_create_time() = Ts(now);
  Transition t = Step(std::move(deal), now);
  t.Record(New<v1::DealOpened>());
  return t;
}

absl::StatusOr<Transition> ProposeTerms(const v1::Deal& deal, const v1::ProposeTermsRequest& r,
                                        absl::Time now) {
  if (deal.state() != v1::DEAL_STATE_OPEN && deal.state() != v1::DEAL_STATE_NEGOTIATING) {
    return Refuse(deal, "terms can be proposed only while the deal is open or negotiating");
  }
  // A fixed commission is part of the price it is paid from.
  if (deal.has_broker_commission_fixed()) {
    const techtrade::common::v1::Money& fixed = deal.broker_commission_fixed();
    if (r.price().currency() != fixed.currency()) {
      return FieldError("price.currency",
                        absl::StrCat("the broker's fixed commission is in ", fixed.currency()));
    }
    if (r.price().amount_minor() < fixed.amount_minor()) {
      return FieldError("price", absl::StrCat("below the broker's fixed commission (",
                                              fixed.amount_minor(), " minor units)"));
    }
  }
  Transition t = Step(deal, now);
  v1::Terms* terms = t.deal.add_terms();
  terms->set_version(deal.terms_size() + 1);
  terms->set_proposed_by(r.acting_as());
  *terms->mutable_price() = r.price();
  terms->set_transfer_mode(r.transfer_mode());
  terms->set_licence_scope(r.licence_scope());
  terms->set_territory(r.territory());
  *terms->mutable_milestones() = r.milestones();
  *terms->mutable_propose_time() = Ts(now);
  t.deal.set_state(v1::DEAL_STATE_NEGOTIATING);
  const v1::Terms proposed = *terms;
  t.Record(New<v1::TermsProposed>([&](auto& e) { *e.mutable_terms() = proposed; }));
  return t;
}

absl::StatusOr<Transition> AcceptTerms(const v1::Deal& deal, v1::PartyRole by,
                                       int64_t terms_version, absl::Time now) {
  TT_RETURN_IF_ERROR(CheckParty("acting_as", by));
  if (deal.state() != v1::DEAL_STATE_NEGOTIATING) {
    return Refuse(deal, "there are no open terms to accept");
  }
  const int64_t latest = deal.terms_size();
  if (terms_version != latest) {
    return absl::FailedPreconditionError(absl::StrCat(
        "terms_version: ", terms_version, " is not the latest proposal (", latest, ")"));
  }
  const int64_t already =
      by == v1::PARTY_ROLE_BUYER ? deal.buyer_accepted_version() : deal.seller_accepted_version();
  if (already == latest) {
    return absl::FailedPreconditionError(
        absl::StrCat(v1::PartyRole_Name(by), " has already accepted terms version ", latest));
  }
  Transition t = Step(deal, now);
  if (by == v1::PARTY_ROLE_BUYER) {
    t.deal.set_buyer_accepted_version(latest);
  } else {
    t.deal.set_seller_accepted_version(latest);
  }
  t.Record(New<v1::TermsAccepted>([&](auto& e) {
    e.set_accepted_by(by);
    e.set_terms_version(latest);
  }));
  if (t.deal.buyer_accepted_version() == latest && t.deal.seller_accepted_version() == latest) {
    const v1::Terms& agreed = deal.terms(static_cast<int>(latest - 1));
    t.deal.set_state(v1::DEAL_STATE_AGREED);
    t.deal.set_agreed_terms_version(latest);
    *t.deal.mutable_agree_time() = Ts(now);
    t.deal.clear_milestones();
    for (int i = 0; i < agreed.milestones_size(); ++i) {
      v1::Milestone* m = t.deal.add_milestones();
      m->set_index(i + 1);
      m->set_title(agreed.milestones(i).title());
      *m->mutable_amount() = agreed.milestones(i).amount();
      *m->mutable_due_time() = agreed.milestones(i).due_time();
      m->set_state(v1::MILESTONE_STATE_PENDING);
      m->mutable_paid()->set_currency(agreed.price().currency());
      if (agreed.milestones(i).escrow()) m->set_escrow(v1::ESCROW_STATE_AWAITING_FUNDS);
    }
    t.deal.mutable_paid_total()->set_currency(agreed.price().currency());
    t.deal.mutable_paid_total()->set_amount_minor(0);
    t.Record(New<v1::DealAgreed>([&](auto& e) { *e.mutable_terms() = agreed; }));
  }
  return t;
}

absl::StatusOr<Transition> SignContract(const v1::Deal& deal, const v1::SignContractRequest& r,
                                        absl::Time now, int registration_days) {
  if (deal.state() != v1::DEAL_STATE_AGREED) {
    return Refuse(deal, "only agreed terms can be signed");
  }
  // The signing time picks the fund's programme period and annual-cap year: it may not precede
  // the agreement (but for the caller's clock running behind the platform's) nor lie ahead.
  const int64_t signed_us = TimeUtil::TimestampToMicroseconds(r.signing_time());
  const int64_t agreed_us = AgreedAtMicros(deal);
  if (signed_us < agreed_us - absl::ToInt64Microseconds(kSigningClockSkew)) {
    return FieldError("signing_time",
                      absl::StrCat("before the deal was agreed (",
                                   TimeUtil::ToString(TimeUtil::MicrosecondsToTimestamp(agreed_us)),
                                   "): a contract is signed on agreed terms"));
  }
  if (signed_us > absl::ToUnixMicros(now)) return FieldError("signing_time", "in the future");
  const v1::Contract& before = deal.contract();
  const std::vector<v1::PartyRole> signers = Signers(r);
  Transition t = Step(deal, now);
  v1::Contract* contract = t.deal.mutable_contract();
  for (v1::PartyRole role : signers) {
    const bool buyer = role == v1::PARTY_ROLE_BUYER;
    if (buyer ? before.has_buyer_signing_time() : before.has_seller_signing_time()) {
      return absl::FailedPreconditionError(absl::StrCat("acting_as: the ", PartyName(role),
                                                        " has signed contract ",
                                                        before.registration_number(), " already"));
    }
    *(buyer ? contract->mutable_buyer_signing_time() : contract->mutable_seller_signing_time()) =
        r.signing_time();
  }
  // The first signature fixed the contract: the second party signs that one.
  if (!before.registration_number().empty() &&
      before.registration_number() != r.registration_number()) {
    return absl::FailedPreconditionError(
        absl::StrCat("registration_number: the ",
                     before.has_buyer_signing_time() ? "buyer" : "seller", " signed contract ",
                     before.registration_number(), "; both parties sign the same contract"));
  }
  contract->set_registration_number(r.registration_number());
  if (!contract->has_buyer_signing_time() || !contract->has_seller_signing_time()) {
    t.Record(
        New<v1::ContractSignatureRecorded>([&](auto& e) { e.set_signed_by(signers.front()); }));
    return t;
  }
  // Concluded when the later party signed.
  *contract->mutable_signing_time() =
      contract->buyer_signing_time() < contract->seller_signing_time()
          ? contract->seller_signing_time()
          : contract->buyer_signing_time();
  t.deal.set_state(v1::DEAL_STATE_SIGNED);
  v1::ContractRegistration* registration = t.deal.mutable_registration();
  registration->set_city_id(t.deal.seller().city_id());
  *registration->mutable_deadline() =
      Ts(absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(contract->signing_time())) +
         absl::Hours(24) * registration_days);
  const auto schedule = t.deal.milestones();
  t.Record(New<v1::ContractSigned>([&](auto& e) { *e.mutable_payment_schedule() = schedule; }));
  return t;
}

absl::StatusOr<Transition> DeliverMilestone(const v1::Deal& deal, int index, absl::Time now) {
  if (deal.state() != v1::DEAL_STATE_SIGNED && deal.state() != v1::DEAL_STATE_IN_PERFORMANCE) {
    return Refuse(deal, "milestones are delivered under a signed contract");
  }
  TT_RETURN_IF_ERROR(CheckMilestoneIndex(deal, index));
  Transition t = Step(deal, now);
  v1::Milestone* m = FindMilestone(t.deal, index);
  if (m->state() != v1::MILESTONE_STATE_PENDING) {
    return absl::FailedPreconditionError(absl::StrCat("milestone_index: milestone ", index, " is ",
                                                      v1::MilestoneState_Name(m->state())));
  }
  TT_RETURN_IF_ERROR(CheckFundedForDelivery(*m));
  m->set_state(v1::MILESTONE_STATE_DELIVERED);
  *m->mutable_deliver_time() = Ts(now);
  t.deal.set_state(v1::DEAL_STATE_IN_PERFORMANCE);
  const v1::Milestone delivered = *m;
  t.Record(New<v1::MilestoneDelivered>([&](auto& e) { *e.mutable_milestone() = delivered; }));
  return t;
}

absl::StatusOr<Transition> AcceptMilestone(const v1::Deal& deal, int index, absl::Time now) {
  if (deal.state() != v1::DEAL_STATE_IN_PERFORMANCE) {
    return Refuse(deal, "milestones are accepted while the contract is performed");
  }
  TT_RETURN_IF_ERROR(CheckMilestoneIndex(deal, index));
  Transition t = Step(deal, now);
  v1::Milestone* m = FindMilestone(t.deal, index);
  if (m->state() != v1::MILESTONE_STATE_DELIVERED) {
    return absl::FailedPreconditionError(absl::StrCat("milestone_index: milestone ", index, " is ",
                                                      v1::MilestoneState_Name(m->state()),
                                                      ", not delivered"));
  }
  m->set_state(v1::MILESTONE_STATE_ACCEPTED);
  *m->mutable_accept_time() = Ts(now);
  if (m->escrow() == v1::ESCROW_STATE_HELD) {
    ReleaseEscrow(t, index, now);
    return t;
  }
  const v1::Milestone accepted = *m;
  t.Record(New<v1::MilestoneAccepted>([&](auto& e) {
    *e.mutable_milestone() = accepted;
    e.mutable_amount_due()->set_currency(accepted.amount().currency());
    e.mutable_amount_due()->set_amount_minor(accepted.amount().amount_minor() -
                                             accepted.paid().amount_minor());
    for (v1::PaymentInstruction& part :
         PaymentInstructions(t.deal, index, e.amount_due().amount_minor())) {
      *e.add_instructions() = std::move(part);
    }
  }));
  return t;
}

absl::StatusOr<Transition> RecordPayment(const v1::Deal& deal, const v1::RecordPaymentRequest& r,
                                         absl::Time now) {
  if (deal.state() != v1::DEAL_STATE_IN_PERFORMANCE) {
    return Refuse(deal, "payments are recorded while the contract is performed");
  }
  TT_RETURN_IF_ERROR(CheckMilestoneIndex(deal, r.milestone_index()));
  Transition t = Step(deal, now);
  v1::Milestone* m = FindMilestone(t.deal, r.milestone_index());
  if (m->state() != v1::MILESTONE_STATE_ACCEPTED) {
    return absl::FailedPreconditionError(
        absl::StrCat("milestone_index: milestone ", r.milestone_index(), " is ",
                     v1::MilestoneState_Name(m->state()), ": nothing is due on it"));
  }
  if (r.amount().currency() != m->amount().currency()) {
    return FieldError("amount.currency", absl::StrCat("the deal is in ", m->amount().currency()));
  }
  const int64_t due = m->amount().amount_minor() - m->paid().amount_minor();
  if (r.amount().amount_minor() > due) {
    return absl::FailedPreconditionError(absl::StrCat("amount: ", r.amount().amount_minor(),
                                                      " exceeds the ", due, " due on milestone ",
                                                      r.milestone_index()));
  }
  m->mutable_paid()->set_amount_minor(m->paid().amount_minor() + r.amount().amount_minor());
  if (m->paid().amount_minor() == m->amount().amount_minor()) {
    m->set_state(v1::MILESTONE_STATE_PAID);
    *m->mutable_paid_time() = Ts(now);
  }
  t.deal.mutable_paid_total()->set_amount_minor(t.deal.paid_total().amount_minor() +
                                                r.amount().amount_minor());
  const v1::Milestone paid = *m;
  t.Record(New<v1::PaymentRecorded>([&](auto& e) {
    *e.mutable_milestone() = paid;
    *e.mutable_amount() = r.amount();
    e.set_payment_reference(r.payment_reference());
  }));
  CompleteIfAllPaid(t);
  return t;
}

absl::StatusOr<Transition> CancelDeal(const v1::Deal& deal, v1::PartyRole by,
                                      const std::string& reason, absl::Time now) {
  if (!IsParty(by) && by != v1::PARTY_ROLE_OPERATOR) {
    return FieldError("acting_as", "PARTY_ROLE_BUYER, PARTY_ROLE_SELLER or PARTY_ROLE_OPERATOR");
  }
  TT_RETURN_IF_ERROR(CheckText("reason", reason, 1, 500));
  switch (deal.state()) {
    case v1::DEAL_STATE_OPEN:
    case v1::DEAL_STATE_NEGOTIATING:
    case v1::DEAL_STATE_AGREED:
      break;  // either party may walk away before signing
    case v1::DEAL_STATE_SIGNED:
    case v1::DEAL_STATE_IN_PERFORMANCE:
      if (by != v1::PARTY_ROLE_OPERATOR) {
        return Refuse(deal, "a signed contract is cancelled by the operator (or a dispute)");
      }
      break;
    case v1::DEAL_STATE_DISPUTED:
      return Refuse(deal, "a disputed deal is cancelled by resolving the dispute");
    default:
      return Refuse(deal, "it is final");
  }
  Transition t = Step(deal, now);
  t.deal.set_state(v1::DEAL_STATE_CANCELLED);
  t.deal.set_cancel_reason(reason);
  t.Record(New<v1::DealCancelled>([&](auto& e) {
    e.set_cancelled_by(by);
    e.set_reason(reason);
  }));
  RefundHeldEscrow(t);
  return t;
}

absl::StatusOr<Transition> OpenDispute(const v1::Deal& deal, v1::PartyRole by,
                                       const std::string& reason, absl::Time now) {
  TT_RETURN_IF_ERROR(CheckParty("acting_as", by));
  TT_RETURN_IF_ERROR(CheckText("reason", reason, 1, 2000));
  if (deal.state() != v1::DEAL_STATE_SIGNED && deal.state() != v1::DEAL_STATE_IN_PERFORMANCE) {
    return Refuse(deal, "only a signed contract can be disputed");
  }
  Transition t = Step(deal, now);
  t.deal.set_state(v1::DEAL_STATE_DISPUTED);
  t.deal.mutable_dispute()->set_opened_by(by);
  t.deal.mutable_dispute()->set_reason(reason);
  t.deal.mutable_dispute()->set_resume_state(deal.state());
  t.deal.mutable_dispute()->clear_resolution();
  t.Record(New<v1::DisputeOpened>());
  return t;
}

absl::StatusOr<Transition> MarkDealFraudulent(const v1::Deal& deal, const std::string& reason,
                                              const std::string& evidence_reference,
                                              const std::string& marked_by, absl::Time now) {
  if (deal.state() != v1::DEAL_STATE_COMPLETED) {
    return Refuse(deal, "a completed deal is marked fraudulent; a running one is cancelled");
  }
  if (deal.has_fraud()) {
    return absl::FailedPreconditionError(absl::StrCat("the deal was marked fraudulent already (",
                                                      deal.fraud().evidence_reference(), ")"));
  }
  Transition t = Step(deal, now);
  v1::FraudFinding& fraud = *t.deal.mutable_fraud();
  fraud.set_reason(reason);
  fraud.set_evidence_reference(evidence_reference);
  fraud.set_marked_by(marked_by);
  *fraud.mutable_mark_time() = Ts(now);
  t.Record(New<v1::DealMarkedFraudulent>());
  return t;
}

absl::StatusOr<Transition> ResolveDispute(const v1::Deal& deal, const std::string& resolution,
                                          bool cancel, absl::Time now) {
  TT_RETURN_IF_ERROR(CheckText("resolution", resolution, 1, 2000));
  if (deal.state() != v1::DEAL_STATE_DISPUTED) return Refuse(deal, "there is no dispute");
  Transition t = Step(deal, now);
  t.deal.mutable_dispute()->set_resolution(resolution);
  t.deal.set_state(cancel ? v1::DEAL_STATE_CANCELLED : deal.dispute().resume_state());
  if (cancel) t.deal.set_cancel_reason(resolution);
  t.Record(New<v1::DisputeResolved>([&](auto& e) { e.set_cancelled(cancel); }));
  if (cancel) RefundHeldEscrow(t);
  return t;
}

}  // namespace techtrade::transactions
