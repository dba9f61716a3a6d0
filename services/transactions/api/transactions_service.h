// The transactions gRPC API: every mutation reads the deal, checks the caller acts for
// the party whose turn it is, runs the pure transition of domain/, and saves the deal with its
// events in one transaction.
#pragma once

#include "common/attestation.h"
#include "common/cache.h"
#include "common/command.h"
#include "common/organization_directory.h"
#include "common/server.h"
#include "services/transactions/api/deal_access.h"
#include "services/transactions/api/listing_directory.h"
#include "services/transactions/domain/deal_rules.h"
#include "services/transactions/store/deal_store.h"
#include "services/transactions/store/recent_deals.h"
#include "techtrade/transactions/v1/transactions.grpc.pb.h"

namespace techtrade::transactions {

class TransactionsServiceImpl final : public v1::TransactionsService::Service {
 public:
  // `attestation_key`: the platform's deal attestation key (TECHTRADE_ATTESTATION_KEY); nullptr:
  // none, and GetDealAttestation is FAILED_PRECONDITION.
  TransactionsServiceImpl(Transactor<store::DealStore>& deals, Cache& cache, RpcRunner& runner,
                          OrganizationDirectory& registry, ListingDirectory& listings,
                          const AttestationSigner* attestation_key = nullptr);

  grpc::Status OpenDeal(grpc::ServerContext*, const v1::OpenDealRequest*, v1::Deal*) override;
  grpc::Status ProposeTerms(grpc::ServerContext*, const v1::ProposeTermsRequest*,
                            v1::Deal*) override;
  grpc::Status AcceptTerms(grpc::ServerContext*, const v1::AcceptTermsRequest*, v1::Deal*) override;
  grpc::Status SignContract(grpc::ServerContext*, const v1::SignContractRequest*,
                            v1::Deal*) override;
  grpc::Status DeliverMilestone(grpc::ServerContext*, const v1::MilestoneRequest*,
                                v1::Deal*) override;
  grpc::Status AcceptMilestone(grpc::ServerContext*, const v1::MilestoneRequest*,
                               v1::Deal*) override;
  grpc::Status RecordPayment(grpc::ServerContext*, const v1::RecordPaymentRequest*,
                             v1::Deal*) override;
  grpc::Status MarkDealFraudulent(grpc::ServerContext* context,
                                  const v1::MarkDealFraudulentRequest* request,
                                  v1::Deal* response) override;
  grpc::Status RecordMilestoneFunding(grpc::ServerContext* context,
                                      const v1::RecordMilestoneFundingRequest* request,
                                      v1::Deal* response) override;
  grpc::Status CancelDeal(grpc::ServerContext*, const v1::CancelDealRequest*, v1::Deal*) override;
  grpc::Status OpenDispute(grpc::ServerContext*, const v1::OpenDisputeRequest*, v1::Deal*) override;
  grpc::Status ResolveDispute(grpc::ServerContext*, const v1::ResolveDisputeRequest*,
                              v1::Deal*) override;
  grpc::Status GetDeal(grpc::ServerContext*, const v1::GetDealRequest*, v1::Deal*) override;
  grpc::Status ListDeals(grpc::ServerContext*, const v1::ListDealsRequest*,
                         v1::ListDealsResponse*) override;
  grpc::Status AllowBroker(grpc::ServerContext*, const v1::AllowBrokerRequest*, v1::Deal*) override;
  // Contract registration: transactions_registration.cc.
  grpc::Status SubmitContractRegistration(grpc::ServerContext*,
                                          const v1::SubmitContractRegistrationRequest*,
                                          v1::Deal*) override;
  grpc::Status RegisterContract(grpc::ServerContext*, const v1::RegisterContractRequest*,
                                v1::Deal*) override;
  grpc::Status RefuseContractRegistration(grpc::ServerContext*,
                                          const v1::RefuseContractRegistrationRequest*,
                                          v1::Deal*) override;
  // Flags up to `limit` deals whose registration fell due by `now` (ContractRegistrationOverdue),
  // as the platform; returns how many it flagged. Replicas may run it at once: a deal already
  // flagged, or changed meanwhile, is decided again on what the database holds.
  absl::StatusOr<int> FlagOverdueRegistrations(absl::Time now, int limit);

  // transactions_attestation.cc.
  grpc::Status GetDealAttestation(grpc::ServerContext*, const v1::GetDealAttestationRequest*,
                                  v1::DealAttestation*) override;

 private:
  // Who may act in a mutation, decided once the deal is loaded.
  using ActorCheck = std::function<absl::Status(const v1::Deal&)>;
  using Change = std::function<absl::StatusOr<Transition>(const v1::Deal&)>;
  absl::Status Mutate(
      const CallContext& call, const std::string& method, const std::string& request_id,
      const std::string& deal_id, int64_t expected_version,
      const google::protobuf::Message& request, const ActorCheck& may_act, const Change& change,
      v1::Deal* response,
      const std::function<void(store::DealStore&, const v1::Deal&)>& extra_writes = nullptr);
  // Keeps the deal, saved as `record`, as this process's copy once `work` commits.
  void KeepOnCommit(UnitOfWork& work, const v1::Deal& deal, std::string record,
                    store::ChainHead chain);
  absl::StatusOr<v1::Party> VerifiedParty(const std::string& field, const std::string& org_id,
                                          const CallContext& call);
  // OK unless the registry has a party of the deal suspended now (through the cache): the steps
  // that move a deal towards money wait while one is.
  absl::Status NoPartySuspended(const v1::Deal& deal, const CallContext& call);
  // OK if `partner_id` is an active finance partner of the registry (through the cache), else
  // FAILED_PRECONDITION naming finance_partner_id.
  absl::Status ActiveFinancePartner(const std::string& partner_id, const CallContext& call);
  // The days within which the seller's pilot city has contracts registered (registry).
  absl::StatusOr<int> RegistrationDays(const v1::Deal& deal, const CallContext& call);
  // The proposed transfer mode is one the deal's listing admits, as the listing is now.
  absl::Status TransferModeOfListing(const v1::Deal& deal, int mode, const CallContext& call);

  Transactor<store::DealStore>& deals_;
  Cache& cache_;
  OrganizationDirectory& registry_;
  ListingDirectory& listings_;
  RpcRunner& runner_;
  store::RecentDeals recent_deals_;
  const AttestationSigner* attestation_key_;
};

}  // namespace techtrade::transactions
