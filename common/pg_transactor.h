// The Transactor of common/command.h on PostgreSQL: a unit runs in InTransaction (common/db.h),
// its events go to the outbox table and its response to idempotency_keys in the same transaction.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/command.h"
#include "common/db.h"
#include "common/emit.h"
#include "common/idempotency.h"

namespace techtrade {

class PgUnitOfWork final : public UnitOfWork {
 public:
  explicit PgUnitOfWork(Tx& tx) : tx_(tx) {}
  std::string Emit(absl::string_view producer, const EventCause& cause,
                   const AggregateRef& aggregate, int64_t sequence,
                   const google::protobuf::Message& event) override {
    return techtrade::Emit(tx_, producer, cause, aggregate, sequence, event);
  }
  void RecordResponse(const IdempotencyKey& key, const std::string& request_hash,
                      const std::string& response) override {
    internal::StageIdempotentResponse(tx_, key, request_hash, response);
  }
  void OnCommit(std::function<void()> hook) override { tx_.OnCommit(std::move(hook)); }

 private:
  Tx& tx_;
};

// `PgStore` implements `Store` on one transaction: constructed from its Tx once per attempt of a
// unit.
template <class Store, class PgStore>
class PgTransactor final : public Transactor<Store> {
 public:
  explicit PgTransactor(PgPool& pool) : pool_(pool) {}

  absl::Status Run(const typename Transactor<Store>::Unit& unit) override {
    return InTransaction(pool_, [&](Tx& tx) -> absl::Status {
      PgStore store(tx);
      PgUnitOfWork work(tx);
      return unit(store, work);
    });
  }

  absl::StatusOr<std::optional<std::string>> StoredResponse(
      const IdempotencyKey& key, const std::string& request_hash) override {
    return internal::LookupIdempotentResponse(pool_, key, request_hash);
  }

 private:
  PgPool& pool_;
};

// For code in common/ that is its own store (the dead-letter operations): the unit gets the Tx.
struct TxAccess {
  explicit TxAccess(Tx& transaction) : tx(transaction) {}
  Tx& tx;
};
using TxTransactor = PgTransactor<TxAccess, TxAccess>;

}  // namespace techtrade
