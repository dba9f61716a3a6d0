// What a consumer's librdkafka statistics (statistics.interval.ms) say about its lag, parsed
// without any I/O so that it is tested on sample JSON.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace techtrade {

struct PartitionLag {
  std::string topic;
  int32_t partition = 0;
  int64_t events = 0;  // between this member's position and the partition's end
};

// The lag of every partition assigned to the consumer whose statistics `json` are
// (librdkafka's STATISTICS.md): `consumer_lag_stored`, the distance from the offset stored by
// the last applied event, else `consumer_lag`, from the last committed one. A partition this
// member is not assigned (`desired` false: never, or no longer since a rebalance) or whose lag
// is unknown (-1: no position yet, or no end offset) is left out: its last figures are stale.
// INVALID_ARGUMENT when `json` is not librdkafka's statistics.
absl::StatusOr<std::vector<PartitionLag>> ConsumerLagFromStatistics(absl::string_view json);

}  // namespace techtrade
