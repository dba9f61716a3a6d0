// The fund's view of the registry's suspensions (from techtrade.registry.events.v1): whether an
// organisation is suspended, as of the latest registry event applied. Runs in the caller's
// transaction; writes are staged like every fund write (fund_store.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/db.h"
#include "services/fund/domain/standing_rules.h"

namespace techtrade::fund::store {

using Standing = StandingRecord;

// The organisation's standing, locked until the transaction ends; nullopt if the registry never
// suspended it.
std::optional<Standing> GetStanding(Tx& tx, const std::string& organization_id);
void SaveStanding(Tx& tx, const std::string& organization_id, const Standing& standing);
// Suspended as of the latest registry event applied.
bool IsSuspended(Tx& tx, const std::string& organization_id);
// The organisation's APPROVED applications (reserved money, tranches to come), oldest first.
struct ApplicationRef {
  std::string id;
  std::string deal_id;
};
std::vector<ApplicationRef> ApprovedApplicationsOf(Tx& tx, const std::string& organization_id);

}  // namespace techtrade::fund::store
