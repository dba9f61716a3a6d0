// Copies of the deals this process committed last, for the optimistic read of the next command:
// a deal's commands tend to follow one another (deliver, accept, pay), and the read they save is
// a database round trip each. A copy is only ever a guess — the guarded save refuses it if the
// deal changed since (another replica), and the command then runs again from the database.
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "services/transactions/store/deal_store.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::transactions::store {

class RecentDeals {
 public:
  explicit RecentDeals(size_t capacity) : capacity_(capacity) {}

  // The copy of deal `id` if it is at `version`; with `chain`, only a copy kept with its chain
  // head, which goes there.
  std::optional<v1::Deal> Get(const std::string& id, int64_t version,
                              ChainHead* chain = nullptr) const;
  // Keeps `deal` as committed, replacing an older copy; the least recently kept goes first.
  void Put(const v1::Deal& deal);
  // The same for a deal already serialized as `record` (at `version`), with its chain head if
  // known.
  void Put(const std::string& id, int64_t version, std::string record,
           std::optional<ChainHead> chain = std::nullopt);
  size_t size() const;

 private:
  struct Copy {
    int64_t version;
    std::string record;  // serialized: a third of the parsed message's memory
    std::optional<ChainHead> chain;
    std::list<std::string>::iterator age;
  };
  const size_t capacity_;
  mutable std::mutex mutex_;
  absl::flat_hash_map<std::string, Copy> copies_;  // guarded by mutex_
  std::list<std::string> oldest_first_;            // guarded by mutex_
};

}  // namespace techtrade::transactions::store
