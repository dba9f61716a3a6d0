#include "services/fund/api/fund_service.h"

#include <google/protobuf/util/time_util.h>

#include <limits>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/idempotency.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/outbox.h"
#include "common/paging.h"
#include "common/status.h"
#include "common/trace.h"
#include "common/validation.h"
#include "services/fund/api/fund_commands.h"
#include "services/fund/api/suspension.h"
#include "services/fund/store/fund_store.h"
#include "techtrade/registry/v1/registry.pb.h"

namespace techtrade::fund {
namespace {

using google::protobuf::util::TimeUtil;
namespace reg = techtrade::registry::v1;

constexpr int kMaxReasonChars = 500;

// Operators and finance partners see every application; a city system those of its city's
// buyers.
absl::Status MayRead(const CallContext& call, const v1::Application& a) {
  const std::string scope = CityScope(call.caller);
  if (scope.empty() || scope == a.applicant().city_id()) return absl::OkStatus();
  return absl::PermissionDeniedError("this application is not for an organisation of your city");
}

absl::Status CheckPeriod(const google::protobuf::Timestamp& start,
                         const google::protobuf::Timestamp& end, bool has_start, bool has_end) {
  if (!has_start) return FieldError("period_start", "required");
  if (!has_end) return FieldError("period_end", "required");
  if (TimeUtil::TimestampToMicroseconds(end) <= TimeUtil::TimestampToMicroseconds(start)) {
    return FieldError("period_end", "must be after period_start");
  }
  return absl::OkStatus();
}

}  // namespace

FundServiceImpl::FundServiceImpl(PgPool& db, RpcRunner& runner, RegistryClient& registry)
    : db_(db), registry_(registry), runner_(runner) {}

std::vector<std::string> FundServiceImpl::DealEventTypes() {
  return {"techtrade.transactions.v1.ContractSigned", "techtrade.transactions.v1.MilestoneAccepted",
          "techtrade.transactions.v1.DealCompleted",  "techtrade.transactions.v1.DealCancelled",
          "techtrade.transactions.v1.DisputeOpened",  "techtrade.transactions.v1.DisputeResolved"};
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
                db_, IdempotencyKeyFor(call, request->request_id(), "CreateProgramme"), *request,
                [&](Tx& tx) -> absl::StatusOr<v1::Programme> {
                  ProgrammeTransition t = fund::CreateProgramme(*request, NewUuid(), absl::Now());
                  Commit(tx, t, EventCause::OfRequest(request->request_id(), call.traceparent));
                  return std::move(t.programme);
                }));
        return absl::OkStatus();
      });
}

absl::Status FundServiceImpl::CheckPilotCity(const CallContext& call,
                                             const v1::CreateProgrammeRequest& request) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + registry_.deadline()));
  ctx.AddMetadata("x-api-key", call.api_key);
  reg::GetPilotCityRequest get;
  get.set_id(request.city_id());
  reg::PilotCity city;
  absl::Status s = StatusFromGrpc(registry_.stub().GetPilotCity(&ctx, get, &city), "registry");
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
                db_, IdempotencyKeyFor(call, request->request_id(), "CloseProgramme"), *request,
                [&](Tx& tx) -> absl::StatusOr<v1::Programme> {
                  TT_ASSIGN_OR_RETURN(
                      v1::Programme p,
                      store::GetProgramme(tx, request->id(), store::Lock::kProgramme));
                  TT_ASSIGN_OR_RETURN(ProgrammeTransition t,
                                      fund::CloseProgramme(p, request->expected_version(),
                                                           request->reason(), absl::Now()));
                  Commit(tx, t, EventCause::OfRequest(request->request_id(), call.traceparent));
                  return std::move(t.programme);
                }));
        return absl::OkStatus();
      });
}

grpc::Status FundServiceImpl::GetProgramme(grpc::ServerContext* context,
                                           const v1::GetProgrammeRequest* request,
                                           v1::Programme* response) {
  return runner_.Run(context, "GetProgramme", *request, [&](const CallContext&) -> absl::Status {
    TT_RETURN_IF_ERROR(CheckUuid("id", request->id()));
    TT_ASSIGN_OR_RETURN(*response, InTransaction(db_, [&](Tx& tx) {
      return store::GetProgramme(tx, request->id(), store::Lock::kNone);
    }));
    return absl::OkStatus();
  });
}

grpc::Status FundServiceImpl::ListProgrammes(grpc::ServerContext* context,
                                             const v1::ListProgrammesRequest* request,
                                             v1::ListProgrammesResponse* response) {
  return runner_.Run(context, "ListProgrammes", *request, [&](const CallContext&) -> absl::Status {
    TT_ASSIGN_OR_RETURN(int limit, ResolvePageSize(request->page_size()));
    TT_ASSIGN_OR_RETURN(int64_t after, DecodePageToken("ListProgrammes", *request));
    TT_ASSIGN_OR_RETURN(Page<v1::Programme> page,
                        InTransaction(db_, [&](Tx& tx) -> absl::StatusOr<Page<v1::Programme>> {
                          return store::ListProgrammes(tx, request->city_id(), request->status(),
                                                       after, limit);
                        }));
    for (auto& p : page.items) *response->add_programmes() = std::move(p);
    if (page.more)
      response->set_next_page_token(EncodePageToken("ListProgrammes", *request, page.last_ordinal));
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
            *response, RunIdempotent<v1::Application>(
                           db_, IdempotencyKeyFor(call, request->request_id(), "SubmitApplication"),
                           *request, [&](Tx& tx) { return Submit(tx, call, *request); }));
        return absl::OkStatus();
      });
}

absl::StatusOr<v1::Application> FundServiceImpl::Submit(
    Tx& tx, const CallContext& call, const v1::SubmitApplicationRequest& request) {
  std::optional<tv1::Deal> deal = store::GetDeal(tx, request.deal_id());
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
      store::GetProgramme(tx, request.programme_id(), store::Lock::kBalances);
  if (absl::IsNotFound(programme.status())) {
    return absl::NotFoundError(absl::StrCat("programme_id: no programme ", request.programme_id()));
  }
  if (!programme.ok()) return programme.status();
  const int64_t granted = store::AnnualGranted(tx, programme->id(), deal->buyer().organization_id(),
                                               SigningYear(*deal));
  ApplicationTransition t =
      fund::SubmitApplication(NewUuid(), *programme, *deal, granted, absl::Now());
  Commit(tx, t, EventCause::OfRequest(request.request_id(), call.traceparent));
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
  TT_ASSIGN_OR_RETURN(*response,
                      RunIdempotent<v1::Application>(
                          db_, IdempotencyKeyFor(call, request.request_id(), method), request,
                          [&](Tx& tx) { return Review(tx, call, request, approve); }));
  return absl::OkStatus();
}

absl::StatusOr<v1::Application> FundServiceImpl::Review(Tx& tx, const CallContext& call,
                                                        const v1::DecideApplicationRequest& request,
                                                        bool approve) {
  absl::StatusOr<v1::Application> peek = store::GetApplication(tx, request.id(), false);
  if (absl::IsNotFound(peek.status())) {
    return absl::NotFoundError(absl::StrCat("id: no application ", request.id()));
  }
  if (!peek.ok()) return peek.status();
  if (approve) {
    TT_RETURN_IF_ERROR(RequireApplicantInGoodStanding(registry_, peek->applicant(), call.api_key));
  }
  // The lock order of every money decision: deal, application, balances.
  std::optional<tv1::Deal> deal = store::GetDeal(tx, peek->deal_id());
  TT_ASSIGN_OR_RETURN(v1::Application a, store::GetApplication(tx, request.id(), true));
  auto commit = [&](absl::StatusOr<ApplicationTransition> t) -> absl::StatusOr<v1::Application> {
    if (!t.ok()) return t.status();
    Commit(tx, *t, EventCause::OfRequest(request.request_id(), call.traceparent));
    return t->application();
  };
  if (!approve) {
    return commit(RejectOnReview(a, request.expected_version(), request.reason(), absl::Now()));
  }
  TT_ASSIGN_OR_RETURN(v1::Programme programme,
                      store::GetProgramme(tx, a.programme_id(), store::Lock::kBalances));
  const int64_t granted =
      store::AnnualGranted(tx, a.programme_id(), a.applicant().organization_id(), a.year());
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

grpc::Status FundServiceImpl::GetApplication(grpc::ServerContext* context,
                                             const v1::GetApplicationRequest* request,
                                             v1::Application* response) {
  return runner_.Run(context, "GetApplication", *request,
                     [&](const CallContext& call) -> absl::Status {
                       TT_RETURN_IF_ERROR(CheckUuid("id", request->id()));
                       TT_ASSIGN_OR_RETURN(*response, InTransaction(db_, [&](Tx& tx) {
                         return store::GetApplication(tx, request->id(), false);
                       }));
                       return MayRead(call, *response);
                     });
}

grpc::Status FundServiceImpl::ListApplications(grpc::ServerContext* context,
                                               const v1::ListApplicationsRequest* request,
                                               v1::ListApplicationsResponse* response) {
  return runner_.Run(
      context, "ListApplications", *request, [&](const CallContext& call) -> absl::Status {
        TT_ASSIGN_OR_RETURN(int limit, ResolvePageSize(request->page_size()));
        TT_ASSIGN_OR_RETURN(int64_t after, DecodePageToken("ListApplications", *request));
        store::ApplicationFilter filter{.programme_id = request->programme_id(),
                                        .deal_id = request->deal_id(),
                                        .applicant_org_id = request->applicant_org_id(),
                                        .status = request->status()};
        filter.city_id = CityScope(call.caller);
        TT_ASSIGN_OR_RETURN(
            Page<v1::Application> page,
            InTransaction(db_, [&](Tx& tx) -> absl::StatusOr<Page<v1::Application>> {
              return store::ListApplications(tx, filter, after, limit);
            }));
        for (auto& a : page.items) *response->add_applications() = std::move(a);
        if (page.more)
          response->set_next_page_token(
              EncodePageToken("ListApplications", *request, page.last_ordinal));
        return absl::OkStatus();
      });
}

grpc::Status FundServiceImpl::ListLedgerEntries(grpc::ServerContext* context,
                                                const v1::ListLedgerEntriesRequest* request,
                                                v1::ListLedgerEntriesResponse* response) {
  return runner_.Run(
      context, "ListLedgerEntries", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireAuditor(call.caller));
        TT_RETURN_IF_ERROR(CheckUuid("programme_id", request->programme_id()));
        if (!request->application_id().empty()) {
          TT_RETURN_IF_ERROR(CheckUuid("application_id", request->application_id()));
        }
        TT_ASSIGN_OR_RETURN(int limit, ResolvePageSize(request->page_size()));
        TT_ASSIGN_OR_RETURN(int64_t after, DecodePageToken("ListLedgerEntries", *request));
        TT_ASSIGN_OR_RETURN(
            Page<v1::LedgerEntry> page,
            InTransaction(db_, [&](Tx& tx) -> absl::StatusOr<Page<v1::LedgerEntry>> {
              return store::ListEntries(tx, request->programme_id(), request->application_id(),
                                        after, limit);
            }));
        for (auto& e : page.items) *response->add_entries() = std::move(e);
        if (page.more && !response->entries().empty()) {
          response->set_next_page_token(
              EncodePageToken("ListLedgerEntries", *request, response->entries().rbegin()->id()));
        }
        return absl::OkStatus();
      });
}

grpc::Status FundServiceImpl::Reconcile(grpc::ServerContext* context,
                                        const v1::ReconcileRequest* request,
                                        v1::ReconcileResponse* response) {
  return runner_.Run(context, "Reconcile", *request, [&](const CallContext& call) -> absl::Status {
    TT_RETURN_IF_ERROR(RequireAuditor(call.caller));
    if (!request->programme_id().empty()) {
      TT_RETURN_IF_ERROR(CheckUuid("programme_id", request->programme_id()));
    }
    TT_ASSIGN_OR_RETURN(*response,
                        InTransaction(db_, [&](Tx& tx) -> absl::StatusOr<v1::ReconcileResponse> {
                          return store::Reconcile(tx, request->programme_id());
                        }));
    if (!response->balanced()) {
      log::Error("fund ledger does not reconcile", {{"programme_id", request->programme_id()}});
    }
    return absl::OkStatus();
  });
}

grpc::Status FundServiceImpl::GetAppraisal(grpc::ServerContext* context,
                                           const v1::GetAppraisalRequest* request,
                                           v1::Appraisal* response) {
  return runner_.Run(
      context, "GetAppraisal", *request, [&](const CallContext& call) -> absl::Status {
        if (const std::string scope = CityScope(call.caller);
            !scope.empty() && request->city_id() != scope) {
          return absl::PermissionDeniedError("city_id: a city system appraises its own city only");
        }
        TT_RETURN_IF_ERROR(CheckPeriod(request->period_start(), request->period_end(),
                                       request->has_period_start(), request->has_period_end()));
        const std::string currency = request->currency().empty() ? "CNY" : request->currency();
        TT_RETURN_IF_ERROR(CheckCurrency("currency", currency));
        TT_ASSIGN_OR_RETURN(
            store::AppraisalFigures f,
            InTransaction(db_, [&](Tx& tx) -> absl::StatusOr<store::AppraisalFigures> {
              return store::Appraise(tx, request->city_id(),
                                     TimeUtil::TimestampToMicroseconds(request->period_start()),
                                     TimeUtil::TimestampToMicroseconds(request->period_end()),
                                     currency);
            }));
        response->set_city_id(request->city_id());
        *response->mutable_period_start() = request->period_start();
        *response->mutable_period_end() = request->period_end();
        response->set_deals_signed(f.deals_signed);
        response->set_deals_completed(f.deals_completed);
        for (const auto& [figure, sum] :
             {std::pair<const char*, absl::int128>{"contract_value", f.contract_value_minor},
              {"subsidy_disbursed", f.subsidy_disbursed_minor}}) {
          if (sum > std::numeric_limits<int64_t>::max() ||
              sum < std::numeric_limits<int64_t>::min()) {
            return absl::OutOfRangeError(
                absl::StrCat(figure,
                             ": the period's sum passes the int64 range of amount_minor; ask for a "
                             "shorter period or one city"));
          }
        }
        *response->mutable_contract_value() =
            MoneyOf(currency, static_cast<int64_t>(f.contract_value_minor));
        *response->mutable_subsidy_disbursed() =
            MoneyOf(currency, static_cast<int64_t>(f.subsidy_disbursed_minor));
        response->set_leverage(Leverage(f.contract_value_minor, f.subsidy_disbursed_minor));
        response->set_median_days_open_to_sign(f.median_days_open_to_sign);
        return absl::OkStatus();
      });
}

absl::Status FundServiceImpl::HandleTransactionsEvent(
    Tx& tx, const techtrade::common::v1::EventEnvelope& event) {
  // Every transactions event carries the whole deal after the change as its field 1
  // (docs/partners.md), so one message type reads them all.
  tv1::ContractSigned carrier;
  if (!carrier.ParseFromString(event.payload().value()) || !carrier.has_deal()) {
    return absl::InvalidArgumentError(absl::StrCat("unreadable ", event.event_type()));
  }
  const tv1::Deal& deal = carrier.deal();
  if (!store::UpsertDeal(tx, deal)) return absl::OkStatus();  // an older snapshot: nothing new
  const absl::Time now = absl::Now();
  const EventCause cause = EventCause::OfEvent(event);
  for (const v1::Application& a : store::OpenApplicationsOfDeal(tx, deal.id())) {
    TT_ASSIGN_OR_RETURN(v1::Programme programme,
                        store::GetProgramme(tx, a.programme_id(), store::Lock::kNone));
    // While the applicant is suspended the tranches wait; its reinstatement pays them.
    const bool held = DisbursementHeld(tx, a.applicant().organization_id());
    Commit(tx, ApplyDealProgress(a, programme, deal, held, now), cause);
  }
  return absl::OkStatus();
}

}  // namespace techtrade::fund
