#include "services/listings/api/listings_service.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/cache_keys.h"
#include "common/emit.h"
#include "common/idempotency.h"
#include "common/outbox.h"
#include "common/paging.h"
#include "common/status.h"
#include "common/trace.h"
#include "common/validation.h"
#include "services/listings/api/drafts.h"
#include "services/listings/domain/rules.h"
#include "services/listings/store/listings_store.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::listings {
namespace {

using google::protobuf::util::TimeUtil;
namespace reg = techtrade::registry::v1;

constexpr char kProducer[] = "listings";
constexpr int kDefaultMatchLimit = 10;

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

// The owner as the registry has it now (through the cache): an unknown id is the request's
// fault, a registry that cannot be reached is not.
absl::StatusOr<reg::Organization> LookUpOwner(RegistryClient& registry, const std::string& field,
                                              const std::string& org_id, const CallContext& call) {
  TT_RETURN_IF_ERROR(CheckUuid(field, org_id));
  return registry.GetReferencedOrganization(field, org_id, call.api_key);
}

absl::Status RequirePublishable(const reg::Organization& org) {
  if (org.status() == reg::ORGANIZATION_STATUS_VERIFIED) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("organisation ", org.id(), " is ", reg::OrganizationStatus_Name(org.status()),
                   ": only a verified organisation's listings can be published"));
}

// What differs between offers and demands.
struct OfferKind {
  using Record = v1::Offer;
  using Draft = v1::OfferDraft;
  using Created = v1::OfferCreated;
  using Updated = v1::OfferUpdated;
  using Published = v1::OfferPublished;
  using Withdrawn = v1::OfferWithdrawn;
  static constexpr const char* kName = "offer";
  static constexpr const char* kOwnerField = "owner_org_id";
  static const std::string& Owner(const Record& r) { return r.owner_org_id(); }
  static void SetOwner(Record& r, const std::string& owner) { r.set_owner_org_id(owner); }
  static absl::Status Validate(const Draft& d, absl::Time) {
    return ValidateOfferDraft(d, "offer.");
  }
  static Draft Normalize(Draft d) { return NormalizeOfferDraft(std::move(d)); }
  static void ApplyDraft(Record& r, const Draft& d) {
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
  static int Draftstatus() { return v1::OFFER_STATUS_DRAFT; }
  static absl::StatusOr<int> Next(int status, ListingAction action) {
    TT_ASSIGN_OR_RETURN(v1::OfferStatus next,
                        NextOfferStatus(static_cast<v1::OfferStatus>(status), action));
    return static_cast<int>(next);
  }
  static void SetStatus(Record& r, int s) { r.set_status(static_cast<v1::OfferStatus>(s)); }
  static absl::StatusOr<Record> Get(Tx& tx, const std::string& id, bool lock) {
    return store::GetOffer(tx, id, lock);
  }
  static void Insert(Tx& tx, const Record& r) { store::InsertOffer(tx, r); }
  static void Save(Tx& tx, const Record& r) { store::SaveOffer(tx, r); }
  static void Apply(ReadModel& m, const Record& r) { m.ApplyOffer(r); }
  template <class Event>
  static void Fill(Event& e, const Record& r) {
    *e.mutable_offer() = r;
  }
};

struct DemandKind {
  using Record = v1::Demand;
  using Draft = v1::DemandDraft;
  using Created = v1::DemandCreated;
  using Updated = v1::DemandUpdated;
  using Published = v1::DemandPublished;
  using Withdrawn = v1::DemandWithdrawn;
  static constexpr const char* kName = "demand";
  static constexpr const char* kOwnerField = "seeker_org_id";
  static const std::string& Owner(const Record& r) { return r.seeker_org_id(); }
  static void SetOwner(Record& r, const std::string& owner) { r.set_seeker_org_id(owner); }
  static absl::Status Validate(const Draft& d, absl::Time now) {
    return ValidateDemandDraft(d, "demand.", now);
  }
  static Draft Normalize(Draft d) { return NormalizeDemandDraft(std::move(d)); }
  static void ApplyDraft(Record& r, const Draft& d) {
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
  static int Draftstatus() { return v1::DEMAND_STATUS_DRAFT; }
  static absl::StatusOr<int> Next(int status, ListingAction action) {
    TT_ASSIGN_OR_RETURN(v1::DemandStatus next,
                        NextDemandStatus(static_cast<v1::DemandStatus>(status), action));
    return static_cast<int>(next);
  }
  static void SetStatus(Record& r, int s) { r.set_status(static_cast<v1::DemandStatus>(s)); }
  static absl::StatusOr<Record> Get(Tx& tx, const std::string& id, bool lock) {
    return store::GetDemand(tx, id, lock);
  }
  static void Insert(Tx& tx, const Record& r) { store::InsertDemand(tx, r); }
  static void Save(Tx& tx, const Record& r) { store::SaveDemand(tx, r); }
  static void Apply(ReadModel& m, const Record& r) { m.ApplyDemand(r); }
  template <class Event>
  static void Fill(Event& e, const Record& r) {
    *e.mutable_demand() = r;
  }
};

template <class Kind>
std::string CacheKey(absl::string_view id) {
  if constexpr (std::is_same_v<Kind, OfferKind>) {
    return OfferCacheKey(id);
  } else {
    return DemandCacheKey(id);
  }
}

}  // namespace

template <class Kind>
struct ListingsServiceImpl::Ops {
  using Record = typename Kind::Record;
  using Draft = typename Kind::Draft;

  // After a commit: this replica's read model and the cache see the change at once (the other
  // replicas through the event).
  static void AfterCommit(ListingsServiceImpl& s, Tx& tx, const Record& r) {
    tx.OnCommit([&s, r] {
      Kind::Apply(s.model_, r);
      s.cache_.Invalidate(CacheKey<Kind>(r.id()));
    });
  }

  template <class Request>
  static absl::Status Create(ListingsServiceImpl& s, const CallContext& call, const Request& req,
                             const std::string& owner_id, const Draft& raw, Record* response) {
    TT_RETURN_IF_ERROR(RequireWriter(call.caller));
    TT_RETURN_IF_ERROR(ValidateRequestId(req.request_id()));
    TT_RETURN_IF_ERROR(Kind::Validate(raw, absl::Now()));
    reg::Organization owner;
    auto check_owner = [&]() -> absl::Status {
      TT_ASSIGN_OR_RETURN(owner, LookUpOwner(s.registry_, Kind::kOwnerField, owner_id, call));
      TT_RETURN_IF_ERROR(RequireCityAccess(call.caller, owner.city_id()));
      if (owner.status() == reg::ORGANIZATION_STATUS_SUSPENDED) {
        return absl::FailedPreconditionError(
            absl::StrCat("organisation ", owner_id, " is suspended"));
      }
      return absl::OkStatus();
    };
    const Draft draft = Kind::Normalize(raw);
    TT_ASSIGN_OR_RETURN(
        *response,
        RunIdempotentAfterCheck<Record>(
            s.db_, IdempotencyKeyFor(call, req.request_id(), absl::StrCat("Create", Kind::kName)),
            req, check_owner, [&](Tx& tx) -> absl::StatusOr<Record> {
              Record r;
              r.set_id(NewUuid());
              Kind::SetOwner(r, owner_id);
              r.set_city_id(owner.city_id());
              Kind::ApplyDraft(r, draft);
              Kind::SetStatus(r, Kind::Draftstatus());
              r.set_visible(true);
              r.set_version(1);
              const int64_t now = NowMicros();
              *r.mutable_create_time() = TimeUtil::MicrosecondsToTimestamp(now);
              *r.mutable_update_time() = r.create_time();
              Kind::Insert(tx, r);
              typename Kind::Created event;
              Kind::Fill(event, r);
              Emit(tx, kProducer, EventCause::OfRequest(req.request_id(), call.traceparent),
                   {Kind::kName, r.id()}, r.version(), event);
              AfterCommit(s, tx, r);
              return r;
            }));
    return absl::OkStatus();
  }

  // Loads the listing under lock, checks the version and the caller's city, and lets `change`
  // produce the next state, which is saved with its Event.
  template <class Event, class Request, class Change>
  static absl::Status Mutate(ListingsServiceImpl& s, const CallContext& call, const Request& req,
                             const std::string& method, Change&& change, Record* response) {
    TT_RETURN_IF_ERROR(RequireWriter(call.caller));
    TT_RETURN_IF_ERROR(ValidateRequestId(req.request_id()));
    TT_RETURN_IF_ERROR(CheckUuid("id", req.id()));
    TT_RETURN_IF_ERROR(CheckExpectedVersion(req.expected_version()));
    TT_ASSIGN_OR_RETURN(
        *response,
        RunIdempotent<Record>(
            s.db_, IdempotencyKeyFor(call, req.request_id(), method), req,
            [&](Tx& tx) -> absl::StatusOr<Record> {
              TT_ASSIGN_OR_RETURN(Record r, Kind::Get(tx, req.id(), /*lock=*/true));
              // Another city's draft does not exist for this caller, as for Get.
              if (r.status() == Kind::Draftstatus() && !MaySeeDrafts(call, r.city_id())) {
                return absl::NotFoundError(absl::StrCat(Kind::kName, " ", req.id(), " not found"));
              }
              TT_RETURN_IF_ERROR(RequireCityAccess(call.caller, r.city_id()));
              TT_RETURN_IF_ERROR(CheckVersionIsCurrent(req.expected_version(), r.version()));
              TT_RETURN_IF_ERROR(change(r));
              r.set_version(r.version() + 1);
              *r.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(NowMicros());
              r.set_visible(true);
              Kind::Save(tx, r);
              Event event;
              Kind::Fill(event, r);
              if constexpr (std::is_same_v<Event, typename Kind::Withdrawn>) {
                event.set_reason(req.reason());
              }
              Emit(tx, kProducer, EventCause::OfRequest(req.request_id(), call.traceparent),
                   {Kind::kName, r.id()}, r.version(), event);
              AfterCommit(s, tx, r);
              return r;
            }));
    return absl::OkStatus();
  }

  // Publish (the owner must be VERIFIED in the registry) or withdraw.
  static absl::Status Change(ListingsServiceImpl& s, const CallContext& call,
                             const v1::ChangeListingRequest& req, bool publish, Record* response) {
    TT_RETURN_IF_ERROR(CheckText("reason", req.reason(), 0, 500));
    const ListingAction action = publish ? ListingAction::kPublish : ListingAction::kWithdraw;
    auto change = [&](Record& r) -> absl::Status {
      TT_ASSIGN_OR_RETURN(int next, Kind::Next(r.status(), action));
      if (publish) {
        TT_ASSIGN_OR_RETURN(reg::Organization owner,
                            LookUpOwner(s.registry_, Kind::kOwnerField, Kind::Owner(r), call));
        TT_RETURN_IF_ERROR(RequirePublishable(owner));
        *r.mutable_publish_time() = TimeUtil::MicrosecondsToTimestamp(NowMicros());
      }
      Kind::SetStatus(r, next);
      return absl::OkStatus();
    };
    const std::string method = absl::StrCat(publish ? "Publish" : "Withdraw", Kind::kName);
    if (publish) {
      return Mutate<typename Kind::Published>(s, call, req, method, change, response);
    }
    return Mutate<typename Kind::Withdrawn>(s, call, req, method, change, response);
  }

  // `near_copy`: may be answered from this process's near copy (see Cache).
  static absl::StatusOr<Record> Read(ListingsServiceImpl& s, const CallContext& call,
                                     const std::string& id, bool near_copy = false) {
    TT_RETURN_IF_ERROR(CheckUuid("id", id));
    TT_ASSIGN_OR_RETURN(
        Record r,
        s.cache_.GetOrLoad<Record>(
            CacheKey<Kind>(id), kSharedCacheTtl,
            [&] { return InTransaction(s.db_, [&](Tx& tx) { return Kind::Get(tx, id, false); }); },
            near_copy));
    if (r.status() == Kind::Draftstatus() && !MaySeeDrafts(call, r.city_id())) {
      return absl::NotFoundError(absl::StrCat(Kind::kName, " ", id, " not found"));
    }
    // Visibility follows the registry and is this replica's to say, not the cache's.
    r.set_visible(!s.model_.IsHidden(Kind::Owner(r)));
    return r;
  }
};

ListingsServiceImpl::ListingsServiceImpl(PgPool& db, Cache& cache, RpcRunner& runner,
                                         RegistryClient& registry, ReadModel& model)
    : db_(db), cache_(cache), registry_(registry), model_(model), runner_(runner) {}

// ---- Offers ----

grpc::Status ListingsServiceImpl::CreateOffer(grpc::ServerContext* context,
                                              const v1::CreateOfferRequest* request,
                                              v1::Offer* response) {
  return runner_.Run(context, "CreateOffer", *request, [&](const CallContext& call) {
    return Ops<OfferKind>::Create(*this, call, *request, request->owner_org_id(), request->offer(),
                                  response);
  });
}

grpc::Status ListingsServiceImpl::UpdateOffer(grpc::ServerContext* context,
                                              const v1::UpdateOfferRequest* request,
                                              v1::Offer* response) {
  return runner_.Run(context, "UpdateOffer", *request,
                     [&](const CallContext& call) -> absl::Status {
                       TT_RETURN_IF_ERROR(OfferKind::Validate(request->offer(), absl::Now()));
                       const v1::OfferDraft draft = OfferKind::Normalize(request->offer());
                       return Ops<OfferKind>::Mutate<v1::OfferUpdated>(
                           *this, call, *request, "UpdateOffer",
                           [&](v1::Offer& offer) -> absl::Status {
                             TT_ASSIGN_OR_RETURN(
                                 int next, OfferKind::Next(offer.status(), ListingAction::kUpdate));
                             OfferKind::SetStatus(offer, next);
                             OfferKind::ApplyDraft(offer, draft);
                             return absl::OkStatus();
                           },
                           response);
                     });
}

grpc::Status ListingsServiceImpl::PublishOffer(grpc::ServerContext* context,
                                               const v1::ChangeListingRequest* request,
                                               v1::Offer* response) {
  return runner_.Run(context, "PublishOffer", *request, [&](const CallContext& call) {
    return Ops<OfferKind>::Change(*this, call, *request, /*publish=*/true, response);
  });
}

grpc::Status ListingsServiceImpl::WithdrawOffer(grpc::ServerContext* context,
                                                const v1::ChangeListingRequest* request,
                                                v1::Offer* response) {
  return runner_.Run(context, "WithdrawOffer", *request, [&](const CallContext& call) {
    return Ops<OfferKind>::Change(*this, call, *request, /*publish=*/false, response);
  });
}

grpc::Status ListingsServiceImpl::GetOffer(grpc::ServerContext* context,
                                           const v1::GetListingRequest* request,
                                           v1::Offer* response) {
  return runner_.Run(context, "GetOffer", *request, [&](const CallContext& call) -> absl::Status {
    TT_ASSIGN_OR_RETURN(
        *response, Ops<OfferKind>::Read(*this, call, request->id(), NearCopyAllowed(*context)));
    return absl::OkStatus();
  });
}

grpc::Status ListingsServiceImpl::ListOffers(grpc::ServerContext* context,
                                             const v1::ListListingsRequest* request,
                                             v1::ListOffersResponse* response) {
  return runner_.Run(context, "ListOffers", *request, [&](const CallContext& call) -> absl::Status {
    TT_ASSIGN_OR_RETURN(int limit, ResolvePageSize(request->page_size()));
    TT_ASSIGN_OR_RETURN(int64_t after, DecodePageToken("ListOffers", *request));
    if (!request->owner_org_id().empty()) {
      TT_RETURN_IF_ERROR(CheckUuid("owner_org_id", request->owner_org_id()));
    }
    TT_ASSIGN_OR_RETURN(Page<v1::Offer> page,
                        InTransaction(db_, [&](Tx& tx) -> absl::StatusOr<Page<v1::Offer>> {
                          return store::ListOffers(tx, ListFilterFor(call, *request), after, limit);
                        }));
    for (auto& o : page.items) {
      o.set_visible(!model_.IsHidden(o.owner_org_id()));
      *response->add_offers() = std::move(o);
    }
    if (page.more)
      response->set_next_page_token(EncodePageToken("ListOffers", *request, page.last_ordinal));
    return absl::OkStatus();
  });
}

// ---- Demands ----

grpc::Status ListingsServiceImpl::CreateDemand(grpc::ServerContext* context,
                                               const v1::CreateDemandRequest* request,
                                               v1::Demand* response) {
  return runner_.Run(context, "CreateDemand", *request, [&](const CallContext& call) {
    return Ops<DemandKind>::Create(*this, call, *request, request->seeker_org_id(),
                                   request->demand(), response);
  });
}

grpc::Status ListingsServiceImpl::UpdateDemand(grpc::ServerContext* context,
                                               const v1::UpdateDemandRequest* request,
                                               v1::Demand* response) {
  return runner_.Run(
      context, "UpdateDemand", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(DemandKind::Validate(request->demand(), absl::Now()));
        const v1::DemandDraft draft = DemandKind::Normalize(request->demand());
        return Ops<DemandKind>::Mutate<v1::DemandUpdated>(
            *this, call, *request, "UpdateDemand",
            [&](v1::Demand& demand) -> absl::Status {
              TT_ASSIGN_OR_RETURN(int next,
                                  DemandKind::Next(demand.status(), ListingAction::kUpdate));
              DemandKind::SetStatus(demand, next);
              DemandKind::ApplyDraft(demand, draft);
              return absl::OkStatus();
            },
            response);
      });
}

grpc::Status ListingsServiceImpl::PublishDemand(grpc::ServerContext* context,
                                                const v1::ChangeListingRequest* request,
                                                v1::Demand* response) {
  return runner_.Run(context, "PublishDemand", *request, [&](const CallContext& call) {
    return Ops<DemandKind>::Change(*this, call, *request, /*publish=*/true, response);
  });
}

grpc::Status ListingsServiceImpl::WithdrawDemand(grpc::ServerContext* context,
                                                 const v1::ChangeListingRequest* request,
                                                 v1::Demand* response) {
  return runner_.Run(context, "WithdrawDemand", *request, [&](const CallContext& call) {
    return Ops<DemandKind>::Change(*this, call, *request, /*publish=*/false, response);
  });
}

grpc::Status ListingsServiceImpl::GetDemand(grpc::ServerContext* context,
                                            const v1::GetListingRequest* request,
                                            v1::Demand* response) {
  return runner_.Run(context, "GetDemand", *request, [&](const CallContext& call) -> absl::Status {
    TT_ASSIGN_OR_RETURN(
        *response, Ops<DemandKind>::Read(*this, call, request->id(), NearCopyAllowed(*context)));
    return absl::OkStatus();
  });
}

grpc::Status ListingsServiceImpl::ListDemands(grpc::ServerContext* context,
                                              const v1::ListListingsRequest* request,
                                              v1::ListDemandsResponse* response) {
  return runner_.Run(
      context, "ListDemands", *request, [&](const CallContext& call) -> absl::Status {
        TT_ASSIGN_OR_RETURN(int limit, ResolvePageSize(request->page_size()));
        TT_ASSIGN_OR_RETURN(int64_t after, DecodePageToken("ListDemands", *request));
        if (!request->owner_org_id().empty()) {
          TT_RETURN_IF_ERROR(CheckUuid("owner_org_id", request->owner_org_id()));
        }
        TT_ASSIGN_OR_RETURN(Page<v1::Demand> page,
                            InTransaction(db_, [&](Tx& tx) -> absl::StatusOr<Page<v1::Demand>> {
                              return store::ListDemands(tx, ListFilterFor(call, *request), after,
                                                        limit);
                            }));
        for (auto& d : page.items) {
          d.set_visible(!model_.IsHidden(d.seeker_org_id()));
          *response->add_demands() = std::move(d);
        }
        if (page.more)
          response->set_next_page_token(
              EncodePageToken("ListDemands", *request, page.last_ordinal));
        return absl::OkStatus();
      });
}

// ---- Search and matchmaking ----

grpc::Status ListingsServiceImpl::Search(grpc::ServerContext* context,
                                         const v1::SearchRequest* request,
                                         v1::SearchResponse* response) {
  return runner_.Run(context, "Search", *request, [&](const CallContext&) -> absl::Status {
    TT_ASSIGN_OR_RETURN(*response, model_.Search(*request));
    return absl::OkStatus();
  });
}

grpc::Status ListingsServiceImpl::MatchOffersForDemand(grpc::ServerContext* context,
                                                       const v1::MatchRequest* request,
                                                       v1::MatchResponse* response) {
  return runner_.Run(
      context, "MatchOffersForDemand", *request, [&](const CallContext& call) -> absl::Status {
        // 0..100 as the proto declares; 0 asks for the default.
        const int limit = request->limit() == 0 ? kDefaultMatchLimit : request->limit();
        // A published demand is in the read model; a draft is read from the store.
        std::optional<v1::Demand> demand = model_.FindDemand(request->id());
        if (!demand) {
          TT_ASSIGN_OR_RETURN(v1::Demand stored, Ops<DemandKind>::Read(*this, call, request->id()));
          demand = std::move(stored);
        }
        for (auto& m : model_.MatchOffers(*demand, limit)) *response->add_matches() = std::move(m);
        return absl::OkStatus();
      });
}

grpc::Status ListingsServiceImpl::MatchDemandsForOffer(grpc::ServerContext* context,
                                                       const v1::MatchRequest* request,
                                                       v1::MatchResponse* response) {
  return runner_.Run(
      context, "MatchDemandsForOffer", *request, [&](const CallContext& call) -> absl::Status {
        // 0..100 as the proto declares; 0 asks for the default.
        const int limit = request->limit() == 0 ? kDefaultMatchLimit : request->limit();
        std::optional<v1::Offer> offer = model_.FindOffer(request->id());
        if (!offer) {
          TT_ASSIGN_OR_RETURN(v1::Offer stored, Ops<OfferKind>::Read(*this, call, request->id()));
          offer = std::move(stored);
        }
        for (auto& m : model_.MatchDemands(*offer, limit)) *response->add_matches() = std::move(m);
        return absl::OkStatus();
      });
}

// ---- Registry events ----

absl::Status ListingsServiceImpl::HandleRegistryEvent(
    Tx& tx, const techtrade::common::v1::EventEnvelope& event) {
  bool hidden;
  if (event.payload().Is<reg::OrganizationSuspended>()) {
    hidden = true;
  } else if (event.payload().Is<reg::OrganizationReinstated>()) {
    hidden = false;
  } else {
    return absl::OkStatus();
  }
  const std::string& org = event.aggregate_id();
  std::optional<store::Visibility> current = store::GetVisibility(tx, org);
  // An older registry event than the one already applied changes nothing.
  if (current && current->registry_sequence >= event.sequence()) return absl::OkStatus();
  store::Visibility next{hidden, event.sequence(), current ? current->version + 1 : 1};
  store::SaveVisibility(tx, org, next);
  if (hidden) {
    v1::OrganizationListingsHidden e;
    e.set_organization_id(org);
    e.set_registry_sequence(event.sequence());
    Emit(tx, kProducer, EventCause::OfEvent(event), {"organization_visibility", org}, next.version,
         e);
  } else {
    v1::OrganizationListingsShown e;
    e.set_organization_id(org);
    e.set_registry_sequence(event.sequence());
    Emit(tx, kProducer, EventCause::OfEvent(event), {"organization_visibility", org}, next.version,
         e);
  }
  tx.OnCommit([this, org, hidden, seq = event.sequence()] {
    model_.SetOrganizationHidden(org, hidden, seq);
  });
  return absl::OkStatus();
}

absl::Status ListingsServiceImpl::HandleTransactionsEvent(
    Tx& tx, const techtrade::common::v1::EventEnvelope& event) {
  techtrade::transactions::v1::DealCompleted completed;
  if (!event.payload().UnpackTo(&completed)) return absl::OkStatus();
  const auto& deal = completed.deal();
  if (deal.listing_kind() != v1::LISTING_KIND_OFFER || deal.agreed_terms_version() < 1 ||
      deal.agreed_terms_version() > deal.terms_size()) {
    return absl::OkStatus();
  }
  const auto& terms = deal.terms(static_cast<int>(deal.agreed_terms_version() - 1));
  if (terms.transfer_mode() != v1::TRANSFER_MODE_ASSIGNMENT) return absl::OkStatus();
  absl::StatusOr<v1::Offer> offer = store::GetOffer(tx, deal.listing_id(), /*lock=*/true);
  if (absl::IsNotFound(offer.status())) return absl::OkStatus();  // not one of ours
  if (!offer.ok()) return offer.status();
  absl::StatusOr<v1::OfferStatus> next = NextOfferStatus(offer->status(), ListingAction::kTransfer);
  if (!next.ok()) {
    // Already transferred, or withdrawn meanwhile: the deal stands, the listing stays as it is.
    return absl::OkStatus();
  }
  offer->set_status(*next);
  offer->set_version(offer->version() + 1);
  *offer->mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(NowMicros());
  store::SaveOffer(tx, *offer);
  v1::OfferTransferred e;
  *e.mutable_offer() = *offer;
  e.set_deal_id(deal.id());
  Emit(tx, kProducer, EventCause::OfEvent(event), {"offer", offer->id()}, offer->version(), e);
  tx.OnCommit([this, o = *offer] {
    model_.ApplyOffer(o);
    cache_.Invalidate(OfferCacheKey(o.id()));
  });
  return absl::OkStatus();
}

}  // namespace techtrade::listings
