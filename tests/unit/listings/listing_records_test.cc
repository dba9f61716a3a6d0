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
  deal.set_listing_id("offer-1");
  deal.set_listing_kind(kind);
  deal.add_terms()->set_transfer_mode(v1::TRANSFER_MODE_EXCLUSIVE_LICENSE);
  deal.add_terms()->set_transfer_mode(agreed_mode);
  deal.set_agreed_terms_version(agreed_version);
  return deal;
}

TEST(ListingRecordsTest, OnlyAnAgreedAssignmentOfAnOfferTransfersIt) {
  EXPECT_EQ(OfferTransferredBy(Deal(v1::LISTING_KIND_OFFER, v1::TRANSFER_MODE_ASSIGNMENT, 2)),
            "offer-1");
  EXPECT_EQ(OfferTransferredBy(Deal(v1::LISTING_KIND_OFFER, v1::TRANSFER_MODE_ASSIGNMENT, 1)),
            std::nullopt);
  EXPECT_EQ(OfferTransferredBy(Deal(v1::LISTING_KIND_DEMAND, v1::TRANSFER_MODE_ASSIGNMENT, 2)),
            std::nullopt);
  EXPECT_EQ(OfferTransferredBy(Deal(v1::LISTING_KIND_OFFER, v1::TRANSFER_MODE_ASSIGNMENT, 3)),
            std::nullopt);
  EXPECT_EQ(OfferTransferredBy(Deal(v1::LISTING_KIND_OFFER, v1::TRANSFER_MODE_ASSIGNMENT, 0)),
            std::nullopt);
}

TEST(ListingRecordsTest, ATransferIsFinalAndKeepsVisibilityAsStored) {
  v1::Offer published =
      PublishListing(Draft(), Owner(reg::ORGANIZATION_STATUS_VERIFIED), kNow)->listing;
  published.set_visible(false);
  std::optional<OfferChange> c = TransferOffer(published, "deal-1", kLater);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->listing.status(), v1::OFFER_STATUS_TRANSFERRED);
  EXPECT_EQ(c->listing.version(), 3);
  EXPECT_FALSE(c->listing.visible());
  auto* event = dynamic_cast<v1::OfferTransferred*>(c->event.get());
  ASSERT_NE(event, nullptr);
  EXPECT_EQ(event->deal_id(), "deal-1");
  EXPECT_FALSE(TransferOffer(c->listing, "deal-2", kLater).has_value());
  EXPECT_FALSE(TransferOffer(Draft(), "deal-1", kLater).has_value());
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
