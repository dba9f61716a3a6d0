#include "services/fund/domain/automatic_awards.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace techtrade::fund {

absl::Status ValidateAutomaticAward(const v1::AutomaticAward& award, const std::string& path) {
  if (award.beneficiary() == v1::BENEFICIARY_UNSPECIFIED ||
      !v1::Beneficiary_IsValid(award.beneficiary())) {
    return FieldError(path + ".beneficiary", "BUYER, SELLER or REGISTRATION_BODY required");
  }
  if (award.bands_size() < 1 || award.bands_size() > 20) {
    return FieldError(path + ".bands", "1–20 bands required");
  }
  for (int i = 0; i < award.bands_size(); ++i) {
    const v1::CumulativeBand& b = award.bands(i);
    const std::string field = absl::StrCat(path, ".bands[", i, "]");
    if (i == 0 && b.from_minor() != 0) {
      return FieldError(field + ".from_minor", "the first band starts at 0");
    }
    if (i > 0 && b.from_minor() <= award.bands(i - 1).from_minor()) {
      return FieldError(field + ".from_minor", "edges ascend");
    }
    const bool unit = b.unit_minor() > 0 || b.amount_per_unit_minor() > 0;
    if (unit && b.rate_bps() > 0) {
      return FieldError(field, "a band is a rate or an amount per unit, not both");
    }
    if (unit && (b.unit_minor() <= 0 || b.amount_per_unit_minor() <= 0)) {
      return FieldError(field + ".unit_minor",
                        "an amount per unit needs both unit_minor and amount_per_unit_minor");
    }
    if (b.rate_bps() < 0 || b.rate_bps() > 10000) {
      return FieldError(field + ".rate_bps", "0–10000");
    }
  }
  return absl::OkStatus();
}

int64_t CumulativeEntitlement(const v1::AutomaticAward& award, int64_t x) {
  __int128 rate_sum = 0;  // in minor units × 10000
  __int128 unit_sum = 0;
  for (int i = 0; i < award.bands_size(); ++i) {
    const v1::CumulativeBand& b = award.bands(i);
    const int64_t lo = b.from_minor();
    if (x <= lo) break;
    const int64_t hi = i + 1 < award.bands_size() ? award.bands(i + 1).from_minor() : x;
    const int64_t part = std::min(x, hi) - lo;
    if (b.unit_minor() > 0) {
      unit_sum += static_cast<__int128>(part / b.unit_minor()) * b.amount_per_unit_minor();
    } else {
      rate_sum += static_cast<__int128>(part) * b.rate_bps();
    }
  }
  return static_cast<int64_t>(rate_sum / 10000 + unit_sum);
}

AwardCalculation CalculateAward(const v1::AutomaticAward& award, int64_t cumulative_before,
                                int64_t registered, int64_t granted_this_year) {
  AwardCalculation c;
  c.cumulative_before_minor = cumulative_before;
  c.cumulative_after_minor = cumulative_before + registered;
  c.entitlement_minor = CumulativeEntitlement(award, c.cumulative_after_minor) -
                        CumulativeEntitlement(award, cumulative_before);
  c.amount_minor = c.entitlement_minor;
  c.limited_by = "bands";
  if (award.per_deal_cap_minor() > 0 && award.per_deal_cap_minor() < c.amount_minor) {
    c.amount_minor = award.per_deal_cap_minor();
    c.limited_by = "per-deal cap";
  }
  if (award.annual_cap_minor() > 0) {
    const int64_t left = std::max<int64_t>(award.annual_cap_minor() - granted_this_year, 0);
    if (left < c.amount_minor) {
      c.amount_minor = left;
      c.limited_by = "annual cap";
    }
  }
  return c;
}

std::optional<techtrade::transactions::v1::Party> PayeeOf(
    const techtrade::transactions::v1::Deal& deal, v1::Beneficiary beneficiary) {
  switch (beneficiary) {
    case v1::BENEFICIARY_BUYER:
      return deal.buyer();
    case v1::BENEFICIARY_SELLER:
      return deal.seller();
    case v1::BENEFICIARY_REGISTRATION_BODY:
      if (deal.registration().body().organization_id().empty()) return std::nullopt;
      return deal.registration().body();
    default:
      return std::nullopt;
  }
}

}  // namespace techtrade::fund
