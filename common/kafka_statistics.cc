#include "common/kafka_statistics.h"

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace techtrade {
namespace {

int64_t IntOr(const nlohmann::json& object, const char* field, int64_t otherwise) {
  auto it = object.find(field);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : otherwise;
}

bool BoolOr(const nlohmann::json& object, const char* field, bool otherwise) {
  auto it = object.find(field);
  return it != object.end() && it->is_boolean() ? it->get<bool>() : otherwise;
}

}  // namespace

absl::StatusOr<std::vector<PartitionLag>> ConsumerLagFromStatistics(absl::string_view json) {
  nlohmann::json stats = nlohmann::json::parse(json.begin(), json.end(), nullptr,
                                               /*allow_exceptions=*/false);
  if (!stats.is_object()) {
    return absl::InvalidArgumentError("kafka statistics: not a JSON object");
  }
  std::vector<PartitionLag> lags;
  auto topics = stats.find("topics");
  if (topics == stats.end()) return lags;
  if (!topics->is_object()) {
    return absl::InvalidArgumentError("kafka statistics: `topics` is not an object");
  }
  for (const auto& [topic_name, topic] : topics->items()) {
    auto partitions = topic.find("partitions");
    if (partitions == topic.end() || !partitions->is_object()) continue;
    for (const auto& [key, partition] : partitions->items()) {
      int32_t id = 0;
      // -1 is librdkafka's internal partition of messages not yet assigned one.
      if (!absl::SimpleAtoi(key, &id) || id < 0) continue;
      if (!partition.is_object() || !BoolOr(partition, "desired", false) ||
          BoolOr(partition, "unknown", false)) {
        continue;
      }
      int64_t lag = IntOr(partition, "consumer_lag_stored", -1);
      if (lag < 0) lag = IntOr(partition, "consumer_lag", -1);
      if (lag < 0) continue;
      lags.push_back({.topic = topic_name, .partition = id, .events = lag});
    }
  }
  return lags;
}

}  // namespace techtrade
