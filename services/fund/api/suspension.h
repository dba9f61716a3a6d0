// An applicant suspended in the registry (docs/fund.md#suspension): no application of it is
// submitted or approved, and the tranches that fall due to it are held, then paid when the
// registry reinstates it. Handlers ask the registry (through the cache); the consumer of deal
// events, which has no caller to ask for, reads the fund's own record of the registry's events.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/db.h"
#include "common/registry_client.h"
#include "techtrade/common/v1/common.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::fund {

// FAILED_PRECONDITION naming the applicant if the registry has it SUSPENDED now.
absl::Status RequireApplicantInGoodStanding(RegistryClient& registry,
                                            const techtrade::transactions::v1::Party& applicant,
                                            const std::string& caller_api_key);

// Whether tranches due to the organisation are held: it is suspended as of the latest registry
// event the fund applied.
bool DisbursementHeld(Tx& tx, const std::string& organization_id);

// The registry events ApplyRegistryEvent acts on.
std::vector<std::string> RegistryEventTypes();

// OrganizationSuspended / OrganizationReinstated from techtrade.registry.events.v1 (through the
// inbox): records the organisation's standing (an event older than the one applied changes
// nothing) and, on reinstatement, pays what its approved applications were held from.
absl::Status ApplyRegistryEvent(Tx& tx, const techtrade::common::v1::EventEnvelope& event);

}  // namespace techtrade::fund
