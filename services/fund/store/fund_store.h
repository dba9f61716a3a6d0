// What the fund's handlers and consumers read and write, one unit of work at a time
// (common/command.h): programmes and their balances, the fund's projection of deals,
// applications, the buyers' annual grants, the ledger, and the registry's suspensions as the
// fund recorded them. PgFundStore (pg_fund_store.h) keeps them in PostgreSQL; handler tests use
// the in-memory one in tests/support/fake_fund_store.h.
//
// Posting a ledger entry changes its programme's balances (the database does it with a trigger),
// and the store refuses a write that breaks a money rule: one application per (programme, deal)
// that was not rejected, balances never negative, a buyer's annual grants within the cap, a
// tranche disbursed once. PgFundStore stages its writes and reports such a refusal when the unit
// commits (mapped by FundConstraintErrors), so no read of a unit may depend on a write of the
// same unit: units read first, then write.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/paging.h"
#include "services/fund/domain/ledger.h"
#include "services/fund/domain/standing_rules.h"
#include "techtrade/fund/v1/fund.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::fund {

namespace tv1 = techtrade::transactions::v1;

// Applications recorded before automatic awards name no beneficiary: they pay the buyer.
inline v1::Beneficiary BeneficiaryOf(const v1::Application& a) {
  return a.beneficiary() == v1::BENEFICIARY_UNSPECIFIED ? v1::BENEFICIARY_BUYER : a.beneficiary();
}

// The filters of ListApplications; empty or 0: any.
struct ApplicationFilter {
  std::string programme_id;
  std::string deal_id;
  std::string applicant_org_id;
  std::string city_id;  // the applicant's city (for city systems)
  int status = 0;
  // Set (for finance partners): only applications of deals that name this partner; an empty
  // id matches none (domain/application_scope.h).
  std::optional<std::string> finance_partner_id = std::nullopt;
};

struct AppraisalFigures {
  int64_t deals_signed = 0;
  int64_t deals_completed = 0;
  // Sums over every deal of the period: wider than one amount.
  absl::int128 contract_value_minor = 0;
  absl::int128 subsidy_disbursed_minor = 0;
  double median_days_open_to_sign = 0;
};

// An APPROVED application of an organisation: reserved money, tranches to come.
struct ApplicationRef {
  std::string id;
  std::string deal_id;
};

class FundStore {
 public:
  virtual ~FundStore() = default;

  // ---- Programmes (record + balances) ----

  // With kBalances the balances row stays locked until the unit ends: every decision that moves
  // a programme's money holds it, so decisions of one programme are serial.
  enum class Lock { kNone, kProgramme, kBalances };
  // NOT_FOUND for an unknown id.
  virtual absl::StatusOr<v1::Programme> GetProgramme(const std::string& id, Lock lock) = 0;
  virtual Page<v1::Programme> ListProgrammes(const std::string& city_id, int status, int64_t after,
                                             int limit) = 0;
  // Inserts the programme and its zero balances (its funding entry is posted with AppendEntry).
  virtual absl::Status InsertProgramme(const v1::Programme& programme) = 0;
  // The record and status; the balances change only through entries.
  virtual absl::Status SaveProgramme(const v1::Programme& programme) = 0;
  // The ACTIVE programmes with automatic awards (rules.automatic_awards), by id.
  virtual std::vector<std::string> ProgrammesPayingAutomatically() = 0;

  // ---- The fund's projection of deals (from techtrade.transactions.events.v1) ----

  // Stores the deal if this snapshot is newer than the one held; false if it is not (a replay).
  // Holds the deal's row lock until the unit ends.
  virtual bool UpsertDeal(const tv1::Deal& deal) = 0;
  // The latest snapshot, share-locked so that an event cannot change the deal while an
  // application for it is decided.
  virtual std::optional<tv1::Deal> GetDeal(const std::string& id) = 0;

  // ---- Applications ----

  // NOT_FOUND for an unknown id; `lock`: locked until the unit ends.
  virtual absl::StatusOr<v1::Application> GetApplication(const std::string& id, bool lock) = 0;
  // Applications of a deal that a deal event can still change (waiting, approved, or paid in
  // full while the deal runs), oldest first, locked.
  virtual std::vector<v1::Application> OpenApplicationsOfDeal(const std::string& deal_id) = 0;
  // The organisation's APPROVED applications, oldest first.
  virtual std::vector<ApplicationRef> ApprovedApplicationsOf(
      const std::string& organization_id) = 0;
  virtual Page<v1::Application> ListApplications(const ApplicationFilter& filter, int64_t after,
                                                 int limit) = 0;
  virtual absl::Status InsertApplication(const v1::Application& application) = 0;
  virtual absl::Status SaveApplication(const v1::Application& application) = 0;

  // Whether the programme decided its automatic awards for the deal (all of a deal's awards in
  // a programme are decided in one unit).
  virtual bool HasAutomaticAwards(const std::string& programme_id, const std::string& deal_id) = 0;
  // The registered total the organisation's automatic awards as `beneficiary` counted in the
  // programme and year of registration.
  virtual int64_t RegisteredTotal(const std::string& programme_id, const std::string& org_id,
                                  v1::Beneficiary beneficiary, int year) = 0;

  // What the organisation has been granted as `beneficiary` (applications: BUYER) by the
  // programme in the year, net of releases and clawbacks.
  virtual int64_t AnnualGranted(const std::string& programme_id, const std::string& org_id,
                                v1::Beneficiary beneficiary, int year) = 0;
  // Adds `delta` (negative to give back) to it; refused past `cap`.
  virtual absl::Status AddAnnualGrant(const std::string& programme_id, const std::string& org_id,
                                      v1::Beneficiary beneficiary, int year, int64_t delta,
                                      int64_t cap) = 0;

  // ---- Ledger ----

  // Appends one entry (its accounts follow from its kind) and posts it to the balances;
  // `application_id` empty for an entry of the programme alone.
  virtual absl::Status AppendEntry(const std::string& programme_id,
                                   const std::string& application_id, const Posting& posting) = 0;
  // Entries with ids after `after_id`, in id order. `finance_partner_id` set (for finance
  // partners): only the programme's own entries and those of the applications of deals that name
  // this partner (an empty id: the programme's own only).
  virtual Page<v1::LedgerEntry> ListEntries(const std::string& programme_id,
                                            const std::string& application_id,
                                            const std::optional<std::string>& finance_partner_id,
                                            int64_t after_id, int limit) = 0;
  // Recomputes balances (and each application's amounts) from the entries, in one read-only
  // snapshot: it must be the unit's first read. `finance_partner_id` set (for finance partners):
  // only the applications of deals that name this partner are cross-checked and listed, and the
  // entry counts are of the entries ListEntries shows it; the balances stay the programme's
  // (any key reads them with GetProgramme).
  virtual v1::ReconcileResponse Reconcile(const std::string& programme_id,
                                          const std::optional<std::string>& finance_partner_id) = 0;

  // ---- Appraisal ----

  // The city's figures (every city: "") of deals signed or completed, and subsidy paid out, in
  // [from_us, to_us). `finance_partner_id` set (for finance partners): of the deals that name
  // this partner only (an empty id: of none).
  virtual AppraisalFigures Appraise(const std::string& city_id, int64_t from_us, int64_t to_us,
                                    const std::string& currency,
                                    const std::optional<std::string>& finance_partner_id) = 0;

  // ---- The registry's suspensions (from techtrade.registry.events.v1) ----

  // The organisation's standing, locked until the unit ends; nullopt if the registry never
  // suspended it.
  virtual std::optional<StandingRecord> GetStanding(const std::string& organization_id) = 0;
  virtual absl::Status SaveStanding(const std::string& organization_id,
                                    const StandingRecord& standing) = 0;
  // Suspended as of the latest registry event applied.
  virtual bool IsSuspended(const std::string& organization_id) = 0;
};

}  // namespace techtrade::fund
