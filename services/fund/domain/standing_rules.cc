#include "services/fund/domain/standing_rules.h"

namespace techtrade::fund {

StandingChange OnStandingEvent(const std::optional<StandingRecord>& recorded, bool suspended,
                               int64_t sequence) {
  StandingChange change;
  // The registry's events of one organisation carry its version: an older one changes nothing.
  if (recorded.has_value() && recorded->registry_sequence >= sequence) return change;
  const bool was_suspended = recorded.has_value() && recorded->suspended;
  change.record = true;
  change.pay_held = was_suspended && !suspended;
  change.standing = {suspended, sequence};
  return change;
}

}  // namespace techtrade::fund
