// The listings service process: offers, demands, search and matchmaking.
#include <memory>

#include "common/config.h"
#include "common/inbox.h"
#include "common/inbox_consumer.h"
#include "common/log.h"
#include "common/pg_transactor.h"
#include "common/registry_client.h"
#include "common/server.h"
#include "common/worker.h"
#include "services/listings/api/listings_service.h"
#include "services/listings/api/read_model_follower.h"
#include "services/listings/store/pg_listings_store.h"

int main(int argc, char** argv) {
  using namespace techtrade;
  using namespace techtrade::listings;
  constexpr char kTopic[] = "techtrade.listings.events.v1";
  constexpr absl::Duration kReadModelLagCheckInterval = absl::Seconds(5);
  using ListingsTransactor = PgTransactor<store::ListingsStore, store::PgListingsStore>;
  // Owned here so that they outlive the services and workers RunService keeps.
  std::unique_ptr<ReadModel> model;
  std::unique_ptr<ListingsTransactor> transactor;
  ServiceDefinition definition{
      .name = "listings",
      .topic = kTopic,
      .migrations = store::ListingsMigrations(),
      .settings = {[] {
                     SettingSpec weights = StringSetting(
                         "TECHTRADE_MATCH_WEIGHTS", "",
                         "matchmaking weights, e.g. ipc=3,text=3,fields=1.5 (docs/listings.md)");
                     weights.check = [](absl::string_view spec) {
                       return ParseMatchWeights(spec).status();
                     };
                     return weights;
                   }(),
                   // The consumer groups are the inboxes' names; tests give each run its own.
                   StringSetting("TECHTRADE_LISTINGS_REGISTRY_CONSUMER", "listings.registry-events",
                                 "consumer group of the registry's suspensions"),
                   // A group of its own reads the deal topic from its retained start, so the
                   // deals already open are counted from their DealOpened (docs/operations.md,
                   // "Upgrade").
                   StringSetting("TECHTRADE_LISTINGS_TRANSACTIONS_CONSUMER",
                                 "listings.deal-lifecycle",
                                 "consumer group of the deal events listings follow"),
                   IntegerSetting("TECHTRADE_LISTING_EXPIRY_SWEEP_SECONDS", 60, 1, 86400,
                                  "how often a replica expires the demands whose deadline "
                                  "passed (DemandExpired)")},
      .build = [&](ServiceEnvironment& env)
          -> absl::StatusOr<std::vector<std::unique_ptr<grpc::Service>>> {
        TT_ASSIGN_OR_RETURN(MatchWeights weights,
                            ParseMatchWeights(env.settings.String("TECHTRADE_MATCH_WEIGHTS")));
        model = std::make_unique<ReadModel>(weights);
        transactor = std::make_unique<ListingsTransactor>(env.db);
        auto follower = std::make_unique<ReadModelFollower>(
            *model, *transactor, env.config.kafka_brokers, kTopic, &env.metrics);
        if (absl::Status s = follower->Load(); !s.ok()) return s;
        // On a thread of its own, so that a follower that stops or stalls shows in the metrics.
        env.workers.push_back(
            std::make_unique<PeriodicWorker>("read-model lag", kReadModelLagCheckInterval,
                                             [checked = follower.get()] { checked->CheckLag(); }));
        auto service = std::make_unique<ListingsServiceImpl>(*transactor, env.cache, env.runner,
                                                             *env.registry, *model);
        ListingsServiceImpl* handlers = service.get();
        env.workers.push_back(std::move(follower));
        env.workers.push_back(InboxConsumer<store::PgListingsStore>(
            env, "TECHTRADE_LISTINGS_REGISTRY_CONSUMER", "techtrade.registry.events.v1",
            {"techtrade.registry.v1.OrganizationSuspended",
             "techtrade.registry.v1.OrganizationReinstated"},
            [handlers](store::ListingsStore& listings, UnitOfWork& work,
                       const techtrade::common::v1::EventEnvelope& event) {
              return handlers->HandleRegistryEvent(listings, work, event);
            }));
        env.workers.push_back(InboxConsumer<store::PgListingsStore>(
            env, "TECHTRADE_LISTINGS_TRANSACTIONS_CONSUMER", "techtrade.transactions.events.v1",
            DealEventsListingsFollow(),
            [handlers](store::ListingsStore& listings, UnitOfWork& work,
                       const techtrade::common::v1::EventEnvelope& event) {
              return handlers->HandleTransactionsEvent(listings, work, event);
            }));
        env.workers.push_back(std::make_unique<PeriodicWorker>(
            "listing-expiry sweep",
            absl::Seconds(env.settings.Int("TECHTRADE_LISTING_EXPIRY_SWEEP_SECONDS")), [handlers] {
              // Bounded per tick; a backlog drains over the following ticks.
              if (int expired = handlers->ExpireDueDemands(absl::Now(), 500); expired > 0) {
                log::Info("demands expired at their deadline", {{"demands", expired}});
              }
            }));
        std::vector<std::unique_ptr<grpc::Service>> services;
        services.push_back(std::move(service));
        return services;
      }};
  return RunService(argc, argv, definition);
}
