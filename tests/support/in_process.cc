#include "tests/support/in_process.h"

#include "common/channel.h"

namespace techtrade::testing {
namespace {

namespace reg = techtrade::registry::v1;

RedisOptions NoRedis() {
  RedisOptions options;
  options.host.clear();
  return options;
}

}  // namespace

std::string TableAuthenticator::Add(Principal principal) {
  std::string key = NewApiKey();
  if (principal.api_client_id().empty()) {
    principal.set_api_client_id(ParseApiKey(key)->key_id);
  }
  std::lock_guard lock(mutex_);
  principals_.emplace(key, std::move(principal));
  return key;
}

void TableAuthenticator::Revoke(const std::string& api_key) {
  std::lock_guard lock(mutex_);
  principals_.erase(api_key);
}

absl::StatusOr<Principal> TableAuthenticator::Authenticate(absl::string_view api_key) {
  std::lock_guard lock(mutex_);
  auto it = principals_.find(api_key);
  if (it == principals_.end()) return absl::UnauthenticatedError("unknown or revoked API key");
  return it->second;
}

Principal OperatorPrincipal() {
  Principal p;
  p.set_role(reg::API_CLIENT_ROLE_OPERATOR);
  return p;
}

Principal CitySystemPrincipal(const std::string& city_id) {
  Principal p;
  p.set_role(reg::API_CLIENT_ROLE_CITY_SYSTEM);
  p.set_city_id(city_id);
  return p;
}

Principal PartnerPrincipal() {
  Principal p;
  p.set_role(reg::API_CLIENT_ROLE_PARTNER);
  return p;
}

InProcessServer::InProcessServer(const std::string& service_name)
    : metrics_(service_name), runner_(keys_, metrics_), cache_(NoRedis()) {}

InProcessServer::~InProcessServer() {
  if (server_ != nullptr) server_->Shutdown();
}

void InProcessServer::Start(const std::vector<grpc::Service*>& services) {
  grpc::ServerBuilder builder;
  for (grpc::Service* service : services) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  channel_ = server_->InProcessChannel(grpc::ChannelArguments());
}

std::unique_ptr<grpc::ClientContext> CallAs(const std::string& api_key) {
  auto context = std::make_unique<grpc::ClientContext>();
  SetCallCredentials(*context, api_key, absl::Seconds(10));
  return context;
}

}  // namespace techtrade::testing
