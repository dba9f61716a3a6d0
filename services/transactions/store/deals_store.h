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
#include "services/transactions/store/deal_store.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::transactions::store {

// services/transactions/migrations/*.sql, embedded at build time.
std::span<const Migration> TransactionsMigrations();
std::vector<std::pair<std::string, absl::Status>> TransactionsConstraintErrors();

class PgDealStore final : public DealStore {
 public:
  explicit PgDealStore(Tx& tx) : tx_(tx) {}
  // Read outside the transaction with no lock (Tx::ReadLatest).
  absl::StatusOr<v1::Deal> GetLatestDeal(const std::string& id,
                                         ChainHead* chain = nullptr) override;
  // Staged.
  void InsertDeal(const v1::Deal& deal, const std::string& record, const ChainHead& chain) override;
  // Staged; a deal no longer at `read_version` fails the commit with a serialization failure,
  // which InTransaction retries from the read.
  void SaveDeal(const v1::Deal& deal, const std::string& record, int64_t read_version,
                const ChainHead& chain) override;
  // Staged; the payments' primary key refuses a reference recorded before.
  void InsertPayment(const std::string& deal_id, const v1::RecordPaymentRequest& payment) override;
  // Staged; the registrations' primary key refuses a number registered before.
  void InsertRegistration(const v1::Deal& deal) override;
  // Staged; the escrow tables' checks refuse a movement that breaks conservation.
  void AppendEscrowMovement(const std::string& deal_id, const EscrowMovement& movement) override;
  std::vector<std::string> RegistrationsDue(int64_t now_us, int limit) override;
  Page<v1::Deal> ListDeals(const DealFilter& filter, int64_t after, int limit) override;

 private:
  Tx& tx_;
};

// The statement ListDeals runs (exposed so that tests can check how it is planned).
std::string ListDealsSql(Tx& tx, const DealFilter& filter, int64_t after, int limit);

}  // namespace techtrade::transactions::store
