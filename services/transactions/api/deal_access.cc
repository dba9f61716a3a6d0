#include "services/transactions/api/deal_access.h"

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/status.h"
#include "common/topics.h"

namespace techtrade::transactions {

namespace reg = techtrade::registry::v1;

absl::Status ActsFor(const CallContext& call, const v1::Party& party, absl::string_view role) {
  if (IsOperator(call.caller)) return absl::OkStatus();
  if (call.caller.role() == reg::API_CLIENT_ROLE_CITY_SYSTEM && !call.caller.city_id().empty() &&
      call.caller.city_id() == party.city_id()) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat("this API client may not act as the ", role, " (",
                                                  party.name(), ", pilot city '", party.city_id(),
                                                  "')"));
}

v1::Party AsParty(const techtrade::registry::v1::Organization& org) {
  v1::Party party;
  party.set_organization_id(org.id());
  party.set_credit_code(org.credit_code());
  party.set_name(org.name());
  party.set_city_id(org.city_id());
  party.set_kind(org.kind());
  return party;
}

const v1::Party& PartyOf(const v1::Deal& deal, v1::PartyRole role) {
  return role == v1::PARTY_ROLE_BUYER ? deal.buyer() : deal.seller();
}

absl::string_view RoleName(v1::PartyRole role) {
  switch (role) {
    case v1::PARTY_ROLE_BUYER:
      return "buyer";
    case v1::PARTY_ROLE_SELLER:
      return "seller";
    default:
      return "operator";
  }
}

absl::Status MayReadDeal(const CallContext& call, const v1::Deal& deal) {
  TT_ASSIGN_OR_RETURN(const std::string city, CityScope(call.caller));
  if (city.empty()) return absl::OkStatus();
  if (city == deal.city_id() || city == deal.buyer().city_id() || city == deal.seller().city_id() ||
      (deal.has_broker() && city == deal.broker().city_id())) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError("this deal involves no organisation of the caller's city");
}

namespace {

constexpr char kProducer[] = "transactions";

// The deal as its events' aggregate: its audit records are in the scope of every city it
// involves (as MayReadDeal sees it).
AggregateRef DealAggregate(const v1::Deal& deal) {
  AggregateRef ref{"deal", deal.id()};
  // The partner that settles the deal reads its audit records and receives its events on its
  // own stream, besides the platform's topic.
  ref.partner_id = deal.finance_partner_id();
  if (!deal.finance_partner_id().empty()) {
    ref.also_topic = PartnerDealsTopic(deal.finance_partner_id());
  }
  for (const std::string* city : {&deal.city_id(), &deal.buyer().city_id(),
                                  &deal.seller().city_id(), &deal.broker().city_id()}) {
    if (!city->empty() && absl::c_find(ref.city_ids, *city) == ref.city_ids.end()) {
      ref.city_ids.push_back(*city);
    }
  }
  return ref;
}

}  // namespace

store::ChainHead EmitDealEvents(UnitOfWork& work, const EventCause& cause, const Transition& t,
                                const store::ChainHead& read) {
  AggregateRef ref = DealAggregate(t.deal);
  ref.chained = true;
  ref.previous_event_hash = read.hash;
  const std::vector<int64_t> sequences = t.sequences();
  std::string head = techtrade::EmitAll(work, kProducer, cause, ref, t.events, sequences);
  if (sequences.empty()) return read;
  // A deal opened before events were chained starts its chain here.
  return {std::move(head), read.first_sequence != 0 ? read.first_sequence : sequences.front()};
}

absl::Status ActsForParty(const CallContext& call, const v1::Deal& deal, v1::PartyRole role) {
  absl::Status as_party = ActsFor(call, PartyOf(deal, role), RoleName(role));
  if (as_party.ok() || !BrokerActsFor(deal, role)) return as_party;
  if (ActsFor(call, deal.broker(), "broker").ok()) return absl::OkStatus();
  return as_party;
}

absl::Status DecidesRegistration(const CallContext& call, const v1::Deal& deal) {
  if (IsOperator(call.caller)) return absl::OkStatus();
  // The seller's city decides; a deal not signed yet has no registration record to name it.
  const std::string& city = deal.registration().city_id().empty() ? deal.seller().city_id()
                                                                  : deal.registration().city_id();
  if (call.caller.role() == reg::API_CLIENT_ROLE_REGISTRATION_BODY && !city.empty() &&
      call.caller.city_id() == city) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat("only the registration body of pilot city '",
                                                  city,
                                                  "' (or an operator) decides this "
                                                  "contract's registration"));
}

}  // namespace techtrade::transactions
