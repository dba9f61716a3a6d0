// Certified technology managers (技术经理人): registered and revoked by an operator or the system
// of the affiliation's city, read by any API client (a deal names one as its broker and the
// transactions service checks it).
#include "services/registry/domain/technology_managers.h"

#include "absl/strings/str_cat.h"
#include "common/field_rules.h"
#include "common/ids.h"
#include "common/paging.h"
#include "common/status.h"
#include "common/validation.h"
#include "services/registry/api/registry_service.h"

namespace techtrade::registry {
namespace {

constexpr char kProducer[] = "registry";

void Emit(UnitOfWork& work, const CallContext& call, const std::string& request_id,
          const v1::TechnologyManager& m, const google::protobuf::Message& event) {
  work.Emit(kProducer, EventCause::OfRequest(request_id, call.traceparent, call.caller),
            {"technology_manager", m.id(), {m.city_id()}}, m.version(), event);
}

}  // namespace

grpc::Status RegistryServiceImpl::RegisterTechnologyManager(
    grpc::ServerContext* context, const v1::RegisterTechnologyManagerRequest* request,
    v1::TechnologyManager* response) {
  return runner_.Run(
      context, "RegisterTechnologyManager", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireWriter(call.caller));
        TT_RETURN_IF_ERROR(ValidateRegisterTechnologyManager(*request, absl::Now()));
        TT_ASSIGN_OR_RETURN(
            *response,
            RunIdempotent<v1::TechnologyManager>(
                store_, IdempotencyKeyFor(call, request->request_id(), "RegisterTechnologyManager"),
                *request,
                [&](RegistryStore& store,
                    UnitOfWork& work) -> absl::StatusOr<v1::TechnologyManager> {
                  // Locked: a suspension of the organisation orders after the registration.
                  absl::StatusOr<LockedOrganization> org =
                      store.LockOrganization(request->organization_id());
                  if (absl::IsNotFound(org.status())) {
                    return FieldError("organization_id",
                                      absl::StrCat("no organisation ", request->organization_id(),
                                                   " in the registry"));
                  }
                  if (!org.ok()) return org.status();
                  TT_RETURN_IF_ERROR(RequireCityAccess(call.caller, org->organization.city_id()));
                  TT_RETURN_IF_ERROR(CheckAffiliation(org->organization));
                  v1::TechnologyManager manager =
                      NewTechnologyManager(*request, org->organization, NewUuid(), absl::Now());
                  TT_RETURN_IF_ERROR(store.InsertTechnologyManager(manager));
                  v1::TechnologyManagerRegistered event;
                  *event.mutable_technology_manager() = manager;
                  Emit(work, call, request->request_id(), manager, event);
                  return manager;
                }));
        return absl::OkStatus();
      });
}

grpc::Status RegistryServiceImpl::GetTechnologyManager(
    grpc::ServerContext* context, const v1::GetTechnologyManagerRequest* request,
    v1::TechnologyManager* response) {
  return runner_.Run(
      context, "GetTechnologyManager", *request, [&](const CallContext&) -> absl::Status {
        TT_RETURN_IF_ERROR(CheckUuid("id", request->id()));
        TT_ASSIGN_OR_RETURN(
            *response,
            RunFor<v1::TechnologyManager>(store_, [&](RegistryStore& store, UnitOfWork&) {
              return store.GetTechnologyManager(request->id(), /*lock=*/false);
            }));
        return absl::OkStatus();
      });
}

grpc::Status RegistryServiceImpl::ListTechnologyManagers(
    grpc::ServerContext* context, const v1::ListTechnologyManagersRequest* request,
    v1::ListTechnologyManagersResponse* response) {
  return runner_.Run(
      context, "ListTechnologyManagers", *request, [&](const CallContext&) -> absl::Status {
        TT_ASSIGN_OR_RETURN(int limit, ResolvePageSize(request->page_size()));
        TT_ASSIGN_OR_RETURN(int64_t after, DecodePageToken("ListTechnologyManagers", *request));
        if (!v1::TechnologyManagerStatus_IsValid(request->status())) {
          return FieldError("status", "unknown status");
        }
        TechnologyManagerFilter filter{request->organization_id(), request->city_id(),
                                       request->status()};
        TT_ASSIGN_OR_RETURN(
            Page<v1::TechnologyManager> page,
            RunFor<Page<v1::TechnologyManager>>(store_, [&](RegistryStore& store, UnitOfWork&) {
              return absl::StatusOr<Page<v1::TechnologyManager>>(
                  store.ListTechnologyManagers(filter, after, limit));
            }));
        for (auto& m : page.items) *response->add_technology_managers() = std::move(m);
        if (page.more) {
          response->set_next_page_token(
              EncodePageToken("ListTechnologyManagers", *request, page.last_ordinal));
        }
        return absl::OkStatus();
      });
}

grpc::Status RegistryServiceImpl::RevokeTechnologyManager(
    grpc::ServerContext* context, const v1::RevokeTechnologyManagerRequest* request,
    v1::TechnologyManager* response) {
  return runner_.Run(
      context, "RevokeTechnologyManager", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireWriter(call.caller));
        TT_RETURN_IF_ERROR(CheckFieldRules(*request));
        TT_ASSIGN_OR_RETURN(
            *response,
            RunIdempotent<v1::TechnologyManager>(
                store_, IdempotencyKeyFor(call, request->request_id(), "RevokeTechnologyManager"),
                *request,
                [&](RegistryStore& store,
                    UnitOfWork& work) -> absl::StatusOr<v1::TechnologyManager> {
                  TT_ASSIGN_OR_RETURN(v1::TechnologyManager current,
                                      store.GetTechnologyManager(request->id(), /*lock=*/true));
                  TT_RETURN_IF_ERROR(RequireCityAccess(call.caller, current.city_id()));
                  TT_ASSIGN_OR_RETURN(
                      v1::TechnologyManager manager,
                      registry::RevokeTechnologyManager(current, request->expected_version(),
                                                        request->reason(), absl::Now()));
                  store.SaveTechnologyManager(manager);
                  v1::TechnologyManagerRevoked event;
                  *event.mutable_technology_manager() = manager;
                  Emit(work, call, request->request_id(), manager, event);
                  return manager;
                }));
        return absl::OkStatus();
      });
}

}  // namespace techtrade::registry
