// The registry service process: pilot cities, organisations and API clients.
#include "common/log.h"
#include "common/server.h"
#include "services/registry/api/authenticator.h"
#include "services/registry/api/registry_service.h"
#include "services/registry/store/migrations.h"
#include "services/registry/store/registry_store.h"

int main(int argc, char** argv) {
  using namespace techtrade;
  ServiceDefinition definition{
      .name = "registry",
      .topic = "techtrade.registry.events.v1",
      .migrations = registry::RegistryMigrations(),
      // The registry checks API keys against its own table.
      .authenticator = [](PgPool& db, Cache& cache) -> std::unique_ptr<Authenticator> {
        return std::make_unique<registry::LocalAuthenticator>(db, cache);
      },
      .build = [](ServiceEnvironment& env)
          -> absl::StatusOr<std::vector<std::unique_ptr<grpc::Service>>> {
        RegisterConstraintErrors(registry::store::RegistryConstraintErrors());
        if (!env.config.bootstrap_operator_key.empty()) {
          absl::Status s =
              registry::EnsureBootstrapOperatorKey(env.db, env.config.bootstrap_operator_key);
          if (!s.ok()) return s;
        }
        std::vector<std::unique_ptr<grpc::Service>> services;
        services.push_back(std::make_unique<registry::RegistryServiceImpl>(
            env.db, env.cache, env.runner, env.keys, env.principals));
        return services;
      }};
  return RunService(argc, argv, definition);
}
