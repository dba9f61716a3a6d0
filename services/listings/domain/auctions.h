// The rules of an auction (docs/auctions.md), pure and without I/O: which terms an auction may be
// announced with, which bid it takes and what that does to it, who wins at the close and at what
// price, what becomes of each deposit, and the publicity period's end. The store orders the bids
// (the auction's row lock) and hands them here in that order; a refusal names the field and
// changes nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "techtrade/listings/v1/auctions.pb.h"

namespace techtrade::listings {

// The terms of `auction` as a seller announces them, each failure INVALID_ARGUMENT naming its
// field under `prefix`: one currency throughout, the fields its format needs (and none it does
// not), a deposit no larger than the least the lot can sell for, a finance partner, valid times,
// open before close and close in the future at `now`.
absl::Status ValidateAuctionTerms(const v1::Auction& auction, absl::string_view prefix,
                                  absl::Time now);

// A Dutch auction's asking price at `now`: the start price less one step for each full
// `step_seconds` since it opened, never below the reserve (the floor).
int64_t DutchAskingPrice(const v1::Auction& auction, absl::Time now);

// Who is bidding, with what, and what they have paid.
struct BidRequest {
  std::string bid_id;
  std::string bidder_org_id;
  techtrade::common::v1::Money amount;
  // The bidder's deposit on this auction, as the finance partner reported it; nullopt: none.
  std::optional<v1::AuctionDeposit> deposit;
  // Sealed formats: whether the bidder has bid on this auction already (one bid each).
  bool has_bid = false;
};

struct BidDecision {
  // The auction after the bid, at its next version: the standing bid (open formats), the count,
  // the close moved by a soft-close extension, or AWARDED when a Dutch bidder accepted.
  v1::Auction auction;
  // The bid as recorded, at sequence auction.bid_count; a Dutch acceptance is recorded at the
  // asking price.
  v1::Bid bid;
  bool extended = false;  // English: the bid moved the close
};

// The auction after `request` at `now`, or the refusal: FAILED_PRECONDITION when it does not take
// bids now (not open yet, closed, decided) or the bidder may not bid (the seller, no deposit
// paid, a second sealed bid, already holding the standing bid), INVALID_ARGUMENT naming `amount`
// when the amount is not one it can take (another currency, below the start price, the standing
// bid plus the increment or the Dutch asking price).
absl::StatusOr<BidDecision> PlaceBid(v1::Auction auction, const BidRequest& request,
                                     absl::Time now);

struct CloseOutcome {
  // AWARDED (winner, winning price, publicity end) or FAILED, at the next version.
  v1::Auction auction;
  // Why it failed: "no bids", "reserve not met"; empty when awarded.
  std::string failure;
  std::optional<v1::Bid> winning_bid;
};

// The close of an OPEN auction whose close time has come by `now`, over all its `bids` in their
// order: English — the standing (highest) bid; sealed first price — the highest, the earliest of
// equal ones; sealed second price — the same winner, paying the second-highest amount, at least
// the reserve and the start price (a lone bidder pays that); Dutch — no acceptance before the
// close, so it fails. The winning price below the reserve fails the auction. nullopt while the
// auction is not OPEN or its close time has not come.
std::optional<CloseOutcome> CloseAuction(v1::Auction auction, const std::vector<v1::Bid>& bids,
                                         absl::Time now);

// What becomes of each PAID deposit once `auction` is decided: the winner's is APPLIED toward the
// price; the others (all of them for a failed or annulled auction) are RELEASED; an annulment also
// releases the deposit APPLIED at the award. Deposits settled already are left out otherwise.
// Empty while the auction is OPEN.
std::vector<v1::AuctionDeposit> SettleDeposits(const v1::Auction& auction,
                                               const std::vector<v1::AuctionDeposit>& deposits);

// A deposit the finance partner reports for `bidder_org_id`: it must be the auction's deposit,
// in full, while the auction is OPEN. nullopt when `current` already records the same payment (a
// retry); FAILED_PRECONDITION when it records another one.
absl::StatusOr<std::optional<v1::AuctionDeposit>> RecordDeposit(
    const v1::Auction& auction, const std::optional<v1::AuctionDeposit>& current,
    const std::string& bidder_org_id, const techtrade::common::v1::Money& amount,
    const std::string& payment_reference);

// An operator annuls an auction for cause before it is concluded (OPEN or AWARDED): ANNULLED,
// final, with `reason`.
absl::StatusOr<v1::Auction> AnnulAuction(v1::Auction auction, const std::string& reason,
                                         absl::Time now);

// An AWARDED auction whose publicity period has ended by `now` is CONCLUDED: the deal between the
// seller and the winner opens at the winning price. nullopt otherwise.
std::optional<v1::Auction> ConcludeAuction(v1::Auction auction, absl::Time now);

}  // namespace techtrade::listings
