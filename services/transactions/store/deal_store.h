// What the transactions handlers keep: deals, whole, with the columns lists filter on, and the
// payments recorded against them. PostgreSQL implements it (deals_store.h); handler tests use an
// in-memory one (tests/support/fake_transactions_store.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/paging.h"
#include "services/transactions/domain/escrow.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::transactions::store {

namespace v1 = techtrade::transactions::v1;

struct DealFilter {
  std::string party_org_id;
  std::string city_id;  // deals that involve the city: by their listing or any party
  int state = 0;
  int64_t opened_after_us = 0;     // 0 = no bound
  int64_t opened_before_us = 0;    // 0 = no bound
  std::string finance_partner_id;  // deals that name this partner; empty = no bound
};

// Where a deal's event hash chain stands (docs/events.md, "Hash chain"): the SHA-256 of its last
// event's envelope, and the sequence of its first chained event. Empty (hash "", first 0) for a
// deal none of whose events is chained yet.
struct ChainHead {
  std::string hash;
  int64_t first_sequence = 0;
};

class DealStore {
 public:
  virtual ~DealStore() = default;
  // The latest committed deal (NOT_FOUND if there is none). A change decided on it stays
  // write-only, so that it can join a group commit: SaveDeal guards it.
  // `chain` (optional) receives the deal's chain head as of the same read.
  virtual absl::StatusOr<v1::Deal> GetLatestDeal(const std::string& id,
                                                 ChainHead* chain = nullptr) = 0;
  // `record` is `deal` serialized: the caller serializes once for every use of the bytes.
  // `chain`: the head after the events the unit emits.
  virtual void InsertDeal(const v1::Deal& deal, const std::string& record,
                          const ChainHead& chain) = 0;
  // Optimistic: the unit fails, and runs again from its read, unless the deal is still at
  // `read_version` when it commits; so the chain head it read is still the head it extends.
  virtual void SaveDeal(const v1::Deal& deal, const std::string& record, int64_t read_version,
                        const ChainHead& chain) = 0;
  // A reference recorded before fails the unit with ALREADY_EXISTS naming payment_reference.
  virtual void InsertPayment(const std::string& deal_id,
                             const v1::RecordPaymentRequest& payment) = 0;
  // Records the registration number of a deal just registered; a number registered before
  // fails the unit with ALREADY_EXISTS naming registration_number.
  virtual void InsertRegistration(const v1::Deal& deal) = 0;
  // Records one change of the deal's escrow (EscrowMovements); the database keeps the deal's
  // escrow balances from them and fails the unit on a movement that would not reconcile.
  virtual void AppendEscrowMovement(const std::string& deal_id, const EscrowMovement& movement) = 0;
  // Up to `limit` ids of deals whose registration fell due before `now_us` and that are neither
  // registered nor flagged overdue yet.
  virtual std::vector<std::string> RegistrationsDue(int64_t now_us, int limit) = 0;
  // Deals in ordinal order after `after`, at most `limit`.
  virtual Page<v1::Deal> ListDeals(const DealFilter& filter, int64_t after, int limit) = 0;
};

}  // namespace techtrade::transactions::store
