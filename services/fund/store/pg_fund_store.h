// The fund's store in PostgreSQL, on one transaction. The database itself holds the money rules:
// ledger entries are append-only and each kind may only move money between its two accounts; a
// statement trigger posts every entry to its programme's balances, whose CHECK constraints keep
// available + reserved + disbursed − clawed_back = total with nothing negative, and refuse any
// change of balances that does not come from an entry; a buyer's annual grants may not exceed
// the cap; a tranche is disbursed once; one application per (programme, deal) that was not
// rejected. Writes are staged (Tx::StageWrite) and go with COMMIT in one round trip: a decision
// holds its programme's balances row only for its reads and that one round trip.
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/db.h"
#include "common/migrations.h"
#include "services/fund/store/fund_store.h"

namespace techtrade::fund {

namespace store {
// services/fund/migrations/*.sql, embedded at build time.
std::span<const Migration> FundMigrations();
// The errors the money rules' constraints stand for when a commit breaks one.
std::vector<std::pair<std::string, absl::Status>> FundConstraintErrors();
// The name the database keeps for a kind of entry (ledger_entries.kind).
const char* StoredKind(EntryKind kind);
}  // namespace store

class PgFundStore final : public FundStore {
 public:
  explicit PgFundStore(Tx& tx) : tx_(tx) {}

  absl::StatusOr<v1::Programme> GetProgramme(const std::string& id, Lock lock) override;
  Page<v1::Programme> ListProgrammes(const std::string& city_id, int status, int64_t after,
                                     int limit) override;
  absl::Status InsertProgramme(const v1::Programme& programme) override;
  absl::Status SaveProgramme(const v1::Programme& programme) override;
  std::vector<std::string> ProgrammesPayingAutomatically() override;

  bool UpsertDeal(const tv1::Deal& deal) override;
  std::optional<tv1::Deal> GetDeal(const std::string& id) override;

  absl::StatusOr<v1::Application> GetApplication(const std::string& id, bool lock) override;
  std::vector<v1::Application> OpenApplicationsOfDeal(const std::string& deal_id) override;
  std::vector<ApplicationRef> ApprovedApplicationsOf(const std::string& organization_id) override;
  Page<v1::Application> ListApplications(const ApplicationFilter& filter, int64_t after,
                                         int limit) override;
  absl::Status InsertApplication(const v1::Application& application) override;
  absl::Status SaveApplication(const v1::Application& application) override;

  bool HasAutomaticAwards(const std::string& programme_id, const std::string& deal_id) override;
  int64_t RegisteredTotal(const std::string& programme_id, const std::string& org_id,
                          v1::Beneficiary beneficiary, int year) override;
  int64_t AnnualGranted(const std::string& programme_id, const std::string& org_id,
                        v1::Beneficiary beneficiary, int year) override;
  absl::Status AddAnnualGrant(const std::string& programme_id, const std::string& org_id,
                              v1::Beneficiary beneficiary, int year, int64_t delta,
                              int64_t cap) override;

  absl::Status AppendEntry(const std::string& programme_id, const std::string& application_id,
                           const Posting& posting) override;
  Page<v1::LedgerEntry> ListEntries(const std::string& programme_id,
                                    const std::string& application_id,
                                    const std::optional<std::string>& finance_partner_id,
                                    int64_t after_id, int limit) override;
  v1::ReconcileResponse Reconcile(const std::string& programme_id,
                                  const std::optional<std::string>& finance_partner_id) override;

  AppraisalFigures Appraise(const std::string& city_id, int64_t from_us, int64_t to_us,
                            const std::string& currency,
                            const std::optional<std::string>& finance_partner_id) override;
  // Pilot cities the fund has seen deals in (for the gauges).
  std::vector<std::string> DealCities();

  std::optional<StandingRecord> GetStanding(const std::string& organization_id) override;
  absl::Status SaveStanding(const std::string& organization_id,
                            const StandingRecord& standing) override;
  bool IsSuspended(const std::string& organization_id) override;

 private:
  Tx& tx_;
};

}  // namespace techtrade::fund
