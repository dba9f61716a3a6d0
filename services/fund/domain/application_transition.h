// Every change of an application as a pure function, the way a deal's transitions are in
// transactions: from the application (and what the decision reads: the programme, the deal, the
// buyer's annual grant) to the application after it, the ledger postings it makes, the change of
// the buyer's annual grant, and the events that announce each step. The handlers load, call one
// of these, then save and emit what it returns; nothing here does I/O.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/fund/domain/fund_rules.h"
#include "services/fund/domain/ledger.h"
#include "techtrade/common/v1/common.pb.h"
#include "techtrade/fund/v1/fund.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::fund {

google::protobuf::Timestamp Timestamp(absl::Time t);
techtrade::common::v1::Money MoneyOf(const std::string& currency, int64_t minor);

// A change of the buyer's annual grant (per programme and year of signing), net of releases and
// clawbacks; the database refuses to pass `cap`.
struct GrantChange {
  int64_t delta_minor = 0;  // negative: given back
  int64_t cap_minor = 0;
};

class ApplicationTransition {
 public:
  ApplicationTransition(v1::Application application, absl::Time now)
      : application_(std::move(application)), now_(now) {}

  const v1::Application& application() const { return application_; }
  v1::Application& mutable_application() { return application_; }
  // A new application: the row written before the postings and events that refer to it.
  const std::optional<v1::Application>& inserted() const { return inserted_; }
  void set_inserted(v1::Application row) { inserted_ = std::move(row); }

  // Each event is one step: it takes the application's next version (its sequence) and carries
  // the application as it stands after that step.
  template <class Event>
  Event& Record() {
    application_.set_version(application_.version() + 1);
    *application_.mutable_update_time() = Timestamp(now_);
    auto event = std::make_unique<Event>();
    *event->mutable_application() = application_;
    event->set_idempotency_key(absl::StrCat(application_.id(), ":", application_.version()));
    Event& ref = *event;
    events_.push_back(std::move(event));
    sequences_.push_back(application_.version());
    return ref;
  }
  void Post(EntryKind kind, int64_t amount_minor, std::string tranche = "") {
    postings_.push_back({kind, amount_minor, std::move(tranche)});
  }
  void ChangeGrant(int64_t delta_minor, int64_t cap_minor) {
    grant_.delta_minor += delta_minor;
    grant_.cap_minor = cap_minor;
  }

  const std::vector<std::unique_ptr<google::protobuf::Message>>& events() const { return events_; }
  // sequences()[i]: the application's version as of events()[i].
  const std::vector<int64_t>& sequences() const { return sequences_; }
  // In the order they are posted (a reservation before the tranches paid out of it).
  const std::vector<Posting>& postings() const { return postings_; }
  const GrantChange& grant() const { return grant_; }
  bool changed() const { return !events_.empty(); }
  absl::Time now() const { return now_; }

 private:
  v1::Application application_;
  absl::Time now_;
  std::optional<v1::Application> inserted_;
  std::vector<std::unique_ptr<google::protobuf::Message>> events_;
  std::vector<int64_t> sequences_;
  std::vector<Posting> postings_;
  GrantChange grant_;
};

// FAILED_PRECONDITION naming deal_id unless the deal is signed and in good standing: only such a
// deal can be applied for.
absl::Status CheckDealApplicable(const tv1::Deal& deal);

// A new application `id` of the deal's buyer to `programme` (its balances as locked), decided at
// once: approved (reserved, and what the deal already made due paid), waiting for an operator
// (above the auto-approval threshold), or rejected with the refusal. `annual_granted`: what the
// programme granted the buyer in the deal's year of signing (SigningYear).
ApplicationTransition SubmitApplication(const std::string& id, const v1::Programme& programme,
                                        const tv1::Deal& deal, int64_t annual_granted,
                                        absl::Time now);

// An operator's decision on an application waiting for review. ABORTED unless
// `expected_version` is current; FAILED_PRECONDITION unless it is PENDING_REVIEW.
absl::StatusOr<ApplicationTransition> RejectOnReview(const v1::Application& application,
                                                     int64_t expected_version,
                                                     const std::string& reason, absl::Time now);
// Approval recomputes the amount (the budget and the buyer's cap may have moved since
// submission): FAILED_PRECONDITION when the deal is no longer signed and standing, or when the
// rules would now refuse it. An empty `reason` names the bound that limited the amount.
absl::StatusOr<ApplicationTransition> ApproveOnReview(const v1::Application& application,
                                                      int64_t expected_version,
                                                      const std::optional<tv1::Deal>& deal,
                                                      const v1::Programme& programme,
                                                      int64_t annual_granted,
                                                      const std::string& reason, absl::Time now);

// Pays the tranches the deal's progress makes due; the application completes with the last fen.
// Unchanged (no events) when nothing is due.
ApplicationTransition PayDueTranches(const v1::Application& application,
                                     const v1::Programme& programme, const tv1::Deal& deal,
                                     absl::Time now);

// The deal was cancelled: a waiting application is cancelled; an approved (or fully paid) one
// releases what is reserved, raises a clawback of what went out where the rules say so, and
// gives the buyer's annual cap back.
ApplicationTransition UnwindCancelledDeal(const v1::Application& application,
                                          const v1::Programme& programme, absl::Time now);

// The deal was found fraudulent after completion: what is still reserved is released, every fen
// paid out and not yet clawed back becomes a receivable (ClawbackRaised), the annual grant is
// given back; the application is CLAWED_BACK. Unchanged unless APPROVED or COMPLETED.
ApplicationTransition ClawBackForFraud(const v1::Application& application,
                                       const v1::Programme& programme,
                                       const tv1::FraudFinding& fraud, absl::Time now);

// What is still owed of the application's clawback: clawed back − recovered − written off.
int64_t OutstandingReceivable(const v1::Application& application);

// A finance partner got `amount` of the receivable back (ClawbackRecovered): ABORTED unless
// `expected_version` is current; FAILED_PRECONDITION when nothing is owed; INVALID_ARGUMENT
// naming amount above what is owed or in another currency.
absl::StatusOr<ApplicationTransition> RecordClawbackRecovery(
    const v1::Application& application, int64_t expected_version,
    const techtrade::common::v1::Money& amount, const std::string& reference, absl::Time now);

// An operator gives up what is still owed (ClawbackWrittenOff); the budget bears it.
absl::StatusOr<ApplicationTransition> WriteOffClawback(const v1::Application& application,
                                                       int64_t expected_version,
                                                       const std::string& reason, absl::Time now);

// What a newer snapshot of the deal does to one of its open applications: a cancelled deal
// unwinds it, a deal found fraudulent claws it back; otherwise the due tranches are paid unless
// `payments_held` (the applicant is suspended: its reinstatement pays them).
ApplicationTransition ApplyDealProgress(const v1::Application& application,
                                        const v1::Programme& programme, const tv1::Deal& deal,
                                        bool payments_held, absl::Time now);

// An award without an application (免申即享) from the deal's ContractRegistered: the programme's
// `award` for `payee`, whose registered total in the programme and registration year was
// `cumulative_before` and who was granted `granted_this_year` there. Approved (reserved, and
// what the deal's progress made due paid, as an approved application) or rejected with the
// reason; either way the row records the basis, so the next contract's cumulative total counts
// this one (an ineligible one adds nothing). `payments_held`: the payee is suspended, so nothing
// is paid yet (its reinstatement pays what is due).
ApplicationTransition DecideAutomaticAward(const std::string& id, const v1::Programme& programme,
                                           const v1::AutomaticAward& award, const tv1::Deal& deal,
                                           const tv1::Party& payee, int64_t cumulative_before,
                                           int64_t granted_this_year, bool payments_held,
                                           absl::Time now);

}  // namespace techtrade::fund
