// What each command makes of a listing (services/listings/domain/listing_records.h).
#include "services/listings/domain/listing_records.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

namespace techtrade::listings {
namespace {

using google::protobuf::util::TimeUtil;
namespace reg = techtrade::registry::v1;
namespace tv1 = techtrade::transactions::v1;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
const absl::Time kLater = kNow + absl::Hours(1);

int64_t Micros(const google::protobuf::Timestamp& t) {
  return TimeUtil::TimestampToMicroseconds(t);
}

v1::OfferDraft Draft(const std::string& title) {
  v1::OfferDraft d;
  d.set_title(title);
  d.add_ipc_codes("H01L 29/16");
  d.add_fields("integrated-circuits");
  d.set_readiness_level(5);
  d.add_transfer_modes(v1::TRANSFER_MODE_ASSIGNMENT);
  d.mutable_asking_price()->set_currency("CNY");
  d.mutable_asking_price()->set_amount_minor(100);
  return d;
}

reg::Organization Owner(reg::OrganizationStatus status) {
  reg::Organization org;
  org.set_id("org-1");
  org.set_status(status);
  return org;
}

v1::Offer Draft() {
  return CreateListing("offer-1", "org-1", "wuhan", Draft("gate oxide"), kNow).listing;
}

TEST(ListingRecordsTest, ACreatedOfferIsAVisibleDraftAtVersionOne) {
  OfferChange c = CreateListing("offer-1", "org-1", "wuhan", Draft("gate oxide"), kNow);
  EXPECT_EQ(c.listing.id(), "offer-1");
  EXPECT_EQ(c.listing.owner_org_id(), "org-1");
  EXPECT_EQ(c.listing.city_id(), "wuhan");
  EXPECT_EQ(c.listing.title(), "gate oxide");
  EXPECT_EQ(c.listing.asking_price().amount_minor(), 100);
  EXPECT_EQ(c.listing.status(), v1::OFFER_STATUS_DRAFT);
  EXPECT_TRUE(c.listing.visible());
  EXPECT_EQ(c.listing.version(), 1);
  EXPECT_EQ(Micros(c.listing.create_time()), absl::ToUnixMicros(kNow));
  EXPECT_EQ(Micros(c.listing.update_time()), absl::ToUnixMicros(kNow));
  auto* event = dynamic_cast<v1::OfferCreated*>(c.event.get());
  ASSERT_NE(event, nullptr);
  EXPECT_EQ(event->offer().id(), "offer-1");
}

TEST(ListingRecordsTest, ACreatedDemandBelongsToItsSeeker) {
  v1::DemandDraft d;
  d.set_title("need");
  d.mutable_budget_max()->set_currency("CNY");
  d.mutable_budget_max()->set_amount_minor(500);
  DemandChange c = CreateListing("demand-1", "org-2", "shenzhen", d, kNow);
  EXPECT_EQ(c.listing.seeker_org_id(), "org-2");
  EXPECT_EQ(c.listing.status(), v1::DEMAND_STATUS_DRAFT);
  EXPECT_FALSE(c.listing.has_budget_min());
  EXPECT_EQ(c.listing.budget_max().amount_minor(), 500);
  ASSERT_NE(dynamic_cast<v1::DemandCreated*>(c.event.get()), nullptr);
}

TEST(ListingRecordsTest, AnUpdateReplacesTheContentAndKeepsTheStatus) {
  v1::OfferDraft negotiable = Draft("trench process");
  negotiable.clear_asking_price();
  negotiable.set_negotiable(true);
  v1::Offer current = Draft();
  current.set_visible(false);
  absl::StatusOr<OfferChange> c = UpdateListing(current, negotiable, kLater);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listing.title(), "trench process");
  EXPECT_FALSE(c->listing.has_asking_price());
  EXPECT_TRUE(c->listing.negotiable());
  EXPECT_EQ(c->listing.status(), v1::OFFER_STATUS_DRAFT);
  EXPECT_EQ(c->listing.version(), 2);
  EXPECT_TRUE(c->listing.visible());
  EXPECT_EQ(Micros(c->listing.create_time()), absl::ToUnixMicros(kNow));
  EXPECT_EQ(Micros(c->listing.update_time()), absl::ToUnixMicros(kLater));
  ASSERT_NE(dynamic_cast<v1::OfferUpdated*>(c->event.get()), nullptr);

  current.set_status(v1::OFFER_STATUS_TRANSFERRED);
  EXPECT_EQ(UpdateListing(current, negotiable, kLater).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ListingRecordsTest, OnlyAVerifiedOwnerPublishes) {
  absl::StatusOr<OfferChange> c =
      PublishListing(Draft(), Owner(reg::ORGANIZATION_STATUS_VERIFIED), kLater);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listing.status(), v1::OFFER_STATUS_PUBLISHED);
  EXPECT_EQ(c->listing.version(), 2);
  EXPECT_EQ(Micros(c->listing.publish_time()), absl::ToUnixMicros(kLater));
  ASSERT_NE(dynamic_cast<v1::OfferPublished*>(c->event.get()), nullptr);

  absl::StatusOr<OfferChange> refused =
      PublishListing(Draft(), Owner(reg::ORGANIZATION_STATUS_PENDING), kLater);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::HasSubstr("ORGANIZATION_STATUS_PENDING"));
  // The status machine is asked first.
  EXPECT_THAT(std::string(PublishListing(c->listing, Owner(reg::ORGANIZATION_STATUS_PENDING), kNow)
                              .status()
                              .message()),
              ::testing::HasSubstr("offer is OFFER_STATUS_PUBLISHED"));
}

TEST(ListingRecordsTest, AWithdrawalCarriesItsReason) {
  absl::StatusOr<DemandChange> c =
      WithdrawListing(CreateListing("demand-1", "org-2", "wuhan", v1::DemandDraft(), kNow).listing,
                      "solved", kLater);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listing.status(), v1::DEMAND_STATUS_WITHDRAWN);
  auto* event = dynamic_cast<v1::DemandWithdrawn*>(c->event.get());
  ASSERT_NE(event, nullptr);
  EXPECT_EQ(event->reason(), "solved");
  EXPECT_EQ(event->demand().version(), 2);
  EXPECT_FALSE(WithdrawListing(c->listing, "again", kLater).ok());
}

tv1::Deal Deal(v1::ListingKind kind, v1::TransferMode agreed_mode, int64_t agreed_version) {
  tv1::Deal deal;
  deal.set_id("deal-1");
  deal.set_version(7);
  deal.set_listing_id("offer-1");
  deal.set_listing_kind(kind);
  deal.add_terms()->set_transfer_mode(v1::TRANSFER_MODE_EXCLUSIVE_LICENSE);
  deal.add_terms()->set_transfer_mode(agreed_mode);
  deal.set_agreed_terms_version(agreed_version);
  return deal;
}

template <class Event>
techtrade::common::v1::EventEnvelope Envelope(const Event& e) {
  techtrade::common::v1::EventEnvelope envelope;
  envelope.mutable_payload()->PackFrom(e);
  return envelope;
}

template <class Event>
std::optional<DealNews> NewsOf(const tv1::Deal& deal) {
  Event e;
  *e.mutable_deal() = deal;
  return DealNewsOf(Envelope(e));
}

TEST(ListingRecordsTest, TheEventsThatOpenOrEndADealAreNewsForItsListing) {
  const tv1::Deal agreed = Deal(v1::LISTING_KIND_OFFER, v1::TRANSFER_MODE_ASSIGNMENT, 2);
  std::optional<DealNews> opened = NewsOf<tv1::DealOpened>(agreed);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->deal_id, "deal-1");
  EXPECT_EQ(opened->deal_version, 7);
  EXPECT_EQ(opened->listing_id, "offer-1");
  EXPECT_EQ(opened->listing_kind, v1::LISTING_KIND_OFFER);
  EXPECT_TRUE(opened->open);
  EXPECT_FALSE(opened->completed);

  std::optional<DealNews> completed = NewsOf<tv1::DealCompleted>(agreed);
  ASSERT_TRUE(completed.has_value());
  EXPECT_FALSE(completed->open);
  EXPECT_TRUE(completed->completed);
  EXPECT_EQ(completed->mode, v1::TRANSFER_MODE_ASSIGNMENT);  // the agreed version's, not the first

  std::optional<DealNews> cancelled = NewsOf<tv1::DealCancelled>(agreed);
  ASSERT_TRUE(cancelled.has_value());
  EXPECT_FALSE(cancelled->open);
  EXPECT_FALSE(cancelled->completed);

  tv1::DisputeResolved resolved;
  *resolved.mutable_deal() = agreed;
  EXPECT_FALSE(DealNewsOf(Envelope(resolved)).has_value());  // the deal goes on
  resolved.set_cancelled(true);
  std::optional<DealNews> ended = DealNewsOf(Envelope(resolved));
  ASSERT_TRUE(ended.has_value());
  EXPECT_FALSE(ended->open);
  EXPECT_FALSE(ended->completed);

  // The listings' consumer subscribes to exactly these.
  EXPECT_THAT(DealEventsListingsFollow(),
              ::testing::UnorderedElementsAre("techtrade.transactions.v1.DealOpened",
                                              "techtrade.transactions.v1.DealCompleted",
                                              "techtrade.transactions.v1.DealCancelled",
                                              "techtrade.transactions.v1.DisputeResolved"));
  EXPECT_FALSE(NewsOf<tv1::TermsProposed>(agreed).has_value());
  EXPECT_FALSE(NewsOf<tv1::ContractSigned>(agreed).has_value());
  EXPECT_FALSE(NewsOf<tv1::DealMarkedFraudulent>(agreed).has_value());
  EXPECT_FALSE(DealNewsOf(Envelope(v1::OfferPublished())).has_value());

  // No agreed terms (or a version past them): no mode.
  for (int64_t version : {0, 3}) {
    std::optional<DealNews> news = NewsOf<tv1::DealCancelled>(
        Deal(v1::LISTING_KIND_OFFER, v1::TRANSFER_MODE_ASSIGNMENT, version));
    ASSERT_TRUE(news.has_value());
    EXPECT_EQ(news->mode, v1::TRANSFER_MODE_UNSPECIFIED) << version;
  }
}

TEST(ListingRecordsTest, AssignmentExclusiveLicenceAndEquityTakeAnOfferOffTheMarket) {
  for (int m = v1::TransferMode_MIN; m <= v1::TransferMode_MAX; ++m) {
    const auto mode = static_cast<v1::TransferMode>(m);
    const bool takes = mode == v1::TRANSFER_MODE_ASSIGNMENT ||
                       mode == v1::TRANSFER_MODE_EXCLUSIVE_LICENSE ||
                       mode == v1::TRANSFER_MODE_EQUITY;
    EXPECT_EQ(TakesOfferOffMarket(mode), takes) << v1::TransferMode_Name(mode);
  }
}

DealNews Opened() { return {.deal_id = "deal-1", .deal_version = 1, .open = true}; }
DealNews Cancelled() { return {.deal_id = "deal-1", .deal_version = 5}; }
DealNews Completed(v1::TransferMode mode) {
  return {.deal_id = "deal-1", .deal_version = 9, .completed = true, .mode = mode};
}

v1::Offer OfferIn(v1::OfferStatus status) {
  v1::Offer offer =
      PublishListing(Draft(), Owner(reg::ORGANIZATION_STATUS_VERIFIED), kNow)->listing;
  offer.set_status(status);
  offer.set_visible(false);  // kept as stored: a deal's progress is not the owner's change
  return offer;
}

// The status FollowDeal leaves, or UNSPECIFIED for no change.
v1::OfferStatus After(v1::OfferStatus status, const DealNews& news, int open_deals) {
  std::optional<OfferChange> c = FollowDeal(OfferIn(status), news, open_deals, kLater);
  if (!c.has_value()) return v1::OFFER_STATUS_UNSPECIFIED;
  EXPECT_EQ(c->listing.version(), 3);
  EXPECT_EQ(Micros(c->listing.update_time()), absl::ToUnixMicros(kLater));
  EXPECT_FALSE(c->listing.visible());
  return c->listing.status();
}

TEST(ListingRecordsTest, AnOfferIsUnderNegotiationWhileADealIsOpenAndLeavesWhenOneTakesIt) {
  using S = v1::OfferStatus;
  constexpr S kNone = v1::OFFER_STATUS_UNSPECIFIED;
  constexpr S kPublished = v1::OFFER_STATUS_PUBLISHED;
  constexpr S kNegotiating = v1::OFFER_STATUS_UNDER_NEGOTIATION;
  constexpr S kTransferred = v1::OFFER_STATUS_TRANSFERRED;
  const DealNews licence = Completed(v1::TRANSFER_MODE_NON_EXCLUSIVE_LICENSE);
  const DealNews assignment = Completed(v1::TRANSFER_MODE_ASSIGNMENT);

  EXPECT_EQ(After(kPublished, Opened(), 1), kNegotiating);
  EXPECT_EQ(After(kNegotiating, Opened(), 2), kNone);     // another buyer joins: still negotiating
  EXPECT_EQ(After(kNegotiating, Cancelled(), 1), kNone);  // one of two ended
  EXPECT_EQ(After(kNegotiating, Cancelled(), 0), kPublished);
  EXPECT_EQ(After(kNegotiating, licence, 1), kNone);       // licensed; another deal still open
  EXPECT_EQ(After(kNegotiating, licence, 0), kPublished);  // licensed, on the market for the next
  EXPECT_EQ(After(kNegotiating, assignment, 1), kTransferred);  // whatever else was open
  EXPECT_EQ(After(kNegotiating, assignment, 0), kTransferred);
  // A deal opened before its offer followed deals: the same outcomes from PUBLISHED.
  EXPECT_EQ(After(kPublished, assignment, 0), kTransferred);
  EXPECT_EQ(After(kPublished, licence, 0), kNone);
  EXPECT_EQ(After(kPublished, Cancelled(), 0), kNone);
  // The news decides the direction, not the count alone: an offer republished while deals were
  // open is not put under negotiation by one of them ending, nor taken out of it by one opening.
  EXPECT_EQ(After(kPublished, Cancelled(), 1), kNone);
  EXPECT_EQ(After(kPublished, licence, 1), kNone);
  EXPECT_EQ(After(kNegotiating, Opened(), 0), kNone);

  // Every other status stays as it is, whatever the news: the deal stands, the listing is past it.
  for (S status : {v1::OFFER_STATUS_DRAFT, v1::OFFER_STATUS_WITHDRAWN, v1::OFFER_STATUS_EXPIRED,
                   v1::OFFER_STATUS_TRANSFERRED}) {
    for (const DealNews& news : {Opened(), Cancelled(), licence, assignment}) {
      for (int open_deals : {0, 1, 2}) {
        EXPECT_EQ(After(status, news, open_deals), kNone)
            << v1::OfferStatus_Name(status) << " " << open_deals;
      }
    }
  }
}

TEST(ListingRecordsTest, EachChangeOfAnOfferByItsDealsNamesTheDeal) {
  std::optional<OfferChange> started =
      FollowDeal(OfferIn(v1::OFFER_STATUS_PUBLISHED), Opened(), 1, kLater);
  ASSERT_TRUE(started.has_value());
  auto* s = dynamic_cast<v1::OfferNegotiationStarted*>(started->event.get());
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->deal_id(), "deal-1");
  EXPECT_EQ(s->offer().SerializeAsString(), started->listing.SerializeAsString());

  std::optional<OfferChange> ended = FollowDeal(started->listing, Cancelled(), 0, kLater);
  ASSERT_TRUE(ended.has_value());
  auto* e = dynamic_cast<v1::OfferNegotiationEnded*>(ended->event.get());
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->deal_id(), "deal-1");
  EXPECT_EQ(e->offer().version(), 4);

  std::optional<OfferChange> transferred =
      FollowDeal(started->listing, Completed(v1::TRANSFER_MODE_EQUITY), 0, kLater);
  ASSERT_TRUE(transferred.has_value());
  auto* t = dynamic_cast<v1::OfferTransferred*>(transferred->event.get());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->deal_id(), "deal-1");
  EXPECT_EQ(t->offer().status(), v1::OFFER_STATUS_TRANSFERRED);
}

TEST(ListingRecordsTest, ACompletedDealFulfilsAPublishedDemandOnce) {
  v1::Demand demand;
  demand.set_id("demand-1");
  demand.set_status(v1::DEMAND_STATUS_PUBLISHED);
  demand.set_version(2);
  std::optional<DemandChange> c =
      FollowDeal(demand, Completed(v1::TRANSFER_MODE_TECHNICAL_SERVICE), kLater);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->listing.status(), v1::DEMAND_STATUS_FULFILLED);
  EXPECT_EQ(c->listing.version(), 3);
  auto* event = dynamic_cast<v1::DemandFulfilled*>(c->event.get());
  ASSERT_NE(event, nullptr);
  EXPECT_EQ(event->deal_id(), "deal-1");
  EXPECT_EQ(event->demand().status(), v1::DEMAND_STATUS_FULFILLED);
  EXPECT_FALSE(FollowDeal(c->listing, Completed(v1::TRANSFER_MODE_ASSIGNMENT), kLater).has_value());
  EXPECT_FALSE(FollowDeal(demand, Opened(), kLater).has_value());
  EXPECT_FALSE(FollowDeal(demand, Cancelled(), kLater).has_value());
  for (v1::DemandStatus status : {v1::DEMAND_STATUS_DRAFT, v1::DEMAND_STATUS_WITHDRAWN}) {
    demand.set_status(status);
    EXPECT_FALSE(FollowDeal(demand, Completed(v1::TRANSFER_MODE_ASSIGNMENT), kLater).has_value());
  }
  // A deal opened before the demand's deadline and completed after it still fulfils it.
  demand.set_status(v1::DEMAND_STATUS_EXPIRED);
  std::optional<DemandChange> late =
      FollowDeal(demand, Completed(v1::TRANSFER_MODE_ASSIGNMENT), kLater);
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->listing.status(), v1::DEMAND_STATUS_FULFILLED);
}

v1::Demand DemandDue(v1::DemandStatus status, absl::Time deadline) {
  v1::Demand demand;
  demand.set_id("demand-1");
  demand.set_status(status);
  demand.set_version(4);
  *demand.mutable_deadline() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(deadline));
  return demand;
}

TEST(ListingRecordsTest, APublishedDemandExpiresAtItsDeadlineOnce) {
  std::optional<DemandChange> c =
      ExpireListing(DemandDue(v1::DEMAND_STATUS_PUBLISHED, kLater), kLater);  // at the deadline
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->listing.status(), v1::DEMAND_STATUS_EXPIRED);
  EXPECT_EQ(c->listing.version(), 5);
  EXPECT_EQ(Micros(c->listing.update_time()), absl::ToUnixMicros(kLater));
  auto* event = dynamic_cast<v1::DemandExpired*>(c->event.get());
  ASSERT_NE(event, nullptr);
  EXPECT_EQ(event->demand().status(), v1::DEMAND_STATUS_EXPIRED);
  EXPECT_EQ(event->demand().version(), 5);
  // A second sweep finds it expired already.
  EXPECT_FALSE(ExpireListing(c->listing, kLater + absl::Hours(1)).has_value());
}

TEST(ListingRecordsTest, OnlyAPublishedDemandPastItsDeadlineExpires) {
  // A microsecond before its deadline it is still on the market.
  EXPECT_FALSE(
      ExpireListing(DemandDue(v1::DEMAND_STATUS_PUBLISHED, kLater), kLater - absl::Microseconds(1))
          .has_value());
  v1::Demand without_deadline = DemandDue(v1::DEMAND_STATUS_PUBLISHED, kNow);
  without_deadline.clear_deadline();
  EXPECT_FALSE(ExpireListing(without_deadline, kLater).has_value());
  for (v1::DemandStatus status : {v1::DEMAND_STATUS_DRAFT, v1::DEMAND_STATUS_WITHDRAWN,
                                  v1::DEMAND_STATUS_FULFILLED, v1::DEMAND_STATUS_EXPIRED}) {
    EXPECT_FALSE(ExpireListing(DemandDue(status, kNow), kLater).has_value())
        << v1::DemandStatus_Name(status);
  }
}

TEST(ListingRecordsTest, ADemandPastItsDeadlineIsNotPublishedUntilItHasANewOne) {
  const reg::Organization owner = Owner(reg::ORGANIZATION_STATUS_VERIFIED);
  absl::StatusOr<DemandChange> late =
      PublishListing(DemandDue(v1::DEMAND_STATUS_EXPIRED, kNow), owner, kLater);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(late.status().message()), ::testing::StartsWith("deadline:"));
  // The status rule is named first: a published demand is refused as published.
  absl::StatusOr<DemandChange> again =
      PublishListing(DemandDue(v1::DEMAND_STATUS_PUBLISHED, kNow), owner, kLater);
  EXPECT_THAT(std::string(again.status().message()),
              ::testing::HasSubstr("DEMAND_STATUS_PUBLISHED"));
  absl::StatusOr<DemandChange> renewed =
      PublishListing(DemandDue(v1::DEMAND_STATUS_EXPIRED, kLater + absl::Hours(24)), owner, kLater);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(renewed->listing.status(), v1::DEMAND_STATUS_PUBLISHED);
}

TEST(ListingRecordsTest, VisibilityFollowsOnlyNewerRegistryEvents) {
  std::optional<VisibilityChange> hidden = ChangeVisibility(std::nullopt, "org-1", true, 7);
  ASSERT_TRUE(hidden.has_value());
  EXPECT_TRUE(hidden->visibility.hidden);
  EXPECT_EQ(hidden->visibility.registry_sequence, 7);
  EXPECT_EQ(hidden->visibility.version, 1);
  auto* event = dynamic_cast<v1::OrganizationListingsHidden*>(hidden->event.get());
  ASSERT_NE(event, nullptr);
  EXPECT_EQ(event->organization_id(), "org-1");
  EXPECT_EQ(event->registry_sequence(), 7);

  EXPECT_FALSE(ChangeVisibility(hidden->visibility, "org-1", false, 7).has_value());
  EXPECT_FALSE(ChangeVisibility(hidden->visibility, "org-1", false, 6).has_value());
  std::optional<VisibilityChange> shown = ChangeVisibility(hidden->visibility, "org-1", false, 8);
  ASSERT_TRUE(shown.has_value());
  EXPECT_FALSE(shown->visibility.hidden);
  EXPECT_EQ(shown->visibility.version, 2);
  ASSERT_NE(dynamic_cast<v1::OrganizationListingsShown*>(shown->event.get()), nullptr);
}

}  // namespace
}  // namespace techtrade::listings
