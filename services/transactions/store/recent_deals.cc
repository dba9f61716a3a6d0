#include "services/transactions/store/recent_deals.h"

namespace techtrade::transactions::store {

std::optional<v1::Deal> RecentDeals::Get(const std::string& id, int64_t version,
                                         ChainHead* chain) const {
  std::string record;
  {
    std::lock_guard lock(mutex_);
    auto it = copies_.find(id);
    if (it == copies_.end() || it->second.version != version) return std::nullopt;
    if (chain != nullptr) {
      // A head the copy was not kept with would fork the chain: read the database's instead.
      if (!it->second.chain.has_value()) return std::nullopt;
      *chain = *it->second.chain;
    }
    record = it->second.record;
  }
  v1::Deal deal;
  if (!deal.ParseFromString(record)) return std::nullopt;
  return deal;
}

void RecentDeals::Put(const v1::Deal& deal) {
  if (capacity_ == 0) return;
  Put(deal.id(), deal.version(), deal.SerializeAsString());
}

void RecentDeals::Put(const std::string& id, int64_t version, std::string record,
                      std::optional<ChainHead> chain) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mutex_);
  auto [it, added] = copies_.try_emplace(id);
  if (!added) {
    // Commits of one deal may finish out of order: keep the newest.
    if (it->second.version >= version) return;
    oldest_first_.erase(it->second.age);
  }
  it->second.version = version;
  it->second.record = std::move(record);
  it->second.chain = std::move(chain);
  it->second.age = oldest_first_.insert(oldest_first_.end(), id);
  if (copies_.size() > capacity_) {
    copies_.erase(oldest_first_.front());
    oldest_first_.pop_front();
  }
}

size_t RecentDeals::size() const {
  std::lock_guard lock(mutex_);
  return copies_.size();
}

}  // namespace techtrade::transactions::store
