#include "services/fund/domain/application_transition.h"

#include "common/status.h"
#include "common/validation.h"
#include "google/protobuf/util/time_util.h"

namespace techtrade::fund {
namespace {

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
             const std::string& reason) {
  v1::Application& a = t.mutable_application();
  const int64_t amount = a.calculation().amount_minor();
  a.set_status(v1::APPLICATION_STATUS_APPROVED);
  a.set_approved_minor(amount);
  a.set_decision_reason(!reason.empty() ? reason
                                        : absl::StrCat("approved; the amount is bounded by the ",
                                                       a.calculation().limited_by()));
  *a.mutable_decide_time() = Timestamp(t.now());
  t.Post(EntryKind::kReserve, amount);
  t.ChangeGrant(amount, programme.rules().per_organization_annual_cap_minor());
  t.Record<v1::ApplicationDecided>();
  PayDue(t, programme, deal);
}

void Reject(ApplicationTransition& t, v1::RefusalReason reason, const std::string& message) {
  v1::Application& a = t.mutable_application();
  a.set_status(v1::APPLICATION_STATUS_REJECTED);
  a.set_refusal_reason(reason);
  a.set_decision_reason(message);
  *a.mutable_decide_time() = Timestamp(t.now());
  t.Record<v1::ApplicationDecided>();
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

ApplicationTransition SubmitApplication(const std::string& id, const v1::Programme& programme,
                                        const tv1::Deal& deal, int64_t annual_granted,
                                        absl::Time now) {
  v1::Application a;
  a.set_id(id);
  a.set_programme_id(programme.id());
  a.set_deal_id(deal.id());
  *a.mutable_applicant() = deal.buyer();
  // The deal's partner never changes once the deal is open: every later step of the
  // application (and its events' stream) goes by this copy.
  a.set_finance_partner_id(deal.finance_partner_id());
  a.set_currency(programme.total_budget().currency());
  a.set_year(SigningYear(deal));
  *a.mutable_create_time() = Timestamp(now);
  const int64_t cap_left = programme.rules().per_organization_annual_cap_minor() - annual_granted;
  const Decision decision =
      Decide(programme, deal, cap_left, programme.balances().available_minor(), /*review=*/false);
  *a.mutable_calculation() = decision.calculation;
  // The row is written first, waiting for review: entries and events refer to it, and the one
  // application per (programme, deal) rule applies to it whatever the decision.
  a.set_status(v1::APPLICATION_STATUS_PENDING_REVIEW);
  a.set_version(1);
  v1::Application row = a;
  a.set_version(0);
  ApplicationTransition t(std::move(a), now);
  t.set_inserted(std::move(row));
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
    t.ChangeGrant(-(u.release_minor + u.clawback_minor),
                  programme.rules().per_organization_annual_cap_minor());
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

ApplicationTransition ApplyDealProgress(const v1::Application& application,
                                        const v1::Programme& programme, const tv1::Deal& deal,
                                        bool payments_held, absl::Time now) {
  if (deal.state() == tv1::DEAL_STATE_CANCELLED) {
    return UnwindCancelledDeal(application, programme, now);
  }
  if (payments_held) return ApplicationTransition(application, now);
  return PayDueTranches(application, programme, deal, now);
}

}  // namespace techtrade::fund
