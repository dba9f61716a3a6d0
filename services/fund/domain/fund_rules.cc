#include "services/fund/domain/fund_rules.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/validation.h"
#include "google/protobuf/util/time_util.h"
#include "services/fund/domain/automatic_awards.h"

namespace techtrade::fund {
namespace {

using google::protobuf::util::TimeUtil;
namespace lv1 = techtrade::listings::v1;
namespace reg = techtrade::registry::v1;

// Floor of value × bps / 10000 without overflow (value up to 2^63).
int64_t ShareOf(int64_t value, int64_t numerator, int64_t denominator) {
  if (denominator <= 0 || value <= 0 || numerator <= 0) return 0;
  return static_cast<int64_t>(static_cast<__int128>(value) * numerator / denominator);
}

std::string Fen(int64_t minor, const std::string& currency) {
  return absl::StrCat(minor / 100, ".", minor % 100 < 10 ? "0" : "", minor % 100, " ", currency);
}

// The amounts of a programme that pays on applications: bands, caps, the review threshold.
absl::Status ValidateApplicationAmounts(const v1::ProgrammeRules& r) {
  if (r.bands().empty() || r.bands_size() > kMaxBands) {
    return FieldError("rules.bands", absl::StrCat("1 to ", kMaxBands, " bands required"));
  }
  for (int i = 0; i < r.bands_size(); ++i) {
    const std::string field = absl::StrCat("rules.bands[", i, "]");
    const v1::SubsidyBand& band = r.bands(i);
    if (i == 0 && band.from_minor() != 0) {
      return FieldError(field + ".from_minor", "the first band starts at 0");
    }
    if (i > 0 && band.from_minor() <= r.bands(i - 1).from_minor()) {
      return FieldError(field + ".from_minor", "band edges must ascend");
    }
    if (band.rate_bps() < 0 || band.rate_bps() > kBpsWhole) {
      return FieldError(field + ".rate_bps", "between 0 and 10000 basis points");
    }
  }
  if (r.per_deal_cap_minor() <= 0) {
    return FieldError("rules.per_deal_cap_minor", "must be positive");
  }
  if (r.per_organization_annual_cap_minor() <= 0) {
    return FieldError("rules.per_organization_annual_cap_minor", "must be positive");
  }
  if (r.auto_approval_threshold_minor() < 0) {
    return FieldError("rules.auto_approval_threshold_minor", "must not be negative");
  }
  return absl::OkStatus();
}

// A programme that pays without applications: its awards, and none of the applications' amounts
// (it takes no applications).
absl::Status ValidateAutomaticAwards(const v1::ProgrammeRules& r) {
  std::set<int> beneficiaries;
  for (int i = 0; i < r.automatic_awards_size(); ++i) {
    const std::string path = absl::StrCat("rules.automatic_awards[", i, "]");
    TT_RETURN_IF_ERROR(ValidateAutomaticAward(r.automatic_awards(i), path));
    if (!beneficiaries.insert(r.automatic_awards(i).beneficiary()).second) {
      return FieldError(path + ".beneficiary", "one award per beneficiary");
    }
  }
  constexpr char kNoApplications[] =
      "a programme with automatic_awards takes no applications; leave it unset";
  if (!r.bands().empty()) return FieldError("rules.bands", kNoApplications);
  if (r.per_deal_cap_minor() != 0) return FieldError("rules.per_deal_cap_minor", kNoApplications);
  if (r.per_organization_annual_cap_minor() != 0) {
    return FieldError("rules.per_organization_annual_cap_minor", kNoApplications);
  }
  if (r.auto_approval_threshold_minor() != 0) {
    return FieldError("rules.auto_approval_threshold_minor", kNoApplications);
  }
  return absl::OkStatus();
}

// Known organisation kinds, each listed once.
absl::Status CheckKinds(const std::string& field,
                        const google::protobuf::RepeatedField<int>& kinds) {
  std::set<int> seen;
  for (int i = 0; i < kinds.size(); ++i) {
    const int kind = kinds.Get(i);
    if (kind == reg::ORGANIZATION_KIND_UNSPECIFIED || !reg::OrganizationKind_IsValid(kind) ||
        !seen.insert(kind).second) {
      return FieldError(absl::StrCat(field, "[", i, "]"), "a known organisation kind, listed once");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRules(const v1::ProgrammeRules& r) {
  if (r.eligible_transfer_modes().empty()) {
    return FieldError("rules.eligible_transfer_modes", "at least one transfer mode required");
  }
  std::set<int> seen;
  for (int i = 0; i < r.eligible_transfer_modes_size(); ++i) {
    const int mode = r.eligible_transfer_modes(i);
    if (mode == lv1::TRANSFER_MODE_UNSPECIFIED || !lv1::TransferMode_IsValid(mode) ||
        !seen.insert(mode).second) {
      return FieldError(absl::StrCat("rules.eligible_transfer_modes[", i, "]"),
                        "a known transfer mode, listed once");
    }
  }
  if (r.eligible_buyer_kinds().empty()) {
    return FieldError("rules.eligible_buyer_kinds", "at least one organisation kind required");
  }
  TT_RETURN_IF_ERROR(CheckKinds("rules.eligible_buyer_kinds", r.eligible_buyer_kinds()));
  TT_RETURN_IF_ERROR(CheckKinds("rules.eligible_seller_kinds", r.eligible_seller_kinds()));
  if (r.min_contract_value_minor() < 0) {
    return FieldError("rules.min_contract_value_minor", "must not be negative");
  }
  if (!r.automatic_awards().empty()) {
    TT_RETURN_IF_ERROR(ValidateAutomaticAwards(r));
  } else {
    TT_RETURN_IF_ERROR(ValidateApplicationAmounts(r));
  }
  if (r.tranches().empty()) return FieldError("rules.tranches", "a tranche plan is required");
  int total = 0;
  seen.clear();
  for (int i = 0; i < r.tranches_size(); ++i) {
    const std::string field = absl::StrCat("rules.tranches[", i, "]");
    const v1::Tranche& t = r.tranches(i);
    if (t.trigger() == v1::TRANCHE_TRIGGER_UNSPECIFIED ||
        !v1::TrancheTrigger_IsValid(t.trigger()) || !seen.insert(t.trigger()).second) {
      return FieldError(field + ".trigger", "a known trigger, at most one tranche each");
    }
    if (t.share_bps() <= 0 || t.share_bps() > kBpsWhole) {
      return FieldError(field + ".share_bps", "between 1 and 10000 basis points");
    }
    total += t.share_bps();
  }
  if (total != kBpsWhole) {
    return FieldError("rules.tranches", absl::StrCat("shares sum to ", total, " bps, not 10000"));
  }
  return absl::OkStatus();
}

bool Contains(const google::protobuf::RepeatedField<int>& values, int value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

}  // namespace

absl::Status ValidateCreateProgramme(const v1::CreateProgrammeRequest& r) {
  TT_RETURN_IF_ERROR(CheckText("name", r.name(), 1, 200));
  if (!r.city_id().empty()) TT_RETURN_IF_ERROR(CheckText("city_id", r.city_id(), 1, 64));
  if (!r.has_start_time()) return FieldError("start_time", "required");
  if (!r.has_end_time()) return FieldError("end_time", "required");
  if (TimeUtil::TimestampToMicroseconds(r.end_time()) <=
      TimeUtil::TimestampToMicroseconds(r.start_time())) {
    return FieldError("end_time", "must be after start_time");
  }
  TT_RETURN_IF_ERROR(CheckMoney("total_budget", r.total_budget()));
  return ValidateRules(r.rules());
}

int64_t TieredAmount(const v1::ProgrammeRules& rules, int64_t value) {
  __int128 sum = 0;
  for (int i = 0; i < rules.bands_size(); ++i) {
    const int64_t lo = rules.bands(i).from_minor();
    if (value <= lo) break;
    const int64_t hi = i + 1 < rules.bands_size() ? rules.bands(i + 1).from_minor() : value;
    const int64_t part = std::min(value, hi) - lo;
    sum += static_cast<__int128>(part) * rules.bands(i).rate_bps();
  }
  return static_cast<int64_t>(sum / kBpsWhole);
}

v1::Calculation Calculate(const v1::ProgrammeRules& rules, int64_t contract_value,
                          int64_t annual_cap_left, int64_t available) {
  v1::Calculation c;
  c.set_contract_value_minor(contract_value);
  c.set_tiered_minor(TieredAmount(rules, contract_value));
  c.set_per_deal_cap_minor(rules.per_deal_cap_minor());
  c.set_annual_cap_left_minor(std::max<int64_t>(annual_cap_left, 0));
  c.set_available_minor(std::max<int64_t>(available, 0));
  // The first bound reached names the limit, in the order the brief states them.
  const std::pair<int64_t, const char*> bounds[] = {{c.tiered_minor(), "tiered rate"},
                                                    {c.per_deal_cap_minor(), "per-deal cap"},
                                                    {c.annual_cap_left_minor(), "annual cap"},
                                                    {c.available_minor(), "budget"}};
  const auto* least = &bounds[0];
  for (const auto& b : bounds) {
    if (b.first < least->first) least = &b;
  }
  c.set_amount_minor(least->first);
  c.set_limited_by(least->second);
  return c;
}

std::optional<tv1::Terms> AgreedTerms(const tv1::Deal& deal) {
  const int64_t v = deal.agreed_terms_version();
  if (v < 1 || v > deal.terms_size()) return std::nullopt;
  return deal.terms(static_cast<int>(v - 1));
}

bool SignedAndStanding(const tv1::Deal& deal) {
  return deal.state() == tv1::DEAL_STATE_SIGNED || deal.state() == tv1::DEAL_STATE_IN_PERFORMANCE ||
         deal.state() == tv1::DEAL_STATE_COMPLETED;
}

namespace {

int ChinaStandardYear(const google::protobuf::Timestamp& t) {
  const absl::Time at = absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
  return static_cast<int>(absl::ToCivilYear(at, absl::FixedTimeZone(8 * 60 * 60)).year());
}

// What a programme's rules measure a deal by: an application by its signing, the buyer's city
// and the price; an automatic award by its registration: the registration time, its city (the
// seller's) and the registered value.
struct Measure {
  const char* event;  // "signed", "registered"
  const google::protobuf::Timestamp& time;
  const char* party;  // whose city the programme must cover
  const std::string& city_id;
  const techtrade::common::v1::Money& value;
};

std::optional<Refusal> IneligibilityBy(const v1::Programme& p, const tv1::Deal& deal,
                                       const Measure& m) {
  const v1::ProgrammeRules& rules = p.rules();
  if (p.status() != v1::PROGRAMME_STATUS_ACTIVE) {
    return Refusal{v1::REFUSAL_REASON_PROGRAMME_CLOSED, "the programme is closed"};
  }
  const int64_t at_us = TimeUtil::TimestampToMicroseconds(m.time);
  if (at_us < TimeUtil::TimestampToMicroseconds(p.start_time()) ||
      at_us >= TimeUtil::TimestampToMicroseconds(p.end_time())) {
    return Refusal{
        v1::REFUSAL_REASON_OUTSIDE_PERIOD,
        absl::StrCat("contract ", m.event, " ", TimeUtil::ToString(m.time),
                     ", outside the programme period ", TimeUtil::ToString(p.start_time()), " – ",
                     TimeUtil::ToString(p.end_time()))};
  }
  if (!p.city_id().empty() && m.city_id != p.city_id()) {
    return Refusal{v1::REFUSAL_REASON_OUTSIDE_CITY,
                   absl::StrCat("the ", m.party, " is in pilot city '", m.city_id,
                                "'; the programme covers '", p.city_id(), "'")};
  }
  const std::optional<tv1::Terms> terms = AgreedTerms(deal);
  if (!terms.has_value()) {
    return Refusal{v1::REFUSAL_REASON_TRANSFER_MODE, "the deal has no agreed terms"};
  }
  if (!Contains(rules.eligible_transfer_modes(), terms->transfer_mode())) {
    return Refusal{v1::REFUSAL_REASON_TRANSFER_MODE,
                   absl::StrCat("transfer mode ", lv1::TransferMode_Name(terms->transfer_mode()),
                                " is not eligible")};
  }
  if (!Contains(rules.eligible_buyer_kinds(), deal.buyer().kind())) {
    return Refusal{v1::REFUSAL_REASON_BUYER_KIND,
                   absl::StrCat("buyer kind ", reg::OrganizationKind_Name(deal.buyer().kind()),
                                " is not eligible")};
  }
  if (!rules.eligible_seller_kinds().empty() &&
      !Contains(rules.eligible_seller_kinds(), deal.seller().kind())) {
    return Refusal{v1::REFUSAL_REASON_SELLER_KIND,
                   absl::StrCat("seller kind ", reg::OrganizationKind_Name(deal.seller().kind()),
                                " is not eligible")};
  }
  if (m.value.currency() != p.total_budget().currency()) {
    return Refusal{v1::REFUSAL_REASON_CURRENCY,
                   absl::StrCat("the contract is in ", m.value.currency(),
                                ", the programme's budget in ", p.total_budget().currency())};
  }
  if (m.value.amount_minor() < rules.min_contract_value_minor()) {
    return Refusal{v1::REFUSAL_REASON_BELOW_MINIMUM,
                   absl::StrCat("contract value ", Fen(m.value.amount_minor(), m.value.currency()),
                                " is below the minimum ",
                                Fen(rules.min_contract_value_minor(), m.value.currency()))};
  }
  return std::nullopt;
}

}  // namespace

int SigningYear(const tv1::Deal& deal) { return ChinaStandardYear(deal.contract().signing_time()); }

int RegistrationYear(const tv1::Deal& deal) {
  return ChinaStandardYear(deal.registration().decide_time());
}

std::optional<Refusal> Ineligibility(const v1::Programme& p, const tv1::Deal& deal) {
  const std::optional<tv1::Terms> terms = AgreedTerms(deal);
  const techtrade::common::v1::Money price =
      terms.has_value() ? terms->price() : techtrade::common::v1::Money();
  return IneligibilityBy(
      p, deal, {"signed", deal.contract().signing_time(), "buyer", deal.buyer().city_id(), price});
}

std::optional<Refusal> RegisteredIneligibility(const v1::Programme& p, const tv1::Deal& deal) {
  const tv1::ContractRegistration& r = deal.registration();
  return IneligibilityBy(
      p, deal, {"registered", r.decide_time(), "registration", r.city_id(), r.registered_value()});
}

Decision Decide(const v1::Programme& p, const tv1::Deal& deal, int64_t annual_cap_left,
                int64_t available, bool review) {
  Decision d;
  if (std::optional<Refusal> refusal = Ineligibility(p, deal)) {
    d.status = v1::APPLICATION_STATUS_REJECTED;
    d.refusal = *std::move(refusal);
    return d;
  }
  const std::string& currency = p.total_budget().currency();
  d.calculation =
      Calculate(p.rules(), AgreedTerms(deal)->price().amount_minor(), annual_cap_left, available);
  const v1::Calculation& c = d.calculation;
  if (c.amount_minor() == 0) {
    d.status = v1::APPLICATION_STATUS_REJECTED;
    if (c.tiered_minor() == 0) {
      d.refusal = {v1::REFUSAL_REASON_NOTHING_DUE, "the bands give no subsidy for this value"};
    } else if (c.limited_by() == "annual cap") {
      d.refusal = {v1::REFUSAL_REASON_ANNUAL_CAP_REACHED,
                   absl::StrCat("the buyer's annual cap of ",
                                Fen(p.rules().per_organization_annual_cap_minor(), currency),
                                " for ", SigningYear(deal), " is used up")};
    } else {
      d.refusal = {v1::REFUSAL_REASON_BUDGET_EXHAUSTED,
                   absl::StrCat("the programme's budget is exhausted (available ",
                                Fen(c.available_minor(), currency), ")")};
    }
    return d;
  }
  d.status = !review && c.amount_minor() > p.rules().auto_approval_threshold_minor()
                 ? v1::APPLICATION_STATUS_PENDING_REVIEW
                 : v1::APPLICATION_STATUS_APPROVED;
  return d;
}

int64_t ReservedFor(const v1::Application& a) {
  return a.approved_minor() - a.disbursed_minor() - a.released_minor();
}

std::vector<v1::Disbursement> DueDisbursements(const v1::ProgrammeRules& rules,
                                               const v1::Application& a, const tv1::Deal& deal,
                                               absl::Time now) {
  std::vector<v1::Disbursement> due;
  if (a.status() != v1::APPLICATION_STATUS_APPROVED || !SignedAndStanding(deal)) return due;
  std::set<std::string> paid;
  for (const v1::Disbursement& d : a.disbursements()) paid.insert(d.tranche());
  int64_t reserved = ReservedFor(a);
  auto add = [&](std::string tranche, v1::TrancheTrigger trigger, int64_t amount) {
    amount = std::min(amount, reserved);
    if (amount <= 0 || paid.count(tranche) > 0) return;
    v1::Disbursement d;
    d.set_tranche(std::move(tranche));
    d.set_trigger(trigger);
    d.set_amount_minor(amount);
    *d.mutable_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now));
    reserved -= amount;
    due.push_back(std::move(d));
  };
  int32_t signing_bps = 0, milestones_bps = 0;
  for (const v1::Tranche& t : rules.tranches()) {
    if (t.trigger() == v1::TRANCHE_TRIGGER_SIGNING) signing_bps = t.share_bps();
    if (t.trigger() == v1::TRANCHE_TRIGGER_MILESTONES) milestones_bps = t.share_bps();
  }
  add("signing", v1::TRANCHE_TRIGGER_SIGNING, ShareOf(a.approved_minor(), signing_bps, kBpsWhole));
  const int64_t pool = ShareOf(a.approved_minor(), milestones_bps, kBpsWhole);
  int64_t price = 0;
  for (const tv1::Milestone& m : deal.milestones()) price += m.amount().amount_minor();
  for (const tv1::Milestone& m : deal.milestones()) {
    if (m.state() != tv1::MILESTONE_STATE_ACCEPTED && m.state() != tv1::MILESTONE_STATE_PAID) {
      continue;
    }
    add(absl::StrCat("milestone-", m.index()), v1::TRANCHE_TRIGGER_MILESTONES,
        ShareOf(pool, m.amount().amount_minor(), price));
  }
  if (deal.state() == tv1::DEAL_STATE_COMPLETED) {
    add("completion", v1::TRANCHE_TRIGGER_COMPLETION, reserved);
  }
  return due;
}

Unwinding UnwindOnCancellation(const v1::ProgrammeRules& rules, const v1::Application& a) {
  Unwinding u;
  // A fully paid application (COMPLETED) of a deal cancelled before completion can still owe
  // its money back.
  if (a.status() != v1::APPLICATION_STATUS_APPROVED &&
      a.status() != v1::APPLICATION_STATUS_COMPLETED) {
    return u;
  }
  u.release_minor = std::max<int64_t>(ReservedFor(a), 0);
  if (rules.claw_back_on_cancellation()) {
    u.clawback_minor = std::max<int64_t>(a.disbursed_minor() - a.clawed_back_minor(), 0);
  }
  return u;
}

double Leverage(absl::int128 contract_value_minor, absl::int128 subsidy_minor) {
  if (subsidy_minor <= 0) return 0;
  return static_cast<double>(contract_value_minor) / static_cast<double>(subsidy_minor);
}

}  // namespace techtrade::fund
