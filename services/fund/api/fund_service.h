// The fund gRPC API and its consumer of deal events. Every mutation authorises, loads through
// the store, decides with a pure function of domain/ (the new state, its ledger postings and its
// events), then saves and emits them in one unit of work (api/fund_commands.h). Handlers reach
// storage only through a Transactor<FundStore> and the registry only through an
// OrganizationDirectory, so tests serve them on in-memory ones. Every decision that moves money
// locks, in this order, the deal's row of the fund's projection, the application, then the
// programme's balances.
#pragma once

#include <functional>
#include <string>

#include "common/command.h"
#include "common/organization_directory.h"
#include "common/server.h"
#include "services/fund/domain/application_transition.h"
#include "services/fund/domain/fund_rules.h"
#include "services/fund/store/fund_store.h"
#include "techtrade/common/v1/common.pb.h"
#include "techtrade/fund/v1/fund.grpc.pb.h"

namespace techtrade::fund {

class FundServiceImpl final : public v1::FundService::Service {
 public:
  FundServiceImpl(Transactor<FundStore>& transactor, RpcRunner& runner,
                  OrganizationDirectory& registry);

  grpc::Status CreateProgramme(grpc::ServerContext*, const v1::CreateProgrammeRequest*,
                               v1::Programme*) override;
  grpc::Status CloseProgramme(grpc::ServerContext*, const v1::CloseProgrammeRequest*,
                              v1::Programme*) override;
  grpc::Status GetProgramme(grpc::ServerContext*, const v1::GetProgrammeRequest*,
                            v1::Programme*) override;
  grpc::Status ListProgrammes(grpc::ServerContext*, const v1::ListProgrammesRequest*,
                              v1::ListProgrammesResponse*) override;
  grpc::Status SubmitApplication(grpc::ServerContext*, const v1::SubmitApplicationRequest*,
                                 v1::Application*) override;
  grpc::Status ApproveApplication(grpc::ServerContext*, const v1::DecideApplicationRequest*,
                                  v1::Application*) override;
  grpc::Status RejectApplication(grpc::ServerContext*, const v1::DecideApplicationRequest*,
                                 v1::Application*) override;
  grpc::Status GetApplication(grpc::ServerContext*, const v1::GetApplicationRequest*,
                              v1::Application*) override;
  grpc::Status RecordClawbackRecovery(grpc::ServerContext* context,
                                      const v1::RecordClawbackRecoveryRequest* request,
                                      v1::Application* response) override;
  grpc::Status WriteOffClawback(grpc::ServerContext* context,
                                const v1::WriteOffClawbackRequest* request,
                                v1::Application* response) override;
  grpc::Status ListApplications(grpc::ServerContext*, const v1::ListApplicationsRequest*,
                                v1::ListApplicationsResponse*) override;
  grpc::Status ListLedgerEntries(grpc::ServerContext*, const v1::ListLedgerEntriesRequest*,
                                 v1::ListLedgerEntriesResponse*) override;
  grpc::Status Reconcile(grpc::ServerContext*, const v1::ReconcileRequest*,
                         v1::ReconcileResponse*) override;
  grpc::Status GetAppraisal(grpc::ServerContext*, const v1::GetAppraisalRequest*,
                            v1::Appraisal*) override;

  // A deal event from techtrade.transactions.events.v1, in the inbox's unit of work: updates the
  // fund's projection of the deal and, if it is news, pays the tranches it makes due or unwinds
  // the deal's applications when it was cancelled.
  static absl::Status HandleTransactionsEvent(FundStore& store, UnitOfWork& work,
                                              const techtrade::common::v1::EventEnvelope& event);

  // The deal events HandleTransactionsEvent acts on.
  static std::vector<std::string> DealEventTypes();

 private:
  // A clawback receivable settled by `settle` (a recovery or a write-off) under the request's
  // idempotency key, within the caller's partner scope.
  absl::Status SettleReceivable(
      const CallContext& call, const std::string& method, const std::string& request_id,
      const std::string& id, const google::protobuf::Message& request,
      const std::function<absl::StatusOr<ApplicationTransition>(const v1::Application&)>& settle,
      v1::Application* response);
  // The awards without an application (免申即享) of every programme paying so, for a registered
  // deal it has not decided yet: one per beneficiary with a payee, reserved and paid as far as
  // the deal's progress makes due.
  static absl::Status DecideAutomaticAwards(FundStore& store, UnitOfWork& work,
                                            const tv1::Deal& deal, const EventCause& cause,
                                            absl::Time now);
  // FieldError on city_id unless the registry knows the programme's pilot city.
  absl::Status CheckPilotCity(const CallContext& call, const v1::CreateProgrammeRequest& request);
  // Authorise (the deal's city, the applicant's standing) → load → decide → save → emit.
  absl::StatusOr<v1::Application> Submit(FundStore& store, UnitOfWork& work,
                                         const CallContext& call,
                                         const v1::SubmitApplicationRequest& request);
  absl::Status Decide(const CallContext& call, const v1::DecideApplicationRequest& request,
                      bool approve, v1::Application* response);
  // An operator's decision, in the lock order of every money decision: deal, application,
  // balances.
  absl::StatusOr<v1::Application> Review(FundStore& store, UnitOfWork& work,
                                         const CallContext& call,
                                         const v1::DecideApplicationRequest& request, bool approve);

  Transactor<FundStore>& transactor_;
  OrganizationDirectory& registry_;
  RpcRunner& runner_;
};

}  // namespace techtrade::fund
