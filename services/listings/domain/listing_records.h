// What each command makes of an offer or a demand, pure and without I/O: the record a create
// builds, the record after an update, publication, withdrawal or transfer, and the event that
// announces it. A change takes the listing's next version, which is its event's sequence
// (docs/events.md). A change the status machine (rules.h) forbids is FAILED_PRECONDITION and
// builds nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "services/listings/domain/rules.h"
#include "techtrade/common/v1/common.pb.h"
#include "techtrade/listings/v1/listings.pb.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::listings {

// A listing after a change, and the event that publishes it at sequence listing.version().
template <class Record>
struct ListingChange {
  Record listing;
  std::unique_ptr<google::protobuf::Message> event;
};
using OfferChange = ListingChange<v1::Offer>;
using DemandChange = ListingChange<v1::Demand>;

// A new DRAFT of `owner_org_id` in `city_id` (the owner's city), visible, version 1, created
// `now`; its event is OfferCreated / DemandCreated. `draft` is validated and normalised.
OfferChange CreateListing(std::string id, const std::string& owner_org_id,
                          const std::string& city_id, const v1::OfferDraft& draft, absl::Time now);
DemandChange CreateListing(std::string id, const std::string& seeker_org_id,
                           const std::string& city_id, const v1::DemandDraft& draft,
                           absl::Time now);

// The listing with the draft's content in place of its own, status kept.
absl::StatusOr<OfferChange> UpdateListing(v1::Offer current, const v1::OfferDraft& draft,
                                          absl::Time now);
absl::StatusOr<DemandChange> UpdateListing(v1::Demand current, const v1::DemandDraft& draft,
                                           absl::Time now);

// FAILED_PRECONDITION unless `owner` (as the registry has it now) is VERIFIED.
absl::Status RequirePublishable(const techtrade::registry::v1::Organization& owner);

// PUBLISHED as of `now`, by a publishable `owner`; a demand whose deadline has passed is
// FAILED_PRECONDITION naming the deadline.
absl::StatusOr<OfferChange> PublishListing(v1::Offer current,
                                           const techtrade::registry::v1::Organization& owner,
                                           absl::Time now);
absl::StatusOr<DemandChange> PublishListing(v1::Demand current,
                                            const techtrade::registry::v1::Organization& owner,
                                            absl::Time now);

// A published demand whose deadline is at or before `now` is EXPIRED (DemandExpired); nullopt
// for one without a deadline, one whose deadline is still ahead, or one no longer published.
// (Offers carry no deadline.)
std::optional<DemandChange> ExpireListing(v1::Demand current, absl::Time now);

// WITHDRAWN; the event carries `reason`.
absl::StatusOr<OfferChange> WithdrawListing(v1::Offer current, const std::string& reason,
                                            absl::Time now);
absl::StatusOr<DemandChange> WithdrawListing(v1::Demand current, const std::string& reason,
                                             absl::Time now);

// What a transactions event tells the listing its deal is on.
struct DealNews {
  std::string deal_id;
  int64_t deal_version = 0;
  std::string listing_id;
  v1::ListingKind listing_kind = v1::LISTING_KIND_UNSPECIFIED;
  bool open = false;       // the deal goes on after this event
  bool completed = false;  // this event completed it
  // The transfer mode of its agreed terms; UNSPECIFIED before both parties agreed.
  v1::TransferMode mode = v1::TRANSFER_MODE_UNSPECIFIED;
};

// The news in DealOpened (open), DealCompleted, DealCancelled and DisputeResolved by cancelling
// (ended); nullopt for every other event, which leaves a deal's openness as it was.
std::optional<DealNews> DealNewsOf(const techtrade::common::v1::EventEnvelope& event);
// The full names of the event types DealNewsOf reads, which the listings' consumer subscribes to.
const std::vector<std::string>& DealEventsListingsFollow();

// Whether a deal completed under `mode` takes its offer off the market: an assignment, an
// exclusive licence or a contribution for equity do; a non-exclusive licence, joint development
// or a technical service leave it for the next buyer.
bool TakesOfferOffMarket(v1::TransferMode mode);

// The offer after `news` of one of its deals, with `open_deals` of its deals open once the news
// is recorded: a completion that takes it off the market transfers it (TRANSFERRED, final,
// OfferTransferred); otherwise a deal opening on a published offer puts it UNDER_NEGOTIATION
// (OfferNegotiationStarted), and a deal ending with none left open puts one under negotiation
// back to PUBLISHED (OfferNegotiationEnded). (A deal that ends never starts a negotiation: an
// offer republished while other deals were open waits for the next deal to open.) nullopt when its
// status does not change, also when it is past that (withdrawn or transferred meanwhile): the deal
// stands and the listing stays as it is.
std::optional<OfferChange> FollowDeal(v1::Offer current, const DealNews& news, int open_deals,
                                      absl::Time now);
// A published demand whose deal completed is FULFILLED (final, DemandFulfilled), and so is an
// expired one (its deal opened before the deadline); nullopt for any other news or status.
std::optional<DemandChange> FollowDeal(v1::Demand current, const DealNews& news, absl::Time now);

// Whether an organisation's listings are hidden because the registry suspended it.
struct Visibility {
  bool hidden = false;
  int64_t registry_sequence = 0;  // of the registry event that set it
  int64_t version = 0;            // of this record: the sequence of its own events
};

struct VisibilityChange {
  Visibility visibility;
  // OrganizationListingsHidden or OrganizationListingsShown, at sequence visibility.version.
  std::unique_ptr<google::protobuf::Message> event;
};

// The effect of the registry's suspension (`hidden`) or reinstatement of `organization_id`,
// told by its event at `registry_sequence`. nullopt for an event older than, or the same as,
// the one already applied to `current`.
std::optional<VisibilityChange> ChangeVisibility(const std::optional<Visibility>& current,
                                                 const std::string& organization_id, bool hidden,
                                                 int64_t registry_sequence);

}  // namespace techtrade::listings
