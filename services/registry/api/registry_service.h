// gRPC handlers of techtrade.registry.v1.RegistryService. Every mutation is authorise → validate
// → load (through the store) → decide (services/registry/domain) → save → emit, in one unit of
// work with its idempotency record (common/command.h).
#pragma once

#include "common/auth.h"
#include "common/cache.h"
#include "common/command.h"
#include "common/server.h"
#include "services/registry/domain/rules.h"
#include "services/registry/store/registry_store.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"

namespace techtrade::registry {

class RegistryServiceImpl final : public v1::RegistryService::Service {
 public:
  // `keys` checks API keys against the registry's own table (LocalAuthenticator); `principals`
  // remembers them for the runner, and forgets a key the moment it is revoked here.
  RegistryServiceImpl(Transactor<RegistryStore>& store, Cache& cache, RpcRunner& runner,
                      Authenticator& keys, MemoizingAuthenticator& principals);

  grpc::Status CreatePilotCity(grpc::ServerContext* context,
                               const v1::CreatePilotCityRequest* request,
                               v1::PilotCity* response) override;
  grpc::Status GetPilotCity(grpc::ServerContext* context, const v1::GetPilotCityRequest* request,
                            v1::PilotCity* response) override;
  grpc::Status ListPilotCities(grpc::ServerContext* context,
                               const v1::ListPilotCitiesRequest* request,
                               v1::ListPilotCitiesResponse* response) override;
  grpc::Status RegisterOrganization(grpc::ServerContext* context,
                                    const v1::RegisterOrganizationRequest* request,
                                    v1::Organization* response) override;
  grpc::Status GetOrganization(grpc::ServerContext* context,
                               const v1::GetOrganizationRequest* request,
                               v1::Organization* response) override;
  grpc::Status ListOrganizations(grpc::ServerContext* context,
                                 const v1::ListOrganizationsRequest* request,
                                 v1::ListOrganizationsResponse* response) override;
  grpc::Status UpdateOrganization(grpc::ServerContext* context,
                                  const v1::UpdateOrganizationRequest* request,
                                  v1::Organization* response) override;
  grpc::Status VerifyOrganization(grpc::ServerContext* context,
                                  const v1::VerifyOrganizationRequest* request,
                                  v1::Organization* response) override;
  grpc::Status SuspendOrganization(grpc::ServerContext* context,
                                   const v1::SuspendOrganizationRequest* request,
                                   v1::Organization* response) override;
  grpc::Status ReinstateOrganization(grpc::ServerContext* context,
                                     const v1::ReinstateOrganizationRequest* request,
                                     v1::Organization* response) override;
  grpc::Status IssueApiKey(grpc::ServerContext* context, const v1::IssueApiKeyRequest* request,
                           v1::IssueApiKeyResponse* response) override;
  grpc::Status RevokeApiKey(grpc::ServerContext* context, const v1::RevokeApiKeyRequest* request,
                            v1::ApiClient* response) override;
  // api_key_rotation.cc
  grpc::Status RotateApiKey(grpc::ServerContext* context, const v1::RotateApiKeyRequest* request,
                            v1::RotateApiKeyResponse* response) override;
  grpc::Status GetApiClient(grpc::ServerContext* context, const v1::GetApiClientRequest* request,
                            v1::ApiClient* response) override;
  grpc::Status ListApiClients(grpc::ServerContext* context,
                              const v1::ListApiClientsRequest* request,
                              v1::ListApiClientsResponse* response) override;
  grpc::Status Authenticate(grpc::ServerContext* context, const v1::AuthenticateRequest* request,
                            Principal* response) override;
  // finance_partners.cc
  grpc::Status ListFinancePartners(grpc::ServerContext* context,
                                   const v1::ListFinancePartnersRequest* request,
                                   v1::ListFinancePartnersResponse* response) override;
  grpc::Status GetFinancePartner(grpc::ServerContext* context,
                                 const v1::GetFinancePartnerRequest* request,
                                 v1::FinancePartner* response) override;
  // technology_managers.cc
  grpc::Status RegisterTechnologyManager(grpc::ServerContext* context,
                                         const v1::RegisterTechnologyManagerRequest* request,
                                         v1::TechnologyManager* response) override;
  grpc::Status GetTechnologyManager(grpc::ServerContext* context,
                                    const v1::GetTechnologyManagerRequest* request,
                                    v1::TechnologyManager* response) override;
  grpc::Status ListTechnologyManagers(grpc::ServerContext* context,
                                      const v1::ListTechnologyManagersRequest* request,
                                      v1::ListTechnologyManagersResponse* response) override;
  grpc::Status RevokeTechnologyManager(grpc::ServerContext* context,
                                       const v1::RevokeTechnologyManagerRequest* request,
                                       v1::TechnologyManager* response) override;

 private:
  // Verify, suspend and reinstate share everything but the action and the event.
  template <class Request, class Event>
  grpc::Status Transition(grpc::ServerContext* context, absl::string_view method,
                          const Request& request, OrganizationAction action,
                          v1::Organization* response);

  Transactor<RegistryStore>& store_;
  Cache& cache_;
  RpcRunner& runner_;
  Authenticator& authenticator_;
  MemoizingAuthenticator& memoized_authenticator_;
};

}  // namespace techtrade::registry
