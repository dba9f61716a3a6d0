// Milestone escrow, pure (docs/deals.md, "Milestone escrow"): a milestone whose plan says
// `escrow` is funded by the deal's finance partner before it can be delivered; its acceptance
// releases the amount to the payees (split as any payment is, commission.h) and pays the
// milestone; a cancellation refunds every amount still held to the buyer. The deal's
// EscrowAccount keeps funded = released + refunded + held, and EscrowMovements gives the store
// what each change moved, for the database to hold the same per deal.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/transactions/domain/deal_rules.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::transactions {

// INVALID_ARGUMENT naming the field: a positive amount in a valid currency.
absl::Status ValidateMilestoneFunding(const v1::RecordMilestoneFundingRequest& r);

// The finance partner holds the milestone's amount (MilestoneFunded). FAILED_PRECONDITION unless
// the deal is SIGNED or IN_PERFORMANCE and the milestone awaits funds; INVALID_ARGUMENT naming
// `amount` unless it is the milestone's amount in the deal's currency.
absl::StatusOr<Transition> RecordMilestoneFunding(const v1::Deal& deal,
                                                  const v1::RecordMilestoneFundingRequest& r,
                                                  absl::Time now);

// FAILED_PRECONDITION naming the milestone while it awaits its escrow funds.
absl::Status CheckFundedForDelivery(const v1::Milestone& milestone);

// The accepted milestone `index`, whose amount is held, is paid from escrow: EscrowReleased with
// the payees' parts, the milestone PAID, and DealCompleted when it was the last one unpaid.
void ReleaseEscrow(Transition& t, int index, absl::Time now);

// The deal was just cancelled: every amount still held goes back to the buyer (EscrowRefunded
// per milestone, in index order).
void RefundHeldEscrow(Transition& t);

// One change of a deal's escrow, as the database records it: at most one of each kind per
// milestone, a release or refund only of the amount funded.
struct EscrowMovement {
  int milestone_index = 0;
  std::string kind;  // "funded", "released", "refunded"
  int64_t amount_minor = 0;
  std::string currency;
  std::string reference;  // the funding's reference
};
std::vector<EscrowMovement> EscrowMovements(const v1::Deal& before, const v1::Deal& after);

}  // namespace techtrade::transactions
