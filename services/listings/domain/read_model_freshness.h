// How current a replica's read model is, from what its follower was shown of the topic: the
// topic's ends as they were at some moment, and the positions the follower has reached. Pure:
// the follower feeds it (services/listings/api/read_model_follower.h).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>

#include "absl/time/time.h"

namespace techtrade::listings {

// Partition → offset: the next event to apply (a position), or after the last event (an end).
using PartitionOffsets = std::map<int32_t, int64_t>;

class ReadModelFreshness {
 public:
  // The model was (re)loaded from the database in a snapshot taken after `at`: it holds every
  // event published before then. Earlier ends seen no longer matter.
  void Loaded(absl::Time at);
  // The topic ended at `ends` at `at`. Once the follower reaches them, the model holds everything
  // published before `at`.
  void EndsSeen(const PartitionOffsets& ends, absl::Time at);
  // The follower is at `positions` (a partition it has no position on is at 0).
  void Reached(const PartitionOffsets& positions);

  // The latest moment before which the model is known to hold every published event; none
  // before anything was loaded.
  std::optional<absl::Time> synced_as_of() const { return synced_as_of_; }
  // Per partition of the latest ends seen, the events `positions` has not reached.
  PartitionOffsets EventsBehind(const PartitionOffsets& positions) const;

 private:
  struct Ends {
    PartitionOffsets offsets;
    absl::Time at;
  };
  // Seen and not yet reached, oldest first; a few at most: past that the oldest are dropped,
  // which only makes the moment found when the next is reached a later one.
  static constexpr size_t kMaxPending = 16;
  std::deque<Ends> pending_;
  PartitionOffsets latest_ends_;
  std::optional<absl::Time> synced_as_of_;
};

}  // namespace techtrade::listings
