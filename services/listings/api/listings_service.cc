#include "services/listings/api/listings_service.h"

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/cache_keys.h"
#include "common/paging.h"
#include "common/status.h"
#include "common/validation.h"
#include "services/listings/api/drafts.h"
#include "services/listings/domain/listing_records.h"
#include "services/listings/domain/rules.h"
#include "techtrade/registry/v1/registry.pb.h"

namespace techtrade::listings {
namespace {

namespace reg = techtrade::registry::v1;

constexpr char kProducer[] = "listings";
constexpr int kDefaultMatchLimit = 10;

// The owner as the registry has it now (through the cache): an unknown id is the request's
// fault, a registry that cannot be reached is not.
absl::StatusOr<reg::Organization> LookUpOwner(OrganizationDirectory& registry,
                                              const std::string& field, const std::string& org_id,
                                              const CallContext& call) {
  TT_RETURN_IF_ERROR(CheckUuid(field, org_id));
  return registry.GetReferencedOrganization(field, org_id, call.api_key);
}

// What differs between offers and demands, besides the overloads of listing_records.h.
struct OfferKind {
  using Record = v1::Offer;
  using Draft = v1::OfferDraft;
  static constexpr const char* kName = "offer";
  static constexpr const char* kOwnerField = "owner_org_id";
  static constexpr int kDraftStatus = v1::OFFER_STATUS_DRAFT;
  static const std::string& Owner(const Record& r) { return r.owner_org_id(); }
  static absl::Status Validate(const Draft& d, absl::Time) {
    return ValidateOfferDraft(d, "offer.");
  }
  static Draft Normalize(Draft d) { return NormalizeOfferDraft(std::move(d)); }
  static absl::Status CheckNext(const Record& r, ListingAction action) {
    return NextOfferStatus(r.status(), action).status();
  }
  static absl::StatusOr<Record> Get(store::ListingsStore& s, const std::string& id, bool lock) {
    return s.GetOffer(id, lock);
  }
  static void Insert(store::ListingsStore& s, const Record& r) { s.InsertOffer(r); }
  static void Save(store::ListingsStore& s, const Record& r) { s.SaveOffer(r); }
  static void Apply(ReadModel& m, const Record& r) { m.ApplyOffer(r); }
  static std::string CacheKey(absl::string_view id) { return OfferCacheKey(id); }
};

struct DemandKind {
  using Record = v1::Demand;
  using Draft = v1::DemandDraft;
  static constexpr const char* kName = "demand";
  static constexpr const char* kOwnerField = "seeker_org_id";
  static constexpr int kDraftStatus = v1::DEMAND_STATUS_DRAFT;
  static const std::string& Owner(const Record& r) { return r.seeker_org_id(); }
  static absl::Status Validate(const Draft& d, absl::Time now) {
    return ValidateDemandDraft(d, "demand.", now);
  }
  static Draft Normalize(Draft d) { return NormalizeDemandDraft(std::move(d)); }
  static absl::Status CheckNext(const Record& r, ListingAction action) {
    return NextDemandStatus(r.status(), action).status();
  }
  static absl::StatusOr<Record> Get(store::ListingsStore& s, const std::string& id, bool lock) {
    return s.GetDemand(id, lock);
  }
  static void Insert(store::ListingsStore& s, const Record& r) { s.InsertDemand(r); }
  static void Save(store::ListingsStore& s, const Record& r) { s.SaveDemand(r); }
  static void Apply(ReadModel& m, const Record& r) { m.ApplyDemand(r); }
  static std::string CacheKey(absl::string_view id) { return DemandCacheKey(id); }
};

}  // namespace

template <class Kind>
struct ListingsServiceImpl::Ops {
  using Record = typename Kind::Record;
  using Draft = typename Kind::Draft;
  using Result = ListingChange<Record>;

  static void Announce(ListingsServiceImpl& s, UnitOfWork& work, const CallContext& call,
                       const std::string& request_id, const Result& change) {
    s.Announce(work, EventCause::OfRequest(request_id, call.traceparent, call.caller), change);
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
            s.transactor_,
            IdempotencyKeyFor(call, req.request_id(), absl::StrCat("Create", Kind::kName)), req,
            check_owner,
            [&](store::ListingsStore& store, UnitOfWork& work) -> absl::StatusOr<Record> {
              Result created =
                  CreateListing(NewUuid(), owner_id, owner.city_id(), draft, absl::Now());
              Kind::Insert(store, created.listing);
              Announce(s, work, call, req.request_id(), created);
              return std::move(created.listing);
            }));
    return absl::OkStatus();
  }

  // Loads the listing under lock, checks the caller's city and the version, and lets `decide`
  // produce the change, which is saved and emitted.
  template <class Request, class Decide>
  static absl::Status Mutate(ListingsServiceImpl& s, const CallContext& call, const Request& req,
                             const std::string& method, Decide&& decide, Record* response) {
    TT_RETURN_IF_ERROR(RequireWriter(call.caller));
    TT_RETURN_IF_ERROR(ValidateRequestId(req.request_id()));
    TT_RETURN_IF_ERROR(CheckUuid("id", req.id()));
    TT_RETURN_IF_ERROR(CheckExpectedVersion(req.expected_version()));
    TT_ASSIGN_OR_RETURN(
        *response,
        RunIdempotent<Record>(
            s.transactor_, IdempotencyKeyFor(call, req.request_id(), method), req,
            [&](store::ListingsStore& store, UnitOfWork& work) -> absl::StatusOr<Record> {
              TT_ASSIGN_OR_RETURN(Record r, Kind::Get(store, req.id(), /*lock=*/true));
              // Another city's draft does not exist for this caller, as for Get.
              if (r.status() == Kind::kDraftStatus && !MaySeeDrafts(call, r.city_id())) {
                return absl::NotFoundError(absl::StrCat(Kind::kName, " ", req.id(), " not found"));
              }
              TT_RETURN_IF_ERROR(RequireCityAccess(call.caller, r.city_id()));
              TT_RETURN_IF_ERROR(CheckVersionIsCurrent(req.expected_version(), r.version()));
              TT_ASSIGN_OR_RETURN(Result changed, decide(std::move(r)));
              Kind::Save(store, changed.listing);
              Announce(s, work, call, req.request_id(), changed);
              return std::move(changed.listing);
            }));
    return absl::OkStatus();
  }

  template <class Request>
  static absl::Status Update(ListingsServiceImpl& s, const CallContext& call, const Request& req,
                             const std::string& method, const Draft& raw, Record* response) {
    TT_RETURN_IF_ERROR(Kind::Validate(raw, absl::Now()));
    const Draft draft = Kind::Normalize(raw);
    return Mutate(
        s, call, req, method,
        [&](Record r) { return UpdateListing(std::move(r), draft, absl::Now()); }, response);
  }

  // Publish (the owner must be VERIFIED in the registry) or withdraw.
  static absl::Status Change(ListingsServiceImpl& s, const CallContext& call,
                             const v1::ChangeListingRequest& req, bool publish, Record* response) {
    TT_RETURN_IF_ERROR(CheckText("reason", req.reason(), 0, 500));
    const std::string method = absl::StrCat(publish ? "Publish" : "Withdraw", Kind::kName);
    if (!publish) {
      return Mutate(
          s, call, req, method,
          [&](Record r) { return WithdrawListing(std::move(r), req.reason(), absl::Now()); },
          response);
    }
    return Mutate(
        s, call, req, method,
        [&](Record r) -> absl::StatusOr<Result> {
          // A listing that cannot be published is refused before the registry is asked.
          TT_RETURN_IF_ERROR(Kind::CheckNext(r, ListingAction::kPublish));
          TT_ASSIGN_OR_RETURN(reg::Organization owner,
                              LookUpOwner(s.registry_, Kind::kOwnerField, Kind::Owner(r), call));
          return PublishListing(std::move(r), owner, absl::Now());
        },
        response);
  }

  // `near_copy`: may be answered from this process's near copy (see Cache).
  static absl::StatusOr<Record> Read(ListingsServiceImpl& s, const CallContext& call,
                                     const std::string& id, bool near_copy = false) {
    TT_RETURN_IF_ERROR(CheckUuid("id", id));
    TT_ASSIGN_OR_RETURN(Record r, s.cache_.GetOrLoad<Record>(
                                      Kind::CacheKey(id), kSharedCacheTtl,
                                      [&] {
                                        return RunFor<Record>(
                                            s.transactor_,
                                            [&](store::ListingsStore& store, UnitOfWork&) {
                                              return Kind::Get(store, id, /*lock=*/false);
                                            });
                                      },
                                      near_copy));
    if (r.status() == Kind::kDraftStatus && !MaySeeDrafts(call, r.city_id())) {
      return absl::NotFoundError(absl::StrCat(Kind::kName, " ", id, " not found"));
    }
    // Visibility follows the registry and is this replica's to say, not the cache's.
    r.set_visible(!s.model_.IsHidden(Kind::Owner(r)));
    return r;
  }
};

namespace {

template <class Kind, class Record>
void AnnounceListing(ReadModel& model, Cache& cache, UnitOfWork& work, const EventCause& cause,
                     const ListingChange<Record>& change) {
  const Record& r = change.listing;
  work.Emit(kProducer, cause, {Kind::kName, r.id(), {r.city_id()}}, r.version(), *change.event);
  work.OnCommit([&model, &cache, r] {
    Kind::Apply(model, r);
    cache.Invalidate(Kind::CacheKey(r.id()));
  });
}

}  // namespace

void ListingsServiceImpl::Announce(UnitOfWork& work, const EventCause& cause,
                                   const OfferChange& change) {
  AnnounceListing<OfferKind>(model_, cache_, work, cause, change);
}
void ListingsServiceImpl::Announce(UnitOfWork& work, const EventCause& cause,
                                   const DemandChange& change) {
  AnnounceListing<DemandKind>(model_, cache_, work, cause, change);
}

ListingsServiceImpl::ListingsServiceImpl(Transactor<store::ListingsStore>& transactor, Cache& cache,
                                         RpcRunner& runner, OrganizationDirectory& registry,
                                         ReadModel& model)
    : transactor_(transactor), cache_(cache), registry_(registry), model_(model), runner_(runner) {}

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
  return runner_.Run(context, "UpdateOffer", *request, [&](const CallContext& call) {
    return Ops<OfferKind>::Update(*this, call, *request, "UpdateOffer", request->offer(), response);
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
    TT_ASSIGN_OR_RETURN(
        Page<v1::Offer> page,
        RunFor<Page<v1::Offer>>(transactor_, [&](store::ListingsStore& store, UnitOfWork&) {
          return absl::StatusOr<Page<v1::Offer>>(
              store.ListOffers(ListFilterFor(call, *request), after, limit));
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
  return runner_.Run(context, "UpdateDemand", *request, [&](const CallContext& call) {
    return Ops<DemandKind>::Update(*this, call, *request, "UpdateDemand", request->demand(),
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
        TT_ASSIGN_OR_RETURN(
            Page<v1::Demand> page,
            RunFor<Page<v1::Demand>>(transactor_, [&](store::ListingsStore& store, UnitOfWork&) {
              return absl::StatusOr<Page<v1::Demand>>(
                  store.ListDemands(ListFilterFor(call, *request), after, limit));
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

}  // namespace techtrade::listings
