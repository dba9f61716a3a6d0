// Awards without an application (免申即享), pure: what a programme's AutomaticAward grants a
// beneficiary for one registered contract, from the beneficiary's cumulative registered value in
// the programme year (docs/fund.md, "Awards without an application").
//
// The entitlement on a cumulative value x is T(x) = ⌊Σ rate parts⌋ + Σ unit parts: for a rate
// band, the part of x inside the band times its rate (summed exactly, rounded down to the fen
// once); for a unit band, its amount for every full unit of x inside the band. A contract that
// raises the cumulative value from b to a adds T(a) − T(b): so the awards of a year telescope to
// T(the year's total), whatever order and size the contracts come in, and a contract that
// crosses a band edge is paid at each band's rate for its part in each. Then the per-deal cap and
// what the annual cap leaves bound it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "techtrade/fund/v1/fund.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::fund {

// INVALID_ARGUMENT naming the field under `path` (e.g. "rules.automatic_awards[0].bands[1]"):
// a beneficiary; 1–20 bands with ascending edges, the first at 0, each a rate or a unit amount.
absl::Status ValidateAutomaticAward(const v1::AutomaticAward& award, const std::string& path);

// T(x) for the award's bands.
int64_t CumulativeEntitlement(const v1::AutomaticAward& award, int64_t cumulative_minor);

struct AwardCalculation {
  int64_t cumulative_before_minor = 0;
  int64_t cumulative_after_minor = 0;
  int64_t entitlement_minor = 0;  // T(after) − T(before)
  int64_t amount_minor = 0;       // after the caps
  std::string limited_by;         // "bands", "per-deal cap", "annual cap"
};

// The award for a contract registered at `registered_minor` when the beneficiary's cumulative
// registered value in the programme year was `cumulative_before_minor` and the programme has
// granted it `granted_this_year_minor` that year.
AwardCalculation CalculateAward(const v1::AutomaticAward& award, int64_t cumulative_before_minor,
                                int64_t registered_minor, int64_t granted_this_year_minor);

// Whom `beneficiary` names on a registered deal: its buyer, its seller, or the body that
// registered it (nullopt when the registration names no body organisation).
std::optional<techtrade::transactions::v1::Party> PayeeOf(
    const techtrade::transactions::v1::Deal& deal, v1::Beneficiary beneficiary);

}  // namespace techtrade::fund
