// The fund service process: programmes, applications, the budget ledger, and the consumer of
// deal events that drives disbursement.
#include <memory>

#include "common/config.h"
#include "common/inbox.h"
#include "common/inbox_consumer.h"
#include "common/pg_transactor.h"
#include "common/registry_client.h"
#include "common/server.h"
#include "services/fund/api/fund_gauges.h"
#include "services/fund/api/fund_service.h"
#include "services/fund/api/suspension.h"
#include "services/fund/store/pg_fund_store.h"

int main(int argc, char** argv) {
  using namespace techtrade;
  using namespace techtrade::fund;
  using FundTransactor = PgTransactor<FundStore, PgFundStore>;
  // Outlives the handlers, which RunService keeps until shutdown.
  std::unique_ptr<FundTransactor> transactor;
  ServiceDefinition definition{
      .name = "fund",
      .topic = "techtrade.fund.events.v1",
      .migrations = store::FundMigrations(),
      // The consumer groups are the inboxes' names; tests give each run its own.
      .settings = {StringSetting("TECHTRADE_FUND_TRANSACTIONS_CONSUMER", "fund.transactions-events",
                                 "consumer group of the deal events that drive the tranches"),
                   StringSetting("TECHTRADE_FUND_REGISTRY_CONSUMER", "fund.registry-events",
                                 "consumer group of the registry's suspensions")},
      .build = [&](ServiceEnvironment& env)
          -> absl::StatusOr<std::vector<std::unique_ptr<grpc::Service>>> {
        RegisterConstraintErrors(store::FundConstraintErrors());
        transactor = std::make_unique<FundTransactor>(env.db);
        auto service = std::make_unique<FundServiceImpl>(*transactor, env.runner, *env.registry);
        env.workers.push_back(InboxConsumer<PgFundStore>(
            env, "TECHTRADE_FUND_TRANSACTIONS_CONSUMER", "techtrade.transactions.events.v1",
            FundServiceImpl::DealEventTypes(), &FundServiceImpl::HandleTransactionsEvent));
        // Suspensions and reinstatements: tranches due to a suspended applicant are held, then
        // paid on its reinstatement.
        env.workers.push_back(InboxConsumer<PgFundStore>(
            env, "TECHTRADE_FUND_REGISTRY_CONSUMER", "techtrade.registry.events.v1",
            RegistryEventTypes(), &ApplyRegistryEvent));
        env.workers.push_back(std::make_unique<FundGauges>(env.db, env.metrics, absl::Seconds(15)));
        std::vector<std::unique_ptr<grpc::Service>> services;
        services.push_back(std::move(service));
        return services;
      }};
  return RunService(argc, argv, definition);
}
