#include "services/fund/api/application_change.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "common/outbox.h"
#include "services/fund/domain/fund_rules.h"
#include "services/fund/store/fund_store.h"

namespace techtrade::fund {
techtrade::common::v1::Money MoneyOf(const std::string& currency, int64_t minor) {
  techtrade::common::v1::Money m;
  m.set_currency(currency);
  m.set_amount_minor(minor);
  return m;
}

google::protobuf::Timestamp Timestamp(absl::Time t) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

void ApplicationChange::Emit(Tx& tx, const std::string& request_id,
                             const std::string& traceparent) {
  int64_t sequence = application_.version() - static_cast<int64_t>(events_.size());
  for (const auto& event : events_) {
    AppendToOutbox(tx, kProducer,
                   {.aggregate_type = "application",
                    .aggregate_id = application_.id(),
                    .sequence = ++sequence,
                    .payload = event.get(),
                    .causation_request_id = request_id,
                    .traceparent = traceparent});
  }
}

void PayDueTranches(Tx& tx, ApplicationChange& change, const v1::Programme& programme,
                    const tv1::Deal& deal, absl::Time now) {
  v1::Application& a = change.application();
  for (const v1::Disbursement& d : DueDisbursements(programme.rules(), a, deal, now)) {
    store::AppendEntry(tx, a.programme_id(), a.id(), "disburse", d.tranche(), d.amount_minor());
    a.set_disbursed_minor(a.disbursed_minor() + d.amount_minor());
    *a.add_disbursements() = d;
    // Every fen approved is out (at completion, or earlier with a plan front-loaded so).
    if (ReservedFor(a) == 0) a.set_status(v1::APPLICATION_STATUS_COMPLETED);
    auto& event = change.Record<v1::TrancheDisbursed>();
    *event.mutable_disbursement() = d;
    *event.mutable_payee() = a.applicant();
    *event.mutable_amount() = MoneyOf(a.currency(), d.amount_minor());
  }
}

void Approve(Tx& tx, ApplicationChange& change, const v1::Programme& programme,
             const tv1::Deal& deal, absl::Time now, const std::string& reason) {
  v1::Application& a = change.application();
  const int64_t amount = a.calculation().amount_minor();
  a.set_status(v1::APPLICATION_STATUS_APPROVED);
  a.set_approved_minor(amount);
  a.set_decision_reason(!reason.empty() ? reason
                                        : absl::StrCat("approved; the amount is bounded by the ",
                                                       a.calculation().limited_by()));
  *a.mutable_decide_time() = Timestamp(now);
  store::AppendEntry(tx, a.programme_id(), a.id(), "reserve", "", amount);
  store::AddAnnualGrant(tx, a.programme_id(), a.applicant().organization_id(), a.year(), amount,
                        programme.rules().per_organization_annual_cap_minor());
  change.Record<v1::ApplicationDecided>();
  PayDueTranches(tx, change, programme, deal, now);
}

void Unwind(Tx& tx, ApplicationChange& change, const v1::Programme& programme) {
  v1::Application& a = change.application();
  if (a.status() == v1::APPLICATION_STATUS_PENDING_REVIEW) {
    a.set_status(v1::APPLICATION_STATUS_CANCELLED);
    a.set_decision_reason("the deal was cancelled before a decision");
    change.Record<v1::ApplicationDecided>();
    return;
  }
  const Unwinding u = UnwindOnCancellation(programme.rules(), a);
  if (u.release_minor > 0)
    store::AppendEntry(tx, a.programme_id(), a.id(), "release", "", u.release_minor);
  if (u.clawback_minor > 0) {
    store::AppendEntry(tx, a.programme_id(), a.id(), "clawback", "", u.clawback_minor);
  }
  if (u.release_minor + u.clawback_minor > 0) {
    store::AddAnnualGrant(tx, a.programme_id(), a.applicant().organization_id(), a.year(),
                          -(u.release_minor + u.clawback_minor),
                          programme.rules().per_organization_annual_cap_minor());
  }
  a.set_released_minor(a.released_minor() + u.release_minor);
  a.set_status(v1::APPLICATION_STATUS_CANCELLED);
  a.set_decision_reason("the deal was cancelled");
  auto& released = change.Record<v1::ReservationReleased>();
  *released.mutable_amount() = MoneyOf(a.currency(), u.release_minor);
  if (u.clawback_minor > 0) {
    a.set_clawed_back_minor(a.clawed_back_minor() + u.clawback_minor);
    auto& clawback = change.Record<v1::ClawbackRaised>();
    *clawback.mutable_debtor() = a.applicant();
    *clawback.mutable_amount() = MoneyOf(a.currency(), u.clawback_minor);
  }
}

}  // namespace techtrade::fund
