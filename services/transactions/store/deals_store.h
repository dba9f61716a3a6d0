// The transactions' PostgreSQL store: a deal is kept whole as its protobuf record beside the
// columns that lists filter on; payments have their own table so that a finance partner's
// reference is recorded once (its primary key). Runs in the caller's transaction.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/db.h"
#include "common/migrations.h"
#include "common/paging.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::transactions::store {

namespace v1 = techtrade::transactions::v1;

// services/transactions/migrations/*.sql, embedded at build time.
std::span<const Migration> TransactionsMigrations();
std::vector<std::pair<std::string, absl::Status>> TransactionsConstraintErrors();

// Staged. `record` is `deal` serialized: the caller serializes once for every use of the bytes.
void InsertDeal(Tx& tx, const v1::Deal& deal, const std::string& record);
// Staged, optimistic: fails the commit with a serialization failure (which InTransaction retries
// from the read) unless the deal is still at `read_version`.
void SaveDeal(Tx& tx, const v1::Deal& deal, const std::string& record, int64_t read_version);
// The latest committed deal, read outside the transaction with no lock (Tx::ReadLatest): for
// GetDeal, and for a change of it, which so stays write-only and joins a group commit.
absl::StatusOr<v1::Deal> GetLatestDeal(Tx& tx, const std::string& id);
// Staged; a reference recorded before fails the commit with ALREADY_EXISTS on payment_reference.
void InsertPayment(Tx& tx, const std::string& deal_id, const v1::RecordPaymentRequest& payment);

struct DealFilter {
  std::string party_org_id;
  std::string city_id;  // deals that involve the city: by their listing or any party
  int state = 0;
  int64_t opened_after_us = 0;   // 0 = no bound
  int64_t opened_before_us = 0;  // 0 = no bound
};
// The statement ListDeals runs (exposed so that tests can check how it is planned).
std::string ListDealsSql(Tx& tx, const DealFilter& filter, int64_t after, int limit);
Page<v1::Deal> ListDeals(Tx& tx, const DealFilter& filter, int64_t after, int limit);

}  // namespace techtrade::transactions::store
