// The deal life cycle, pure and without I/O: request validation, and every transition of the
// brief's state machine as a function from the deal as it is to the deal as it will be, with the
// events the change produces. An illegal transition is FAILED_PRECONDITION and changes nothing.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::transactions {

// The deal after a change and the events to publish, in order. Each event is one step: it takes
// the deal's next version (its sequence, docs/events.md) and carries the deal as of that step, so
// a change of two steps (the last acceptance agrees the deal) publishes the deal after each.
struct Transition {
  v1::Deal deal;  // after the last step
  std::vector<std::unique_ptr<google::protobuf::Message>> events;
  std::vector<v1::Deal> snapshots;  // snapshots[i]: the deal as of events[i]

  // The only way to add an event: `deal` as it stands now is that event's step. Every
  // transactions event carries that step's deal and the partners' idempotency key (the deal's id
  // and version).
  template <class Event>
  void Record(std::unique_ptr<Event> event) {
    deal.set_version(deal.version() + 1);
    snapshots.push_back(deal);
    *event->mutable_deal() = deal;
    event->set_idempotency_key(absl::StrCat(deal.id(), ":", deal.version()));
    events.push_back(std::move(event));
  }
  // The sequence of events[i]: the deal's version after it.
  std::vector<int64_t> sequences() const {
    std::vector<int64_t> out;
    for (const v1::Deal& s : snapshots) out.push_back(s.version());
    return out;
  }
};

// ---- Validation of request fields (INVALID_ARGUMENT naming the field) ----

inline constexpr int kMaxMilestones = 20;
inline constexpr int kMaxBrokerCommissionBps = 3000;
// How far a signing time may precede the agreement: the clocks of the city systems that sign may
// run behind the platform's (by more than the time between an agreement and its signing call).
inline constexpr absl::Duration kSigningClockSkew = absl::Minutes(1);

absl::Status ValidateOpenDeal(const v1::OpenDealRequest& r);
// The broker organisation of a deal that `r` opens with technology manager `manager`
// (broker_manager_id): the manager's organisation, provided the certificate is CERTIFIED and
// unexpired at `now` (FAILED_PRECONDITION naming broker_manager_id otherwise), broker_org_id is
// empty or names that organisation, and it is neither party (INVALID_ARGUMENT otherwise).
absl::StatusOr<std::string> BrokerOfManager(
    const v1::OpenDealRequest& r, const techtrade::registry::v1::TechnologyManager& manager,
    absl::Time now);
// Price, transfer mode, licence scope and territory (licences only), milestones (1–20, positive,
// the deal's one currency, summing to the price, each with a due time).
absl::Status ValidateTerms(const v1::ProposeTermsRequest& r);
// Registration number, acting_as (BUYER, SELLER or unset for both), and a signing time that is
// not in the future; SignContract checks its lower bound against the deal.
absl::Status ValidateSignContract(const v1::SignContractRequest& r, absl::Time now);
// The parties a SignContractRequest signs for: its acting_as, or both when it is unset.
std::vector<v1::PartyRole> Signers(const v1::SignContractRequest& r);
absl::Status ValidatePayment(const v1::RecordPaymentRequest& r);

// Whether `party` (buyer or seller) allowed the deal's broker to take its steps.
bool BrokerActsFor(const v1::Deal& deal, v1::PartyRole party);

// ---- Contract registration (docs/deals.md, "Contract registration") ----

// A pilot city's registration deadline when the registry gives none.
inline constexpr int kDefaultRegistrationDays = 30;

// The category is one of the five; the value is in minor units of a valid currency.
absl::Status ValidateSubmitRegistration(const v1::SubmitContractRegistrationRequest& r);
absl::Status ValidateRegisterContract(const v1::RegisterContractRequest& r);

// When the deal's registration falls due for the overdue flag: its deadline while the deal is
// neither registered, flagged nor cancelled; nullopt otherwise (also for a deal signed before
// registration deadlines existed). The store indexes it for the overdue sweep.
std::optional<absl::Time> RegistrationFlagDue(const v1::Deal& deal);

// Whether RegistrationFlagDue(deal) has come by `now`: what FlagRegistrationOverdue acts on.
bool RegistrationOverdue(const v1::Deal& deal, absl::Time now);

// ---- Rules that need more than the deal ----

// A deal on an offer is for one of the transfer modes the offer lists; a deal on a demand for
// one of the modes the demand accepts, if it lists any (FAILED_PRECONDITION naming
// transfer_mode). `listing_modes` are the listing's transfer_modes as they are now.
absl::Status CheckTransferModeOfListing(const v1::Deal& deal, const std::vector<int>& listing_modes,
                                        int mode);

// While a party (buyer, seller or broker) is suspended in the registry, the steps that move the
// deal towards money wait: FAILED_PRECONDITION naming the first suspended party ("buyer: …").
// `suspended` holds the organisation ids the registry has SUSPENDED now.
absl::Status CheckNoPartySuspended(const v1::Deal& deal, const std::vector<std::string>& suspended);

// ---- Transitions ----

// A new deal in OPEN, version 1.
Transition OpenDeal(v1::Deal deal, absl::Time now);
absl::StatusOr<Transition> ProposeTerms(const v1::Deal& deal, const v1::ProposeTermsRequest& r,
                                        absl::Time now);
absl::StatusOr<Transition> AcceptTerms(const v1::Deal& deal, v1::PartyRole by,
                                       int64_t terms_version, absl::Time now);
// Records the signature of each party in Signers(r). With both parties' signatures (the same
// registration number) the deal is SIGNED (ContractSigned), the contract's signing time being
// the later signature's; with one, the deal stays AGREED (ContractSignatureRecorded). A signing
// time before the deal was agreed (less kSigningClockSkew) is INVALID_ARGUMENT. A signed deal's
// registration awaits submission to the seller's city's registration body, due
// `registration_days` after the signing time.
absl::StatusOr<Transition> SignContract(const v1::Deal& deal, const v1::SignContractRequest& r,
                                        absl::Time now,
                                        int registration_days = kDefaultRegistrationDays);
absl::StatusOr<Transition> DeliverMilestone(const v1::Deal& deal, int index, absl::Time now);
absl::StatusOr<Transition> AcceptMilestone(const v1::Deal& deal, int index, absl::Time now);
absl::StatusOr<Transition> RecordPayment(const v1::Deal& deal, const v1::RecordPaymentRequest& r,
                                         absl::Time now);
absl::StatusOr<Transition> CancelDeal(const v1::Deal& deal, v1::PartyRole by,
                                      const std::string& reason, absl::Time now);
absl::StatusOr<Transition> OpenDispute(const v1::Deal& deal, v1::PartyRole by,
                                       const std::string& reason, absl::Time now);
// An operator found the COMPLETED deal fraudulent (DealMarkedFraudulent): `deal.fraud` records
// the reason, the evidence and who marked it; the deal stays COMPLETED. FAILED_PRECONDITION on
// any other state, or when it was marked already.
absl::StatusOr<Transition> MarkDealFraudulent(const v1::Deal& deal, const std::string& reason,
                                              const std::string& evidence_reference,
                                              const std::string& marked_by, absl::Time now);
absl::StatusOr<Transition> ResolveDispute(const v1::Deal& deal, const std::string& resolution,
                                          bool cancel, absl::Time now);

// `party` (BUYER or SELLER) allows the deal's broker to take its steps, or withdraws that
// (BrokerAuthorityChanged). FAILED_PRECONDITION without a broker, on a completed or cancelled
// deal, or when nothing would change; INVALID_ARGUMENT naming acting_as for another role.
absl::StatusOr<Transition> AllowBroker(const v1::Deal& deal, v1::PartyRole party, bool allowed,
                                       absl::Time now);

// The seller's side submits the signed contract for registration: first, or again after a
// refusal (ContractRegistrationSubmitted). The declared value is in the deal's currency and at
// most its price. FAILED_PRECONDITION unless the deal is SIGNED, IN_PERFORMANCE or COMPLETED and
// its contract is neither awaiting a decision nor registered.
absl::StatusOr<Transition> SubmitContractRegistration(
    const v1::Deal& deal, const v1::SubmitContractRegistrationRequest& r, absl::Time now);
// The registration body registers the submitted contract (ContractRegistered): its number,
// category and registered value (in the deal's currency, at most its price). `decided_by` is
// the body's API client id. FAILED_PRECONDITION unless a submission awaits a decision and the
// deal is not cancelled.
absl::StatusOr<Transition> RegisterContract(const v1::Deal& deal,
                                            const v1::RegisterContractRequest& r,
                                            const std::string& decided_by, const v1::Party& body,
                                            absl::Time now);
// The registration body refuses the submitted contract with a reason
// (ContractRegistrationRefused); the seller's side may submit a corrected one.
absl::StatusOr<Transition> RefuseContractRegistration(const v1::Deal& deal,
                                                      const std::string& reason,
                                                      const std::string& decided_by,
                                                      absl::Time now);
// Flags a deal whose registration deadline passed before it was registered
// (ContractRegistrationOverdue), once. FAILED_PRECONDITION unless RegistrationOverdue(deal, now).
absl::StatusOr<Transition> FlagRegistrationOverdue(const v1::Deal& deal, absl::Time now);

}  // namespace techtrade::transactions
