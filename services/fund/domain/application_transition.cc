#include "services/fund/domain/application_transition.h"

#include <algorithm>
#include <limits>

#include "common/status.h"
#include "common/validation.h"
#include "google/protobuf/util/time_util.h"
#include "services/fund/domain/automatic_awards.h"

namespace techtrade::fund {
namespace {

// The cap of the beneficiary's annual grant row: the automatic award's (none: no bound), or the
// applications' per-organisation cap.
int64_t AnnualCapOf(const v1::Programme& programme, v1::Beneficiary beneficiary) {
  for (const v1::AutomaticAward& award : programme.rules().automatic_awards()) {
    if (award.beneficiary() != beneficiary) continue;
    return award.annual_cap_minor() > 0 ? award.annual_cap_minor()
                                        : std::numeric_limits<int64_t>::max();
  }
  return programme.rules().per_organization_annual_cap_minor();
}

// An application's decision, or an automatic award's.
void RecordDecision(ApplicationTransition& t) {
  if (t.application().has_award_basis()) {
    t.Record<v1::AutomaticAwardDecided>();
  } else {
    t.Record<v1::ApplicationDecided>();
  }
}

// Pays, in order, each tranche due that the application has not had yet.
void PayDue(ApplicationTransition& t, const v1::Programme& programme, const tv1::Deal& deal) {
  v1::Application& a = t.mutable_application();
  for (const v1::Disbursement& d : DueDisbursements(programme.rules(), a, deal, t.now())) {
    t.Post(EntryKind::kDisburse, d.amount_minor(), d.tranche());
    a.set_disbursed_minor(a.disbursed_minor() + d.amount_minor());
    *a.add_disbursements() = d;
    // Every fen approved is out (at completion, or earlier with a plan front-loaded so).
    if (ReservedFor(a) == 0) a.set_status(v1::APPLICATION_STATUS_COMPLETED);
    auto& event = t.Record<v1::TrancheDisbursed>();
    *event.mutable_disbursement() = d;
    *event.mutable_payee() = a.applicant();
    *event.mutable_amount() = MoneyOf(a.currency(), d.amount_minor());
  }
}

// Reserves the calculated amount, then pays what the deal has already made due.
void Approve(ApplicationTransition& t, const v1::Programme& programme, const tv1::Deal& deal,
             const std::string& reason, bool payments_held = false) {
  v1::Application& a = t.mutable_application();
  const int64_t amount = a.calculation().amount_minor();
  a.set_status(v1::APPLICATION_STATUS_APPROVED);
  a.set_approved_minor(amount);
  a.set_decision_reason(!reason.empty() ? reason
                                        : absl::StrCat("approved; the amount is bounded by the ",
                                                       a.calculation().limited_by()));
  *a.mutable_decide_time() = Timestamp(t.now());
  t.Post(EntryKind::kReserve, amount);
  t.ChangeGrant(amount, AnnualCapOf(programme, a.beneficiary()));
  RecordDecision(t);
  // A suspended payee's tranches wait for its reinstatement (api/suspension.h).
  if (!payments_held) PayDue(t, programme, deal);
}

void Reject(ApplicationTransition& t, v1::RefusalReason reason, const std::string& message) {
  v1::Application& a = t.mutable_application();
  a.set_status(v1::APPLICATION_STATUS_REJECTED);
  a.set_refusal_reason(reason);
  a.set_decision_reason(message);
  *a.mutable_decide_time() = Timestamp(t.now());
  RecordDecision(t);
}

absl::Status CheckReviewable(const v1::Application& a, int64_t expected_version) {
  TT_RETURN_IF_ERROR(CheckVersionIsCurrent(expected_version, a.version()));
  if (a.status() != v1::APPLICATION_STATUS_PENDING_REVIEW) {
    return absl::FailedPreconditionError(
        absl::StrCat("the application is ", v1::ApplicationStatus_Name(a.status()),
                     "; only one waiting for review can be decided"));
  }
  return absl::OkStatus();
}

}  // namespace

techtrade::common::v1::Money MoneyOf(const std::string& currency, int64_t minor) {
  techtrade::common::v1::Money m;
  m.set_currency(currency);
  m.set_amount_minor(minor);
  return m;
}

google::protobuf::Timestamp Timestamp(absl::Time t) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

absl::Status CheckDealApplicable(const tv1::Deal& deal) {
  if (SignedAndStanding(deal)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("deal_id: the deal is ", tv1::DealState_Name(deal.state()),
                   "; applications are for signed deals in good standing"));
}

// A new application (or automatic award) of `payee` for the deal, before its decision.
v1::Application NewApplication(const std::string& id, const v1::Programme& programme,
                               const tv1::Deal& deal, v1::Beneficiary beneficiary,
                               const tv1::Party& payee, int year, absl::Time now) {
  v1::Application a;
  a.set_id(id);
  a.set_programme_id(programme.id());
  a.set_deal_id(deal.id());
  a.set_beneficiary(beneficiary);
  *a.mutable_applicant() = payee;
  // The deal's partner never changes once the deal is open: every later step of the
  // application (and its events' stream) goes by this copy.
  a.set_finance_partner_id(deal.finance_partner_id());
  a.set_currency(programme.total_budget().currency());
  a.set_year(year);
  *a.mutable_create_time() = Timestamp(now);
  return a;
}

// The row is written first, waiting for review: entries and events refer to it, and the one
// application per (programme, deal, beneficiary) rule applies to it whatever the decision.
ApplicationTransition Inserting(v1::Application a, absl::Time now) {
  a.set_status(v1::APPLICATION_STATUS_PENDING_REVIEW);
  a.set_version(1);
  v1::Application row = a;
  a.set_version(0);
  ApplicationTransition t(std::move(a), now);
  t.set_inserted(std::move(row));
  return t;
}

ApplicationTransition SubmitApplication(const std::string& id, const v1::Programme& programme,
                                        const tv1::Deal& deal, int64_t annual_granted,
                                        absl::Time now) {
  v1::Application a = NewApplication(id, programme, deal, v1::BENEFICIARY_BUYER, deal.buyer(),
                                     SigningYear(deal), now);
  if (!programme.rules().automatic_awards().empty()) {
    ApplicationTransition t = Inserting(std::move(a), now);
    Reject(t, v1::REFUSAL_REASON_NO_APPLICATIONS,
           "the programme pays without applications: its awards follow the contract's "
           "registration");
    return t;
  }
  const int64_t cap_left = programme.rules().per_organization_annual_cap_minor() - annual_granted;
  const Decision decision =
      Decide(programme, deal, cap_left, programme.balances().available_minor(), /*review=*/false);
  *a.mutable_calculation() = decision.calculation;
  ApplicationTransition t = Inserting(std::move(a), now);
  switch (decision.status) {
    case v1::APPLICATION_STATUS_APPROVED:
      Approve(t, programme, deal, "");
      break;
    case v1::APPLICATION_STATUS_PENDING_REVIEW:
      t.mutable_application().set_decision_reason(
          absl::StrCat("waiting for an operator: above the auto-approval threshold of ",
                       programme.rules().auto_approval_threshold_minor(), " minor units"));
      t.Record<v1::ApplicationSubmitted>();
      break;
    default:
      Reject(t, decision.refusal.reason, decision.refusal.message);
  }
  return t;
}

absl::StatusOr<ApplicationTransition> RejectOnReview(const v1::Application& application,
                                                     int64_t expected_version,
                                                     const std::string& reason, absl::Time now) {
  TT_RETURN_IF_ERROR(CheckReviewable(application, expected_version));
  ApplicationTransition t(application, now);
  Reject(t, v1::REFUSAL_REASON_OPERATOR, reason);
  return t;
}

absl::StatusOr<ApplicationTransition> ApproveOnReview(const v1::Application& application,
                                                      int64_t expected_version,
                                                      const std::optional<tv1::Deal>& deal,
                                                      const v1::Programme& programme,
                                                      int64_t annual_granted,
                                                      const std::string& reason, absl::Time now) {
  TT_RETURN_IF_ERROR(CheckReviewable(application, expected_version));
  if (!deal.has_value() || !SignedAndStanding(*deal)) {
    return absl::FailedPreconditionError("the deal is no longer signed and in good standing");
  }
  const int64_t cap_left = programme.rules().per_organization_annual_cap_minor() - annual_granted;
  const Decision decision =
      Decide(programme, *deal, cap_left, programme.balances().available_minor(), /*review=*/true);
  if (decision.status != v1::APPLICATION_STATUS_APPROVED) {
    return absl::FailedPreconditionError(absl::StrCat("cannot approve: ", decision.refusal.message,
                                                      "; reject the application instead"));
  }
  ApplicationTransition t(application, now);
  *t.mutable_application().mutable_calculation() = decision.calculation;
  Approve(t, programme, *deal, reason);
  return t;
}

ApplicationTransition PayDueTranches(const v1::Application& application,
                                     const v1::Programme& programme, const tv1::Deal& deal,
                                     absl::Time now) {
  ApplicationTransition t(application, now);
  PayDue(t, programme, deal);
  return t;
}

ApplicationTransition UnwindCancelledDeal(const v1::Application& application,
                                          const v1::Programme& programme, absl::Time now) {
  ApplicationTransition t(application, now);
  v1::Application& a = t.mutable_application();
  if (a.status() == v1::APPLICATION_STATUS_PENDING_REVIEW) {
    a.set_status(v1::APPLICATION_STATUS_CANCELLED);
    a.set_decision_reason("the deal was cancelled before a decision");
    t.Record<v1::ApplicationDecided>();
    return t;
  }
  const Unwinding u = UnwindOnCancellation(programme.rules(), a);
  if (u.release_minor > 0) t.Post(EntryKind::kRelease, u.release_minor);
  if (u.clawback_minor > 0) t.Post(EntryKind::kClawback, u.clawback_minor);
  if (u.release_minor + u.clawback_minor > 0) {
    t.ChangeGrant(-(u.release_minor + u.clawback_minor), AnnualCapOf(programme, a.beneficiary()));
  }
  a.set_released_minor(a.released_minor() + u.release_minor);
  a.set_status(v1::APPLICATION_STATUS_CANCELLED);
  a.set_decision_reason("the deal was cancelled");
  auto& released = t.Record<v1::ReservationReleased>();
  *released.mutable_amount() = MoneyOf(a.currency(), u.release_minor);
  if (u.clawback_minor > 0) {
    a.set_clawed_back_minor(a.clawed_back_minor() + u.clawback_minor);
    auto& clawback = t.Record<v1::ClawbackRaised>();
    *clawback.mutable_debtor() = a.applicant();
    *clawback.mutable_amount() = MoneyOf(a.currency(), u.clawback_minor);
  }
  return t;
}

ApplicationTransition ClawBackForFraud(const v1::Application& application,
                                       const v1::Programme& programme,
                                       const tv1::FraudFinding& fraud, absl::Time now) {
  ApplicationTransition t(application, now);
  v1::Application& a = t.mutable_application();
  if (a.status() != v1::APPLICATION_STATUS_APPROVED &&
      a.status() != v1::APPLICATION_STATUS_COMPLETED) {
    return t;
  }
  const int64_t release = std::max<int64_t>(ReservedFor(a), 0);
  const int64_t clawback = std::max<int64_t>(a.disbursed_minor() - a.clawed_back_minor(), 0);
  if (release > 0) t.Post(EntryKind::kRelease, release);
  if (clawback > 0) t.Post(EntryKind::kClawback, clawback);
  if (release + clawback > 0) {
    t.ChangeGrant(-(release + clawback), AnnualCapOf(programme, a.beneficiary()));
  }
  a.set_released_minor(a.released_minor() + release);
  a.set_clawed_back_minor(a.clawed_back_minor() + clawback);
  a.set_status(v1::APPLICATION_STATUS_CLAWED_BACK);
  a.set_decision_reason(absl::StrCat("the deal was found fraudulent (", fraud.evidence_reference(),
                                     "): ", fraud.reason()));
  if (release > 0) {
    auto& released = t.Record<v1::ReservationReleased>();
    *released.mutable_amount() = MoneyOf(a.currency(), release);
  }
  if (clawback > 0 || release == 0) {
    auto& raised = t.Record<v1::ClawbackRaised>();
    *raised.mutable_debtor() = a.applicant();
    *raised.mutable_amount() = MoneyOf(a.currency(), clawback);
  }
  return t;
}

int64_t OutstandingReceivable(const v1::Application& a) {
  return a.clawed_back_minor() - a.recovered_minor() - a.written_off_minor();
}

absl::StatusOr<ApplicationTransition> RecordClawbackRecovery(
    const v1::Application& application, int64_t expected_version,
    const techtrade::common::v1::Money& amount, const std::string& reference, absl::Time now) {
  TT_RETURN_IF_ERROR(CheckVersionIsCurrent(expected_version, application.version()));
  const int64_t owed = OutstandingReceivable(application);
  if (owed <= 0) {
    return absl::FailedPreconditionError("id: nothing is owed back on this application");
  }
  if (amount.currency() != application.currency()) {
    return FieldError("amount.currency",
                      absl::StrCat("the receivable is in ", application.currency()));
  }
  if (amount.amount_minor() > owed) {
    return FieldError("amount", absl::StrCat("more than the ", owed, " still owed"));
  }
  ApplicationTransition t(application, now);
  v1::Application& a = t.mutable_application();
  t.Post(EntryKind::kRecovery, amount.amount_minor());
  a.set_recovered_minor(a.recovered_minor() + amount.amount_minor());
  auto& recovered = t.Record<v1::ClawbackRecovered>();
  *recovered.mutable_amount() = amount;
  recovered.set_recovery_reference(reference);
  return t;
}

absl::StatusOr<ApplicationTransition> WriteOffClawback(const v1::Application& application,
                                                       int64_t expected_version,
                                                       const std::string& reason, absl::Time now) {
  TT_RETURN_IF_ERROR(CheckVersionIsCurrent(expected_version, application.version()));
  const int64_t owed = OutstandingReceivable(application);
  if (owed <= 0) {
    return absl::FailedPreconditionError("id: nothing is owed back on this application");
  }
  ApplicationTransition t(application, now);
  v1::Application& a = t.mutable_application();
  t.Post(EntryKind::kWriteOff, owed);
  a.set_written_off_minor(a.written_off_minor() + owed);
  auto& written_off = t.Record<v1::ClawbackWrittenOff>();
  *written_off.mutable_amount() = MoneyOf(a.currency(), owed);
  written_off.set_reason(reason);
  return t;
}

ApplicationTransition ApplyDealProgress(const v1::Application& application,
                                        const v1::Programme& programme, const tv1::Deal& deal,
                                        bool payments_held, absl::Time now) {
  if (deal.state() == tv1::DEAL_STATE_CANCELLED) {
    return UnwindCancelledDeal(application, programme, now);
  }
  if (deal.has_fraud()) return ClawBackForFraud(application, programme, deal.fraud(), now);
  if (payments_held) return ApplicationTransition(application, now);
  return PayDueTranches(application, programme, deal, now);
}

ApplicationTransition DecideAutomaticAward(const std::string& id, const v1::Programme& programme,
                                           const v1::AutomaticAward& award, const tv1::Deal& deal,
                                           const tv1::Party& payee, int64_t cumulative_before,
                                           int64_t granted_this_year, bool payments_held,
                                           absl::Time now) {
  const tv1::ContractRegistration& reg = deal.registration();
  v1::Application a =
      NewApplication(id, programme, deal, award.beneficiary(), payee, RegistrationYear(deal), now);
  v1::AwardBasis& basis = *a.mutable_award_basis();
  basis.set_registration_number(reg.registration_number());
  basis.set_registered_minor(reg.registered_value().amount_minor());
  basis.set_cumulative_before_minor(cumulative_before);
  // An ineligible contract adds nothing to the beneficiary's total in the programme.
  basis.set_cumulative_after_minor(cumulative_before);
  std::optional<Refusal> refusal = RegisteredIneligibility(programme, deal);
  if (!refusal.has_value()) {
    const AwardCalculation award_calc = CalculateAward(
        award, cumulative_before, reg.registered_value().amount_minor(), granted_this_year);
    basis.set_cumulative_after_minor(award_calc.cumulative_after_minor);
    basis.set_entitlement_minor(award_calc.entitlement_minor);
    v1::Calculation& c = *a.mutable_calculation();
    c.set_contract_value_minor(reg.registered_value().amount_minor());
    c.set_tiered_minor(award_calc.entitlement_minor);
    c.set_per_deal_cap_minor(award.per_deal_cap_minor());
    c.set_annual_cap_left_minor(
        award.annual_cap_minor() > 0
            ? std::max<int64_t>(award.annual_cap_minor() - granted_this_year, 0)
            : 0);
    c.set_available_minor(programme.balances().available_minor());
    c.set_amount_minor(award_calc.amount_minor);
    c.set_limited_by(award_calc.limited_by);
    if (c.available_minor() < c.amount_minor()) {
      c.set_amount_minor(c.available_minor());
      c.set_limited_by("budget");
    }
    const std::string currency = programme.total_budget().currency();
    if (c.amount_minor() == 0 && award_calc.entitlement_minor == 0) {
      refusal = Refusal{v1::REFUSAL_REASON_NOTHING_DUE,
                        "the bands give nothing more for this contract's registered value"};
    } else if (c.amount_minor() == 0 && c.limited_by() == "annual cap") {
      refusal = Refusal{v1::REFUSAL_REASON_ANNUAL_CAP_REACHED,
                        absl::StrCat("the annual cap of ", award.annual_cap_minor(),
                                     " minor units for ", a.year(), " is used up")};
    } else if (c.amount_minor() == 0) {
      refusal = Refusal{v1::REFUSAL_REASON_BUDGET_EXHAUSTED, "the programme's budget is exhausted"};
    }
  }
  ApplicationTransition t = Inserting(std::move(a), now);
  if (refusal.has_value()) {
    Reject(t, refusal->reason, refusal->message);
  } else {
    Approve(t, programme, deal, "", payments_held);
  }
  return t;
}

}  // namespace techtrade::fund
