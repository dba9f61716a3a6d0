// The transactions service process: deals from inquiry to payment, the partners' event feed.
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/attestation.h"
#include "common/config.h"
#include "common/log.h"
#include "common/pg_transactor.h"
#include "common/registry_client.h"
#include "common/server.h"
#include "common/worker.h"
#include "services/transactions/api/listings_client.h"
#include "services/transactions/api/transactions_service.h"
#include "services/transactions/store/deals_store.h"

int main(int argc, char** argv) {
  using namespace techtrade;
  using namespace techtrade::transactions;
  // Owned here so that it outlives the services RunService keeps.
  std::unique_ptr<ListingsClient> listings;
  std::unique_ptr<PgTransactor<store::DealStore, store::PgDealStore>> deals;
  std::unique_ptr<AttestationSigner> attestation_key;
  ServiceDefinition definition{
      .name = "transactions",
      .topic = "techtrade.transactions.events.v1",
      .migrations = store::TransactionsMigrations(),
      .settings = {RequiredSetting(
                       "TECHTRADE_LISTINGS_ADDR",
                       "host:port of the listings service, for the listings deals open on"),
                   StringSetting("TECHTRADE_ATTESTATION_KEY", "",
                                 "PEM file of the platform's Ed25519 deal attestation key "
                                 "(GetDealAttestation; empty: none, the RPC is refused)"),
                   IntegerSetting("TECHTRADE_REGISTRATION_SWEEP_SECONDS", 60, 1, 86400,
                                  "how often a replica flags deals whose contract registration "
                                  "fell due (ContractRegistrationOverdue)")},
      .build = [&](ServiceEnvironment& env)
          -> absl::StatusOr<std::vector<std::unique_ptr<grpc::Service>>> {
        RegisterConstraintErrors(store::TransactionsConstraintErrors());
        listings = std::make_unique<ListingsClient>(env.settings.String("TECHTRADE_LISTINGS_ADDR"),
                                                    env.cache, kPeerCallDeadline);
        deals = std::make_unique<PgTransactor<store::DealStore, store::PgDealStore>>(env.db);
        if (const std::string& path = env.settings.String("TECHTRADE_ATTESTATION_KEY");
            !path.empty()) {
          std::ifstream file(path);
          std::stringstream pem;
          pem << file.rdbuf();
          if (!file) {
            return absl::InvalidArgumentError(
                absl::StrCat("TECHTRADE_ATTESTATION_KEY: cannot read ", path));
          }
          absl::StatusOr<std::unique_ptr<AttestationSigner>> key =
              AttestationSigner::FromPem(pem.str());
          if (!key.ok()) {
            return absl::InvalidArgumentError(
                absl::StrCat("TECHTRADE_ATTESTATION_KEY: ", key.status().message()));
          }
          attestation_key = *std::move(key);
          log::Info("deal attestation key loaded", {{"key_id", attestation_key->key_id()}});
        }
        auto service = std::make_unique<TransactionsServiceImpl>(
            *deals, env.cache, env.runner, *env.registry, *listings, attestation_key.get());
        env.workers.push_back(std::make_unique<PeriodicWorker>(
            "registration-overdue sweep",
            absl::Seconds(env.settings.Int("TECHTRADE_REGISTRATION_SWEEP_SECONDS")),
            [handlers = service.get()] {
              // Bounded per tick; a backlog drains over the following ticks.
              absl::StatusOr<int> flagged = handlers->FlagOverdueRegistrations(absl::Now(), 500);
              if (!flagged.ok()) {
                log::Warn("the registration-overdue sweep failed",
                          {{"error", flagged.status().ToString()}});
              } else if (*flagged > 0) {
                log::Info("contract registrations flagged overdue", {{"deals", *flagged}});
              }
            }));
        std::vector<std::unique_ptr<grpc::Service>> services;
        services.push_back(std::move(service));
        return services;
      }};
  return RunService(argc, argv, definition);
}
