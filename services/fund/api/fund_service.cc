#include "services/fund/api/fund_service.h"

#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/status.h"
#include "common/validation.h"
#include "services/fund/api/fund_commands.h"
#include "services/fund/api/suspension.h"
#include "services/fund/domain/application_scope.h"
#include "services/fund/domain/automatic_awards.h"

namespace techtrade::fund {
namespace {

constexpr int kMaxReasonChars = 500;
namespace reg = techtrade::registry::v1;

}  // namespace

FundServiceImpl::FundServiceImpl(Transactor<FundStore>& transactor, RpcRunner& runner,
                                 OrganizationDirectory& registry)
    : transactor_(transactor), registry_(registry), runner_(runner) {}

std::vector<std::string> FundServiceImpl::DealEventTypes() {
  return {"techtrade.transactions.v1.ContractSigned",
          "techtrade.transactions.v1.MilestoneAccepted",
          "techtrade.transactions.v1.DealCompleted",
          "techtrade.transactions.v1.DealCancelled",
          "techtrade.transactions.v1.DisputeOpened",
          "techtrade.transactions.v1.DisputeResolved",
          "techtrade.transactions.v1.ContractRegistered",
          "techtrade.transactions.v1.EscrowReleased",
          "techtrade.transactions.v1.DealMarkedFraudulent"};
}

grpc::Status FundServiceImpl::CreateProgramme(grpc::ServerContext* context,
                                              const v1::CreateProgrammeRequest* request,
                                              v1::Programme* response) {
  return runner_.Run(
      context, "CreateProgramme", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireOperator(call.caller));
        TT_RETURN_IF_ERROR(ValidateRequestId(request->request_id()));
        TT_RETURN_IF_ERROR(ValidateCreateProgramme(*request));
        if (!request->city_id().empty()) TT_RETURN_IF_ERROR(CheckPilotCity(call, *request));
        TT_ASSIGN_OR_RETURN(
            *response,
            RunIdempotent<v1::Programme>(
                transactor_, IdempotencyKeyFor(call, request->request_id(), "CreateProgramme"),
                *request, [&](FundStore& store, UnitOfWork& work) -> absl::StatusOr<v1::Programme> {
                  ProgrammeTransition t = fund::CreateProgramme(*request, NewUuid(), absl::Now());
                  TT_RETURN_IF_ERROR(Commit(
                      store, work, t,
                      EventCause::OfRequest(request->request_id(), call.traceparent, call.caller)));
                  return std::move(t.programme);
                }));
        return absl::OkStatus();
      });
}

absl::Status FundServiceImpl::CheckPilotCity(const CallContext& call,
                                             const v1::CreateProgrammeRequest& request) {
  absl::Status s = registry_.GetPilotCity(request.city_id(), call.api_key).status();
  if (absl::IsNotFound(s)) return FieldError("city_id", "no such pilot city");
  return s;
}

grpc::Status FundServiceImpl::CloseProgramme(grpc::ServerContext* context,
                                             const v1::CloseProgrammeRequest* request,
                                             v1::Programme* response) {
  return runner_.Run(
      context, "CloseProgramme", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireOperator(call.caller));
        TT_RETURN_IF_ERROR(ValidateRequestId(request->request_id()));
        TT_RETURN_IF_ERROR(CheckUuid("id", request->id()));
        TT_RETURN_IF_ERROR(CheckExpectedVersion(request->expected_version()));
        TT_RETURN_IF_ERROR(CheckText("reason", request->reason(), 1, kMaxReasonChars));
        TT_ASSIGN_OR_RETURN(
            *response,
            RunIdempotent<v1::Programme>(
                transactor_, IdempotencyKeyFor(call, request->request_id(), "CloseProgramme"),
                *request, [&](FundStore& store, UnitOfWork& work) -> absl::StatusOr<v1::Programme> {
                  TT_ASSIGN_OR_RETURN(
                      v1::Programme p,
                      store.GetProgramme(request->id(), FundStore::Lock::kProgramme));
                  TT_ASSIGN_OR_RETURN(ProgrammeTransition t,
                                      fund::CloseProgramme(p, request->expected_version(),
                                                           request->reason(), absl::Now()));
                  TT_RETURN_IF_ERROR(Commit(
                      store, work, t,
                      EventCause::OfRequest(request->request_id(), call.traceparent, call.caller)));
                  return std::move(t.programme);
                }));
        return absl::OkStatus();
      });
}

grpc::Status FundServiceImpl::SubmitApplication(grpc::ServerContext* context,
                                                const v1::SubmitApplicationRequest* request,
                                                v1::Application* response) {
  return runner_.Run(
      context, "SubmitApplication", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireWriter(call.caller));
        TT_RETURN_IF_ERROR(ValidateRequestId(request->request_id()));
        TT_RETURN_IF_ERROR(CheckUuid("programme_id", request->programme_id()));
        TT_RETURN_IF_ERROR(CheckUuid("deal_id", request->deal_id()));
        TT_ASSIGN_OR_RETURN(
            *response,
            RunIdempotent<v1::Application>(
                transactor_, IdempotencyKeyFor(call, request->request_id(), "SubmitApplication"),
                *request, [&](FundStore& store, UnitOfWork& work) {
                  return Submit(store, work, call, *request);
                }));
        return absl::OkStatus();
      });
}

absl::StatusOr<v1::Application> FundServiceImpl::Submit(
    FundStore& store, UnitOfWork& work, const CallContext& call,
    const v1::SubmitApplicationRequest& request) {
  std::optional<tv1::Deal> deal = store.GetDeal(request.deal_id());
  if (!deal.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("deal_id: the fund has no signed deal ", request.deal_id(),
                     " (it learns of signings from techtrade.transactions.events.v1; retry once "
                     "the contract is signed)"));
  }
  TT_RETURN_IF_ERROR(RequireCityAccess(call.caller, deal->buyer().city_id()));
  TT_RETURN_IF_ERROR(CheckDealApplicable(*deal));
  TT_RETURN_IF_ERROR(RequireApplicantInGoodStanding(registry_, deal->buyer(), call.api_key));
  absl::StatusOr<v1::Programme> programme =
      store.GetProgramme(request.programme_id(), FundStore::Lock::kBalances);
  if (absl::IsNotFound(programme.status())) {
    return absl::NotFoundError(absl::StrCat("programme_id: no programme ", request.programme_id()));
  }
  if (!programme.ok()) return programme.status();
  const int64_t granted = store.AnnualGranted(programme->id(), deal->buyer().organization_id(),
                                              v1::BENEFICIARY_BUYER, SigningYear(*deal));
  ApplicationTransition t =
      fund::SubmitApplication(NewUuid(), *programme, *deal, granted, absl::Now());
  TT_RETURN_IF_ERROR(Commit(
      store, work, t, EventCause::OfRequest(request.request_id(), call.traceparent, call.caller)));
  return t.application();
}

absl::Status FundServiceImpl::Decide(const CallContext& call,
                                     const v1::DecideApplicationRequest& request, bool approve,
                                     v1::Application* response) {
  TT_RETURN_IF_ERROR(RequireOperator(call.caller));
  TT_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  TT_RETURN_IF_ERROR(CheckUuid("id", request.id()));
  TT_RETURN_IF_ERROR(CheckExpectedVersion(request.expected_version()));
  if (!approve) TT_RETURN_IF_ERROR(CheckText("reason", request.reason(), 1, kMaxReasonChars));
  if (approve && !request.reason().empty()) {
    TT_RETURN_IF_ERROR(CheckText("reason", request.reason(), 0, kMaxReasonChars));
  }
  const char* method = approve ? "ApproveApplication" : "RejectApplication";
  TT_ASSIGN_OR_RETURN(
      *response, RunIdempotent<v1::Application>(
                     transactor_, IdempotencyKeyFor(call, request.request_id(), method), request,
                     [&](FundStore& store, UnitOfWork& work) {
                       return Review(store, work, call, request, approve);
                     }));
  return absl::OkStatus();
}

absl::StatusOr<v1::Application> FundServiceImpl::Review(FundStore& store, UnitOfWork& work,
                                                        const CallContext& call,
                                                        const v1::DecideApplicationRequest& request,
                                                        bool approve) {
  absl::StatusOr<v1::Application> peek = store.GetApplication(request.id(), false);
  if (absl::IsNotFound(peek.status())) {
    return absl::NotFoundError(absl::StrCat("id: no application ", request.id()));
  }
  if (!peek.ok()) return peek.status();
  if (approve) {
    TT_RETURN_IF_ERROR(RequireApplicantInGoodStanding(registry_, peek->applicant(), call.api_key));
  }
  // The lock order of every money decision: deal, application, balances.
  std::optional<tv1::Deal> deal = store.GetDeal(peek->deal_id());
  TT_ASSIGN_OR_RETURN(v1::Application a, store.GetApplication(request.id(), true));
  auto commit = [&](absl::StatusOr<ApplicationTransition> t) -> absl::StatusOr<v1::Application> {
    if (!t.ok()) return t.status();
    TT_RETURN_IF_ERROR(
        Commit(store, work, *t,
               EventCause::OfRequest(request.request_id(), call.traceparent, call.caller)));
    return t->application();
  };
  if (!approve) {
    return commit(RejectOnReview(a, request.expected_version(), request.reason(), absl::Now()));
  }
  TT_ASSIGN_OR_RETURN(v1::Programme programme,
                      store.GetProgramme(a.programme_id(), FundStore::Lock::kBalances));
  const int64_t granted = store.AnnualGranted(a.programme_id(), a.applicant().organization_id(),
                                              BeneficiaryOf(a), a.year());
  return commit(ApproveOnReview(a, request.expected_version(), deal, programme, granted,
                                request.reason(), absl::Now()));
}

grpc::Status FundServiceImpl::ApproveApplication(grpc::ServerContext* context,
                                                 const v1::DecideApplicationRequest* request,
                                                 v1::Application* response) {
  return runner_.Run(context, "ApproveApplication", *request, [&](const CallContext& call) {
    return Decide(call, *request, /*approve=*/true, response);
  });
}

grpc::Status FundServiceImpl::RejectApplication(grpc::ServerContext* context,
                                                const v1::DecideApplicationRequest* request,
                                                v1::Application* response) {
  return runner_.Run(context, "RejectApplication", *request, [&](const CallContext& call) {
    return Decide(call, *request, /*approve=*/false, response);
  });
}

absl::Status FundServiceImpl::SettleReceivable(
    const CallContext& call, const std::string& method, const std::string& request_id,
    const std::string& id, const google::protobuf::Message& request,
    const std::function<absl::StatusOr<ApplicationTransition>(const v1::Application&)>& settle,
    v1::Application* response) {
  TT_RETURN_IF_ERROR(ValidateRequestId(request_id));
  TT_RETURN_IF_ERROR(CheckUuid("id", id));
  TT_ASSIGN_OR_RETURN(
      *response,
      RunIdempotent<v1::Application>(
          transactor_, IdempotencyKeyFor(call, request_id, method), request,
          [&](FundStore& store, UnitOfWork& work) -> absl::StatusOr<v1::Application> {
            absl::StatusOr<v1::Application> a = store.GetApplication(id, true);
            if (absl::IsNotFound(a.status())) return ApplicationNotFound("id", id);
            if (!a.ok()) return a.status();
            // Another partner's application is NOT_FOUND, as an unknown one.
            TT_RETURN_IF_ERROR(CheckApplicationPartnerScope(call.caller, *a, "id"));
            TT_ASSIGN_OR_RETURN(ApplicationTransition t, settle(*a));
            TT_RETURN_IF_ERROR(Commit(
                store, work, t, EventCause::OfRequest(request_id, call.traceparent, call.caller)));
            return t.application();
          }));
  return absl::OkStatus();
}

grpc::Status FundServiceImpl::RecordClawbackRecovery(
    grpc::ServerContext* context, const v1::RecordClawbackRecoveryRequest* request,
    v1::Application* response) {
  return runner_.Run(
      context, "RecordClawbackRecovery", *request, [&](const CallContext& call) -> absl::Status {
        if (call.caller.role() != reg::API_CLIENT_ROLE_PARTNER && !IsOperator(call.caller)) {
          return absl::PermissionDeniedError("recoveries are reported by a finance partner");
        }
        TT_RETURN_IF_ERROR(CheckMoney("amount", request->amount()));
        return SettleReceivable(
            call, "RecordClawbackRecovery", request->request_id(), request->id(), *request,
            [&](const v1::Application& a) {
              return fund::RecordClawbackRecovery(a, request->expected_version(), request->amount(),
                                                  request->recovery_reference(), absl::Now());
            },
            response);
      });
}

grpc::Status FundServiceImpl::WriteOffClawback(grpc::ServerContext* context,
                                               const v1::WriteOffClawbackRequest* request,
                                               v1::Application* response) {
  return runner_.Run(
      context, "WriteOffClawback", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireOperator(call.caller));
        TT_RETURN_IF_ERROR(CheckText("reason", request->reason(), 1, kMaxReasonChars));
        return SettleReceivable(
            call, "WriteOffClawback", request->request_id(), request->id(), *request,
            [&](const v1::Application& a) {
              return fund::WriteOffClawback(a, request->expected_version(), request->reason(),
                                            absl::Now());
            },
            response);
      });
}

absl::Status FundServiceImpl::HandleTransactionsEvent(
    FundStore& store, UnitOfWork& work, const techtrade::common::v1::EventEnvelope& event) {
  // Every transactions event carries the whole deal after the change as its field 1
  // (docs/partners.md), so one message type reads them all.
  tv1::ContractSigned carrier;
  if (!carrier.ParseFromString(event.payload().value()) || !carrier.has_deal()) {
    return absl::InvalidArgumentError(absl::StrCat("unreadable ", event.event_type()));
  }
  const tv1::Deal& deal = carrier.deal();
  if (!store.UpsertDeal(deal)) return absl::OkStatus();  // an older snapshot: nothing new
  const absl::Time now = absl::Now();
  const EventCause cause = EventCause::OfEvent(event);
  // A deal found fraudulent earns no new award; the loop below claws back the ones it had.
  if (deal.registration().state() == tv1::REGISTRATION_STATE_REGISTERED && !deal.has_fraud()) {
    TT_RETURN_IF_ERROR(DecideAutomaticAwards(store, work, deal, cause, now));
  }
  for (const v1::Application& a : store.OpenApplicationsOfDeal(deal.id())) {
    TT_ASSIGN_OR_RETURN(v1::Programme programme,
                        store.GetProgramme(a.programme_id(), FundStore::Lock::kNone));
    // While the applicant is suspended the tranches wait; its reinstatement pays them.
    const bool held = store.IsSuspended(a.applicant().organization_id());
    TT_RETURN_IF_ERROR(
        Commit(store, work, ApplyDealProgress(a, programme, deal, held, now), cause));
  }
  return absl::OkStatus();
}

absl::Status FundServiceImpl::DecideAutomaticAwards(FundStore& store, UnitOfWork& work,
                                                    const tv1::Deal& deal, const EventCause& cause,
                                                    absl::Time now) {
  // Decided at the first snapshot that shows the registration (ContractRegistered, or a later
  // event if that one was missed), once per programme: the unique award per (programme, deal,
  // beneficiary) backs the check below.
  for (const std::string& programme_id : store.ProgrammesPayingAutomatically()) {
    if (store.HasAutomaticAwards(programme_id, deal.id())) continue;
    // The balances lock serialises the programme's decisions, so each reads the registered
    // totals and grants the one before it wrote.
    TT_ASSIGN_OR_RETURN(v1::Programme programme,
                        store.GetProgramme(programme_id, FundStore::Lock::kBalances));
    const int year = RegistrationYear(deal);
    for (const v1::AutomaticAward& award : programme.rules().automatic_awards()) {
      std::optional<tv1::Party> payee = PayeeOf(deal, award.beneficiary());
      if (!payee.has_value()) {
        log::Warn("no automatic award: the registration names no registration body organisation",
                  {{"deal_id", deal.id()},
                   {"programme_id", programme_id},
                   {"beneficiary", v1::Beneficiary_Name(award.beneficiary())}});
        continue;
      }
      const std::string& org = payee->organization_id();
      ApplicationTransition t =
          DecideAutomaticAward(NewUuid(), programme, award, deal, *payee,
                               store.RegisteredTotal(programme_id, org, award.beneficiary(), year),
                               store.AnnualGranted(programme_id, org, award.beneficiary(), year),
                               store.IsSuspended(org), now);
      // The next award of this programme reads the budget this one left.
      programme.mutable_balances()->set_available_minor(programme.balances().available_minor() -
                                                        t.application().approved_minor());
      TT_RETURN_IF_ERROR(Commit(store, work, t, cause));
    }
  }
  return absl::OkStatus();
}

}  // namespace techtrade::fund
