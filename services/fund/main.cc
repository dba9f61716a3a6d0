// The fund service process: programmes, applications, the budget ledger, and the consumer of
// deal events that drives disbursement.
#include <memory>

#include "common/config.h"
#include "common/inbox.h"
#include "common/pg_transactor.h"
#include "common/registry_client.h"
#include "common/server.h"
#include "services/fund/api/fund_gauges.h"
#include "services/fund/api/fund_service.h"
#include "services/fund/api/suspension.h"
#include "services/fund/store/pg_fund_store.h"

namespace {

// A consumer's handler on the inbox's transaction: the fund's store and unit of work on it, so
// the event's effect, its events and its inbox row commit together.
template <class Handle>
auto OnInboxTx(Handle handle) {
  return [handle](techtrade::Tx& tx, const techtrade::common::v1::EventEnvelope& event) {
    techtrade::fund::PgFundStore store(tx);
    techtrade::PgUnitOfWork work(tx);
    return handle(store, work, event);
  };
}

}  // namespace

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
        env.workers.push_back(std::make_unique<EventConsumer>(
            EventConsumerOptions{
                .consumer = env.settings.String("TECHTRADE_FUND_TRANSACTIONS_CONSUMER"),
                .brokers = env.config.kafka_brokers,
                .topics = {"techtrade.transactions.events.v1"},
                .event_types = FundServiceImpl::DealEventTypes()},
            env.db, OnInboxTx(&FundServiceImpl::HandleTransactionsEvent)));
        // Suspensions and reinstatements: tranches due to a suspended applicant are held, then
        // paid on its reinstatement.
        env.workers.push_back(std::make_unique<EventConsumer>(
            EventConsumerOptions{
                .consumer = env.settings.String("TECHTRADE_FUND_REGISTRY_CONSUMER"),
                .brokers = env.config.kafka_brokers,
                .topics = {"techtrade.registry.events.v1"},
                .event_types = RegistryEventTypes()},
            env.db, OnInboxTx(&ApplyRegistryEvent)));
        env.workers.push_back(std::make_unique<FundGauges>(env.db, env.metrics, absl::Seconds(15)));
        std::vector<std::unique_ptr<grpc::Service>> services;
        services.push_back(std::move(service));
        return services;
      }};
  return RunService(argc, argv, definition);
}
