#include "common/registry_client.h"

#include "absl/strings/str_cat.h"
#include "common/channel.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/status.h"

namespace techtrade {
namespace {

namespace v1 = techtrade::registry::v1;

}  // namespace

RegistryClient::RegistryClient(const std::string& address, Cache& cache, absl::Duration deadline)
    : cache_(cache),
      deadline_(deadline),
      stub_(v1::RegistryService::NewStub(ServiceChannel(address))) {}

absl::StatusOr<v1::Organization> RegistryClient::GetOrganization(
    const std::string& organization_id, const std::string& caller_api_key) {
  return cache_.GetOrLoad<v1::Organization>(
      OrganizationCacheKey(organization_id), kSharedCacheTtl,
      [&]() -> absl::StatusOr<v1::Organization> {
        grpc::ClientContext context;
        SetCallCredentials(context, caller_api_key, deadline_);
        context.AddMetadata(kFreshReadMetadata, "1");
        v1::GetOrganizationRequest request;
        request.set_id(organization_id);
        v1::Organization org;
        grpc::Status s = stub_->GetOrganization(&context, request, &org);
        if (!s.ok()) return StatusFromGrpc(s, "registry (GetOrganization)");
        return org;
      });
}

absl::StatusOr<v1::PilotCity> RegistryClient::GetPilotCity(const std::string& city_id,
                                                           const std::string& caller_api_key) {
  grpc::ClientContext context;
  SetCallCredentials(context, caller_api_key, deadline_);
  v1::GetPilotCityRequest request;
  request.set_id(city_id);
  v1::PilotCity city;
  grpc::Status s = stub_->GetPilotCity(&context, request, &city);
  if (!s.ok()) return StatusFromGrpc(s, "registry (GetPilotCity)");
  return city;
}

absl::StatusOr<v1::FinancePartner> RegistryClient::GetFinancePartner(
    const std::string& partner_id, const std::string& caller_api_key) {
  // The registry marks the entry changed when it revokes the partner (kReloadMarker), which
  // sends every read here to it; NOT_FOUND is not cached, so a partner onboarded since is found
  // at once.
  return cache_.GetOrLoad<v1::FinancePartner>(
      FinancePartnerCacheKey(partner_id), kSharedCacheTtl,
      [&]() -> absl::StatusOr<v1::FinancePartner> {
        grpc::ClientContext context;
        SetCallCredentials(context, caller_api_key, deadline_);
        v1::GetFinancePartnerRequest request;
        request.set_id(partner_id);
        v1::FinancePartner partner;
        grpc::Status s = stub_->GetFinancePartner(&context, request, &partner);
        if (!s.ok()) return StatusFromGrpc(s, "registry (GetFinancePartner)");
        return partner;
      });
}

absl::StatusOr<v1::TechnologyManager> RegistryClient::GetTechnologyManager(
    absl::string_view field, const std::string& manager_id, const std::string& caller_api_key) {
  grpc::ClientContext context;
  SetCallCredentials(context, caller_api_key, deadline_);
  v1::GetTechnologyManagerRequest request;
  request.set_id(manager_id);
  v1::TechnologyManager manager;
  grpc::Status s = stub_->GetTechnologyManager(&context, request, &manager);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
    return FieldError(field,
                      absl::StrCat("no technology manager ", manager_id, " in the registry"));
  }
  if (!s.ok()) return StatusFromGrpc(s, "registry (GetTechnologyManager)");
  return manager;
}

absl::StatusOr<v1::Organization> RegistryClient::GetReferencedOrganization(
    absl::string_view field, const std::string& organization_id,
    const std::string& caller_api_key) {
  absl::StatusOr<v1::Organization> org = GetOrganization(organization_id, caller_api_key);
  if (absl::IsNotFound(org.status())) {
    return FieldError(field, absl::StrCat("no organisation ", organization_id, " in the registry"));
  }
  return org;
}

absl::StatusOr<ApiKeyRecord> RemoteAuthenticator::Load(const ParsedApiKey& key) {
  grpc::ClientContext context;
  SetCallCredentials(context, /*api_key=*/"", registry_.deadline());  // the key is the request
  v1::AuthenticateRequest request;
  request.set_api_key(absl::StrCat("tt_", key.key_id, "_", key.secret));
  v1::Principal principal;
  grpc::Status s = registry_.stub().Authenticate(&context, request, &principal);
  if (!s.ok()) return StatusFromGrpc(s, "registry (Authenticate)");
  // The registry accepted this secret, so its hash is the one it stores.
  ApiKeyRecord record{.secret_hash = Sha256Hex(key.secret),
                      .role = principal.role(),
                      .city_id = principal.city_id(),
                      .active = true,
                      .client_id = principal.api_client_id(),
                      .organization_id = principal.organization_id()};
  if (principal.has_api_key_expire_time()) {
    record.expire_time = absl::FromUnixSeconds(principal.api_key_expire_time().seconds()) +
                         absl::Nanoseconds(principal.api_key_expire_time().nanos());
  }
  return record;
}

}  // namespace techtrade
