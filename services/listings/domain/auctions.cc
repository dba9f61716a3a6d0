#include "services/listings/domain/auctions.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/money.h"
#include "common/validation.h"

namespace techtrade::listings {
namespace {

using google::protobuf::util::TimeUtil;
using techtrade::common::v1::Money;

constexpr int kMaxLotOffers = 20;
constexpr int kMaxPublicityDays = 30;
constexpr int kMaxSoftCloseSeconds = 3600;
constexpr int kMaxStepSeconds = 86400;
constexpr absl::Duration kMaxBiddingWindow = absl::Hours(24 * 90);

google::protobuf::Timestamp At(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}
absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
}

Money MoneyOf(const std::string& currency, int64_t amount_minor) {
  Money m;
  m.set_currency(currency);
  m.set_amount_minor(amount_minor);
  return m;
}

// The auction after a change at `now`: its next version.
void Touch(v1::Auction& auction, absl::Time now) {
  auction.set_version(auction.version() + 1);
  *auction.mutable_update_time() = At(now);
}

absl::Status Invalid(absl::string_view prefix, absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(prefix, field, ": ", why));
}

// `money` is set, in `currency`, at least `min` minor units.
absl::Status CheckAmount(absl::string_view prefix, absl::string_view field, const Money& money,
                         const std::string& currency, int64_t min) {
  const std::string path = absl::StrCat(prefix, field);
  if (absl::Status s = CheckMoney(path, money, /*allow_zero=*/min == 0); !s.ok()) return s;
  if (money.currency() != currency) {
    return Invalid(prefix, absl::StrCat(field, ".currency"),
                   absl::StrCat("must be the start price's currency, ", currency));
  }
  if (money.amount_minor() < min || money.amount_minor() > kMaxAmountMinor) {
    return Invalid(prefix, absl::StrCat(field, ".amount_minor"),
                   absl::StrCat("must lie within ", min, "..", kMaxAmountMinor));
  }
  return absl::OkStatus();
}

absl::Status RefuseAt(const v1::Auction& auction, absl::string_view why) {
  return absl::FailedPreconditionError(absl::StrCat(
      "auction ", auction.id(), " is ", v1::AuctionStatus_Name(auction.status()), ": ", why));
}

}  // namespace

absl::Status ValidateAuctionTerms(const v1::Auction& a, absl::string_view prefix, absl::Time now) {
  if (a.offer_ids().empty() || a.offer_ids_size() > kMaxLotOffers) {
    return Invalid(prefix, "offer_ids", absl::StrCat("must name 1 to ", kMaxLotOffers, " offers"));
  }
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < a.offer_ids_size(); ++i) {
    const std::string field = absl::StrCat(prefix, "offer_ids[", i, "]");
    if (absl::Status s = CheckUuid(field, a.offer_ids(i)); !s.ok()) return s;
    if (!seen.insert(a.offer_ids(i)).second) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": named twice"));
    }
  }
  const v1::AuctionFormat format = a.format();
  if (format == v1::AUCTION_FORMAT_UNSPECIFIED || !v1::AuctionFormat_IsValid(format)) {
    return Invalid(prefix, "format",
                   "must be ENGLISH, DUTCH, SEALED_FIRST_PRICE or "
                   "SEALED_SECOND_PRICE");
  }
  if (!a.has_start_price()) return Invalid(prefix, "start_price", "is required");
  const std::string& currency = a.start_price().currency();
  if (absl::Status s = CheckAmount(prefix, "start_price", a.start_price(), currency, 1); !s.ok()) {
    return s;
  }
  if (a.has_reserve_price()) {
    if (absl::Status s = CheckAmount(prefix, "reserve_price", a.reserve_price(), currency, 1);
        !s.ok()) {
      return s;
    }
  }
  const bool english = format == v1::AUCTION_FORMAT_ENGLISH;
  const bool dutch = format == v1::AUCTION_FORMAT_DUTCH;
  if (english) {
    if (!a.has_min_increment()) return Invalid(prefix, "min_increment", "is required (English)");
    if (absl::Status s = CheckAmount(prefix, "min_increment", a.min_increment(), currency, 1);
        !s.ok()) {
      return s;
    }
    if (a.soft_close_seconds() < 0 || a.soft_close_seconds() > kMaxSoftCloseSeconds) {
      return Invalid(prefix, "soft_close_seconds",
                     absl::StrCat("must lie within 0..", kMaxSoftCloseSeconds));
    }
  } else {
    if (a.has_min_increment()) return Invalid(prefix, "min_increment", "is for English auctions");
    if (a.soft_close_seconds() != 0) {
      return Invalid(prefix, "soft_close_seconds", "is for English auctions");
    }
  }
  if (dutch) {
    if (!a.has_reserve_price()) {
      return Invalid(prefix, "reserve_price", "is required (the Dutch floor)");
    }
    if (a.reserve_price().amount_minor() > a.start_price().amount_minor()) {
      return Invalid(prefix, "reserve_price", "must not exceed the start price (Dutch)");
    }
    if (!a.has_price_step()) return Invalid(prefix, "price_step", "is required (Dutch)");
    if (absl::Status s = CheckAmount(prefix, "price_step", a.price_step(), currency, 1); !s.ok()) {
      return s;
    }
    if (a.step_seconds() < 1 || a.step_seconds() > kMaxStepSeconds) {
      return Invalid(prefix, "step_seconds", absl::StrCat("must lie within 1..", kMaxStepSeconds));
    }
  } else {
    if (a.has_price_step()) return Invalid(prefix, "price_step", "is for Dutch auctions");
    if (a.step_seconds() != 0) return Invalid(prefix, "step_seconds", "is for Dutch auctions");
  }
  if (!a.has_deposit()) return Invalid(prefix, "deposit", "is required");
  if (absl::Status s = CheckAmount(prefix, "deposit", a.deposit(), currency, 1); !s.ok()) return s;
  // It counts toward the price, so it must not exceed the least the lot can sell for.
  const int64_t least_price =
      dutch ? a.reserve_price().amount_minor() : a.start_price().amount_minor();
  if (a.deposit().amount_minor() > least_price) {
    return Invalid(
        prefix, "deposit",
        dutch ? "must not exceed the reserve price (Dutch)" : "must not exceed the start price");
  }
  if (absl::Status s =
          CheckText(absl::StrCat(prefix, "finance_partner_id"), a.finance_partner_id(), 1, 64);
      !s.ok()) {
    return s;
  }
  if (a.publicity_days() < 0 || a.publicity_days() > kMaxPublicityDays) {
    return Invalid(prefix, "publicity_days",
                   absl::StrCat("must lie within 0..", kMaxPublicityDays));
  }
  for (const auto& [field, t] : {std::pair<const char*, const google::protobuf::Timestamp*>{
                                     "open_time", a.has_open_time() ? &a.open_time() : nullptr},
                                 {"close_time", a.has_close_time() ? &a.close_time() : nullptr}}) {
    if (t == nullptr) return Invalid(prefix, field, "is required");
    if (t->seconds() < TimeUtil::kTimestampMinSeconds ||
        t->seconds() > TimeUtil::kTimestampMaxSeconds || t->nanos() < 0 ||
        t->nanos() > 999'999'999) {
      return Invalid(prefix, field, "must lie within 0001-01-01 .. 9999-12-31");
    }
  }
  const absl::Time open = TimeOf(a.open_time());
  const absl::Time close = TimeOf(a.close_time());
  if (close <= open) return Invalid(prefix, "close_time", "must be after open_time");
  if (close <= now) return Invalid(prefix, "close_time", "must lie in the future");
  if (close - open > kMaxBiddingWindow) {
    return Invalid(prefix, "close_time", "must be at most 90 days after open_time");
  }
  return absl::OkStatus();
}

int64_t DutchAskingPrice(const v1::Auction& a, absl::Time now) {
  const int64_t start = a.start_price().amount_minor();
  const int64_t floor = a.reserve_price().amount_minor();
  const int64_t step = a.price_step().amount_minor();
  if (step <= 0 || a.step_seconds() <= 0 || start <= floor) return std::max(start, floor);
  const absl::Duration elapsed = now - TimeOf(a.open_time());
  if (elapsed <= absl::ZeroDuration()) return start;
  absl::Duration remainder;
  const int64_t steps = absl::IDivDuration(elapsed, absl::Seconds(a.step_seconds()), &remainder);
  // At most the steps down to the floor, so that steps × step cannot overflow.
  const int64_t to_floor = (start - floor + step - 1) / step;
  return std::max(floor, start - std::min(steps, to_floor) * step);
}

absl::StatusOr<BidDecision> PlaceBid(v1::Auction a, const BidRequest& r, absl::Time now) {
  if (a.status() != v1::AUCTION_STATUS_OPEN) return RefuseAt(a, "it takes no more bids");
  if (now < TimeOf(a.open_time())) {
    return RefuseAt(a, absl::StrCat("bidding opens at ", TimeUtil::ToString(a.open_time())));
  }
  if (now >= TimeOf(a.close_time())) {
    return RefuseAt(a, absl::StrCat("bidding closed at ", TimeUtil::ToString(a.close_time())));
  }
  if (r.bidder_org_id == a.seller_org_id()) {
    return absl::FailedPreconditionError("bidder_org_id: the seller cannot bid on its own auction");
  }
  if (!r.deposit || r.deposit->bidder_org_id() != r.bidder_org_id ||
      r.deposit->auction_id() != a.id() || r.deposit->status() != v1::DEPOSIT_STATUS_PAID ||
      r.deposit->amount().currency() != a.deposit().currency() ||
      r.deposit->amount().amount_minor() < a.deposit().amount_minor()) {
    return absl::FailedPreconditionError(
        absl::StrCat("bidder_org_id: no deposit of ", FormatMoney(a.deposit()),
                     " reported paid for this bidder by the finance partner"));
  }
  const std::string& currency = a.start_price().currency();
  if (r.amount.currency() != currency) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount.currency: the auction is in ", currency));
  }
  const int64_t amount = r.amount.amount_minor();
  if (amount < 1 || amount > kMaxAmountMinor) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount.amount_minor: must lie within 1..", kMaxAmountMinor));
  }
  BidDecision d;
  int64_t recorded = amount;
  switch (a.format()) {
    case v1::AUCTION_FORMAT_ENGLISH: {
      if (a.has_highest_bid() && a.highest_bidder_org_id() == r.bidder_org_id) {
        return absl::FailedPreconditionError("bidder_org_id: already holds the standing bid");
      }
      const int64_t least = a.has_highest_bid()
                                ? a.highest_bid().amount_minor() + a.min_increment().amount_minor()
                                : a.start_price().amount_minor();
      if (amount < least) {
        return absl::InvalidArgumentError(absl::StrCat(
            "amount: must be at least ", FormatMoney(currency, least),
            a.has_highest_bid() ? " (the standing bid plus the increment)" : " (the start price)"));
      }
      *a.mutable_highest_bid() = r.amount;
      a.set_highest_bidder_org_id(r.bidder_org_id);
      const absl::Duration window = absl::Seconds(a.soft_close_seconds());
      if (window > absl::ZeroDuration() && TimeOf(a.close_time()) - now < window) {
        *a.mutable_close_time() = At(now + window);
        d.extended = true;
      }
      break;
    }
    case v1::AUCTION_FORMAT_DUTCH: {
      const int64_t asking = DutchAskingPrice(a, now);
      if (amount < asking) {
        return absl::InvalidArgumentError(
            absl::StrCat("amount: the asking price is ", FormatMoney(currency, asking), " now"));
      }
      // An acceptance buys at the asking price, never above it.
      recorded = asking;
      *a.mutable_highest_bid() = MoneyOf(currency, asking);
      a.set_highest_bidder_org_id(r.bidder_org_id);
      a.set_status(v1::AUCTION_STATUS_AWARDED);
      a.set_winner_org_id(r.bidder_org_id);
      *a.mutable_winning_price() = MoneyOf(currency, asking);
      *a.mutable_close_time() = At(now);
      *a.mutable_publicity_end_time() = At(now + absl::Hours(24) * a.publicity_days());
      break;
    }
    case v1::AUCTION_FORMAT_SEALED_FIRST_PRICE:
    case v1::AUCTION_FORMAT_SEALED_SECOND_PRICE:
      if (r.has_bid) {
        return absl::FailedPreconditionError("bidder_org_id: has a sealed bid on it already");
      }
      if (amount < a.start_price().amount_minor()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "amount: must be at least ", FormatMoney(a.start_price()), " (the start price)"));
      }
      break;  // hidden until the close: the auction shows only that one more bid came
    default:
      return absl::InvalidArgumentError("format: unknown");
  }
  a.set_bid_count(a.bid_count() + 1);
  Touch(a, now);
  d.bid.set_id(r.bid_id);
  d.bid.set_auction_id(a.id());
  d.bid.set_bidder_org_id(r.bidder_org_id);
  *d.bid.mutable_amount() = MoneyOf(currency, recorded);
  d.bid.set_sequence(a.bid_count());
  *d.bid.mutable_place_time() = At(now);
  d.auction = std::move(a);
  return d;
}

std::optional<CloseOutcome> CloseAuction(v1::Auction a, const std::vector<v1::Bid>& bids,
                                         absl::Time now) {
  if (a.status() != v1::AUCTION_STATUS_OPEN || now < TimeOf(a.close_time())) return std::nullopt;
  const std::string& currency = a.start_price().currency();
  // The best bid: the highest amount, the earliest (lowest sequence) of equal ones.
  const v1::Bid* best = nullptr;
  for (const v1::Bid& b : bids) {
    if (best == nullptr || b.amount().amount_minor() > best->amount().amount_minor() ||
        (b.amount().amount_minor() == best->amount().amount_minor() &&
         b.sequence() < best->sequence())) {
      best = &b;
    }
  }
  CloseOutcome out;
  int64_t price = 0;
  if (a.format() == v1::AUCTION_FORMAT_DUTCH || best == nullptr) {
    // A Dutch auction with an acceptance was awarded when it came; reaching the close it failed.
    out.failure = "no bids";
  } else {
    price = best->amount().amount_minor();
    if (a.format() == v1::AUCTION_FORMAT_SEALED_SECOND_PRICE) {
      int64_t second = 0;
      for (const v1::Bid& b : bids) {
        if (&b != best) second = std::max(second, b.amount().amount_minor());
      }
      // Never above the winner's own bid: every bid reaches the start price, and a reserve above
      // the best bid fails the auction below.
      price = std::max({second, a.start_price().amount_minor(),
                        a.has_reserve_price() ? a.reserve_price().amount_minor() : 0});
    }
    if (a.has_reserve_price() && best->amount().amount_minor() < a.reserve_price().amount_minor()) {
      out.failure = "reserve not met";
    }
  }
  if (!out.failure.empty()) {
    a.set_status(v1::AUCTION_STATUS_FAILED);
  } else {
    a.set_status(v1::AUCTION_STATUS_AWARDED);
    a.set_winner_org_id(best->bidder_org_id());
    *a.mutable_winning_price() = MoneyOf(currency, price);
    *a.mutable_highest_bid() = best->amount();
    a.set_highest_bidder_org_id(best->bidder_org_id());
    *a.mutable_publicity_end_time() = At(now + absl::Hours(24) * a.publicity_days());
    out.winning_bid = *best;
  }
  Touch(a, now);
  out.auction = std::move(a);
  return out;
}

std::vector<v1::AuctionDeposit> SettleDeposits(const v1::Auction& a,
                                               const std::vector<v1::AuctionDeposit>& deposits) {
  std::vector<v1::AuctionDeposit> settled;
  if (a.status() == v1::AUCTION_STATUS_OPEN || a.status() == v1::AUCTION_STATUS_UNSPECIFIED) {
    return settled;
  }
  const bool has_winner =
      a.status() == v1::AUCTION_STATUS_AWARDED || a.status() == v1::AUCTION_STATUS_CONCLUDED;
  const bool annulled = a.status() == v1::AUCTION_STATUS_ANNULLED;
  for (v1::AuctionDeposit d : deposits) {
    // An annulment during publicity gives back the winner's deposit, applied at the award.
    if (d.status() == v1::DEPOSIT_STATUS_APPLIED && annulled) {
      d.set_status(v1::DEPOSIT_STATUS_RELEASED);
      settled.push_back(std::move(d));
      continue;
    }
    if (d.status() != v1::DEPOSIT_STATUS_PAID) continue;
    d.set_status(has_winner && d.bidder_org_id() == a.winner_org_id()
                     ? v1::DEPOSIT_STATUS_APPLIED
                     : v1::DEPOSIT_STATUS_RELEASED);
    settled.push_back(std::move(d));
  }
  return settled;
}

absl::StatusOr<std::optional<v1::AuctionDeposit>> RecordDeposit(
    const v1::Auction& a, const std::optional<v1::AuctionDeposit>& current,
    const std::string& bidder_org_id, const Money& amount, const std::string& payment_reference) {
  if (current) {
    if (current->payment_reference() == payment_reference &&
        current->amount().currency() == amount.currency() &&
        current->amount().amount_minor() == amount.amount_minor()) {
      return std::nullopt;  // the same report again
    }
    return absl::FailedPreconditionError(absl::StrCat("bidder_org_id: a deposit (",
                                                      current->payment_reference(),
                                                      ") is recorded for this bidder already"));
  }
  if (a.status() != v1::AUCTION_STATUS_OPEN) return RefuseAt(a, "it takes no more deposits");
  if (bidder_org_id == a.seller_org_id()) {
    return absl::FailedPreconditionError("bidder_org_id: the seller does not bid");
  }
  if (amount.currency() != a.deposit().currency() ||
      amount.amount_minor() != a.deposit().amount_minor()) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount: the auction's deposit is ", FormatMoney(a.deposit())));
  }
  v1::AuctionDeposit d;
  d.set_auction_id(a.id());
  d.set_bidder_org_id(bidder_org_id);
  *d.mutable_amount() = amount;
  d.set_status(v1::DEPOSIT_STATUS_PAID);
  d.set_payment_reference(payment_reference);
  return std::optional<v1::AuctionDeposit>(std::move(d));
}

absl::StatusOr<v1::Auction> AnnulAuction(v1::Auction a, const std::string& reason, absl::Time now) {
  if (a.status() != v1::AUCTION_STATUS_OPEN && a.status() != v1::AUCTION_STATUS_AWARDED) {
    return RefuseAt(a, "only an open auction or one in its publicity period can be annulled");
  }
  if (absl::Status s = CheckText("reason", reason, 1, 500); !s.ok()) return s;
  a.set_status(v1::AUCTION_STATUS_ANNULLED);
  a.set_annul_reason(reason);
  Touch(a, now);
  return a;
}

std::optional<v1::Auction> ConcludeAuction(v1::Auction a, absl::Time now) {
  if (a.status() != v1::AUCTION_STATUS_AWARDED || now < TimeOf(a.publicity_end_time())) {
    return std::nullopt;
  }
  a.set_status(v1::AUCTION_STATUS_CONCLUDED);
  Touch(a, now);
  return a;
}

}  // namespace techtrade::listings
