#include "services/listings/domain/read_model_freshness.h"

#include <algorithm>

namespace techtrade::listings {
namespace {

bool AllReached(const PartitionOffsets& ends, const PartitionOffsets& positions) {
  return std::all_of(ends.begin(), ends.end(), [&](const auto& end) {
    auto it = positions.find(end.first);
    return (it == positions.end() ? 0 : it->second) >= end.second;
  });
}

}  // namespace

void ReadModelFreshness::Loaded(absl::Time at) {
  pending_.clear();
  if (!synced_as_of_.has_value() || *synced_as_of_ < at) synced_as_of_ = at;
}

void ReadModelFreshness::EndsSeen(const PartitionOffsets& ends, absl::Time at) {
  latest_ends_ = ends;
  if (pending_.size() == kMaxPending) pending_.pop_front();
  pending_.push_back({ends, at});
}

void ReadModelFreshness::Reached(const PartitionOffsets& positions) {
  while (!pending_.empty() && AllReached(pending_.front().offsets, positions)) {
    if (!synced_as_of_.has_value() || *synced_as_of_ < pending_.front().at) {
      synced_as_of_ = pending_.front().at;
    }
    pending_.pop_front();
  }
}

PartitionOffsets ReadModelFreshness::EventsBehind(const PartitionOffsets& positions) const {
  PartitionOffsets behind;
  for (const auto& [partition, end] : latest_ends_) {
    auto it = positions.find(partition);
    behind[partition] = std::max<int64_t>(0, end - (it == positions.end() ? 0 : it->second));
  }
  return behind;
}

}  // namespace techtrade::listings
