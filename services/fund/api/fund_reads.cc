// The fund's read calls: programmes, applications, the ledger, its reconciliation and the
// appraisal of a city's deals. Each reads through the store in one unit of work; a finance
// partner's reads of applications, entries and figures cover its own deals only.
#include <google/protobuf/util/time_util.h>

#include <limits>

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/log.h"
#include "common/paging.h"
#include "common/status.h"
#include "common/validation.h"
#include "services/fund/api/fund_service.h"
#include "services/fund/domain/application_scope.h"

namespace techtrade::fund {
namespace {

using google::protobuf::util::TimeUtil;

// Operators see every application; a finance partner those of the deals that name it (any other
// is NOT_FOUND, as an unknown id: domain/application_scope.h); a city system those of its city's
// buyers.
absl::Status MayRead(const CallContext& call, const v1::Application& a) {
  TT_RETURN_IF_ERROR(CheckApplicationPartnerScope(call.caller, a, "id"));
  TT_ASSIGN_OR_RETURN(const std::string scope, CityScope(call.caller));
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

grpc::Status FundServiceImpl::GetProgramme(grpc::ServerContext* context,
                                           const v1::GetProgrammeRequest* request,
                                           v1::Programme* response) {
  return runner_.Run(context, "GetProgramme", *request, [&](const CallContext&) -> absl::Status {
    TT_RETURN_IF_ERROR(CheckUuid("id", request->id()));
    TT_ASSIGN_OR_RETURN(*response,
                        RunFor<v1::Programme>(transactor_, [&](FundStore& store, UnitOfWork&) {
                          return store.GetProgramme(request->id(), FundStore::Lock::kNone);
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
    TT_ASSIGN_OR_RETURN(
        Page<v1::Programme> page,
        RunFor<Page<v1::Programme>>(
            transactor_, [&](FundStore& store, UnitOfWork&) -> absl::StatusOr<Page<v1::Programme>> {
              return store.ListProgrammes(request->city_id(), request->status(), after, limit);
            }));
    for (auto& p : page.items) *response->add_programmes() = std::move(p);
    if (page.more)
      response->set_next_page_token(EncodePageToken("ListProgrammes", *request, page.last_ordinal));
    return absl::OkStatus();
  });
}

grpc::Status FundServiceImpl::GetApplication(grpc::ServerContext* context,
                                             const v1::GetApplicationRequest* request,
                                             v1::Application* response) {
  return runner_.Run(context, "GetApplication", *request,
                     [&](const CallContext& call) -> absl::Status {
                       TT_RETURN_IF_ERROR(CheckUuid("id", request->id()));
                       absl::StatusOr<v1::Application> read =
                           RunFor<v1::Application>(transactor_, [&](FundStore& store, UnitOfWork&) {
                             return store.GetApplication(request->id(), false);
                           });
                       if (absl::IsNotFound(read.status()))
                         return ApplicationNotFound("id", request->id());
                       if (!read.ok()) return read.status();
                       TT_RETURN_IF_ERROR(MayRead(call, *read));
                       *response = *std::move(read);
                       return absl::OkStatus();
                     });
}

grpc::Status FundServiceImpl::ListApplications(grpc::ServerContext* context,
                                               const v1::ListApplicationsRequest* request,
                                               v1::ListApplicationsResponse* response) {
  return runner_.Run(
      context, "ListApplications", *request, [&](const CallContext& call) -> absl::Status {
        TT_ASSIGN_OR_RETURN(int limit, ResolvePageSize(request->page_size()));
        TT_ASSIGN_OR_RETURN(int64_t after, DecodePageToken("ListApplications", *request));
        ApplicationFilter filter{.programme_id = request->programme_id(),
                                 .deal_id = request->deal_id(),
                                 .applicant_org_id = request->applicant_org_id(),
                                 .status = request->status()};
        TT_ASSIGN_OR_RETURN(filter.city_id, CityScope(call.caller));
        filter.finance_partner_id = ApplicationPartnerScope(call.caller);
        TT_ASSIGN_OR_RETURN(
            Page<v1::Application> page,
            RunFor<Page<v1::Application>>(
                transactor_,
                [&](FundStore& store, UnitOfWork&) -> absl::StatusOr<Page<v1::Application>> {
                  return store.ListApplications(filter, after, limit);
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
            RunFor<Page<v1::LedgerEntry>>(
                transactor_,
                [&](FundStore& store, UnitOfWork&) -> absl::StatusOr<Page<v1::LedgerEntry>> {
                  // A partner sees the programme's own entries and its deals' applications'.
                  return store.ListEntries(request->programme_id(), request->application_id(),
                                           ApplicationPartnerScope(call.caller), after, limit);
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
    TT_ASSIGN_OR_RETURN(
        *response, RunFor<v1::ReconcileResponse>(
                       transactor_,
                       [&](FundStore& store, UnitOfWork&) -> absl::StatusOr<v1::ReconcileResponse> {
                         // A partner's covers its deals' applications only: the ids of
                         // another's would leak that they exist.
                         return store.Reconcile(request->programme_id(),
                                                ApplicationPartnerScope(call.caller));
                       }));
    if (!response->balanced()) {
      log::Error("fund ledger does not reconcile", {{"programme_id", request->programme_id()}});
    }
    return absl::OkStatus();
  });
}

// A partner's appraisal counts the deals that name it only: a city's figures would tell it how
// much business its competitors settle there. Another partner's deals count as none (zeros, as
// for a city without deals), so their existence is not leaked.
grpc::Status FundServiceImpl::GetAppraisal(grpc::ServerContext* context,
                                           const v1::GetAppraisalRequest* request,
                                           v1::Appraisal* response) {
  return runner_.Run(
      context, "GetAppraisal", *request, [&](const CallContext& call) -> absl::Status {
        TT_ASSIGN_OR_RETURN(const std::string scope, CityScope(call.caller));
        if (!scope.empty() && request->city_id() != scope) {
          return absl::PermissionDeniedError("city_id: a city system appraises its own city only");
        }
        TT_RETURN_IF_ERROR(CheckPeriod(request->period_start(), request->period_end(),
                                       request->has_period_start(), request->has_period_end()));
        const std::string currency = request->currency().empty() ? "CNY" : request->currency();
        TT_RETURN_IF_ERROR(CheckCurrency("currency", currency));
        TT_ASSIGN_OR_RETURN(
            AppraisalFigures f,
            RunFor<AppraisalFigures>(
                transactor_,
                [&](FundStore& store, UnitOfWork&) -> absl::StatusOr<AppraisalFigures> {
                  return store.Appraise(request->city_id(),
                                        TimeUtil::TimestampToMicroseconds(request->period_start()),
                                        TimeUtil::TimestampToMicroseconds(request->period_end()),
                                        currency, ApplicationPartnerScope(call.caller));
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

}  // namespace techtrade::fund
