// The listings service process: offers, demands, search and matchmaking.
#include <memory>

#include "common/config.h"
#include "common/inbox.h"
#include "common/log.h"
#include "common/registry_client.h"
#include "common/server.h"
#include "services/listings/api/listings_service.h"
#include "services/listings/api/read_model_follower.h"
#include "services/listings/store/listings_store.h"

int main(int argc, char** argv) {
  using namespace techtrade;
  using namespace techtrade::listings;
  constexpr char kTopic[] = "techtrade.listings.events.v1";
  // Owned here so that they outlive the services and workers RunService keeps.
  std::unique_ptr<RegistryClient> registry;
  std::unique_ptr<ReadModel> model;
  ServiceDefinition definition{
      .name = "listings",
      .topic = kTopic,
      .migrations = store::ListingsMigrations(),
      .build = [&](ServiceEnvironment& env)
          -> absl::StatusOr<std::vector<std::unique_ptr<grpc::Service>>> {
        if (env.config.registry_addr.empty()) {
          return absl::InvalidArgumentError(
              "TECHTRADE_REGISTRY_ADDR: required (or --registry_addr)");
        }
        absl::StatusOr<MatchWeights> weights =
            ParseMatchWeights(EnvOr("TECHTRADE_MATCH_WEIGHTS", ""));
        if (!weights.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("TECHTRADE_MATCH_WEIGHTS: ", weights.status().message()));
        }
        registry =
            std::make_unique<RegistryClient>(env.config.registry_addr, env.cache, absl::Seconds(2));
        model = std::make_unique<ReadModel>(*weights);
        auto follower =
            std::make_unique<ReadModelFollower>(*model, env.db, env.config.kafka_brokers, kTopic);
        if (absl::Status s = follower->Load(); !s.ok()) return s;
        auto service = std::make_unique<ListingsServiceImpl>(env.db, env.cache, env.metrics,
                                                             *registry, *model);
        ListingsServiceImpl* handlers = service.get();
        env.workers.push_back(std::move(follower));
        env.workers.push_back(std::make_unique<EventConsumer>(
            // The group is the inbox's name; tests give each run its own.
            EventConsumerOptions{.consumer = EnvOr("TECHTRADE_LISTINGS_REGISTRY_CONSUMER",
                                                   "listings.registry-events"),
                                 .brokers = env.config.kafka_brokers,
                                 .topics = {"techtrade.registry.events.v1"},
                                 .event_types = {"techtrade.registry.v1.OrganizationSuspended",
                                                 "techtrade.registry.v1.OrganizationReinstated"}},
            env.db, [handlers](Tx& tx, const techtrade::common::v1::EventEnvelope& event) {
              return handlers->HandleRegistryEvent(tx, event);
            }));
        env.workers.push_back(std::make_unique<EventConsumer>(
            EventConsumerOptions{.consumer = EnvOr("TECHTRADE_LISTINGS_TRANSACTIONS_CONSUMER",
                                                   "listings.transactions-events"),
                                 .brokers = env.config.kafka_brokers,
                                 .topics = {"techtrade.transactions.events.v1"},
                                 .event_types = {"techtrade.transactions.v1.DealCompleted"}},
            env.db, [handlers](Tx& tx, const techtrade::common::v1::EventEnvelope& event) {
              return handlers->HandleTransactionsEvent(tx, event);
            }));
        std::vector<std::unique_ptr<grpc::Service>> services;
        services.push_back(std::move(service));
        return services;
      }};
  return RunService(argc, argv, definition);
}
