// The auction rules (services/listings/domain/auctions.h) at their edges, for each format.
#include "services/listings/domain/auctions.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <random>

namespace techtrade::listings {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const absl::Time kOpen = absl::FromUnixSeconds(1'800'000'000);
const absl::Time kClose = kOpen + absl::Hours(2);
constexpr char kSeller[] = "seller";
constexpr char kOffer[] = "3f9c1f2e-8a4b-4c55-9d6e-0b1a2c3d4e5f";

google::protobuf::Timestamp At(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}
absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
}
techtrade::common::v1::Money Cny(int64_t yuan) {
  techtrade::common::v1::Money m;
  m.set_currency("CNY");
  m.set_amount_minor(yuan * 100);
  return m;
}

// An open auction of `format` with the fields that format needs.
v1::Auction Open(v1::AuctionFormat format) {
  v1::Auction a;
  a.set_id("auction-1");
  a.set_seller_org_id(kSeller);
  a.add_offer_ids(kOffer);
  a.set_format(format);
  *a.mutable_start_price() = Cny(10'000);
  *a.mutable_deposit() = Cny(1'000);
  a.set_finance_partner_id("bank-1");
  a.set_publicity_days(5);
  *a.mutable_open_time() = At(kOpen);
  *a.mutable_close_time() = At(kClose);
  a.set_status(v1::AUCTION_STATUS_OPEN);
  a.set_version(1);
  switch (format) {
    case v1::AUCTION_FORMAT_ENGLISH:
      *a.mutable_min_increment() = Cny(500);
      a.set_soft_close_seconds(300);
      break;
    case v1::AUCTION_FORMAT_DUTCH:
      *a.mutable_reserve_price() = Cny(6'000);
      *a.mutable_price_step() = Cny(1'000);
      a.set_step_seconds(600);
      break;
    default:
      break;
  }
  return a;
}

v1::AuctionDeposit Paid(const std::string& bidder,
                        v1::DepositStatus status = v1::DEPOSIT_STATUS_PAID) {
  v1::AuctionDeposit d;
  d.set_auction_id("auction-1");
  d.set_bidder_org_id(bidder);
  *d.mutable_amount() = Cny(1'000);
  d.set_status(status);
  d.set_payment_reference("ref-" + bidder);
  return d;
}

BidRequest Bid(const std::string& bidder, int64_t yuan) {
  return {"bid-" + bidder + "-" + std::to_string(yuan), bidder, Cny(yuan), Paid(bidder), false};
}

// Places each bid in order on `a`, expecting each to be taken; the auction after them and the bids.
struct Bidding {
  v1::Auction auction;
  std::vector<v1::Bid> bids;
};
Bidding PlaceAll(v1::Auction a, const std::vector<BidRequest>& requests, absl::Time at) {
  Bidding out;
  for (const BidRequest& r : requests) {
    absl::StatusOr<BidDecision> d = PlaceBid(a, r, at);
    EXPECT_TRUE(d.ok()) << r.bidder_org_id << ": " << d.status();
    if (!d.ok()) continue;
    a = d->auction;
    out.bids.push_back(d->bid);
  }
  out.auction = a;
  return out;
}

absl::StatusCode CodeOf(const absl::StatusOr<BidDecision>& d) { return d.status().code(); }

// ---- Terms ----

TEST(AuctionTermsTest, EachFormatsTermsAreAccepted) {
  for (auto format :
       {v1::AUCTION_FORMAT_ENGLISH, v1::AUCTION_FORMAT_DUTCH, v1::AUCTION_FORMAT_SEALED_FIRST_PRICE,
        v1::AUCTION_FORMAT_SEALED_SECOND_PRICE}) {
    EXPECT_TRUE(ValidateAuctionTerms(Open(format), "auction.", kOpen).ok())
        << v1::AuctionFormat_Name(format);
  }
}

TEST(AuctionTermsTest, EachBadTermIsRefusedNamingItsField) {
  struct Case {
    v1::AuctionFormat format;
    std::function<void(v1::Auction&)> spoil;
    std::string field;
  };
  const std::vector<Case> cases = {
      {v1::AUCTION_FORMAT_ENGLISH, [](auto& a) { a.clear_offer_ids(); }, "auction.offer_ids"},
      {v1::AUCTION_FORMAT_ENGLISH, [](auto& a) { a.add_offer_ids(kOffer); },
       "auction.offer_ids[1]"},
      {v1::AUCTION_FORMAT_ENGLISH, [](auto& a) { a.set_offer_ids(0, "not-a-uuid"); },
       "auction.offer_ids[0]"},
      {v1::AUCTION_FORMAT_ENGLISH, [](auto& a) { a.set_format(v1::AUCTION_FORMAT_UNSPECIFIED); },
       "auction.format"},
      {v1::AUCTION_FORMAT_ENGLISH, [](auto& a) { a.clear_start_price(); }, "auction.start_price"},
      {v1::AUCTION_FORMAT_ENGLISH, [](auto& a) { a.mutable_start_price()->set_amount_minor(0); },
       "auction.start_price"},
      {v1::AUCTION_FORMAT_ENGLISH,
       [](auto& a) {
         *a.mutable_reserve_price() = Cny(11'000);
         a.mutable_reserve_price()->set_currency("USD");
       },
       "auction.reserve_price.currency"},
      {v1::AUCTION_FORMAT_ENGLISH, [](auto& a) { a.clear_min_increment(); },
       "auction.min_increment"},
      {v1::AUCTION_FORMAT_ENGLISH, [](auto& a) { a.set_soft_close_seconds(-1); },
       "auction.soft_close_seconds"},
      {v1::AUCTION_FORMAT_ENGLISH, [](auto& a) { *a.mutable_price_step() = Cny(1); },
       "auction.price_step"},
      {v1::AUCTION_FORMAT_DUTCH, [](auto& a) { a.clear_reserve_price(); }, "auction.reserve_price"},
      {v1::AUCTION_FORMAT_DUTCH, [](auto& a) { *a.mutable_reserve_price() = Cny(10'001); },
       "auction.reserve_price"},
      {v1::AUCTION_FORMAT_DUTCH, [](auto& a) { a.clear_price_step(); }, "auction.price_step"},
      {v1::AUCTION_FORMAT_DUTCH, [](auto& a) { a.set_step_seconds(0); }, "auction.step_seconds"},
      {v1::AUCTION_FORMAT_DUTCH, [](auto& a) { *a.mutable_min_increment() = Cny(1); },
       "auction.min_increment"},
      {v1::AUCTION_FORMAT_SEALED_FIRST_PRICE, [](auto& a) { a.set_soft_close_seconds(60); },
       "auction.soft_close_seconds"},
      {v1::AUCTION_FORMAT_SEALED_SECOND_PRICE, [](auto& a) { a.set_step_seconds(60); },
       "auction.step_seconds"},
      {v1::AUCTION_FORMAT_SEALED_FIRST_PRICE, [](auto& a) { a.clear_deposit(); },
       "auction.deposit"},
      {v1::AUCTION_FORMAT_SEALED_FIRST_PRICE, [](auto& a) { *a.mutable_deposit() = Cny(10'001); },
       "auction.deposit"},
      {v1::AUCTION_FORMAT_SEALED_FIRST_PRICE, [](auto& a) { a.clear_finance_partner_id(); },
       "auction.finance_partner_id"},
      {v1::AUCTION_FORMAT_SEALED_FIRST_PRICE, [](auto& a) { a.set_publicity_days(31); },
       "auction.publicity_days"},
      {v1::AUCTION_FORMAT_SEALED_FIRST_PRICE, [](auto& a) { a.clear_open_time(); },
       "auction.open_time"},
      {v1::AUCTION_FORMAT_SEALED_FIRST_PRICE,
       [](auto& a) { a.mutable_open_time()->set_seconds(-62'135'596'801); }, "auction.open_time"},
      {v1::AUCTION_FORMAT_SEALED_FIRST_PRICE,
       [](auto& a) { a.mutable_close_time()->set_seconds(INT64_MAX); }, "auction.close_time"},
      {v1::AUCTION_FORMAT_SEALED_FIRST_PRICE,
       [](auto& a) { a.mutable_close_time()->set_nanos(-1); }, "auction.close_time"},
      {v1::AUCTION_FORMAT_DUTCH, [](auto& a) { *a.mutable_deposit() = Cny(6'001); },
       "auction.deposit"},
      {v1::AUCTION_FORMAT_SEALED_FIRST_PRICE, [](auto& a) { *a.mutable_close_time() = At(kOpen); },
       "auction.close_time"},
      {v1::AUCTION_FORMAT_SEALED_FIRST_PRICE,
       [](auto& a) { *a.mutable_close_time() = At(kOpen + absl::Hours(24 * 91)); },
       "auction.close_time"},
  };
  for (const Case& c : cases) {
    v1::Auction a = Open(c.format);
    c.spoil(a);
    absl::Status s = ValidateAuctionTerms(a, "auction.", kOpen);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(std::string(s.message()), StartsWith(c.field)) << s;
  }
  // A close already past is refused too.
  EXPECT_THAT(
      std::string(ValidateAuctionTerms(Open(v1::AUCTION_FORMAT_ENGLISH), "", kClose).message()),
      StartsWith("close_time"));
}

// ---- Who may bid, and when ----

TEST(AuctionBidTest, BidsAreTakenOnlyWhileTheAuctionIsOpenAndFromDepositHolders) {
  const v1::Auction a = Open(v1::AUCTION_FORMAT_ENGLISH);
  EXPECT_EQ(CodeOf(PlaceBid(a, Bid("b1", 10'000), kOpen - absl::Seconds(1))),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(PlaceBid(a, Bid("b1", 10'000), kOpen).ok());
  EXPECT_EQ(CodeOf(PlaceBid(a, Bid("b1", 10'000), kClose)), absl::StatusCode::kFailedPrecondition);
  v1::Auction failed = a;
  failed.set_status(v1::AUCTION_STATUS_FAILED);
  EXPECT_EQ(CodeOf(PlaceBid(failed, Bid("b1", 10'000), kOpen)),
            absl::StatusCode::kFailedPrecondition);

  BidRequest seller = Bid(kSeller, 10'000);
  EXPECT_THAT(std::string(PlaceBid(a, seller, kOpen).status().message()),
              StartsWith("bidder_org_id"));
  BidRequest no_deposit = Bid("b1", 10'000);
  no_deposit.deposit.reset();
  EXPECT_THAT(std::string(PlaceBid(a, no_deposit, kOpen).status().message()),
              StartsWith("bidder_org_id"));
  BidRequest released = Bid("b1", 10'000);
  released.deposit = Paid("b1", v1::DEPOSIT_STATUS_RELEASED);
  EXPECT_EQ(CodeOf(PlaceBid(a, released, kOpen)), absl::StatusCode::kFailedPrecondition);
  BidRequest someone_elses = Bid("b1", 10'000);
  someone_elses.deposit = Paid("b2");
  EXPECT_THAT(std::string(PlaceBid(a, someone_elses, kOpen).status().message()),
              StartsWith("bidder_org_id"));
  BidRequest another_auctions = Bid("b1", 10'000);
  another_auctions.deposit->set_auction_id("auction-2");
  EXPECT_EQ(CodeOf(PlaceBid(a, another_auctions, kOpen)), absl::StatusCode::kFailedPrecondition);
  BidRequest short_deposit = Bid("b1", 10'000);
  short_deposit.deposit->mutable_amount()->set_amount_minor(99'999);
  EXPECT_EQ(CodeOf(PlaceBid(a, short_deposit, kOpen)), absl::StatusCode::kFailedPrecondition);

  BidRequest dollars = Bid("b1", 10'000);
  dollars.amount.set_currency("USD");
  absl::StatusOr<BidDecision> d = PlaceBid(a, dollars, kOpen);
  EXPECT_EQ(CodeOf(d), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(d.status().message()), StartsWith("amount.currency"));
}

// ---- English ----

TEST(EnglishAuctionTest, EachBidMustBeatTheStandingOneByTheIncrement) {
  const v1::Auction a = Open(v1::AUCTION_FORMAT_ENGLISH);
  absl::StatusOr<BidDecision> low = PlaceBid(a, Bid("b1", 9'999), kOpen);
  EXPECT_EQ(CodeOf(low), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(low.status().message()), HasSubstr("start price"));
  absl::StatusOr<BidDecision> first = PlaceBid(a, Bid("b1", 10'000), kOpen);  // exactly the start
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->auction.highest_bid().amount_minor(), 1'000'000);
  EXPECT_EQ(first->auction.highest_bidder_org_id(), "b1");
  EXPECT_EQ(first->auction.bid_count(), 1);
  EXPECT_EQ(first->auction.version(), 2);
  EXPECT_EQ(first->bid.sequence(), 1);
  EXPECT_EQ(first->bid.amount().amount_minor(), 1'000'000);

  EXPECT_THAT(std::string(PlaceBid(first->auction, Bid("b1", 20'000), kOpen).status().message()),
              HasSubstr("already holds the standing bid"));
  absl::StatusOr<BidDecision> short_of = PlaceBid(first->auction, Bid("b2", 10'499), kOpen);
  EXPECT_THAT(std::string(short_of.status().message()), HasSubstr("CNY 10,500.00"));
  absl::StatusOr<BidDecision> second = PlaceBid(first->auction, Bid("b2", 10'500), kOpen);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->auction.highest_bidder_org_id(), "b2");
  EXPECT_EQ(second->bid.sequence(), 2);
  // The one outbid may come back.
  EXPECT_TRUE(PlaceBid(second->auction, Bid("b1", 11'000), kOpen).ok());
}

TEST(EnglishAuctionTest, ALateBidExtendsTheCloseAndAnEarlierOneDoesNot) {
  const v1::Auction a = Open(v1::AUCTION_FORMAT_ENGLISH);  // soft close: 5 minutes
  absl::StatusOr<BidDecision> early = PlaceBid(a, Bid("b1", 10'000), kClose - absl::Minutes(5));
  ASSERT_TRUE(early.ok());
  EXPECT_FALSE(early->extended);  // exactly the window before the close: not inside it
  EXPECT_EQ(TimeOf(early->auction.close_time()), kClose);
  const absl::Time late_at = kClose - absl::Seconds(10);
  absl::StatusOr<BidDecision> late = PlaceBid(early->auction, Bid("b2", 10'500), late_at);
  ASSERT_TRUE(late.ok());
  EXPECT_TRUE(late->extended);
  EXPECT_EQ(TimeOf(late->auction.close_time()), late_at + absl::Minutes(5));
  // Bidding goes on past the original close, and the close waits for the new one.
  absl::StatusOr<BidDecision> later = PlaceBid(late->auction, Bid("b1", 11'000), kClose);
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_FALSE(CloseAuction(later->auction, {}, kClose + absl::Seconds(1)).has_value());
  // Without a soft close nothing moves.
  v1::Auction hard = Open(v1::AUCTION_FORMAT_ENGLISH);
  hard.set_soft_close_seconds(0);
  absl::StatusOr<BidDecision> last = PlaceBid(hard, Bid("b1", 10'000), kClose - absl::Seconds(1));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(TimeOf(last->auction.close_time()), kClose);
}

TEST(EnglishAuctionTest, TheStandingBidWinsAtTheCloseIfItReachesTheReserve) {
  v1::Auction a = Open(v1::AUCTION_FORMAT_ENGLISH);
  *a.mutable_reserve_price() = Cny(11'000);
  Bidding b = PlaceAll(a, {Bid("b1", 10'000), Bid("b2", 10'500)}, kOpen);
  EXPECT_FALSE(CloseAuction(b.auction, b.bids, kClose - absl::Seconds(1)).has_value());
  std::optional<CloseOutcome> short_of = CloseAuction(b.auction, b.bids, kClose);
  ASSERT_TRUE(short_of.has_value());
  EXPECT_EQ(short_of->auction.status(), v1::AUCTION_STATUS_FAILED);
  EXPECT_EQ(short_of->failure, "reserve not met");
  EXPECT_TRUE(short_of->auction.winner_org_id().empty());

  Bidding reached = PlaceAll(b.auction, {Bid("b1", 11'000)}, kOpen);
  std::optional<CloseOutcome> won = CloseAuction(reached.auction, reached.bids, kClose);
  ASSERT_TRUE(won.has_value());
  EXPECT_EQ(won->auction.status(), v1::AUCTION_STATUS_AWARDED);
  EXPECT_EQ(won->auction.winner_org_id(), "b1");
  EXPECT_EQ(won->auction.winning_price().amount_minor(), 1'100'000);
  EXPECT_EQ(TimeOf(won->auction.publicity_end_time()), kClose + absl::Hours(24 * 5));
  EXPECT_EQ(won->auction.version(), reached.auction.version() + 1);
  // A second close finds it decided.
  EXPECT_FALSE(CloseAuction(won->auction, reached.bids, kClose).has_value());
}

TEST(EnglishAuctionTest, NoBidsFailsIt) {
  std::optional<CloseOutcome> c = CloseAuction(Open(v1::AUCTION_FORMAT_ENGLISH), {}, kClose);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->auction.status(), v1::AUCTION_STATUS_FAILED);
  EXPECT_EQ(c->failure, "no bids");
}

// A replay of random bidding: whatever was taken, the last taken bid is the highest, and the
// close awards it at its amount.
TEST(EnglishAuctionTest, TheWinnerIsWhatAReplayOfTheTakenBidsComputes) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    v1::Auction a = Open(v1::AUCTION_FORMAT_ENGLISH);
    std::vector<v1::Bid> taken;
    for (int i = 0; i < 40; ++i) {
      const std::string bidder = "b" + std::to_string(rng() % 6);
      const int64_t yuan = 9'000 + static_cast<int64_t>(rng() % 6'000);
      const absl::Time at = kOpen + absl::Seconds(static_cast<int64_t>(rng() % 7'000));
      absl::StatusOr<BidDecision> d = PlaceBid(a, Bid(bidder, yuan), std::max(at, kOpen));
      if (!d.ok()) continue;
      a = d->auction;
      taken.push_back(d->bid);
    }
    std::optional<CloseOutcome> c = CloseAuction(a, taken, TimeOf(a.close_time()));
    ASSERT_TRUE(c.has_value());
    if (taken.empty()) {
      EXPECT_EQ(c->auction.status(), v1::AUCTION_STATUS_FAILED);
      continue;
    }
    int64_t replay_high = 0;
    std::string replay_winner;
    for (const v1::Bid& b : taken) {
      ASSERT_GT(b.amount().amount_minor(), replay_high);  // strictly rising
      replay_high = b.amount().amount_minor();
      replay_winner = b.bidder_org_id();
    }
    EXPECT_EQ(c->auction.winner_org_id(), replay_winner);
    EXPECT_EQ(c->auction.winning_price().amount_minor(), replay_high);
  }
}

// ---- Dutch ----

TEST(DutchAuctionTest, ThePriceFallsByAStepEachIntervalDownToTheFloor) {
  const v1::Auction a =
      Open(v1::AUCTION_FORMAT_DUTCH);  // 10,000 less 1,000 per 10 min, floor 6,000
  EXPECT_EQ(DutchAskingPrice(a, kOpen - absl::Hours(1)), 1'000'000);
  EXPECT_EQ(DutchAskingPrice(a, kOpen), 1'000'000);
  EXPECT_EQ(DutchAskingPrice(a, kOpen + absl::Seconds(599)), 1'000'000);
  EXPECT_EQ(DutchAskingPrice(a, kOpen + absl::Seconds(600)), 900'000);
  EXPECT_EQ(DutchAskingPrice(a, kOpen + absl::Minutes(40)), 600'000);
  EXPECT_EQ(DutchAskingPrice(a, kOpen + absl::Minutes(50)), 600'000);  // the floor reached
  EXPECT_EQ(DutchAskingPrice(a, kOpen + absl::Hours(24 * 365 * 100)), 600'000);
  // A step that does not divide the distance stops at the floor, not below it.
  v1::Auction uneven = a;
  *uneven.mutable_price_step() = Cny(3'000);
  EXPECT_EQ(DutchAskingPrice(uneven, kOpen + absl::Minutes(10)), 700'000);
  EXPECT_EQ(DutchAskingPrice(uneven, kOpen + absl::Minutes(20)), 600'000);
}

TEST(DutchAuctionTest, TheFirstAcceptanceWinsAtTheAskingPrice) {
  const v1::Auction a = Open(v1::AUCTION_FORMAT_DUTCH);
  const absl::Time at = kOpen + absl::Minutes(25);  // asking 8,000
  absl::StatusOr<BidDecision> low = PlaceBid(a, Bid("b1", 7'999), at);
  EXPECT_EQ(CodeOf(low), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(low.status().message()), HasSubstr("CNY 8,000.00"));
  // Accepting more than the asking price buys at the asking price.
  absl::StatusOr<BidDecision> won = PlaceBid(a, Bid("b1", 9'000), at);
  ASSERT_TRUE(won.ok()) << won.status();
  EXPECT_EQ(won->bid.amount().amount_minor(), 800'000);
  EXPECT_EQ(won->auction.status(), v1::AUCTION_STATUS_AWARDED);
  EXPECT_EQ(won->auction.winner_org_id(), "b1");
  EXPECT_EQ(won->auction.winning_price().amount_minor(), 800'000);
  EXPECT_EQ(TimeOf(won->auction.close_time()), at);
  EXPECT_EQ(TimeOf(won->auction.publicity_end_time()), at + absl::Hours(24 * 5));
  // The second acceptance finds it decided.
  EXPECT_EQ(CodeOf(PlaceBid(won->auction, Bid("b2", 9'000), at)),
            absl::StatusCode::kFailedPrecondition);
}

TEST(DutchAuctionTest, AtTheFloorItSellsAtTheFloorAndWithoutAnAcceptanceItFails) {
  const v1::Auction a = Open(v1::AUCTION_FORMAT_DUTCH);
  absl::StatusOr<BidDecision> at_floor = PlaceBid(a, Bid("b1", 6'000), kClose - absl::Seconds(1));
  ASSERT_TRUE(at_floor.ok()) << at_floor.status();
  EXPECT_EQ(at_floor->auction.winning_price().amount_minor(), 600'000);
  std::optional<CloseOutcome> none = CloseAuction(a, {}, kClose);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->auction.status(), v1::AUCTION_STATUS_FAILED);
  EXPECT_EQ(none->failure, "no bids");
}

// ---- Sealed ----

TEST(SealedAuctionTest, EachBidderBidsOnceAndTheBidsStayHidden) {
  const v1::Auction a = Open(v1::AUCTION_FORMAT_SEALED_FIRST_PRICE);
  EXPECT_EQ(CodeOf(PlaceBid(a, Bid("b1", 9'999), kOpen)), absl::StatusCode::kInvalidArgument);
  Bidding b = PlaceAll(a, {Bid("b1", 12'000), Bid("b2", 15'000)}, kOpen);
  EXPECT_FALSE(b.auction.has_highest_bid());
  EXPECT_TRUE(b.auction.highest_bidder_org_id().empty());
  EXPECT_EQ(b.auction.bid_count(), 2);
  BidRequest again = Bid("b1", 20'000);
  again.has_bid = true;
  EXPECT_THAT(std::string(PlaceBid(b.auction, again, kOpen).status().message()),
              HasSubstr("has a sealed bid on it already"));
  // No soft close: a bid at the last moment moves nothing.
  absl::StatusOr<BidDecision> last =
      PlaceBid(b.auction, Bid("b3", 10'000), kClose - absl::Seconds(1));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(TimeOf(last->auction.close_time()), kClose);
}

TEST(SealedAuctionTest, FirstPriceTheHighestWinsAndTheEarliestOfATie) {
  const v1::Auction a = Open(v1::AUCTION_FORMAT_SEALED_FIRST_PRICE);
  Bidding b = PlaceAll(a, {Bid("b1", 12'000), Bid("b2", 15'000), Bid("b3", 15'000)}, kOpen);
  std::optional<CloseOutcome> c = CloseAuction(b.auction, b.bids, kClose);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->auction.winner_org_id(), "b2");
  EXPECT_EQ(c->auction.winning_price().amount_minor(), 1'500'000);
  ASSERT_TRUE(c->winning_bid.has_value());
  EXPECT_EQ(c->winning_bid->sequence(), 2);
  // Opened at the close: the standing bid is the winner's.
  EXPECT_EQ(c->auction.highest_bid().amount_minor(), 1'500'000);
  // The order of the list does not matter, the bids' sequence does.
  std::vector<v1::Bid> reversed(b.bids.rbegin(), b.bids.rend());
  EXPECT_EQ(CloseAuction(b.auction, reversed, kClose)->auction.winner_org_id(), "b2");
}

TEST(SealedAuctionTest, FirstPriceBelowTheReserveFails) {
  v1::Auction a = Open(v1::AUCTION_FORMAT_SEALED_FIRST_PRICE);
  *a.mutable_reserve_price() = Cny(16'000);
  Bidding b = PlaceAll(a, {Bid("b1", 12'000), Bid("b2", 15'000)}, kOpen);
  std::optional<CloseOutcome> c = CloseAuction(b.auction, b.bids, kClose);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->auction.status(), v1::AUCTION_STATUS_FAILED);
  EXPECT_EQ(c->failure, "reserve not met");
}

TEST(SealedAuctionTest, SecondPriceTheWinnerPaysTheRunnerUpsBid) {
  const v1::Auction a = Open(v1::AUCTION_FORMAT_SEALED_SECOND_PRICE);
  Bidding b = PlaceAll(a, {Bid("b1", 12'000), Bid("b2", 15'000), Bid("b3", 11'000)}, kOpen);
  std::optional<CloseOutcome> c = CloseAuction(b.auction, b.bids, kClose);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->auction.winner_org_id(), "b2");
  EXPECT_EQ(c->auction.winning_price().amount_minor(), 1'200'000);
  EXPECT_EQ(c->auction.highest_bid().amount_minor(), 1'500'000);
}

TEST(SealedAuctionTest, SecondPriceWithOneBidderPaysTheReserveOrTheStartPrice) {
  v1::Auction a = Open(v1::AUCTION_FORMAT_SEALED_SECOND_PRICE);
  Bidding alone = PlaceAll(a, {Bid("b1", 14'000)}, kOpen);
  std::optional<CloseOutcome> c = CloseAuction(alone.auction, alone.bids, kClose);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->auction.winner_org_id(), "b1");
  EXPECT_EQ(c->auction.winning_price().amount_minor(), 1'000'000);  // the start price

  *a.mutable_reserve_price() = Cny(13'000);
  Bidding reserved = PlaceAll(a, {Bid("b1", 14'000)}, kOpen);
  c = CloseAuction(reserved.auction, reserved.bids, kClose);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->auction.winning_price().amount_minor(), 1'300'000);  // the reserve
  // A runner-up below the reserve: the winner pays the reserve.
  Bidding two = PlaceAll(a, {Bid("b1", 14'000), Bid("b2", 12'000)}, kOpen);
  EXPECT_EQ(CloseAuction(two.auction, two.bids, kClose)->auction.winning_price().amount_minor(),
            1'300'000);
}

TEST(SealedAuctionTest, SecondPriceATieAtTheTopPaysTheTiedAmountToTheEarliest) {
  const v1::Auction a = Open(v1::AUCTION_FORMAT_SEALED_SECOND_PRICE);
  Bidding b = PlaceAll(a, {Bid("b1", 12'000), Bid("b2", 15'000), Bid("b3", 15'000)}, kOpen);
  std::optional<CloseOutcome> c = CloseAuction(b.auction, b.bids, kClose);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->auction.winner_org_id(), "b2");
  EXPECT_EQ(c->auction.winning_price().amount_minor(), 1'500'000);
}

// ---- Deposits, annulment, publicity ----

TEST(AuctionDepositTest, TheWinnersDepositIsAppliedAndEveryOtherReleased) {
  v1::Auction a = Open(v1::AUCTION_FORMAT_ENGLISH);
  const std::vector<v1::AuctionDeposit> deposits = {Paid("b1"), Paid("b2"), Paid("b3"),
                                                    Paid("b4", v1::DEPOSIT_STATUS_RELEASED)};
  EXPECT_TRUE(SettleDeposits(a, deposits).empty());  // still open
  Bidding b = PlaceAll(a, {Bid("b1", 10'000), Bid("b2", 10'500)}, kOpen);
  std::optional<CloseOutcome> won = CloseAuction(b.auction, b.bids, kClose);
  std::vector<v1::AuctionDeposit> settled = SettleDeposits(won->auction, deposits);
  ASSERT_EQ(settled.size(), 3u);  // b4's was settled before
  for (const v1::AuctionDeposit& d : settled) {
    EXPECT_EQ(d.status(),
              d.bidder_org_id() == "b2" ? v1::DEPOSIT_STATUS_APPLIED : v1::DEPOSIT_STATUS_RELEASED)
        << d.bidder_org_id();
  }
  // Annulled during publicity: the deposit applied at the award goes back too, and nothing
  // else is settled twice.
  absl::StatusOr<v1::Auction> annulled = AnnulAuction(won->auction, "collusion found", kClose);
  ASSERT_TRUE(annulled.ok());
  std::vector<v1::AuctionDeposit> after_award = settled;
  after_award.push_back(deposits.back());
  std::vector<v1::AuctionDeposit> given_back = SettleDeposits(*annulled, after_award);
  ASSERT_EQ(given_back.size(), 1u);
  EXPECT_EQ(given_back[0].bidder_org_id(), "b2");
  EXPECT_EQ(given_back[0].status(), v1::DEPOSIT_STATUS_RELEASED);
  // Annulled while open, or failed: every paid deposit goes back.
  for (const v1::Auction& undecided :
       {*AnnulAuction(a, "the lot's patent lapsed", kOpen), CloseAuction(a, {}, kClose)->auction}) {
    std::vector<v1::AuctionDeposit> released = SettleDeposits(undecided, deposits);
    ASSERT_EQ(released.size(), 3u) << v1::AuctionStatus_Name(undecided.status());
    for (const v1::AuctionDeposit& d : released) {
      EXPECT_EQ(d.status(), v1::DEPOSIT_STATUS_RELEASED);
    }
  }
}

TEST(AuctionDepositTest, APartnersReportIsRecordedOnceAndMustBeTheDeposit) {
  const v1::Auction a = Open(v1::AUCTION_FORMAT_SEALED_FIRST_PRICE);
  auto recorded = RecordDeposit(a, std::nullopt, "b1", Cny(1'000), "ref-1");
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  ASSERT_TRUE(recorded->has_value());
  EXPECT_EQ((*recorded)->status(), v1::DEPOSIT_STATUS_PAID);
  // The same report again: nothing new.
  auto retry = RecordDeposit(a, **recorded, "b1", Cny(1'000), "ref-1");
  ASSERT_TRUE(retry.ok());
  EXPECT_FALSE(retry->has_value());
  EXPECT_EQ(RecordDeposit(a, **recorded, "b1", Cny(1'000), "ref-2").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(
      std::string(RecordDeposit(a, std::nullopt, "b2", Cny(999), "ref-3").status().message()),
      StartsWith("amount"));
  EXPECT_THAT(
      std::string(RecordDeposit(a, std::nullopt, kSeller, Cny(1'000), "ref-4").status().message()),
      StartsWith("bidder_org_id"));
  v1::Auction closed = a;
  closed.set_status(v1::AUCTION_STATUS_AWARDED);
  EXPECT_EQ(RecordDeposit(closed, std::nullopt, "b2", Cny(1'000), "ref-5").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(AuctionPublicityTest, AnOperatorAnnulsForCauseUntilTheAuctionConcludes) {
  v1::Auction a = Open(v1::AUCTION_FORMAT_ENGLISH);
  EXPECT_THAT(std::string(AnnulAuction(a, "", kOpen).status().message()), StartsWith("reason"));
  absl::StatusOr<v1::Auction> annulled = AnnulAuction(a, "the lot's patent lapsed", kOpen);
  ASSERT_TRUE(annulled.ok());
  EXPECT_EQ(annulled->status(), v1::AUCTION_STATUS_ANNULLED);
  EXPECT_EQ(annulled->annul_reason(), "the lot's patent lapsed");
  EXPECT_EQ(annulled->version(), 2);
  EXPECT_EQ(AnnulAuction(*annulled, "again", kOpen).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(ConcludeAuction(*annulled, kClose + absl::Hours(24 * 30)).has_value());

  Bidding b = PlaceAll(a, {Bid("b1", 10'000)}, kOpen);
  v1::Auction awarded = CloseAuction(b.auction, b.bids, kClose)->auction;
  const absl::Time end = kClose + absl::Hours(24 * 5);
  EXPECT_FALSE(ConcludeAuction(awarded, end - absl::Seconds(1)).has_value());
  std::optional<v1::Auction> concluded = ConcludeAuction(awarded, end);
  ASSERT_TRUE(concluded.has_value());
  EXPECT_EQ(concluded->status(), v1::AUCTION_STATUS_CONCLUDED);
  EXPECT_EQ(concluded->winner_org_id(), "b1");
  EXPECT_FALSE(ConcludeAuction(*concluded, end).has_value());
  EXPECT_EQ(AnnulAuction(*concluded, "too late", end).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Without a publicity period it concludes at the close.
  a.set_publicity_days(0);
  Bidding now = PlaceAll(a, {Bid("b1", 10'000)}, kOpen);
  EXPECT_TRUE(
      ConcludeAuction(CloseAuction(now.auction, now.bids, kClose)->auction, kClose).has_value());
}

}  // namespace
}  // namespace techtrade::listings
