// The event envelope decoder: a Kafka record's value decoded as the consumers decode it
// (common/inbox.cc: an EventEnvelope with an event id, else unreadable), its payload resolved from
// the type URL to the generated message and unpacked, then handed to the pure consumers of
// events: the listings read model (as its follower applies events, then searched and matched
// against), the registry-event checks of listings and fund, and the fund's reading of a deal
// snapshot from any transactions event.
#include <cstdint>
#include <memory>
#include <string>

#include "google/protobuf/any.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/stubs/logging.h"
#include "services/fund/domain/application_transition.h"
#include "services/fund/domain/fund_rules.h"
#include "services/listings/domain/read_model.h"
#include "techtrade/common/v1/common.pb.h"
#include "techtrade/listings/v1/listings.pb.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"
#include "tests/fuzz/listing_samples.h"

namespace {

namespace pb = google::protobuf;
namespace lv1 = techtrade::listings::v1;

// The dispatch of services/listings/api/read_model_follower.cc (ReadModelFollower::ApplyEvent),
// over the domain's read model.
void ApplyToReadModel(techtrade::listings::ReadModel& model,
                      const techtrade::common::v1::EventEnvelope& event) {
  const pb::Any& payload = event.payload();
  std::optional<lv1::Offer> offer;
  std::optional<lv1::Demand> demand;
  if (lv1::OfferCreated e; payload.UnpackTo(&e)) offer = e.offer();
  if (lv1::OfferUpdated e; payload.UnpackTo(&e)) offer = e.offer();
  if (lv1::OfferPublished e; payload.UnpackTo(&e)) offer = e.offer();
  if (lv1::OfferWithdrawn e; payload.UnpackTo(&e)) offer = e.offer();
  if (lv1::OfferTransferred e; payload.UnpackTo(&e)) offer = e.offer();
  if (lv1::OfferNegotiationStarted e; payload.UnpackTo(&e)) offer = e.offer();
  if (lv1::OfferNegotiationEnded e; payload.UnpackTo(&e)) offer = e.offer();
  if (lv1::DemandCreated e; payload.UnpackTo(&e)) demand = e.demand();
  if (lv1::DemandUpdated e; payload.UnpackTo(&e)) demand = e.demand();
  if (lv1::DemandPublished e; payload.UnpackTo(&e)) demand = e.demand();
  if (lv1::DemandWithdrawn e; payload.UnpackTo(&e)) demand = e.demand();
  if (lv1::DemandFulfilled e; payload.UnpackTo(&e)) demand = e.demand();
  if (lv1::DemandExpired e; payload.UnpackTo(&e)) demand = e.demand();
  if (lv1::OrganizationListingsHidden e; payload.UnpackTo(&e)) {
    model.SetOrganizationHidden(e.organization_id(), true, e.registry_sequence());
  }
  if (lv1::OrganizationListingsShown e; payload.UnpackTo(&e)) {
    model.SetOrganizationHidden(e.organization_id(), false, e.registry_sequence());
  }
  lv1::SearchRequest search;
  search.set_page_size(5);
  if (offer) {
    model.ApplyOffer(*offer);
    (void)model.MatchDemands(*offer, 5);
    search.set_kind(lv1::LISTING_KIND_OFFER);
    search.set_query(offer->title().substr(0, 200));
  }
  if (demand) {
    model.ApplyDemand(*demand);
    (void)model.MatchOffers(*demand, 5);
    search.set_kind(lv1::LISTING_KIND_DEMAND);
    search.set_query(demand->title().substr(0, 200));
  }
  if (offer || demand) (void)model.Search(search);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  pb::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  techtrade::common::v1::EventEnvelope event;
  if (!event.ParseFromArray(data, static_cast<int>(size)) || event.event_id().empty()) return 0;

  // What a generic reader (techtrade-events, the event contract) makes of the payload.
  std::string type_name;
  if (pb::Any::ParseAnyTypeUrl(event.payload().type_url(), &type_name)) {
    const pb::Descriptor* type =
        pb::DescriptorPool::generated_pool()->FindMessageTypeByName(type_name);
    if (type != nullptr) {
      std::unique_ptr<pb::Message> body(
          pb::MessageFactory::generated_factory()->GetPrototype(type)->New());
      if (event.payload().UnpackTo(body.get())) (void)body->ShortDebugString();
    }
  }

  techtrade::listings::ReadModel model;
  techtrade::fuzz::AddSamples(&model);
  ApplyToReadModel(model, event);

  // services/listings/api/listing_events.cc and services/fund/api/suspension.cc.
  (void)event.payload().Is<techtrade::registry::v1::OrganizationSuspended>();
  (void)event.payload().Is<techtrade::registry::v1::OrganizationReinstated>();

  // services/fund/api/fund_service.cc: every transactions event carries the deal as field 1.
  techtrade::transactions::v1::ContractSigned carrier;
  if (carrier.ParseFromString(event.payload().value()) && carrier.has_deal()) {
    const auto& deal = carrier.deal();
    (void)techtrade::fund::AgreedTerms(deal);
    if (techtrade::fund::SignedAndStanding(deal)) (void)techtrade::fund::SigningYear(deal);
    (void)techtrade::fund::CheckDealApplicable(deal);
  }
  return 0;
}
