// The fund service process: programmes, applications, the budget ledger, and the consumer of
// deal events that drives disbursement.
#include <memory>

#include "common/config.h"
#include "common/inbox.h"
#include "common/registry_client.h"
#include "common/server.h"
#include "services/fund/api/fund_gauges.h"
#include "services/fund/api/fund_service.h"
#include "services/fund/api/suspension.h"
#include "services/fund/store/fund_store.h"

int main(int argc, char** argv) {
  using namespace techtrade;
  using namespace techtrade::fund;
  // Owned here so that it outlives the services and workers RunService keeps.
  std::unique_ptr<RegistryClient> registry;
  ServiceDefinition definition{
      .name = "fund",
      .topic = "techtrade.fund.events.v1",
      .migrations = store::FundMigrations(),
      .build = [&](ServiceEnvironment& env)
          -> absl::StatusOr<std::vector<std::unique_ptr<grpc::Service>>> {
        RegisterConstraintErrors(store::FundConstraintErrors());
        if (env.config.registry_addr.empty()) {
          return absl::InvalidArgumentError(
              "TECHTRADE_REGISTRY_ADDR: required (or --registry_addr)");
        }
        registry =
            std::make_unique<RegistryClient>(env.config.registry_addr, env.cache, absl::Seconds(2));
        auto service = std::make_unique<FundServiceImpl>(env.db, env.cache, env.metrics, *registry);
        FundServiceImpl* handlers = service.get();
        env.workers.push_back(std::make_unique<EventConsumer>(
            // The group is the inbox's name; tests give each run its own.
            EventConsumerOptions{.consumer = EnvOr("TECHTRADE_FUND_TRANSACTIONS_CONSUMER",
                                                   "fund.transactions-events"),
                                 .brokers = env.config.kafka_brokers,
                                 .topics = {"techtrade.transactions.events.v1"},
                                 .event_types = FundServiceImpl::DealEventTypes()},
            env.db, [handlers](Tx& tx, const techtrade::common::v1::EventEnvelope& event) {
              return handlers->HandleTransactionsEvent(tx, event);
            }));
        // Suspensions and reinstatements: tranches due to a suspended applicant are held, then
        // paid on its reinstatement.
        env.workers.push_back(std::make_unique<EventConsumer>(
            EventConsumerOptions{
                .consumer = EnvOr("TECHTRADE_FUND_REGISTRY_CONSUMER", "fund.registry-events"),
                .brokers = env.config.kafka_brokers,
                .topics = {"techtrade.registry.events.v1"},
                .event_types = RegistryEventTypes()},
            env.db, [](Tx& tx, const techtrade::common::v1::EventEnvelope& event) {
              return ApplyRegistryEvent(tx, event);
            }));
        env.workers.push_back(std::make_unique<FundGauges>(env.db, env.metrics, absl::Seconds(15)));
        std::vector<std::unique_ptr<grpc::Service>> services;
        services.push_back(std::move(service));
        return services;
      }};
  return RunService(argc, argv, definition);
}
