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
#include "services/fund/api/application_change.h"
#include "services/fund/api/suspension.h"
#include "services/fund/store/fund_store.h"
#include "techtrade/registry/v1/registry.pb.h"

namespace techtrade::fund {
namespace {

using google::protobuf::util::TimeUtil;
namespace reg = techtrade::registry::v1;

constexpr absl::Duration kPrincipalMemoTtl = absl::Seconds(1);
constexpr int kMaxReasonChars = 500;

bool IsOperator(const CallContext& call) {
  return call.caller.role() == reg::API_CLIENT_ROLE_OPERATOR;
}

// Operators and finance partners see every application; a city system those of its city's
// buyers.
absl::Status MayRead(const CallContext& call, const v1::Application& a) {
  if (call.caller.role() != reg::API_CLIENT_ROLE_CITY_SYSTEM) return absl::OkStatus();
  if (call.caller.city_id() == a.applicant().city_id()) return absl::OkStatus();
  return absl::PermissionDeniedError("this application is not for an organisation of your city");
}

absl::Status RequireAuditor(const CallContext& call) {
  if (IsOperator(call) || call.caller.role() == reg::API_CLIENT_ROLE_PARTNER) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError("operators and finance partners only");
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

FundServiceImpl::FundServiceImpl(PgPool& db, Cache& cache, Metrics& metrics,
                                 RegistryClient& registry)
    : db_(db),
      registry_(registry),
      authenticator_(registry, cache),
      memoized_authenticator_(authenticator_, kPrincipalMemoTtl),
      runner_(memoized_authenticator_, metrics) {}

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
        if (!request->city_id().empty()) {
          grpc::ClientContext ctx;
          ctx.set_deadline(absl::ToChronoTime(absl::Now() + registry_.deadline()));
          ctx.AddMetadata("x-api-key", call.api_key);
          reg::GetPilotCityRequest get;
          get.set_id(request->city_id());
          reg::PilotCity city;
          absl::Status s =
              StatusFromGrpc(registry_.stub().GetPilotCity(&ctx, get, &city), "registry");
          if (absl::IsNotFound(s)) return FieldError("city_id", "no such pilot city");
          TT_RETURN_IF_ERROR(s);
        }
        TT_ASSIGN_OR_RETURN(
            *response, RunIdempotent<v1::Programme>(
                           db_, IdempotencyKeyFor(call, request->request_id(), "CreateProgramme"),
                           *request, [&](Tx& tx) -> absl::StatusOr<v1::Programme> {
                             const absl::Time now = absl::Now();
                             v1::Programme p;
                             p.set_id(NewUuid());
                             p.set_name(request->name());
                             p.set_city_id(request->city_id());
                             *p.mutable_start_time() = request->start_time();
                             *p.mutable_end_time() = request->end_time();
                             *p.mutable_total_budget() = request->total_budget();
                             *p.mutable_rules() = request->rules();
                             p.set_status(v1::PROGRAMME_STATUS_ACTIVE);
                             p.set_version(1);
                             *p.mutable_create_time() = Timestamp(now);
                             *p.mutable_update_time() = Timestamp(now);
                             store::InsertProgramme(tx, p);
                             v1::Balances* b = p.mutable_balances();
                             b->set_currency(p.total_budget().currency());
                             b->set_total_minor(p.total_budget().amount_minor());
                             b->set_available_minor(p.total_budget().amount_minor());
                             v1::ProgrammeCreated event;
                             *event.mutable_programme() = p;
                             AppendToOutbox(tx, kProducer,
                                            {.aggregate_type = "programme",
                                             .aggregate_id = p.id(),
                                             .sequence = 1,
                                             .payload = &event,
                                             .causation_request_id = request->request_id(),
                                             .traceparent = call.traceparent});
                             return p;
                           }));
        return absl::OkStatus();
      });
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
                  TT_RETURN_IF_ERROR(
                      CheckVersionIsCurrent(request->expected_version(), p.version()));
                  if (p.status() == v1::PROGRAMME_STATUS_CLOSED) {
                    return absl::FailedPreconditionError("the programme is closed already");
                  }
                  p.set_status(v1::PROGRAMME_STATUS_CLOSED);
                  p.set_close_reason(request->reason());
                  p.set_version(p.version() + 1);
                  *p.mutable_update_time() = Timestamp(absl::Now());
                  store::SaveProgramme(tx, p);
                  v1::ProgrammeClosed event;
                  *event.mutable_programme() = p;
                  AppendToOutbox(tx, kProducer,
                                 {.aggregate_type = "programme",
                                  .aggregate_id = p.id(),
                                  .sequence = p.version(),
                                  .payload = &event,
                                  .causation_request_id = request->request_id(),
                                  .traceparent = call.traceparent});
                  return p;
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
    TT_ASSIGN_OR_RETURN(store::ProgrammePage page,
                        InTransaction(db_, [&](Tx& tx) -> absl::StatusOr<store::ProgrammePage> {
                          return store::ListProgrammes(tx, request->city_id(), request->status(),
                                                       after, limit);
                        }));
    for (auto& p : page.programmes) *response->add_programmes() = std::move(p);
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
            *response,
            RunIdempotent<v1::Application>(
                db_, IdempotencyKeyFor(call, request->request_id(), "SubmitApplication"), *request,
                [&](Tx& tx) -> absl::StatusOr<v1::Application> {
                  const absl::Time now = absl::Now();
                  std::optional<tv1::Deal> deal = store::GetDeal(tx, request->deal_id());
                  if (!deal.has_value()) {
                    return absl::FailedPreconditionError(absl::StrCat(
                        "deal_id: the fund has no signed deal ", request->deal_id(),
                        " (it learns of signings from techtrade.transactions.events.v1; retry once "
                        "the contract is signed)"));
                  }
                  TT_RETURN_IF_ERROR(RequireCityAccess(call.caller, deal->buyer().city_id()));
                  if (!SignedAndStanding(*deal)) {
                    return absl::FailedPreconditionError(
                        absl::StrCat("deal_id: the deal is ", tv1::DealState_Name(deal->state()),
                                     "; applications are for signed deals in good standing"));
                  }
                  TT_RETURN_IF_ERROR(
                      RequireApplicantInGoodStanding(registry_, deal->buyer(), call.api_key));
                  absl::StatusOr<v1::Programme> programme =
                      store::GetProgramme(tx, request->programme_id(), store::Lock::kBalances);
                  if (absl::IsNotFound(programme.status())) {
                    return absl::NotFoundError(
                        absl::StrCat("programme_id: no programme ", request->programme_id()));
                  }
                  if (!programme.ok()) return programme.status();
                  v1::Application a;
                  a.set_id(NewUuid());
                  a.set_programme_id(programme->id());
                  a.set_deal_id(deal->id());
                  *a.mutable_applicant() = deal->buyer();
                  a.set_currency(programme->total_budget().currency());
                  a.set_year(SigningYear(*deal));
                  *a.mutable_create_time() = Timestamp(now);
                  const int64_t cap_left =
                      programme->rules().per_organization_annual_cap_minor() -
                      store::AnnualGranted(tx, programme->id(), deal->buyer().organization_id(),
                                           a.year());
                  const Decision decision = fund::Decide(*programme, *deal, cap_left,
                                                         programme->balances().available_minor(),
                                                         /*review=*/false);
                  *a.mutable_calculation() = decision.calculation;
                  // The row first: entries and events refer to it.
                  a.set_status(v1::APPLICATION_STATUS_PENDING_REVIEW);
                  a.set_version(1);
                  store::InsertApplication(tx, a);
                  a.set_version(0);
                  ApplicationChange change(a, now);
                  switch (decision.status) {
                    case v1::APPLICATION_STATUS_APPROVED:
                      Approve(tx, change, *programme, *deal, now, "");
                      break;
                    case v1::APPLICATION_STATUS_PENDING_REVIEW:
                      change.application().set_decision_reason(absl::StrCat(
                          "waiting for an operator: above the auto-approval threshold of ",
                          programme->rules().auto_approval_threshold_minor(), " minor units"));
                      change.Record<v1::ApplicationSubmitted>();
                      break;
                    default:
                      change.application().set_status(v1::APPLICATION_STATUS_REJECTED);
                      change.application().set_refusal_reason(decision.refusal.reason);
                      change.application().set_decision_reason(decision.refusal.message);
                      *change.application().mutable_decide_time() = Timestamp(now);
                      change.Record<v1::ApplicationDecided>();
                  }
                  store::SaveApplication(tx, change.application());
                  change.Emit(tx, request->request_id(), call.traceparent);
                  return change.application();
                }));
        return absl::OkStatus();
      });
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
      *response,
      RunIdempotent<v1::Application>(
          db_, IdempotencyKeyFor(call, request.request_id(), method), request,
          [&](Tx& tx) -> absl::StatusOr<v1::Application> {
            const absl::Time now = absl::Now();
            absl::StatusOr<v1::Application> peek = store::GetApplication(tx, request.id(), false);
            if (absl::IsNotFound(peek.status())) {
              return absl::NotFoundError(absl::StrCat("id: no application ", request.id()));
            }
            if (!peek.ok()) return peek.status();
            if (approve) {
              TT_RETURN_IF_ERROR(
                  RequireApplicantInGoodStanding(registry_, peek->applicant(), call.api_key));
            }
            // The lock order of every money decision: deal, application, balances.
            std::optional<tv1::Deal> deal = store::GetDeal(tx, peek->deal_id());
            TT_ASSIGN_OR_RETURN(v1::Application a, store::GetApplication(tx, request.id(), true));
            TT_RETURN_IF_ERROR(CheckVersionIsCurrent(request.expected_version(), a.version()));
            if (a.status() != v1::APPLICATION_STATUS_PENDING_REVIEW) {
              return absl::FailedPreconditionError(
                  absl::StrCat("the application is ", v1::ApplicationStatus_Name(a.status()),
                               "; only one waiting for review can be decided"));
            }
            ApplicationChange change(a, now);
            if (!approve) {
              change.application().set_status(v1::APPLICATION_STATUS_REJECTED);
              change.application().set_refusal_reason(v1::REFUSAL_REASON_OPERATOR);
              change.application().set_decision_reason(request.reason());
              *change.application().mutable_decide_time() = Timestamp(now);
              change.Record<v1::ApplicationDecided>();
            } else {
              if (!deal.has_value() || !SignedAndStanding(*deal)) {
                return absl::FailedPreconditionError(
                    "the deal is no longer signed and in good standing");
              }
              TT_ASSIGN_OR_RETURN(
                  v1::Programme programme,
                  store::GetProgramme(tx, a.programme_id(), store::Lock::kBalances));
              const int64_t cap_left =
                  programme.rules().per_organization_annual_cap_minor() -
                  store::AnnualGranted(tx, a.programme_id(), a.applicant().organization_id(),
                                       a.year());
              // Recomputed: the budget and the buyer's cap may have moved since submission.
              const Decision decision =
                  fund::Decide(programme, *deal, cap_left, programme.balances().available_minor(),
                               /*review=*/true);
              if (decision.status != v1::APPLICATION_STATUS_APPROVED) {
                return absl::FailedPreconditionError(
                    absl::StrCat("cannot approve: ", decision.refusal.message,
                                 "; reject the application instead"));
              }
              *change.application().mutable_calculation() = decision.calculation;
              Approve(tx, change, programme, *deal, now, request.reason());
            }
            store::SaveApplication(tx, change.application());
            change.Emit(tx, request.request_id(), call.traceparent);
            return change.application();
          }));
  return absl::OkStatus();
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
        if (call.caller.role() == reg::API_CLIENT_ROLE_CITY_SYSTEM) {
          filter.city_id = call.caller.city_id();
        }
        TT_ASSIGN_OR_RETURN(
            store::ApplicationPage page,
            InTransaction(db_, [&](Tx& tx) -> absl::StatusOr<store::ApplicationPage> {
              return store::ListApplications(tx, filter, after, limit);
            }));
        for (auto& a : page.applications) *response->add_applications() = std::move(a);
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
        TT_RETURN_IF_ERROR(RequireAuditor(call));
        TT_RETURN_IF_ERROR(CheckUuid("programme_id", request->programme_id()));
        if (!request->application_id().empty()) {
          TT_RETURN_IF_ERROR(CheckUuid("application_id", request->application_id()));
        }
        TT_ASSIGN_OR_RETURN(int limit, ResolvePageSize(request->page_size()));
        TT_ASSIGN_OR_RETURN(int64_t after, DecodePageToken("ListLedgerEntries", *request));
        TT_ASSIGN_OR_RETURN(store::EntryPage page,
                            InTransaction(db_, [&](Tx& tx) -> absl::StatusOr<store::EntryPage> {
                              return store::ListEntries(tx, request->programme_id(),
                                                        request->application_id(), after, limit);
                            }));
        for (auto& e : page.entries) *response->add_entries() = std::move(e);
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
    TT_RETURN_IF_ERROR(RequireAuditor(call));
    if (!request->programme_id().empty()) {
      TT_RETURN_IF_ERROR(CheckUuid("programme_id", request->programme_id()));
    }
    TT_ASSIGN_OR_RETURN(*response,
                        InTransaction(db_, [&](Tx& tx) -> absl::StatusOr<v1::ReconcileResponse> {
                          // One snapshot for the balances, the entries and the applications.
                          tx.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
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
        if (call.caller.role() == reg::API_CLIENT_ROLE_CITY_SYSTEM) {
          if (request->city_id() != call.caller.city_id()) {
            return absl::PermissionDeniedError(
                "city_id: a city system appraises its own city only");
          }
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
  for (v1::Application& a : store::OpenApplicationsOfDeal(tx, deal.id())) {
    TT_ASSIGN_OR_RETURN(v1::Programme programme,
                        store::GetProgramme(tx, a.programme_id(), store::Lock::kNone));
    ApplicationChange change(std::move(a), now);
    if (deal.state() == tv1::DEAL_STATE_CANCELLED) {
      Unwind(tx, change, programme);
    } else if (!DisbursementHeld(tx, change.application().applicant().organization_id())) {
      // While the applicant is suspended the tranches wait; its reinstatement pays them.
      PayDueTranches(tx, change, programme, deal, now);
    }
    if (!change.changed()) continue;
    store::SaveApplication(tx, change.application());
    change.Emit(tx, event.causation_request_id(), ChildTraceparent(event.trace().traceparent()));
  }
  return absl::OkStatus();
}

}  // namespace techtrade::fund
