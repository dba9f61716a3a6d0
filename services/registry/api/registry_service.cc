#include "services/registry/api/registry_service.h"

#include <type_traits>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/paging.h"
#include "common/registry_client.h"
#include "common/status.h"
#include "common/validation.h"
#include "services/registry/domain/api_keys.h"
#include "services/registry/domain/records.h"
#include "services/registry/domain/rules.h"

namespace techtrade::registry {
namespace {

constexpr char kProducer[] = "registry";

EventCause Cause(const CallContext& call, const std::string& request_id) {
  return EventCause::OfRequest(request_id, call.traceparent, call.caller);
}

}  // namespace

RegistryServiceImpl::RegistryServiceImpl(Transactor<RegistryStore>& store, Cache& cache,
                                         RpcRunner& runner, Authenticator& keys,
                                         MemoizingAuthenticator& principals)
    : store_(store),
      cache_(cache),
      runner_(runner),
      authenticator_(keys),
      memoized_authenticator_(principals) {}

// ---- Pilot cities ----

grpc::Status RegistryServiceImpl::CreatePilotCity(grpc::ServerContext* context,
                                                  const v1::CreatePilotCityRequest* request,
                                                  v1::PilotCity* response) {
  return runner_.Run(
      context, "CreatePilotCity", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireOperator(call.caller));
        TT_RETURN_IF_ERROR(ValidateCreatePilotCity(*request));
        TT_ASSIGN_OR_RETURN(
            *response,
            RunIdempotent<v1::PilotCity>(
                store_, IdempotencyKeyFor(call, request->request_id(), "CreatePilotCity"), *request,
                [&](RegistryStore& store, UnitOfWork& work) -> absl::StatusOr<v1::PilotCity> {
                  v1::PilotCity city = NewPilotCity(*request, absl::Now());
                  TT_RETURN_IF_ERROR(store.InsertPilotCity(city));
                  v1::PilotCityCreated event;
                  *event.mutable_pilot_city() = city;
                  work.Emit(kProducer, Cause(call, request->request_id()),
                            {"pilot_city", city.id(), {city.id()}}, city.version(), event);
                  return city;
                }));
        return absl::OkStatus();
      });
}

grpc::Status RegistryServiceImpl::GetPilotCity(grpc::ServerContext* context,
                                               const v1::GetPilotCityRequest* request,
                                               v1::PilotCity* response) {
  return runner_.Run(context, "GetPilotCity", *request, [&](const CallContext&) -> absl::Status {
    TT_RETURN_IF_ERROR(ValidateCityId("id", request->id()));
    TT_ASSIGN_OR_RETURN(*response,
                        RunFor<v1::PilotCity>(store_, [&](RegistryStore& store, UnitOfWork&) {
                          return store.GetPilotCity(request->id());
                        }));
    return absl::OkStatus();
  });
}

grpc::Status RegistryServiceImpl::ListPilotCities(grpc::ServerContext* context,
                                                  const v1::ListPilotCitiesRequest* request,
                                                  v1::ListPilotCitiesResponse* response) {
  return runner_.Run(context, "ListPilotCities", *request, [&](const CallContext&) -> absl::Status {
    TT_ASSIGN_OR_RETURN(int limit, ResolvePageSize(request->page_size()));
    TT_ASSIGN_OR_RETURN(int64_t after, DecodePageToken("ListPilotCities", *request));
    TT_ASSIGN_OR_RETURN(
        Page<v1::PilotCity> page,
        RunFor<Page<v1::PilotCity>>(store_, [&](RegistryStore& store, UnitOfWork&) {
          return absl::StatusOr<Page<v1::PilotCity>>(store.ListPilotCities(after, limit));
        }));
    for (auto& city : page.items) *response->add_pilot_cities() = std::move(city);
    if (page.more)
      response->set_next_page_token(
          EncodePageToken("ListPilotCities", *request, page.last_ordinal));
    return absl::OkStatus();
  });
}

// ---- Organisations ----

grpc::Status RegistryServiceImpl::RegisterOrganization(
    grpc::ServerContext* context, const v1::RegisterOrganizationRequest* request,
    v1::Organization* response) {
  return runner_.Run(
      context, "RegisterOrganization", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireWriter(call.caller));
        TT_RETURN_IF_ERROR(ValidateRegisterOrganization(*request));
        TT_RETURN_IF_ERROR(RequireCityAccess(call.caller, request->city_id()));
        TT_ASSIGN_OR_RETURN(
            *response,
            RunIdempotent<v1::Organization>(
                store_, IdempotencyKeyFor(call, request->request_id(), "RegisterOrganization"),
                *request,
                [&](RegistryStore& store, UnitOfWork& work) -> absl::StatusOr<v1::Organization> {
                  v1::Organization org = NewOrganization(*request, NewUuid(), absl::Now());
                  TT_RETURN_IF_ERROR(store.InsertOrganization(org));
                  v1::OrganizationRegistered event;
                  *event.mutable_organization() = org;
                  work.Emit(kProducer, Cause(call, request->request_id()),
                            {"organization", org.id(), {org.city_id()}}, org.version(), event);
                  return org;
                }));
        return absl::OkStatus();
      });
}

grpc::Status RegistryServiceImpl::GetOrganization(grpc::ServerContext* context,
                                                  const v1::GetOrganizationRequest* request,
                                                  v1::Organization* response) {
  return runner_.Run(context, "GetOrganization", *request, [&](const CallContext&) -> absl::Status {
    TT_RETURN_IF_ERROR(CheckUuid("id", request->id()));
    TT_ASSIGN_OR_RETURN(*response,
                        cache_.GetOrLoad<v1::Organization>(
                            techtrade::OrganizationCacheKey(request->id()), kSharedCacheTtl,
                            [&] {
                              return RunFor<v1::Organization>(
                                  store_, [&](RegistryStore& store, UnitOfWork&) {
                                    return store.GetOrganization(request->id());
                                  });
                            },
                            NearCopyAllowed(*context)));
    return absl::OkStatus();
  });
}

grpc::Status RegistryServiceImpl::ListOrganizations(grpc::ServerContext* context,
                                                    const v1::ListOrganizationsRequest* request,
                                                    v1::ListOrganizationsResponse* response) {
  return runner_.Run(
      context, "ListOrganizations", *request, [&](const CallContext&) -> absl::Status {
        TT_ASSIGN_OR_RETURN(int limit, ResolvePageSize(request->page_size()));
        TT_ASSIGN_OR_RETURN(int64_t after, DecodePageToken("ListOrganizations", *request));
        if (!v1::OrganizationKind_IsValid(request->kind()))
          return FieldError("kind", "unknown kind");
        if (!v1::OrganizationStatus_IsValid(request->status())) {
          return FieldError("status", "unknown status");
        }
        OrganizationFilter filter{request->city_id(), request->kind(), request->status(),
                                  request->credit_code()};
        TT_ASSIGN_OR_RETURN(
            Page<v1::Organization> page,
            RunFor<Page<v1::Organization>>(store_, [&](RegistryStore& store, UnitOfWork&) {
              return absl::StatusOr<Page<v1::Organization>>(
                  store.ListOrganizations(filter, after, limit));
            }));
        for (auto& org : page.items) *response->add_organizations() = std::move(org);
        if (page.more)
          response->set_next_page_token(
              EncodePageToken("ListOrganizations", *request, page.last_ordinal));
        return absl::OkStatus();
      });
}

grpc::Status RegistryServiceImpl::UpdateOrganization(grpc::ServerContext* context,
                                                     const v1::UpdateOrganizationRequest* request,
                                                     v1::Organization* response) {
  return runner_.Run(
      context, "UpdateOrganization", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireWriter(call.caller));
        TT_RETURN_IF_ERROR(ValidateUpdateOrganization(*request));
        TT_ASSIGN_OR_RETURN(
            *response,
            RunIdempotent<v1::Organization>(
                store_, IdempotencyKeyFor(call, request->request_id(), "UpdateOrganization"),
                *request,
                [&](RegistryStore& store, UnitOfWork& work) -> absl::StatusOr<v1::Organization> {
                  TT_ASSIGN_OR_RETURN(LockedOrganization current,
                                      store.LockOrganization(request->id()));
                  TT_RETURN_IF_ERROR(
                      RequireCityAccess(call.caller, current.organization.city_id()));
                  TT_ASSIGN_OR_RETURN(
                      v1::Organization org,
                      registry::UpdateOrganization(current.organization, *request, absl::Now()));
                  store.SaveOrganization(org);
                  v1::OrganizationUpdated event;
                  *event.mutable_organization() = org;
                  work.Emit(kProducer, Cause(call, request->request_id()),
                            {"organization", org.id(), {org.city_id()}}, org.version(), event);
                  return org;
                }));
        cache_.Invalidate(techtrade::OrganizationCacheKey(response->id()));
        return absl::OkStatus();
      });
}

template <class Request, class Event>
grpc::Status RegistryServiceImpl::Transition(grpc::ServerContext* context, absl::string_view method,
                                             const Request& request, OrganizationAction action,
                                             v1::Organization* response) {
  return runner_.Run(context, method, request, [&](const CallContext& call) -> absl::Status {
    TT_RETURN_IF_ERROR(RequireWriter(call.caller));
    std::string reason;
    if constexpr (std::is_same_v<Request, v1::SuspendOrganizationRequest>) {
      TT_RETURN_IF_ERROR(ValidateSuspendOrganization(request));
      reason = request.reason();
    } else {
      TT_RETURN_IF_ERROR(CheckUuid("id", request.id()));
      TT_RETURN_IF_ERROR(CheckExpectedVersion(request.expected_version()));
    }
    TT_ASSIGN_OR_RETURN(
        *response,
        RunIdempotent<v1::Organization>(
            store_, IdempotencyKeyFor(call, request.request_id(), std::string(method)), request,
            [&](RegistryStore& store, UnitOfWork& work) -> absl::StatusOr<v1::Organization> {
              TT_ASSIGN_OR_RETURN(LockedOrganization current, store.LockOrganization(request.id()));
              TT_RETURN_IF_ERROR(RequireCityAccess(call.caller, current.organization.city_id()));
              TT_ASSIGN_OR_RETURN(
                  v1::Organization org,
                  TransitionOrganization(current.organization, current.ever_verified, action,
                                         request.expected_version(), reason, absl::Now()));
              store.SaveOrganization(org);
              Event event;
              *event.mutable_organization() = org;
              work.Emit(kProducer, Cause(call, request.request_id()),
                        {"organization", org.id(), {org.city_id()}}, org.version(), event);
              return org;
            }));
    cache_.Invalidate(techtrade::OrganizationCacheKey(response->id()));
    return absl::OkStatus();
  });
}

grpc::Status RegistryServiceImpl::VerifyOrganization(grpc::ServerContext* context,
                                                     const v1::VerifyOrganizationRequest* request,
                                                     v1::Organization* response) {
  return Transition<v1::VerifyOrganizationRequest, v1::OrganizationVerified>(
      context, "VerifyOrganization", *request, OrganizationAction::kVerify, response);
}

grpc::Status RegistryServiceImpl::SuspendOrganization(grpc::ServerContext* context,
                                                      const v1::SuspendOrganizationRequest* request,
                                                      v1::Organization* response) {
  return Transition<v1::SuspendOrganizationRequest, v1::OrganizationSuspended>(
      context, "SuspendOrganization", *request, OrganizationAction::kSuspend, response);
}

grpc::Status RegistryServiceImpl::ReinstateOrganization(
    grpc::ServerContext* context, const v1::ReinstateOrganizationRequest* request,
    v1::Organization* response) {
  return Transition<v1::ReinstateOrganizationRequest, v1::OrganizationReinstated>(
      context, "ReinstateOrganization", *request, OrganizationAction::kReinstate, response);
}

// ---- API clients ----

grpc::Status RegistryServiceImpl::IssueApiKey(grpc::ServerContext* context,
                                              const v1::IssueApiKeyRequest* request,
                                              v1::IssueApiKeyResponse* response) {
  return runner_.Run(
      context, "IssueApiKey", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireOperator(call.caller));
        TT_RETURN_IF_ERROR(ValidateIssueApiKey(*request));
        TT_ASSIGN_OR_RETURN(
            *response,
            RunIdempotent<v1::IssueApiKeyResponse>(
                store_, IdempotencyKeyFor(call, request->request_id(), "IssueApiKey"), *request,
                [&](RegistryStore& store,
                    UnitOfWork& work) -> absl::StatusOr<v1::IssueApiKeyResponse> {
                  if (!request->organization_id().empty()) {
                    absl::StatusOr<v1::Organization> org =
                        store.GetOrganization(request->organization_id());
                    if (absl::IsNotFound(org.status())) {
                      return FieldError("organization_id", "no such organisation");
                    }
                    if (!org.ok()) return org.status();
                    TT_RETURN_IF_ERROR(CheckBodyOrganization(*request, *org));
                  }
                  std::string api_key = NewApiKey();
                  TT_ASSIGN_OR_RETURN(ParsedApiKey parsed, ParseApiKey(api_key));
                  v1::IssueApiKeyResponse issued;
                  TT_ASSIGN_OR_RETURN(*issued.mutable_api_client(),
                                      store.InsertApiClient(NewApiClient(*request, parsed.key_id),
                                                            Sha256Hex(parsed.secret)));
                  issued.set_api_key(api_key);
                  TT_ASSIGN_OR_RETURN(
                      *issued.mutable_key(),
                      store.InsertApiKey(NewClientKey(parsed.key_id, parsed.key_id, absl::Now(),
                                                      absl::Seconds(request->ttl_seconds())),
                                         Sha256Hex(parsed.secret)));
                  v1::ApiKeyIssued event;
                  *event.mutable_api_client() = issued.api_client();
                  *event.mutable_key() = issued.key();
                  work.Emit(kProducer, Cause(call, request->request_id()),
                            {"api_client", parsed.key_id, {issued.api_client().city_id()}},
                            issued.api_client().version(), event);
                  return issued;
                },
                // The secret is shown once: the stored replay has none.
                [](v1::IssueApiKeyResponse& stored) { stored.clear_api_key(); }));
        return absl::OkStatus();
      });
}

grpc::Status RegistryServiceImpl::RevokeApiKey(grpc::ServerContext* context,
                                               const v1::RevokeApiKeyRequest* request,
                                               v1::ApiClient* response) {
  return runner_.Run(
      context, "RevokeApiKey", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireOperator(call.caller));
        if (request->id().empty()) return FieldError("id", "required");
        TT_RETURN_IF_ERROR(CheckExpectedVersion(request->expected_version()));
        std::vector<std::string> revoked_keys;  // the client's own id included
        TT_ASSIGN_OR_RETURN(
            *response,
            RunIdempotent<v1::ApiClient>(
                store_, IdempotencyKeyFor(call, request->request_id(), "RevokeApiKey"), *request,
                [&](RegistryStore& store, UnitOfWork& work) -> absl::StatusOr<v1::ApiClient> {
                  TT_ASSIGN_OR_RETURN(StoredApiClient current, store.LockApiClient(request->id()));
                  TT_ASSIGN_OR_RETURN(v1::ApiClient revoked,
                                      RevokeApiClient(current.client, request->expected_version()));
                  v1::ApiKeyRevoked event;
                  *event.mutable_api_client() = store.SaveRevokedApiClient(revoked);
                  // Revoking the client revokes every key it holds.
                  revoked_keys.clear();
                  for (v1::ApiKey& key : store.RevokeApiKeys(request->id())) {
                    revoked_keys.push_back(key.id());
                    *event.add_keys() = std::move(key);
                  }
                  work.Emit(kProducer, Cause(call, request->request_id()),
                            {"api_client", request->id(), {event.api_client().city_id()}},
                            event.api_client().version(), event);
                  return event.api_client();
                }));
        if (revoked_keys.empty()) {
          // A replay: the first call's tombstones may never have reached Redis, so write them
          // again, for every key the client held.
          TT_ASSIGN_OR_RETURN(
              std::vector<v1::ApiKey> keys,
              RunFor<std::vector<v1::ApiKey>>(store_, [&](RegistryStore& store, UnitOfWork&) {
                return absl::StatusOr<std::vector<v1::ApiKey>>(store.ListApiKeys(request->id()));
              }));
          for (const v1::ApiKey& key : keys) revoked_keys.push_back(key.id());
        }
        // Tombstones, not deletions: a load that read a key before the commit cannot cache it
        // again.
        MarkApiKeyRevoked(cache_, request->id());
        // A marker, not a deletion: a transactions replica's load that read the partner before
        // the commit cannot cache it again, so OpenDeal stops offering it at once.
        if (response->role() == v1::API_CLIENT_ROLE_PARTNER) {
          cache_.MarkChanged(FinancePartnerCacheKey(request->id()));
        }
        memoized_authenticator_.Forget(request->id());
        for (const std::string& key_id : revoked_keys) {
          MarkApiKeyRevoked(cache_, key_id);
          memoized_authenticator_.Forget(key_id);
        }
        return absl::OkStatus();
      });
}

grpc::Status RegistryServiceImpl::GetApiClient(grpc::ServerContext* context,
                                               const v1::GetApiClientRequest* request,
                                               v1::ApiClient* response) {
  return runner_.Run(
      context, "GetApiClient", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireOperator(call.caller));
        if (request->id().empty()) return FieldError("id", "required");
        TT_ASSIGN_OR_RETURN(StoredApiClient stored,
                            RunFor<StoredApiClient>(store_, [&](RegistryStore& store, UnitOfWork&) {
                              return store.GetApiClient(request->id());
                            }));
        *response = std::move(stored.client);
        return absl::OkStatus();
      });
}

grpc::Status RegistryServiceImpl::ListApiClients(grpc::ServerContext* context,
                                                 const v1::ListApiClientsRequest* request,
                                                 v1::ListApiClientsResponse* response) {
  return runner_.Run(
      context, "ListApiClients", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireOperator(call.caller));
        TT_ASSIGN_OR_RETURN(int limit, ResolvePageSize(request->page_size()));
        TT_ASSIGN_OR_RETURN(int64_t after, DecodePageToken("ListApiClients", *request));
        TT_ASSIGN_OR_RETURN(
            Page<v1::ApiClient> page,
            RunFor<Page<v1::ApiClient>>(store_, [&](RegistryStore& store, UnitOfWork&) {
              return absl::StatusOr<Page<v1::ApiClient>>(store.ListApiClients(after, limit));
            }));
        for (auto& client : page.items) *response->add_api_clients() = std::move(client);
        if (page.more)
          response->set_next_page_token(
              EncodePageToken("ListApiClients", *request, page.last_ordinal));
        return absl::OkStatus();
      });
}

grpc::Status RegistryServiceImpl::Authenticate(grpc::ServerContext* context,
                                               const v1::AuthenticateRequest* request,
                                               Principal* response) {
  // How the other services resolve keys: only they may ask, or it would answer key guesses.
  return runner_.RunForServices(
      context, "Authenticate", *request, [&](const CallContext&) -> absl::Status {
        TT_ASSIGN_OR_RETURN(*response, authenticator_.Authenticate(request->api_key()));
        return absl::OkStatus();
      });
}

}  // namespace techtrade::registry
