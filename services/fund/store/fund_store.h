// The fund's PostgreSQL store. The database itself holds the money rules: ledger entries are
// append-only and each kind may only move money between its two accounts; a statement trigger
// posts every entry to its programme's balances, whose CHECK constraints keep
// available + reserved + disbursed − clawed_back = total with nothing negative, and refuse any
// change of balances that does not come from an entry; a buyer's annual grants may not exceed the
// cap; a tranche is disbursed once; one application per (programme, deal) that was not rejected.
// Writes are staged (Tx::StageWrite) and go with COMMIT in one round trip: a decision holds its
// programme's balances row only for its reads and that one round trip. So no read of a
// transaction may depend on a write of the same transaction; the services read first, then write.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"
#include "common/db.h"
#include "common/migrations.h"
#include "common/paging.h"
#include "services/fund/domain/ledger.h"
#include "techtrade/fund/v1/fund.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::fund::store {

namespace v1 = techtrade::fund::v1;
namespace tv1 = techtrade::transactions::v1;

// services/fund/migrations/*.sql, embedded at build time.
std::span<const Migration> FundMigrations();
std::vector<std::pair<std::string, absl::Status>> FundConstraintErrors();

// ---- Programmes (record + balances) ----

// Inserts the programme and its zero balances (its funding entry is posted with AppendEntry).
void InsertProgramme(Tx& tx, const v1::Programme& programme);
void SaveProgramme(Tx& tx, const v1::Programme& programme);
enum class Lock { kNone, kProgramme, kBalances };
// With kBalances the balances row stays locked until the transaction ends: every decision that
// moves a programme's money holds it, so decisions of one programme are serial.
absl::StatusOr<v1::Programme> GetProgramme(Tx& tx, const std::string& id, Lock lock);
Page<v1::Programme> ListProgrammes(Tx& tx, const std::string& city_id, int status, int64_t after,
                                   int limit);

// ---- The fund's projection of deals (from techtrade.transactions.events.v1) ----

// Stores the deal if this snapshot is newer than the one held; false if it is not (a replay).
// Holds the deal's row lock until the transaction ends.
bool UpsertDeal(Tx& tx, const tv1::Deal& deal);
// The latest snapshot, share-locked so that an event cannot change the deal while an
// application for it is decided.
std::optional<tv1::Deal> GetDeal(Tx& tx, const std::string& id);

// ---- Applications ----

void InsertApplication(Tx& tx, const v1::Application& application);
void SaveApplication(Tx& tx, const v1::Application& application);
absl::StatusOr<v1::Application> GetApplication(Tx& tx, const std::string& id, bool lock);
// Applications of a deal that a deal event can still change (waiting, approved, or paid in full
// while the deal runs), locked.
std::vector<v1::Application> OpenApplicationsOfDeal(Tx& tx, const std::string& deal_id);
struct ApplicationFilter {
  std::string programme_id;
  std::string deal_id;
  std::string applicant_org_id;
  std::string city_id;  // the applicant's city (for city systems)
  int status = 0;
};
Page<v1::Application> ListApplications(Tx& tx, const ApplicationFilter& filter, int64_t after,
                                       int limit);

// What the buyer has been granted by the programme in the year, net of releases and clawbacks.
int64_t AnnualGranted(Tx& tx, const std::string& programme_id, const std::string& org_id, int year);
// Adds `delta` (negative to give back) to it; the database refuses to pass `cap`.
void AddAnnualGrant(Tx& tx, const std::string& programme_id, const std::string& org_id, int year,
                    int64_t delta, int64_t cap);

// ---- Ledger ----

// The name the database keeps for a kind of entry (ledger_entries.kind).
const char* StoredKind(EntryKind kind);
// Appends one entry (its accounts follow from its kind) and posts it to the balances;
// `application_id` empty for an entry of the programme alone.
void AppendEntry(Tx& tx, const std::string& programme_id, const std::string& application_id,
                 const Posting& posting);
Page<v1::LedgerEntry> ListEntries(Tx& tx, const std::string& programme_id,
                                  const std::string& application_id, int64_t after_id, int limit);

// Recomputes balances (and each application's amounts) from the entries, in one read-only
// snapshot: it must be the transaction's first statement.
v1::ReconcileResponse Reconcile(Tx& tx, const std::string& programme_id);

// ---- Appraisal ----

struct AppraisalFigures {
  int64_t deals_signed = 0;
  int64_t deals_completed = 0;
  // Sums over every deal of the period: wider than one amount.
  absl::int128 contract_value_minor = 0;
  absl::int128 subsidy_disbursed_minor = 0;
  double median_days_open_to_sign = 0;
};
AppraisalFigures Appraise(Tx& tx, const std::string& city_id, int64_t from_us, int64_t to_us,
                          const std::string& currency);
// Pilot cities the fund has seen deals in.
std::vector<std::string> DealCities(Tx& tx);

}  // namespace techtrade::fund::store
