// The transactions service process: deals from inquiry to payment, the partners' event feed.
#include <memory>

#include "common/config.h"
#include "common/log.h"
#include "common/pg_transactor.h"
#include "common/registry_client.h"
#include "common/server.h"
#include "services/transactions/api/listings_client.h"
#include "services/transactions/api/transactions_service.h"
#include "services/transactions/store/deals_store.h"

int main(int argc, char** argv) {
  using namespace techtrade;
  using namespace techtrade::transactions;
  // Owned here so that it outlives the services RunService keeps.
  std::unique_ptr<ListingsClient> listings;
  std::unique_ptr<PgTransactor<store::DealStore, store::PgDealStore>> deals;
  ServiceDefinition definition{
      .name = "transactions",
      .topic = "techtrade.transactions.events.v1",
      .migrations = store::TransactionsMigrations(),
      .settings = {RequiredSetting(
          "TECHTRADE_LISTINGS_ADDR",
          "host:port of the listings service, for the listings deals open on")},
      .build = [&](ServiceEnvironment& env)
          -> absl::StatusOr<std::vector<std::unique_ptr<grpc::Service>>> {
        RegisterConstraintErrors(store::TransactionsConstraintErrors());
        listings = std::make_unique<ListingsClient>(env.settings.String("TECHTRADE_LISTINGS_ADDR"),
                                                    env.cache, kPeerCallDeadline);
        deals = std::make_unique<PgTransactor<store::DealStore, store::PgDealStore>>(env.db);
        std::vector<std::unique_ptr<grpc::Service>> services;
        services.push_back(std::make_unique<TransactionsServiceImpl>(*deals, env.cache, env.runner,
                                                                     *env.registry, *listings));
        return services;
      }};
  return RunService(argc, argv, definition);
}
