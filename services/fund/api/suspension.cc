#include "services/fund/api/suspension.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "services/fund/api/fund_commands.h"
#include "services/fund/domain/application_transition.h"
#include "services/fund/domain/standing_rules.h"
#include "techtrade/registry/v1/registry.pb.h"

namespace techtrade::fund {
namespace {

namespace reg = techtrade::registry::v1;

// Pays, application by application, the tranches the deal made due while the organisation was
// suspended.
absl::Status PayHeldTranches(FundStore& store, UnitOfWork& work, const std::string& organization_id,
                             const techtrade::common::v1::EventEnvelope& event) {
  const absl::Time now = absl::Now();
  const EventCause cause = EventCause::OfEvent(event);
  for (const ApplicationRef& ref : store.ApprovedApplicationsOf(organization_id)) {
    // The lock order of every money decision: deal, application, balances.
    std::optional<tv1::Deal> deal = store.GetDeal(ref.deal_id);
    if (!deal.has_value()) continue;
    TT_ASSIGN_OR_RETURN(v1::Application a, store.GetApplication(ref.id, /*lock=*/true));
    if (a.status() != v1::APPLICATION_STATUS_APPROVED) continue;  // changed meanwhile
    TT_ASSIGN_OR_RETURN(v1::Programme programme,
                        store.GetProgramme(a.programme_id(), FundStore::Lock::kNone));
    TT_RETURN_IF_ERROR(Commit(store, work, PayDueTranches(a, programme, *deal, now), cause));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RequireApplicantInGoodStanding(OrganizationDirectory& registry,
                                            const tv1::Party& applicant,
                                            const std::string& caller_api_key) {
  absl::StatusOr<reg::Organization> org =
      registry.GetOrganization(applicant.organization_id(), caller_api_key);
  if (!org.ok()) return org.status();
  if (org->status() != reg::ORGANIZATION_STATUS_SUSPENDED) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "applicant: organisation ", applicant.organization_id(), " (", applicant.name(),
      ") is suspended in the registry; the fund decides its applications and pays its tranches "
      "again once it is reinstated"));
}

std::vector<std::string> RegistryEventTypes() {
  return {"techtrade.registry.v1.OrganizationSuspended",
          "techtrade.registry.v1.OrganizationReinstated"};
}

absl::Status ApplyRegistryEvent(FundStore& store, UnitOfWork& work,
                                const techtrade::common::v1::EventEnvelope& event) {
  bool suspended;
  if (event.payload().Is<reg::OrganizationSuspended>()) {
    suspended = true;
  } else if (event.payload().Is<reg::OrganizationReinstated>()) {
    suspended = false;
  } else {
    return absl::OkStatus();
  }
  const std::string& org = event.aggregate_id();
  const StandingChange change =
      OnStandingEvent(store.GetStanding(org), suspended, event.sequence());
  if (!change.record) return absl::OkStatus();
  if (change.pay_held) TT_RETURN_IF_ERROR(PayHeldTranches(store, work, org, event));
  return store.SaveStanding(org, change.standing);
}

}  // namespace techtrade::fund
