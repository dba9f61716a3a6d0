// The registry service process: pilot cities, organisations and API clients.
#include "common/log.h"
#include "common/pg_transactor.h"
#include "common/server.h"
#include "services/registry/api/authenticator.h"
#include "services/registry/api/registry_service.h"
#include "services/registry/store/migrations.h"
#include "services/registry/store/pg_registry_store.h"

int main(int argc, char** argv) {
  using namespace techtrade;
  using RegistryTransactor = PgTransactor<registry::RegistryStore, registry::PgRegistryStore>;
  // The handlers' transactor: built on the pool RunService opens, and outlives the handlers.
  std::unique_ptr<RegistryTransactor> transactor;
  ServiceDefinition definition{
      .name = "registry",
      .topic = "techtrade.registry.events.v1",
      .migrations = registry::RegistryMigrations(),
      // The registry checks API keys against its own table.
      .authenticator = [](PgPool& db, Cache& cache) -> std::unique_ptr<Authenticator> {
        return std::make_unique<registry::LocalAuthenticator>(db, cache);
      },
      .build = [&transactor](ServiceEnvironment& env)
          -> absl::StatusOr<std::vector<std::unique_ptr<grpc::Service>>> {
        RegisterConstraintErrors(registry::RegistryConstraintErrors());
        transactor = std::make_unique<RegistryTransactor>(env.db);
        if (!env.config.bootstrap_operator_key.empty()) {
          absl::Status s =
              registry::EnsureBootstrapOperatorKey(*transactor, env.config.bootstrap_operator_key);
          if (!s.ok()) return s;
        }
        std::vector<std::unique_ptr<grpc::Service>> services;
        services.push_back(std::make_unique<registry::RegistryServiceImpl>(
            *transactor, env.cache, env.runner, env.keys, env.principals));
        return services;
      }};
  return RunService(argc, argv, definition);
}
