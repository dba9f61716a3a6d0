// The event contract (docs/events.md) as rules over Kafka records, without Kafka: the checker is
// fed the records of every techtrade topic in partition order and reports each record that breaks
// a rule. Rules per record: the value is an EventEnvelope; the key is its aggregate_id; the seven
// headers are present once each and equal to the envelope; a valid W3C traceparent; event_type is
// a known message of the topic's service and the payload's type; producer is the topic's service;
// occurred_at is a valid time, not in the future; an idempotency_key in the payload is
// <aggregate id>:<sequence>; the aggregate's version in the payload equals the sequence. Rules per
// stream: an event id names one record (an identical copy is a redelivery, which the contract
// allows); per (topic, aggregate) the distinct events carry 1, 2, 3, … in order, in one partition.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace techtrade::contract {

// One Kafka record as read.
struct Record {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<std::string> key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Violation {
  std::string rule;   // e.g. "sequence", "header", "traceparent"
  std::string where;  // topic/partition@offset, event id, type, aggregate
  std::string detail;
};

// Marks records a test put on a topic on purpose (a forged redelivery, a conflicting event for a
// consumer's own test): the checker leaves them out and counts them.
inline constexpr char kInjectedHeader[] = "techtrade-test-injected";

// The headers every record carries, in docs/events.md's order ("Kafka record").
const std::vector<std::string>& RequiredHeaders();

// The aggregate's version a payload carries: the payload's own `version` when its `id` is the
// aggregate id, else that of the first singular message field whose `id` is the aggregate id.
// nullopt when it carries none (e.g. organisation visibility events).
std::optional<int64_t> PayloadVersion(const google::protobuf::Message& payload,
                                      const std::string& aggregate_id);

struct CheckerOptions {
  // Aggregate types whose ids callers choose (pilot cities): test suites create the same id in
  // several scratch databases, so there a new chain may start at sequence 1 under a new event id.
  std::set<std::string> reused_id_types;
  absl::Time now = absl::Now();
  absl::Duration clock_skew = absl::Minutes(5);  // how far in the future occurred_at may be
};

struct CheckerStats {
  int64_t records = 0;
  int64_t events = 0;  // distinct event ids checked
  int64_t redeliveries = 0;
  int64_t injected = 0;
  int64_t restarted_chains = 0;  // reused ids (CheckerOptions::reused_id_types)
  std::map<std::string, int64_t> per_topic;
  std::map<std::string, int64_t> versions_checked;     // per event type
  std::set<std::string> types_without_version;         // event types whose payload has none
  std::map<std::string, int64_t> violations_per_rule;  // filled by Finish
};

class EventContractChecker {
 public:
  explicit EventContractChecker(CheckerOptions options = {});
  // Records of one partition must come in offset order; partitions may interleave.
  void Add(const Record& record);
  // Every violation found, in the order found.
  std::vector<Violation> Finish();
  const CheckerStats& stats() const { return stats_; }

 private:
  struct Chain {
    std::string aggregate_type;
    int32_t partition = 0;
    int64_t last_sequence = 0;
    std::string last_event_id;
  };
  void Fail(const std::string& rule, const std::string& where, const std::string& detail);
  void CheckSequence(const Record& r, const std::string& where, const std::string& aggregate_type,
                     const std::string& aggregate_id, int64_t sequence,
                     const std::string& event_id);

  CheckerOptions options_;
  CheckerStats stats_;
  std::vector<Violation> violations_;
  // topic + event id -> the record's topic, key, value, headers
  std::map<std::string, std::string> seen_;
  std::map<std::pair<std::string, std::string>, Chain> chains_;  // (topic, aggregate id)
};

// A readable report: a summary, then every violation (rule, record, detail).
std::string Report(const std::vector<Violation>& violations, const CheckerStats& stats);

}  // namespace techtrade::contract
