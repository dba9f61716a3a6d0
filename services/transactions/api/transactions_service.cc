#include "services/transactions/api/transactions_service.h"

#include <google/protobuf/util/time_util.h>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/cache_keys.h"
#include "common/ids.h"
#include "common/paging.h"
#include "common/status.h"
#include "common/topics.h"
#include "common/validation.h"
#include "services/transactions/api/deal_access.h"
#include "services/transactions/domain/deal_scope.h"
#include "services/transactions/domain/escrow.h"
#include "techtrade/registry/v1/registry.pb.h"

namespace techtrade::transactions {
namespace {

using google::protobuf::util::TimeUtil;
namespace reg = techtrade::registry::v1;
namespace lv1 = techtrade::listings::v1;

// Deals whose last commit this process keeps a copy of: about 1 KB each.
constexpr size_t kRecentDeals = 16384;

}  // namespace

TransactionsServiceImpl::TransactionsServiceImpl(Transactor<store::DealStore>& deals, Cache& cache,
                                                 RpcRunner& runner, OrganizationDirectory& registry,
                                                 ListingDirectory& listings,
                                                 const AttestationSigner* attestation_key)
    : deals_(deals),
      cache_(cache),
      registry_(registry),
      listings_(listings),
      runner_(runner),
      recent_deals_(kRecentDeals),
      attestation_key_(attestation_key) {}

void TransactionsServiceImpl::KeepOnCommit(UnitOfWork& work, const v1::Deal& deal,
                                           std::string record, store::ChainHead chain) {
  // The bytes the row was saved with, not a second serialization of the same deal.
  work.OnCommit([this, id = deal.id(), version = deal.version(), record = std::move(record),
                 chain = std::move(chain)]() mutable {
    // A commit runs its hooks once.
    recent_deals_.Put(id, version, std::move(record), std::move(chain));
  });
}

absl::StatusOr<v1::Party> TransactionsServiceImpl::VerifiedParty(const std::string& field,
                                                                 const std::string& org_id,
                                                                 const CallContext& call) {
  absl::StatusOr<reg::Organization> org =
      registry_.GetReferencedOrganization(field, org_id, call.api_key);
  if (!org.ok()) return org.status();
  if (org->status() != reg::ORGANIZATION_STATUS_VERIFIED) {
    return absl::FailedPreconditionError(absl::StrCat(field, ": organisation ", org_id, " is ",
                                                      reg::OrganizationStatus_Name(org->status()),
                                                      "; both parties must be verified"));
  }
  return AsParty(*org);
}

absl::Status TransactionsServiceImpl::NoPartySuspended(const v1::Deal& deal,
                                                       const CallContext& call) {
  std::vector<std::string> ids = {deal.buyer().organization_id(), deal.seller().organization_id()};
  if (!deal.broker().organization_id().empty()) ids.push_back(deal.broker().organization_id());
  std::vector<std::string> keys;
  for (const std::string& id : ids) keys.push_back(OrganizationCacheKey(id));
  cache_.Prefetch(keys);
  std::vector<std::string> suspended;
  for (const std::string& id : ids) {
    TT_ASSIGN_OR_RETURN(reg::Organization org, registry_.GetOrganization(id, call.api_key));
    if (org.status() == reg::ORGANIZATION_STATUS_SUSPENDED) suspended.push_back(id);
  }
  return CheckNoPartySuspended(deal, suspended);
}

absl::Status TransactionsServiceImpl::ActiveFinancePartner(const std::string& partner_id,
                                                           const CallContext& call) {
  absl::StatusOr<reg::FinancePartner> partner =
      registry_.GetFinancePartner(partner_id, call.api_key);
  if (absl::IsNotFound(partner.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "finance_partner_id: ", partner_id,
        " is not an active finance partner (RegistryService.ListFinancePartners lists them)"));
  }
  return partner.status();
}

absl::Status TransactionsServiceImpl::TransferModeOfListing(const v1::Deal& deal, int mode,
                                                            const CallContext& call) {
  absl::StatusOr<ListingFacts> listing =
      listings_.Get(deal.listing_kind(), deal.listing_id(), call.api_key);
  if (absl::IsNotFound(listing.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("transfer_mode: the deal's listing ", deal.listing_id(), " is not found"));
  }
  if (!listing.ok()) return listing.status();
  return CheckTransferModeOfListing(deal, listing->transfer_modes, mode);
}

absl::Status TransactionsServiceImpl::Mutate(
    const CallContext& call, const std::string& method, const std::string& request_id,
    const std::string& deal_id, int64_t expected_version, const google::protobuf::Message& request,
    const ActorCheck& may_act, const Change& change, v1::Deal* response,
    const std::function<void(store::DealStore&, const v1::Deal&)>& extra_writes) {
  TT_RETURN_IF_ERROR(ValidateRequestId(request_id));
  TT_RETURN_IF_ERROR(CheckUuid("deal_id", deal_id));
  TT_RETURN_IF_ERROR(CheckExpectedVersion(expected_version));
  int attempt = 0;
  TT_ASSIGN_OR_RETURN(
      *response,
      RunIdempotent<v1::Deal>(
          deals_, IdempotencyKeyFor(call, request_id, method), request,
          [&](store::DealStore& deals, UnitOfWork& work) -> absl::StatusOr<v1::Deal> {
            // Optimistic: read without a lock, write only if the deal is still as read (else
            // the unit runs again from here), so the change joins a group commit. The read, on
            // a first attempt, is this process's copy of the deal when it is at the version the
            // caller read; a refusal is only ever decided on the database's deal.
            auto decide = [&](const v1::Deal& deal) -> absl::StatusOr<Transition> {
              // Before anything that could tell another partner's deal from no deal.
              TT_RETURN_IF_ERROR(CheckPartnerScope(call.caller, deal, "deal_id"));
              TT_RETURN_IF_ERROR(may_act(deal));
              TT_RETURN_IF_ERROR(CheckVersionIsCurrent(expected_version, deal.version()));
              return change(deal);
            };
            std::optional<v1::Deal> deal;
            store::ChainHead chain;  // read with the deal, which the guarded save keeps current
            absl::StatusOr<Transition> t = absl::UnknownError("not decided");
            if (++attempt == 1) deal = recent_deals_.Get(deal_id, expected_version, &chain);
            if (deal.has_value()) t = decide(*deal);
            if (!t.ok()) {
              absl::StatusOr<v1::Deal> read = deals.GetLatestDeal(deal_id, &chain);
              if (absl::IsNotFound(read.status())) return DealNotFound("deal_id", deal_id);
              if (!read.ok()) return read.status();
              deal = *std::move(read);
              t = decide(*deal);
            }
            if (!t.ok()) return t.status();
            // Transition::Record gave the deal a version per event.
            std::string record = t->deal.SerializeAsString();
            store::ChainHead next = EmitDealEvents(
                work, EventCause::OfRequest(request_id, call.traceparent, call.caller), *t, chain);
            deals.SaveDeal(t->deal, record, deal->version(), next);
            for (const EscrowMovement& m : EscrowMovements(*deal, t->deal)) {
              deals.AppendEscrowMovement(t->deal.id(), m);
            }
            if (extra_writes) extra_writes(deals, t->deal);
            KeepOnCommit(work, t->deal, std::move(record), std::move(next));
            return std::move(t->deal);
          }));
  return absl::OkStatus();
}

grpc::Status TransactionsServiceImpl::OpenDeal(grpc::ServerContext* context,
                                               const v1::OpenDealRequest* request,
                                               v1::Deal* response) {
  return runner_.Run(context, "OpenDeal", *request, [&](const CallContext& call) -> absl::Status {
    TT_RETURN_IF_ERROR(RequireWriter(call.caller));
    TT_RETURN_IF_ERROR(ValidateRequestId(request->request_id()));
    TT_RETURN_IF_ERROR(ValidateOpenDeal(*request));
    // The parties and the listing in one cache round trip.
    std::vector<std::string> keys = {OrganizationCacheKey(request->buyer_org_id()),
                                     OrganizationCacheKey(request->seller_org_id()),
                                     request->listing_kind() == lv1::LISTING_KIND_OFFER
                                         ? OfferCacheKey(request->listing_id())
                                         : DemandCacheKey(request->listing_id())};
    if (!request->broker_org_id().empty()) {
      keys.push_back(OrganizationCacheKey(request->broker_org_id()));
    }
    keys.push_back(FinancePartnerCacheKey(request->finance_partner_id()));
    cache_.Prefetch(keys);
    v1::Party buyer, seller, broker;
    v1::BrokerManager broker_manager;
    std::string city_id;  // the listing's
    auto check_parties_and_listing = [&]() -> absl::Status {
      TT_ASSIGN_OR_RETURN(buyer, VerifiedParty("buyer_org_id", request->buyer_org_id(), call));
      TT_ASSIGN_OR_RETURN(seller, VerifiedParty("seller_org_id", request->seller_org_id(), call));
      // Either party's system may open the inquiry.
      if (!ActsFor(call, buyer, "buyer").ok()) TT_RETURN_IF_ERROR(ActsFor(call, seller, "seller"));
      std::string broker_org_id = request->broker_org_id();
      if (!request->broker_manager_id().empty()) {
        TT_ASSIGN_OR_RETURN(reg::TechnologyManager manager,
                            registry_.GetTechnologyManager(
                                "broker_manager_id", request->broker_manager_id(), call.api_key));
        TT_ASSIGN_OR_RETURN(broker_org_id, BrokerOfManager(*request, manager, absl::Now()));
        broker_manager.set_id(manager.id());
        broker_manager.set_name(manager.name());
        broker_manager.set_certificate_number(manager.certificate_number());
      }
      if (!broker_org_id.empty()) {
        TT_ASSIGN_OR_RETURN(
            broker,
            VerifiedParty(request->broker_org_id().empty() ? "broker_manager_id" : "broker_org_id",
                          broker_org_id, call));
      }
      TT_RETURN_IF_ERROR(ActiveFinancePartner(request->finance_partner_id(), call));
      absl::StatusOr<ListingFacts> listing =
          listings_.Get(request->listing_kind(), request->listing_id(), call.api_key);
      if (absl::IsNotFound(listing.status())) {
        return FieldError("listing_id",
                          absl::StrCat("no such ", lv1::ListingKind_Name(request->listing_kind())));
      }
      if (!listing.ok()) return listing.status();
      if (listing->draft && !RequireCityAccess(call.caller, listing->city_id).ok()) {
        return FieldError("listing_id",
                          absl::StrCat("no such ", lv1::ListingKind_Name(request->listing_kind())));
      }
      if (!listing->open_to_deals) {
        return absl::FailedPreconditionError("listing_id: the listing is not published");
      }
      const bool offer = request->listing_kind() == lv1::LISTING_KIND_OFFER;
      if (offer && listing->owner_org_id != seller.organization_id()) {
        return FieldError("seller_org_id", "an offer's deal is sold by the offer's owner");
      }
      if (!offer && listing->owner_org_id != buyer.organization_id()) {
        return FieldError("buyer_org_id", "a demand's deal is bought by the demand's seeker");
      }
      city_id = listing->city_id;
      return absl::OkStatus();
    };
    TT_ASSIGN_OR_RETURN(
        *response,
        RunIdempotentAfterCheck<v1::Deal>(
            deals_, IdempotencyKeyFor(call, request->request_id(), "OpenDeal"), *request,
            check_parties_and_listing,
            [&](store::DealStore& deals, UnitOfWork& work) -> absl::StatusOr<v1::Deal> {
              v1::Deal deal;
              deal.set_id(NewUuid());
              deal.set_listing_id(request->listing_id());
              deal.set_listing_kind(request->listing_kind());
              deal.set_city_id(city_id);
              *deal.mutable_buyer() = buyer;
              *deal.mutable_seller() = seller;
              if (!broker.organization_id().empty()) *deal.mutable_broker() = broker;
              if (!broker_manager.id().empty()) *deal.mutable_broker_manager() = broker_manager;
              deal.set_broker_commission_bps(request->broker_commission_bps());
              if (request->has_broker_commission_fixed()) {
                *deal.mutable_broker_commission_fixed() = request->broker_commission_fixed();
              }
              deal.set_finance_partner_id(request->finance_partner_id());
              Transition t = transactions::OpenDeal(std::move(deal), absl::Now());
              std::string record = t.deal.SerializeAsString();
              store::ChainHead chain = EmitDealEvents(
                  work, EventCause::OfRequest(request->request_id(), call.traceparent, call.caller),
                  t, {});
              deals.InsertDeal(t.deal, record, chain);
              KeepOnCommit(work, t.deal, std::move(record), std::move(chain));
              return std::move(t.deal);
            }));
    return absl::OkStatus();
  });
}

grpc::Status TransactionsServiceImpl::ProposeTerms(grpc::ServerContext* context,
                                                   const v1::ProposeTermsRequest* request,
                                                   v1::Deal* response) {
  return runner_.Run(
      context, "ProposeTerms", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireWriter(call.caller));
        TT_RETURN_IF_ERROR(ValidateTerms(*request));
        return Mutate(
            call, "ProposeTerms", request->request_id(), request->deal_id(),
            request->expected_version(), *request,
            [&](const v1::Deal& d) -> absl::Status {
              TT_RETURN_IF_ERROR(ActsForParty(call, d, request->acting_as()));
              return NoPartySuspended(d, call);
            },
            [&](const v1::Deal& d) -> absl::StatusOr<Transition> {
              TT_ASSIGN_OR_RETURN(Transition t,
                                  transactions::ProposeTerms(d, *request, absl::Now()));
              TT_RETURN_IF_ERROR(TransferModeOfListing(d, request->transfer_mode(), call));
              return t;
            },
            response);
      });
}

grpc::Status TransactionsServiceImpl::AcceptTerms(grpc::ServerContext* context,
                                                  const v1::AcceptTermsRequest* request,
                                                  v1::Deal* response) {
  return runner_.Run(
      context, "AcceptTerms", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireWriter(call.caller));
        if (request->acting_as() != v1::PARTY_ROLE_BUYER &&
            request->acting_as() != v1::PARTY_ROLE_SELLER) {
          return FieldError("acting_as", "PARTY_ROLE_BUYER or PARTY_ROLE_SELLER required");
        }
        return Mutate(
            call, "AcceptTerms", request->request_id(), request->deal_id(),
            request->expected_version(), *request,
            [&](const v1::Deal& d) -> absl::Status {
              TT_RETURN_IF_ERROR(ActsForParty(call, d, request->acting_as()));
              return NoPartySuspended(d, call);
            },
            [&](const v1::Deal& d) {
              return transactions::AcceptTerms(d, request->acting_as(), request->terms_version(),
                                               absl::Now());
            },
            response);
      });
}

grpc::Status TransactionsServiceImpl::SignContract(grpc::ServerContext* context,
                                                   const v1::SignContractRequest* request,
                                                   v1::Deal* response) {
  return runner_.Run(
      context, "SignContract", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireWriter(call.caller));
        TT_RETURN_IF_ERROR(ValidateSignContract(*request, absl::Now()));
        return Mutate(
            call, "SignContract", request->request_id(), request->deal_id(),
            request->expected_version(), *request,
            [&](const v1::Deal& d) -> absl::Status {
              // Each party's own system signs for it; one call signs for both only if its caller
              // acts for both (an operator, or the one city both parties are in).
              for (v1::PartyRole role : Signers(*request)) {
                absl::Status may = ActsForParty(call, d, role);
                if (!may.ok() && request->acting_as() == v1::PARTY_ROLE_UNSPECIFIED) {
                  return absl::PermissionDeniedError(
                      absl::StrCat("acting_as: unset signs for both parties, and ", may.message(),
                                   "; sign for your own party with acting_as"));
                }
                TT_RETURN_IF_ERROR(may);
              }
              return NoPartySuspended(d, call);
            },
            [&](const v1::Deal& d) -> absl::StatusOr<Transition> {
              TT_ASSIGN_OR_RETURN(int days, RegistrationDays(d, call));
              return transactions::SignContract(d, *request, absl::Now(), days);
            },
            response);
      });
}

grpc::Status TransactionsServiceImpl::AllowBroker(grpc::ServerContext* context,
                                                  const v1::AllowBrokerRequest* request,
                                                  v1::Deal* response) {
  return runner_.Run(context, "AllowBroker", *request,
                     [&](const CallContext& call) -> absl::Status {
                       TT_RETURN_IF_ERROR(RequireWriter(call.caller));
                       return Mutate(
                           call, "AllowBroker", request->request_id(), request->deal_id(),
                           request->expected_version(), *request,
                           [&](const v1::Deal& d) -> absl::Status {
                             if (request->acting_as() != v1::PARTY_ROLE_BUYER &&
                                 request->acting_as() != v1::PARTY_ROLE_SELLER) {
                               return absl::OkStatus();  // the transition names the field
                             }
                             // Only the party itself, never the broker it would empower.
                             return ActsFor(call, PartyOf(d, request->acting_as()),
                                            RoleName(request->acting_as()));
                           },
                           [&](const v1::Deal& d) {
                             return transactions::AllowBroker(d, request->acting_as(),
                                                              request->allowed(), absl::Now());
                           },
                           response);
                     });
}

grpc::Status TransactionsServiceImpl::DeliverMilestone(grpc::ServerContext* context,
                                                       const v1::MilestoneRequest* request,
                                                       v1::Deal* response) {
  return runner_.Run(
      context, "DeliverMilestone", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireWriter(call.caller));
        return Mutate(
            call, "DeliverMilestone", request->request_id(), request->deal_id(),
            request->expected_version(), *request,
            [&](const v1::Deal& d) -> absl::Status {
              TT_RETURN_IF_ERROR(ActsForParty(call, d, v1::PARTY_ROLE_SELLER));
              return NoPartySuspended(d, call);
            },
            [&](const v1::Deal& d) {
              return transactions::DeliverMilestone(d, request->milestone_index(), absl::Now());
            },
            response);
      });
}

grpc::Status TransactionsServiceImpl::AcceptMilestone(grpc::ServerContext* context,
                                                      const v1::MilestoneRequest* request,
                                                      v1::Deal* response) {
  return runner_.Run(
      context, "AcceptMilestone", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireWriter(call.caller));
        return Mutate(
            call, "AcceptMilestone", request->request_id(), request->deal_id(),
            request->expected_version(), *request,
            [&](const v1::Deal& d) -> absl::Status {
              TT_RETURN_IF_ERROR(ActsForParty(call, d, v1::PARTY_ROLE_BUYER));
              return NoPartySuspended(d, call);
            },
            [&](const v1::Deal& d) {
              return transactions::AcceptMilestone(d, request->milestone_index(), absl::Now());
            },
            response);
      });
}

grpc::Status TransactionsServiceImpl::RecordPayment(grpc::ServerContext* context,
                                                    const v1::RecordPaymentRequest* request,
                                                    v1::Deal* response) {
  return runner_.Run(
      context, "RecordPayment", *request, [&](const CallContext& call) -> absl::Status {
        if (call.caller.role() != reg::API_CLIENT_ROLE_PARTNER && !IsOperator(call.caller)) {
          return absl::PermissionDeniedError("payments are recorded by a finance partner");
        }
        TT_RETURN_IF_ERROR(ValidatePayment(*request));
        return Mutate(
            call, "RecordPayment", request->request_id(), request->deal_id(),
            request->expected_version(), *request,
            [&](const v1::Deal& d) { return NoPartySuspended(d, call); },
            [&](const v1::Deal& d) {
              return transactions::RecordPayment(d, *request, absl::Now());
            },
            response,
            [&](store::DealStore& deals, const v1::Deal& d) {
              deals.InsertPayment(d.id(), *request);
            });
      });
}

grpc::Status TransactionsServiceImpl::RecordMilestoneFunding(
    grpc::ServerContext* context, const v1::RecordMilestoneFundingRequest* request,
    v1::Deal* response) {
  return runner_.Run(
      context, "RecordMilestoneFunding", *request, [&](const CallContext& call) -> absl::Status {
        if (call.caller.role() != reg::API_CLIENT_ROLE_PARTNER && !IsOperator(call.caller)) {
          return absl::PermissionDeniedError("escrow funding is recorded by a finance partner");
        }
        TT_RETURN_IF_ERROR(ValidateMilestoneFunding(*request));
        return Mutate(
            call, "RecordMilestoneFunding", request->request_id(), request->deal_id(),
            request->expected_version(), *request,
            [&](const v1::Deal& d) { return NoPartySuspended(d, call); },
            [&](const v1::Deal& d) {
              return transactions::RecordMilestoneFunding(d, *request, absl::Now());
            },
            response);
      });
}

grpc::Status TransactionsServiceImpl::MarkDealFraudulent(
    grpc::ServerContext* context, const v1::MarkDealFraudulentRequest* request,
    v1::Deal* response) {
  return runner_.Run(
      context, "MarkDealFraudulent", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireOperator(call.caller));
        return Mutate(
            call, "MarkDealFraudulent", request->request_id(), request->deal_id(),
            request->expected_version(), *request, [](const v1::Deal&) { return absl::OkStatus(); },
            [&](const v1::Deal& d) {
              return transactions::MarkDealFraudulent(d, request->reason(),
                                                      request->evidence_reference(),
                                                      call.caller.api_client_id(), absl::Now());
            },
            response);
      });
}

grpc::Status TransactionsServiceImpl::CancelDeal(grpc::ServerContext* context,
                                                 const v1::CancelDealRequest* request,
                                                 v1::Deal* response) {
  return runner_.Run(context, "CancelDeal", *request, [&](const CallContext& call) -> absl::Status {
    TT_RETURN_IF_ERROR(RequireWriter(call.caller));
    return Mutate(
        call, "CancelDeal", request->request_id(), request->deal_id(), request->expected_version(),
        *request,
        [&](const v1::Deal& d) -> absl::Status {
          if (request->acting_as() == v1::PARTY_ROLE_OPERATOR) return RequireOperator(call.caller);
          if (request->acting_as() != v1::PARTY_ROLE_BUYER &&
              request->acting_as() != v1::PARTY_ROLE_SELLER) {
            return absl::OkStatus();  // the transition names the field
          }
          return ActsForParty(call, d, request->acting_as());
        },
        [&](const v1::Deal& d) {
          return transactions::CancelDeal(d, request->acting_as(), request->reason(), absl::Now());
        },
        response);
  });
}

grpc::Status TransactionsServiceImpl::OpenDispute(grpc::ServerContext* context,
                                                  const v1::OpenDisputeRequest* request,
                                                  v1::Deal* response) {
  return runner_.Run(
      context, "OpenDispute", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireWriter(call.caller));
        if (request->acting_as() != v1::PARTY_ROLE_BUYER &&
            request->acting_as() != v1::PARTY_ROLE_SELLER) {
          return FieldError("acting_as", "PARTY_ROLE_BUYER or PARTY_ROLE_SELLER required");
        }
        return Mutate(
            call, "OpenDispute", request->request_id(), request->deal_id(),
            request->expected_version(), *request,
            [&](const v1::Deal& d) { return ActsForParty(call, d, request->acting_as()); },
            [&](const v1::Deal& d) {
              return transactions::OpenDispute(d, request->acting_as(), request->reason(),
                                               absl::Now());
            },
            response);
      });
}

grpc::Status TransactionsServiceImpl::ResolveDispute(grpc::ServerContext* context,
                                                     const v1::ResolveDisputeRequest* request,
                                                     v1::Deal* response) {
  return runner_.Run(
      context, "ResolveDispute", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireOperator(call.caller));
        return Mutate(
            call, "ResolveDispute", request->request_id(), request->deal_id(),
            request->expected_version(), *request, [](const v1::Deal&) { return absl::OkStatus(); },
            [&](const v1::Deal& d) {
              return transactions::ResolveDispute(d, request->resolution(), request->cancel(),
                                                  absl::Now());
            },
            response);
      });
}

grpc::Status TransactionsServiceImpl::GetDeal(grpc::ServerContext* context,
                                              const v1::GetDealRequest* request,
                                              v1::Deal* response) {
  return runner_.Run(context, "GetDeal", *request, [&](const CallContext& call) -> absl::Status {
    TT_RETURN_IF_ERROR(CheckUuid("id", request->id()));
    // From the database: a deal changes with every command, so a shared cache of deals would
    // cost every command an invalidation for reads that are rare (partners act on events).
    absl::StatusOr<v1::Deal> deal = RunFor<v1::Deal>(
        deals_,
        [&](store::DealStore& deals, UnitOfWork&) { return deals.GetLatestDeal(request->id()); });
    // Another partner's deal and no deal read the same.
    if (absl::IsNotFound(deal.status())) return DealNotFound("id", request->id());
    if (!deal.ok()) return deal.status();
    TT_RETURN_IF_ERROR(CheckPartnerScope(call.caller, *deal, "id"));
    TT_RETURN_IF_ERROR(MayReadDeal(call, *deal));
    *response = *std::move(deal);
    return absl::OkStatus();
  });
}

grpc::Status TransactionsServiceImpl::ListDeals(grpc::ServerContext* context,
                                                const v1::ListDealsRequest* request,
                                                v1::ListDealsResponse* response) {
  return runner_.Run(context, "ListDeals", *request, [&](const CallContext& call) -> absl::Status {
    TT_ASSIGN_OR_RETURN(int limit, ResolvePageSize(request->page_size()));
    TT_ASSIGN_OR_RETURN(int64_t after, DecodePageToken("ListDeals", *request));
    if (!request->party_org_id().empty()) {
      TT_RETURN_IF_ERROR(CheckUuid("party_org_id", request->party_org_id()));
    }
    if (!v1::DealState_IsValid(request->state())) return FieldError("state", "unknown state");
    store::DealFilter filter{
        request->party_org_id(), request->city_id(), request->state(),
        request->has_opened_after() ? TimeUtil::TimestampToMicroseconds(request->opened_after())
                                    : 0,
        request->has_opened_before() ? TimeUtil::TimestampToMicroseconds(request->opened_before())
                                     : 0};
    // A city system sees the deals that involve its city: by their listing or by any party
    // (the store's city filter), as GetDeal's MayRead.
    TT_ASSIGN_OR_RETURN(const std::string scope, CityScope(call.caller));
    if (!scope.empty()) {
      if (!filter.city_id.empty() && filter.city_id != scope) {
        return absl::PermissionDeniedError("city_id: a city system lists its own city's deals");
      }
      filter.city_id = scope;
    }
    // A finance partner lists the deals that name it, and no other.
    filter.finance_partner_id = PartnerScope(call.caller);
    TT_ASSIGN_OR_RETURN(
        Page<v1::Deal> page,
        RunFor<Page<v1::Deal>>(
            deals_, [&](store::DealStore& deals, UnitOfWork&) -> absl::StatusOr<Page<v1::Deal>> {
              return deals.ListDeals(filter, after, limit);
            }));
    for (auto& d : page.items) *response->add_deals() = std::move(d);
    if (page.more)
      response->set_next_page_token(EncodePageToken("ListDeals", *request, page.last_ordinal));
    return absl::OkStatus();
  });
}

}  // namespace techtrade::transactions
