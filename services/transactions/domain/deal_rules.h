// The deal life cycle, pure and without I/O: request validation, and every transition of the
// brief's state machine as a function from the deal as it is to the deal as it will be, with the
// events the change produces. An illegal transition is FAILED_PRECONDITION and changes nothing.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::transactions {

namespace v1 = techtrade::transactions::v1;

// The deal after a change and the events to publish, in order. Each event takes the next sequence
// number, so the deal's version grows by the number of events.
struct Transition {
  v1::Deal deal;
  std::vector<std::unique_ptr<google::protobuf::Message>> events;
};

// ---- Validation of request fields (INVALID_ARGUMENT naming the field) ----

inline constexpr int kMaxMilestones = 20;
inline constexpr int kMaxBrokerCommissionBps = 3000;

absl::Status ValidateOpenDeal(const v1::OpenDealRequest& r);
// Price, transfer mode, licence scope and territory (licences only), milestones (1–20, positive,
// the deal's one currency, summing to the price, each with a due time).
absl::Status ValidateTerms(const v1::ProposeTermsRequest& r);
absl::Status ValidateSignContract(const v1::SignContractRequest& r, absl::Time now);
absl::Status ValidatePayment(const v1::RecordPaymentRequest& r);

// ---- Transitions ----

// A new deal in OPEN, version 1.
Transition OpenDeal(v1::Deal deal, absl::Time now);
absl::StatusOr<Transition> ProposeTerms(const v1::Deal& deal, const v1::ProposeTermsRequest& r,
                                        absl::Time now);
absl::StatusOr<Transition> AcceptTerms(const v1::Deal& deal, v1::PartyRole by,
                                       int64_t terms_version, absl::Time now);
absl::StatusOr<Transition> SignContract(const v1::Deal& deal, const v1::SignContractRequest& r,
                                        absl::Time now);
absl::StatusOr<Transition> DeliverMilestone(const v1::Deal& deal, int index, absl::Time now);
absl::StatusOr<Transition> AcceptMilestone(const v1::Deal& deal, int index, absl::Time now);
absl::StatusOr<Transition> RecordPayment(const v1::Deal& deal, const v1::RecordPaymentRequest& r,
                                         absl::Time now);
absl::StatusOr<Transition> CancelDeal(const v1::Deal& deal, v1::PartyRole by,
                                      const std::string& reason, absl::Time now);
absl::StatusOr<Transition> OpenDispute(const v1::Deal& deal, v1::PartyRole by,
                                       const std::string& reason, absl::Time now);
absl::StatusOr<Transition> ResolveDispute(const v1::Deal& deal, const std::string& resolution,
                                          bool cancel, absl::Time now);

}  // namespace techtrade::transactions
