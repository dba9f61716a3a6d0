#include "services/listings/domain/listing_records.h"

#include <google/protobuf/util/time_util.h>

#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace techtrade::listings {
namespace {

using google::protobuf::util::TimeUtil;
namespace reg = techtrade::registry::v1;

google::protobuf::Timestamp At(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

void ApplyDraft(v1::Offer& r, const v1::OfferDraft& d) {
  r.set_title(d.title());
  r.set_abstract(d.abstract());
  *r.mutable_ipc_codes() = d.ipc_codes();
  *r.mutable_fields() = d.fields();
  r.set_readiness_level(d.readiness_level());
  *r.mutable_ip_assets() = d.ip_assets();
  *r.mutable_transfer_modes() = d.transfer_modes();
  if (d.has_asking_price()) {
    *r.mutable_asking_price() = d.asking_price();
  } else {
    r.clear_asking_price();
  }
  r.set_negotiable(d.negotiable());
}

void ApplyDraft(v1::Demand& r, const v1::DemandDraft& d) {
  r.set_title(d.title());
  r.set_problem(d.problem());
  *r.mutable_ipc_codes() = d.ipc_codes();
  *r.mutable_fields() = d.fields();
  r.set_min_readiness_level(d.min_readiness_level());
  r.clear_budget_min();
  r.clear_budget_max();
  if (d.has_budget_min()) *r.mutable_budget_min() = d.budget_min();
  if (d.has_budget_max()) *r.mutable_budget_max() = d.budget_max();
  *r.mutable_transfer_modes() = d.transfer_modes();
  r.clear_deadline();
  if (d.has_deadline()) *r.mutable_deadline() = d.deadline();
  r.clear_challenge();
  if (d.has_challenge()) *r.mutable_challenge() = d.challenge();
}

void SetOwner(v1::Offer& r, const std::string& owner) { r.set_owner_org_id(owner); }
void SetOwner(v1::Demand& r, const std::string& owner) { r.set_seeker_org_id(owner); }

absl::Status Advance(v1::Offer& r, ListingAction action) {
  TT_ASSIGN_OR_RETURN(v1::OfferStatus next, NextOfferStatus(r.status(), action));
  r.set_status(next);
  return absl::OkStatus();
}
absl::Status Advance(v1::Demand& r, ListingAction action) {
  TT_ASSIGN_OR_RETURN(v1::DemandStatus next, NextDemandStatus(r.status(), action));
  r.set_status(next);
  return absl::OkStatus();
}

// The event types of one kind of listing.
template <class Record>
struct EventsOf;
template <>
struct EventsOf<v1::Offer> {
  using Created = v1::OfferCreated;
  using Updated = v1::OfferUpdated;
  using Published = v1::OfferPublished;
  using Withdrawn = v1::OfferWithdrawn;
  static void Fill(auto& event, const v1::Offer& r) { *event.mutable_offer() = r; }
};
template <>
struct EventsOf<v1::Demand> {
  using Created = v1::DemandCreated;
  using Updated = v1::DemandUpdated;
  using Published = v1::DemandPublished;
  using Withdrawn = v1::DemandWithdrawn;
  static void Fill(auto& event, const v1::Demand& r) { *event.mutable_demand() = r; }
};

// `listing` as the event of type Event carries it.
template <class Event, class Record>
ListingChange<Record> Announce(Record listing, const std::string& reason = "") {
  auto event = std::make_unique<Event>();
  EventsOf<Record>::Fill(*event, listing);
  if constexpr (std::is_same_v<Event, typename EventsOf<Record>::Withdrawn>) {
    event->set_reason(reason);
  }
  return {std::move(listing), std::move(event)};
}

template <class Record, class Draft>
ListingChange<Record> Create(std::string id, const std::string& owner, const std::string& city_id,
                             const Draft& draft, absl::Time now) {
  Record r;
  r.set_id(std::move(id));
  SetOwner(r, owner);
  r.set_city_id(city_id);
  ApplyDraft(r, draft);
  // Both kinds start as DRAFT (value 1).
  static_assert(static_cast<int>(v1::OFFER_STATUS_DRAFT) ==
                static_cast<int>(v1::DEMAND_STATUS_DRAFT));
  r.set_status(static_cast<decltype(r.status())>(v1::OFFER_STATUS_DRAFT));
  r.set_visible(true);
  r.set_version(1);
  *r.mutable_create_time() = At(now);
  *r.mutable_update_time() = r.create_time();
  return Announce<typename EventsOf<Record>::Created>(std::move(r));
}

// A change made by a caller: the next version, updated now, and visible again (visibility is
// each replica's to say when it reads, see ReadModel::IsHidden).
template <class Record>
void Touch(Record& r, absl::Time now) {
  r.set_version(r.version() + 1);
  *r.mutable_update_time() = At(now);
  r.set_visible(true);
}

template <class Record, class Draft>
absl::StatusOr<ListingChange<Record>> Update(Record r, const Draft& draft, absl::Time now) {
  TT_RETURN_IF_ERROR(Advance(r, ListingAction::kUpdate));
  ApplyDraft(r, draft);
  Touch(r, now);
  return Announce<typename EventsOf<Record>::Updated>(std::move(r));
}

template <class Record>
absl::StatusOr<ListingChange<Record>> Publish(Record r, const reg::Organization& owner,
                                              absl::Time now) {
  TT_RETURN_IF_ERROR(Advance(r, ListingAction::kPublish));
  TT_RETURN_IF_ERROR(RequirePublishable(owner));
  *r.mutable_publish_time() = At(now);
  Touch(r, now);
  return Announce<typename EventsOf<Record>::Published>(std::move(r));
}

template <class Record>
absl::StatusOr<ListingChange<Record>> Withdraw(Record r, const std::string& reason,
                                               absl::Time now) {
  TT_RETURN_IF_ERROR(Advance(r, ListingAction::kWithdraw));
  Touch(r, now);
  return Announce<typename EventsOf<Record>::Withdrawn>(std::move(r), reason);
}

}  // namespace

OfferChange CreateListing(std::string id, const std::string& owner_org_id,
                          const std::string& city_id, const v1::OfferDraft& draft, absl::Time now) {
  return Create<v1::Offer>(std::move(id), owner_org_id, city_id, draft, now);
}
DemandChange CreateListing(std::string id, const std::string& seeker_org_id,
                           const std::string& city_id, const v1::DemandDraft& draft,
                           absl::Time now) {
  return Create<v1::Demand>(std::move(id), seeker_org_id, city_id, draft, now);
}

absl::StatusOr<OfferChange> UpdateListing(v1::Offer current, const v1::OfferDraft& draft,
                                          absl::Time now) {
  return Update(std::move(current), draft, now);
}
absl::StatusOr<DemandChange> UpdateListing(v1::Demand current, const v1::DemandDraft& draft,
                                           absl::Time now) {
  return Update(std::move(current), draft, now);
}

absl::Status RequirePublishable(const reg::Organization& owner) {
  if (owner.status() == reg::ORGANIZATION_STATUS_VERIFIED) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "organisation ", owner.id(), " is ", reg::OrganizationStatus_Name(owner.status()),
      ": only a verified organisation's listings can be published"));
}

absl::StatusOr<OfferChange> PublishListing(v1::Offer current, const reg::Organization& owner,
                                           absl::Time now) {
  return Publish(std::move(current), owner, now);
}
absl::StatusOr<DemandChange> PublishListing(v1::Demand current, const reg::Organization& owner,
                                            absl::Time now) {
  TT_RETURN_IF_ERROR(NextDemandStatus(current.status(), ListingAction::kPublish).status());
  // Published past its deadline, it would expire at the next sweep.
  if (current.has_deadline() &&
      TimeUtil::TimestampToMicroseconds(current.deadline()) <= absl::ToUnixMicros(now)) {
    return absl::FailedPreconditionError(
        "deadline: the demand's deadline has passed; give it a new one before publishing");
  }
  return Publish(std::move(current), owner, now);
}

std::optional<DemandChange> ExpireListing(v1::Demand current, absl::Time now) {
  if (!current.has_deadline() ||
      TimeUtil::TimestampToMicroseconds(current.deadline()) > absl::ToUnixMicros(now) ||
      !Advance(current, ListingAction::kExpire).ok()) {
    return std::nullopt;
  }
  current.set_version(current.version() + 1);
  *current.mutable_update_time() = At(now);
  auto event = std::make_unique<v1::DemandExpired>();
  *event->mutable_demand() = current;
  return DemandChange{std::move(current), std::move(event)};
}

absl::StatusOr<OfferChange> WithdrawListing(v1::Offer current, const std::string& reason,
                                            absl::Time now) {
  return Withdraw(std::move(current), reason, now);
}
absl::StatusOr<DemandChange> WithdrawListing(v1::Demand current, const std::string& reason,
                                             absl::Time now) {
  return Withdraw(std::move(current), reason, now);
}

std::optional<DealNews> DealNewsOf(const techtrade::common::v1::EventEnvelope& event) {
  namespace tv1 = techtrade::transactions::v1;
  const google::protobuf::Any& payload = event.payload();
  const tv1::Deal* deal = nullptr;
  DealNews news;
  tv1::DealOpened opened;
  tv1::DealCompleted completed;
  tv1::DealCancelled cancelled;
  tv1::DisputeResolved resolved;
  if (payload.UnpackTo(&opened)) {
    deal = &opened.deal();
    news.open = true;
  } else if (payload.UnpackTo(&completed)) {
    deal = &completed.deal();
    news.completed = true;
  } else if (payload.UnpackTo(&cancelled)) {
    deal = &cancelled.deal();
  } else if (payload.UnpackTo(&resolved) && resolved.cancelled()) {
    deal = &resolved.deal();
  } else {
    return std::nullopt;
  }
  news.deal_id = deal->id();
  news.deal_version = deal->version();
  news.listing_id = deal->listing_id();
  news.listing_kind = deal->listing_kind();
  const int64_t agreed = deal->agreed_terms_version();
  if (agreed >= 1 && agreed <= deal->terms_size()) {
    news.mode = deal->terms(static_cast<int>(agreed - 1)).transfer_mode();
  }
  return news;
}

const std::vector<std::string>& DealEventsListingsFollow() {
  namespace tv1 = techtrade::transactions::v1;
  static const auto* const kTypes = new std::vector<std::string>{
      tv1::DealOpened::descriptor()->full_name(), tv1::DealCompleted::descriptor()->full_name(),
      tv1::DealCancelled::descriptor()->full_name(),
      tv1::DisputeResolved::descriptor()->full_name()};
  return *kTypes;
}

bool TakesOfferOffMarket(v1::TransferMode mode) {
  return mode == v1::TRANSFER_MODE_ASSIGNMENT || mode == v1::TRANSFER_MODE_EXCLUSIVE_LICENSE ||
         mode == v1::TRANSFER_MODE_EQUITY;
}

std::optional<OfferChange> FollowDeal(v1::Offer current, const DealNews& news, int open_deals,
                                      absl::Time now) {
  ListingAction action;
  std::unique_ptr<google::protobuf::Message> event;
  if (news.completed && TakesOfferOffMarket(news.mode)) {
    action = ListingAction::kTransfer;
  } else if (news.open && open_deals > 0 && current.status() == v1::OFFER_STATUS_PUBLISHED) {
    action = ListingAction::kStartNegotiation;
  } else if (!news.open && open_deals == 0 &&
             current.status() == v1::OFFER_STATUS_UNDER_NEGOTIATION) {
    action = ListingAction::kEndNegotiation;
  } else {
    return std::nullopt;
  }
  if (!Advance(current, action).ok()) return std::nullopt;
  // Not Touch: a deal's progress is not a caller's change, and leaves `visible` as it was stored.
  current.set_version(current.version() + 1);
  *current.mutable_update_time() = At(now);
  auto with_offer = [&](auto message) {
    *message->mutable_offer() = current;
    message->set_deal_id(news.deal_id);
    event = std::move(message);
  };
  switch (action) {
    case ListingAction::kTransfer:
      with_offer(std::make_unique<v1::OfferTransferred>());
      break;
    case ListingAction::kStartNegotiation:
      with_offer(std::make_unique<v1::OfferNegotiationStarted>());
      break;
    default:
      with_offer(std::make_unique<v1::OfferNegotiationEnded>());
      break;
  }
  return OfferChange{std::move(current), std::move(event)};
}

std::optional<DemandChange> FollowDeal(v1::Demand current, const DealNews& news, absl::Time now) {
  if (!news.completed || !Advance(current, ListingAction::kTransfer).ok()) return std::nullopt;
  current.set_version(current.version() + 1);
  *current.mutable_update_time() = At(now);
  auto event = std::make_unique<v1::DemandFulfilled>();
  *event->mutable_demand() = current;
  event->set_deal_id(news.deal_id);
  return DemandChange{std::move(current), std::move(event)};
}

std::optional<VisibilityChange> ChangeVisibility(const std::optional<Visibility>& current,
                                                 const std::string& organization_id, bool hidden,
                                                 int64_t registry_sequence) {
  if (current && current->registry_sequence >= registry_sequence) return std::nullopt;
  VisibilityChange change{{hidden, registry_sequence, current ? current->version + 1 : 1}, nullptr};
  if (hidden) {
    auto event = std::make_unique<v1::OrganizationListingsHidden>();
    event->set_organization_id(organization_id);
    event->set_registry_sequence(registry_sequence);
    change.event = std::move(event);
  } else {
    auto event = std::make_unique<v1::OrganizationListingsShown>();
    event->set_organization_id(organization_id);
    event->set_registry_sequence(registry_sequence);
    change.event = std::move(event);
  }
  return change;
}

}  // namespace techtrade::listings
