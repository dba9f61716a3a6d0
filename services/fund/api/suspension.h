// An applicant suspended in the registry (docs/fund.md#suspension): no application of it is
// submitted or approved, and the tranches that fall due to it are held, then paid when the
// registry reinstates it. Handlers ask the registry (through the cache); the consumer of deal
// events, which has no caller to ask for, reads the fund's own record of the registry's events.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/command.h"
#include "common/organization_directory.h"
#include "services/fund/store/fund_store.h"
#include "techtrade/common/v1/common.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::fund {

// FAILED_PRECONDITION naming the applicant if the registry has it SUSPENDED now.
absl::Status RequireApplicantInGoodStanding(OrganizationDirectory& registry,
                                            const techtrade::transactions::v1::Party& applicant,
                                            const std::string& caller_api_key);

// The registry events ApplyRegistryEvent acts on.
std::vector<std::string> RegistryEventTypes();

// OrganizationSuspended / OrganizationReinstated from techtrade.registry.events.v1, in the
// inbox's unit of work: records the organisation's standing (an event older than the one applied
// changes nothing) and, on reinstatement, pays what its approved applications were held from.
absl::Status ApplyRegistryEvent(FundStore& store, UnitOfWork& work,
                                const techtrade::common::v1::EventEnvelope& event);

}  // namespace techtrade::fund
