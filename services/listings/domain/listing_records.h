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

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "services/listings/domain/rules.h"
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

// PUBLISHED as of `now`, by a publishable `owner`.
absl::StatusOr<OfferChange> PublishListing(v1::Offer current,
                                           const techtrade::registry::v1::Organization& owner,
                                           absl::Time now);
absl::StatusOr<DemandChange> PublishListing(v1::Demand current,
                                            const techtrade::registry::v1::Organization& owner,
                                            absl::Time now);

// WITHDRAWN; the event carries `reason`.
absl::StatusOr<OfferChange> WithdrawListing(v1::Offer current, const std::string& reason,
                                            absl::Time now);
absl::StatusOr<DemandChange> WithdrawListing(v1::Demand current, const std::string& reason,
                                             absl::Time now);

// The offer a completed deal transfers: the deal's listing if it is an offer sold by assignment
// under the agreed terms; nullopt for any other deal.
std::optional<std::string> OfferTransferredBy(const techtrade::transactions::v1::Deal& deal);

// TRANSFERRED (final) by deal `deal_id`. nullopt when the offer is past that (already
// transferred, or withdrawn meanwhile): the deal stands and the listing stays as it is.
std::optional<OfferChange> TransferOffer(v1::Offer current, const std::string& deal_id,
                                         absl::Time now);

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
