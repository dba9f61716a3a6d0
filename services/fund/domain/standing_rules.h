// The registry's suspensions as the fund applies them (docs/fund.md#suspension): tranches due
// to a suspended applicant are held, then paid when the registry reinstates it.
#pragma once

#include <cstdint>
#include <optional>

namespace techtrade::fund {

// The organisation's standing as the fund last recorded it.
struct StandingRecord {
  bool suspended = false;
  int64_t registry_sequence = 0;  // of the registry event that set it (the organisation's version)
};

struct StandingChange {
  bool record = false;    // the event is news: record `standing`
  bool pay_held = false;  // a reinstatement: pay what the organisation's applications were held
  StandingRecord standing;
};

// A suspension (`suspended`) or reinstatement event of the organisation, at the registry's
// `sequence`, against the standing recorded (nullopt: never suspended). An event no newer than
// the one recorded changes nothing.
StandingChange OnStandingEvent(const std::optional<StandingRecord>& recorded, bool suspended,
                               int64_t sequence);

}  // namespace techtrade::fund
