// The fund's rules, pure and without I/O: programme validation, eligibility of a signed deal,
// the subsidy amount (progressive bands, caps, budget), the tranches a deal's progress makes due,
// and what a cancellation releases or claws back. Every amount is integer minor units and
// rounds down to the fen; the completion tranche pays whatever is left, so the tranches of an
// application always add up to its approved amount exactly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "techtrade/fund/v1/fund.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::fund {

namespace tv1 = techtrade::transactions::v1;

inline constexpr int kMaxBands = 20;
inline constexpr int kBpsWhole = 10000;

// INVALID_ARGUMENT naming the field (e.g. "rules.bands[1].from_minor").
absl::Status ValidateCreateProgramme(const v1::CreateProgrammeRequest& r);

// ---- Amounts ----

// Σ over bands of (the part of `contract_value` inside the band) × rate, rounded down to the fen
// once at the end.
int64_t TieredAmount(const v1::ProgrammeRules& rules, int64_t contract_value_minor);

// amount = min(tiered, per-deal cap, annual cap left, available), and which of them bound it.
v1::Calculation Calculate(const v1::ProgrammeRules& rules, int64_t contract_value_minor,
                          int64_t annual_cap_left_minor, int64_t available_minor);

// ---- Deals as the fund sees them ----

// The agreed terms' price, or nullopt before agreement.
std::optional<tv1::Terms> AgreedTerms(const tv1::Deal& deal);
// Signed and not cancelled or under dispute: SIGNED, IN_PERFORMANCE or COMPLETED.
bool SignedAndStanding(const tv1::Deal& deal);
// The calendar year of the contract's signing in China Standard Time (UTC+8): the annual cap's
// year.
int SigningYear(const tv1::Deal& deal);
// The calendar year of the contract's registration (China Standard Time): the year of an
// automatic award's cumulative bands and annual cap.
int RegistrationYear(const tv1::Deal& deal);

struct Refusal {
  v1::RefusalReason reason = v1::REFUSAL_REASON_UNSPECIFIED;
  std::string message;
};

// Why the programme's rules exclude this signed deal, or nullopt if they admit it (status, period,
// the buyer's city, transfer mode, buyer kind, seller kind (when the rules name some), currency,
// minimum contract value).
std::optional<Refusal> Ineligibility(const v1::Programme& programme, const tv1::Deal& deal);
// The same rules for an automatic award, measured by the contract's registration: registered
// within the period, registered in the programme's city (the seller's), the registered value
// in the programme's currency and at least its minimum.
std::optional<Refusal> RegisteredIneligibility(const v1::Programme& programme,
                                               const tv1::Deal& deal);

// The decision for an application: APPROVED (reserve calculation.amount_minor), PENDING_REVIEW
// (above the auto-approval threshold; nothing reserved) or REJECTED with the refusal.
struct Decision {
  v1::ApplicationStatus status = v1::APPLICATION_STATUS_UNSPECIFIED;
  v1::Calculation calculation;
  Refusal refusal;
};
// `review`: an operator approves, so the threshold does not apply.
Decision Decide(const v1::Programme& programme, const tv1::Deal& deal, int64_t annual_cap_left,
                int64_t available, bool review);

// ---- Tranches ----

// The disbursements the deal's progress makes due that the application has not had yet, in the
// order they are paid: signing, then each accepted (or paid) milestone by index, then completion
// (everything still reserved). Empty unless the application is APPROVED and the deal standing.
std::vector<v1::Disbursement> DueDisbursements(const v1::ProgrammeRules& rules,
                                               const v1::Application& application,
                                               const tv1::Deal& deal, absl::Time now);

// What a cancelled deal's application (APPROVED, or COMPLETED when everything was paid early)
// gives back: the unspent reservation is released; what was disbursed becomes a clawback
// receivable where the rules say so.
struct Unwinding {
  int64_t release_minor = 0;
  int64_t clawback_minor = 0;
};
Unwinding UnwindOnCancellation(const v1::ProgrammeRules& rules, const v1::Application& application);

// The amount still reserved for an application.
int64_t ReservedFor(const v1::Application& application);

// Contract value per unit of subsidy; 0 when nothing was disbursed.
double Leverage(absl::int128 contract_value_minor, absl::int128 subsidy_minor);

}  // namespace techtrade::fund
