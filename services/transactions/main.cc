// The transactions service process: deals from inquiry to payment, the partners' event feed.
#include <memory>

#include "common/config.h"
#include "common/log.h"
#include "common/registry_client.h"
#include "common/server.h"
#include "services/transactions/api/listings_client.h"
#include "services/transactions/api/transactions_service.h"
#include "services/transactions/store/deals_store.h"

int main(int argc, char** argv) {
  using namespace techtrade;
  using namespace techtrade::transactions;
  std::unique_ptr<RegistryClient> registry;
  std::unique_ptr<ListingsClient> listings;
  ServiceDefinition definition{
      .name = "transactions",
      .topic = "techtrade.transactions.events.v1",
      .migrations = store::TransactionsMigrations(),
      .build = [&](ServiceEnvironment& env)
          -> absl::StatusOr<std::vector<std::unique_ptr<grpc::Service>>> {
        RegisterConstraintErrors(store::TransactionsConstraintErrors());
        const std::string listings_addr = EnvOr("TECHTRADE_LISTINGS_ADDR", "");
        if (env.config.registry_addr.empty() || listings_addr.empty()) {
          return absl::InvalidArgumentError(
              "TECHTRADE_REGISTRY_ADDR and TECHTRADE_LISTINGS_ADDR: both required");
        }
        registry =
            std::make_unique<RegistryClient>(env.config.registry_addr, env.cache, absl::Seconds(2));
        listings = std::make_unique<ListingsClient>(listings_addr, env.cache, absl::Seconds(2));
        std::vector<std::unique_ptr<grpc::Service>> services;
        services.push_back(std::make_unique<TransactionsServiceImpl>(env.db, env.cache, env.metrics,
                                                                     *registry, *listings));
        return services;
      }};
  return RunService(argc, argv, definition);
}
