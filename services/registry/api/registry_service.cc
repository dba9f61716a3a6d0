#include "services/registry/api/registry_service.h"

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/emit.h"
#include "common/idempotency.h"
#include "common/ids.h"
#include "common/outbox.h"
#include "common/paging.h"
#include "common/registry_client.h"
#include "common/status.h"
#include "common/validation.h"
#include "services/registry/domain/rules.h"
#include "services/registry/store/registry_store.h"

namespace techtrade::registry {
namespace {

constexpr char kProducer[] = "registry";

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

}  // namespace

RegistryServiceImpl::RegistryServiceImpl(PgPool& db, Cache& cache, RpcRunner& runner,
                                         Authenticator& keys, MemoizingAuthenticator& principals)
    : db_(db),
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
            *response, RunIdempotent<v1::PilotCity>(
                           db_, IdempotencyKeyFor(call, request->request_id(), "CreatePilotCity"),
                           *request, [&](Tx& tx) -> absl::StatusOr<v1::PilotCity> {
                             v1::PilotCity city = store::InsertPilotCity(tx, *request, NowMicros());
                             v1::PilotCityCreated event;
                             *event.mutable_pilot_city() = city;
                             Emit(tx, kProducer,
                                  EventCause::OfRequest(request->request_id(), call.traceparent),
                                  {"pilot_city", city.id()}, city.version(), event);
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
    TT_ASSIGN_OR_RETURN(*response, InTransaction(db_, [&](Tx& tx) {
      return store::GetPilotCity(tx, request->id());
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
    TT_ASSIGN_OR_RETURN(Page<v1::PilotCity> page,
                        InTransaction(db_, [&](Tx& tx) -> absl::StatusOr<Page<v1::PilotCity>> {
                          return store::ListPilotCities(tx, after, limit);
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
                db_, IdempotencyKeyFor(call, request->request_id(), "RegisterOrganization"),
                *request, [&](Tx& tx) -> absl::StatusOr<v1::Organization> {
                  v1::Organization org = store::InsertOrganization(tx, *request, NowMicros());
                  v1::OrganizationRegistered event;
                  *event.mutable_organization() = org;
                  Emit(tx, kProducer,
                       EventCause::OfRequest(request->request_id(), call.traceparent),
                       {"organization", org.id()}, org.version(), event);
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
                              return InTransaction(db_, [&](Tx& tx) {
                                return store::GetOrganization(tx, request->id(), false);
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
        store::OrganizationFilter filter{request->city_id(), request->kind(), request->status(),
                                         request->credit_code()};
        TT_ASSIGN_OR_RETURN(
            Page<v1::Organization> page,
            InTransaction(db_, [&](Tx& tx) -> absl::StatusOr<Page<v1::Organization>> {
              return store::ListOrganizations(tx, filter, after, limit);
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
                db_, IdempotencyKeyFor(call, request->request_id(), "UpdateOrganization"), *request,
                [&](Tx& tx) -> absl::StatusOr<v1::Organization> {
                  TT_ASSIGN_OR_RETURN(v1::Organization org,
                                      store::GetOrganization(tx, request->id(), true));
                  TT_RETURN_IF_ERROR(RequireCityAccess(call.caller, org.city_id()));
                  TT_RETURN_IF_ERROR(
                      CheckVersionIsCurrent(request->expected_version(), org.version()));
                  if (request->has_name()) org.set_name(request->name());
                  if (request->has_address()) org.set_address(request->address());
                  if (request->has_contact_email()) org.set_contact_email(request->contact_email());
                  if (request->has_description()) org.set_description(request->description());
                  org.set_version(org.version() + 1);
                  v1::OrganizationUpdated event;
                  *event.mutable_organization() = store::SaveOrganization(tx, org, NowMicros());
                  Emit(tx, kProducer,
                       EventCause::OfRequest(request->request_id(), call.traceparent),
                       {"organization", org.id()}, org.version(), event);
                  return event.organization();
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
    if constexpr (std::is_same_v<Request, v1::SuspendOrganizationRequest>) {
      TT_RETURN_IF_ERROR(ValidateSuspendOrganization(request));
    } else {
      TT_RETURN_IF_ERROR(CheckUuid("id", request.id()));
      TT_RETURN_IF_ERROR(CheckExpectedVersion(request.expected_version()));
    }
    TT_ASSIGN_OR_RETURN(
        *response,
        RunIdempotent<v1::Organization>(
            db_, IdempotencyKeyFor(call, request.request_id(), std::string(method)), request,
            [&](Tx& tx) -> absl::StatusOr<v1::Organization> {
              bool ever_verified = false;
              TT_ASSIGN_OR_RETURN(v1::Organization org,
                                  store::GetOrganization(tx, request.id(), true, &ever_verified));
              TT_RETURN_IF_ERROR(RequireCityAccess(call.caller, org.city_id()));
              TT_RETURN_IF_ERROR(CheckVersionIsCurrent(request.expected_version(), org.version()));
              TT_ASSIGN_OR_RETURN(v1::OrganizationStatus next,
                                  NextStatus(org.status(), action, ever_verified));
              org.set_status(next);
              if constexpr (std::is_same_v<Request, v1::SuspendOrganizationRequest>) {
                org.set_suspension_reason(request.reason());
              } else {
                org.clear_suspension_reason();
              }
              org.set_version(org.version() + 1);
              Event event;
              *event.mutable_organization() = store::SaveOrganization(tx, org, NowMicros());
              Emit(tx, kProducer, EventCause::OfRequest(request.request_id(), call.traceparent),
                   {"organization", org.id()}, org.version(), event);
              return event.organization();
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
                db_, IdempotencyKeyFor(call, request->request_id(), "IssueApiKey"), *request,
                [&](Tx& tx) -> absl::StatusOr<v1::IssueApiKeyResponse> {
                  std::string api_key = NewApiKey();
                  TT_ASSIGN_OR_RETURN(ParsedApiKey parsed, ParseApiKey(api_key));
                  v1::IssueApiKeyResponse issued;
                  TT_ASSIGN_OR_RETURN(*issued.mutable_api_client(),
                                      store::InsertApiClient(tx, parsed.key_id, *request,
                                                             Sha256Hex(parsed.secret)));
                  issued.set_api_key(api_key);
                  v1::ApiKeyIssued event;
                  *event.mutable_api_client() = issued.api_client();
                  Emit(tx, kProducer,
                       EventCause::OfRequest(request->request_id(), call.traceparent),
                       {"api_client", parsed.key_id}, 1, event);
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
        TT_ASSIGN_OR_RETURN(
            *response,
            RunIdempotent<v1::ApiClient>(
                db_, IdempotencyKeyFor(call, request->request_id(), "RevokeApiKey"), *request,
                [&](Tx& tx) -> absl::StatusOr<v1::ApiClient> {
                  TT_ASSIGN_OR_RETURN(store::StoredApiClient stored,
                                      store::GetApiClient(tx, request->id(), true));
                  TT_RETURN_IF_ERROR(
                      CheckVersionIsCurrent(request->expected_version(), stored.client.version()));
                  if (stored.client.status() == v1::API_CLIENT_STATUS_REVOKED) {
                    return absl::FailedPreconditionError("the key is already revoked");
                  }
                  v1::ApiKeyRevoked event;
                  *event.mutable_api_client() =
                      store::RevokeApiClient(tx, request->id(), stored.client.version() + 1);
                  Emit(tx, kProducer,
                       EventCause::OfRequest(request->request_id(), call.traceparent),
                       {"api_client", request->id()}, event.api_client().version(), event);
                  return event.api_client();
                }));
        cache_.Invalidate(ApiKeyCacheKey(request->id()));
        memoized_authenticator_.Forget(request->id());
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
        TT_ASSIGN_OR_RETURN(store::StoredApiClient stored, InTransaction(db_, [&](Tx& tx) {
                              return store::GetApiClient(tx, request->id(), false);
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
        TT_ASSIGN_OR_RETURN(Page<v1::ApiClient> page,
                            InTransaction(db_, [&](Tx& tx) -> absl::StatusOr<Page<v1::ApiClient>> {
                              return store::ListApiClients(tx, after, limit);
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
  return runner_.RunUnauthenticated(
      context, "Authenticate", *request, [&](const CallContext&) -> absl::Status {
        TT_ASSIGN_OR_RETURN(*response, authenticator_.Authenticate(request->api_key()));
        return absl::OkStatus();
      });
}

}  // namespace techtrade::registry
