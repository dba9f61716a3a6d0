// Technology-contract registration (技术合同认定登记; docs/deals.md, "Contract registration"):
// the seller's side submits a signed contract, the registration body of the seller's pilot city
// registers or refuses it, and a deal whose deadline passes unregistered is flagged.
#include "absl/time/clock.h"
#include "common/auth.h"
#include "common/log.h"
#include "common/status.h"
#include "google/protobuf/util/time_util.h"
#include "services/transactions/api/transactions_service.h"

namespace techtrade::transactions {

absl::StatusOr<int> TransactionsServiceImpl::RegistrationDays(const v1::Deal& deal,
                                                              const CallContext& call) {
  absl::StatusOr<techtrade::registry::v1::PilotCity> city =
      registry_.GetPilotCity(deal.seller().city_id(), call.api_key);
  // A city the registry no longer knows keeps the platform's default.
  if (absl::IsNotFound(city.status())) return kDefaultRegistrationDays;
  if (!city.ok()) return city.status();
  return city->contract_registration_days() > 0 ? city->contract_registration_days()
                                                : kDefaultRegistrationDays;
}

grpc::Status TransactionsServiceImpl::SubmitContractRegistration(
    grpc::ServerContext* context, const v1::SubmitContractRegistrationRequest* request,
    v1::Deal* response) {
  return runner_.Run(
      context, "SubmitContractRegistration", *request,
      [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(RequireWriter(call.caller));
        TT_RETURN_IF_ERROR(ValidateSubmitRegistration(*request));
        return Mutate(
            call, "SubmitContractRegistration", request->request_id(), request->deal_id(),
            request->expected_version(), *request,
            [&](const v1::Deal& d) { return ActsForParty(call, d, v1::PARTY_ROLE_SELLER); },
            [&](const v1::Deal& d) {
              return transactions::SubmitContractRegistration(d, *request, absl::Now());
            },
            response);
      });
}

grpc::Status TransactionsServiceImpl::RegisterContract(grpc::ServerContext* context,
                                                       const v1::RegisterContractRequest* request,
                                                       v1::Deal* response) {
  return runner_.Run(
      context, "RegisterContract", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(ValidateRegisterContract(*request));
        // The payee of programmes that pay registration bodies.
        v1::Party body;
        if (!call.caller.organization_id().empty()) {
          TT_ASSIGN_OR_RETURN(techtrade::registry::v1::Organization org,
                              registry_.GetReferencedOrganization(
                                  "organization_id", call.caller.organization_id(), call.api_key));
          body = AsParty(org);
        }
        return Mutate(
            call, "RegisterContract", request->request_id(), request->deal_id(),
            request->expected_version(), *request,
            [&](const v1::Deal& d) { return DecidesRegistration(call, d); },
            [&](const v1::Deal& d) {
              return transactions::RegisterContract(d, *request, call.caller.api_client_id(), body,
                                                    absl::Now());
            },
            response,
            [](store::DealStore& deals, const v1::Deal& d) { deals.InsertRegistration(d); });
      });
}

grpc::Status TransactionsServiceImpl::RefuseContractRegistration(
    grpc::ServerContext* context, const v1::RefuseContractRegistrationRequest* request,
    v1::Deal* response) {
  return runner_.Run(context, "RefuseContractRegistration", *request,
                     [&](const CallContext& call) -> absl::Status {
                       return Mutate(
                           call, "RefuseContractRegistration", request->request_id(),
                           request->deal_id(), request->expected_version(), *request,
                           [&](const v1::Deal& d) { return DecidesRegistration(call, d); },
                           [&](const v1::Deal& d) {
                             return transactions::RefuseContractRegistration(
                                 d, request->reason(), call.caller.api_client_id(), absl::Now());
                           },
                           response);
                     });
}

absl::StatusOr<int> TransactionsServiceImpl::FlagOverdueRegistrations(absl::Time now, int limit) {
  const int64_t now_us = absl::ToUnixMicros(now);
  TT_ASSIGN_OR_RETURN(
      std::vector<std::string> due,
      RunFor<std::vector<std::string>>(deals_, [&](store::DealStore& deals, UnitOfWork&) {
        return absl::StatusOr<std::vector<std::string>>(deals.RegistrationsDue(now_us, limit));
      }));
  int flagged = 0;
  for (const std::string& id : due) {
    bool flags = false;  // decided by the unit's last run
    absl::Status s = deals_.Run([&](store::DealStore& deals, UnitOfWork& work) -> absl::Status {
      flags = false;
      store::ChainHead chain;
      TT_ASSIGN_OR_RETURN(v1::Deal deal, deals.GetLatestDeal(id, &chain));
      // Flagged by another replica, registered or cancelled meanwhile: nothing to do.
      if (!RegistrationOverdue(deal, now)) return absl::OkStatus();
      TT_ASSIGN_OR_RETURN(Transition t, transactions::FlagRegistrationOverdue(deal, now));
      std::string record = t.deal.SerializeAsString();
      store::ChainHead next = EmitDealEvents(work, EventCause::OfSystem("transactions"), t, chain);
      deals.SaveDeal(t.deal, record, deal.version(), next);
      KeepOnCommit(work, t.deal, std::move(record), std::move(next));
      flags = true;
      return absl::OkStatus();
    });
    if (s.ok() && flags) ++flagged;
    if (!s.ok()) {
      log::Warn("flagging an overdue contract registration failed",
                {{"deal_id", id}, {"error", s.ToString()}});
    }
  }
  return flagged;
}

}  // namespace techtrade::transactions
