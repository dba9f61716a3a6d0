// What the transactions handlers keep: deals, whole, with the columns lists filter on, and the
// payments recorded against them. PostgreSQL implements it (deals_store.h); handler tests use an
// in-memory one (tests/support/fake_transactions_store.h).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/paging.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::transactions::store {

namespace v1 = techtrade::transactions::v1;

struct DealFilter {
  std::string party_org_id;
  std::string city_id;  // deals that involve the city: by their listing or any party
  int state = 0;
  int64_t opened_after_us = 0;   // 0 = no bound
  int64_t opened_before_us = 0;  // 0 = no bound
};

class DealStore {
 public:
  virtual ~DealStore() = default;
  // The latest committed deal (NOT_FOUND if there is none). A change decided on it stays
  // write-only, so that it can join a group commit: SaveDeal guards it.
  virtual absl::StatusOr<v1::Deal> GetLatestDeal(const std::string& id) = 0;
  // `record` is `deal` serialized: the caller serializes once for every use of the bytes.
  virtual void InsertDeal(const v1::Deal& deal, const std::string& record) = 0;
  // Optimistic: the unit fails, and runs again from its read, unless the deal is still at
  // `read_version` when it commits.
  virtual void SaveDeal(const v1::Deal& deal, const std::string& record, int64_t read_version) = 0;
  // A reference recorded before fails the unit with ALREADY_EXISTS naming payment_reference.
  virtual void InsertPayment(const std::string& deal_id,
                             const v1::RecordPaymentRequest& payment) = 0;
  // Deals in ordinal order after `after`, at most `limit`.
  virtual Page<v1::Deal> ListDeals(const DealFilter& filter, int64_t after, int limit) = 0;
};

}  // namespace techtrade::transactions::store
