// event_contract_check: reads every techtrade topic of a broker and checks every event against the
// contract of docs/events.md (tests/contract/event_contract.h). In `make test` it brackets the
// integration and end-to-end suites: `--mark FILE` first records where each topic ends, then
// `--since FILE` checks what the suites published meanwhile. Without a mark it reads every topic
// from the beginning. Prints a report; exits 1 on any violation, 2 when it cannot read.
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/config.h"
#include "common/kafka.h"
#include "tests/contract/event_contract.h"

ABSL_FLAG(std::string, brokers, "", "Kafka bootstrap servers (default: TECHTRADE_KAFKA_BROKERS)");
ABSL_FLAG(std::string, topic_prefix, "techtrade.", "check every topic whose name starts so");
ABSL_FLAG(std::string, mark, "",
          "record where every topic ends now in FILE (suffixed with the brokers) and exit");
ABSL_FLAG(std::string, since, "",
          "check only what came after the mark in FILE (suffixed with the brokers), then remove "
          "it; without the file, everything");
ABSL_FLAG(std::vector<std::string>, reused_id_types, {"pilot_city"},
          "aggregate types whose caller-chosen ids the test suites create in several scratch "
          "databases: a chain may start again at sequence 1 under a new event id");
ABSL_FLAG(int, timeout_seconds, 120, "give up reading a topic after this long");

namespace techtrade::contract {
namespace {

using Offsets = std::map<std::pair<std::string, int32_t>, int64_t>;  // (topic, partition)

// The mark of one broker: tests of several stack instances may share a build directory.
std::string MarkPath(const std::string& file, const std::string& brokers) {
  std::string suffix;
  for (char c : brokers) suffix += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return absl::StrCat(file, ".", suffix);
}

absl::StatusOr<std::vector<std::string>> Topics(const std::string& brokers,
                                                const std::string& prefix) {
  std::string error;
  absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf =
      MakeKafkaConf({{"bootstrap.servers", brokers}});
  if (!conf.ok()) return conf.status();
  std::unique_ptr<RdKafka::Producer> handle(RdKafka::Producer::create(conf->get(), error));
  if (handle == nullptr) return absl::UnavailableError(error);
  RdKafka::Metadata* raw = nullptr;
  RdKafka::ErrorCode err = handle->metadata(true, nullptr, &raw, 10000);
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  if (err != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("kafka metadata: ", RdKafka::err2str(err)));
  }
  std::vector<std::string> topics;
  for (const RdKafka::TopicMetadata* t : *metadata->topics()) {
    if (absl::StartsWith(t->topic(), prefix)) topics.push_back(t->topic());
  }
  std::sort(topics.begin(), topics.end());
  return topics;
}

absl::StatusOr<Offsets> EndOffsets(const std::string& brokers,
                                   const std::vector<std::string>& topics) {
  Offsets ends;
  for (const std::string& topic : topics) {
    absl::StatusOr<std::map<int32_t, int64_t>> end =
        KafkaConsumer::EndOffsets(brokers, topic, absl::Seconds(10));
    if (!end.ok()) return end.status();
    for (const auto& [partition, offset] : *end) ends[{topic, partition}] = offset;
  }
  return ends;
}

// Feeds `checker` every record of `topic` from `start` (a partition not listed: from its
// beginning) up to `end`.
absl::Status ReadTopic(const std::string& brokers, const std::string& topic, const Offsets& start,
                       const Offsets& end, EventContractChecker& checker) {
  std::map<int32_t, int64_t> from, next, until;
  for (const auto& [tp, offset] : end) {
    if (tp.first != topic) continue;
    auto it = start.find(tp);
    next[tp.second] = it == start.end() ? 0 : it->second;
    if (it != start.end()) from[tp.second] = it->second;
    until[tp.second] = offset;
  }
  auto done = [&] {
    for (const auto& [p, offset] : until) {
      if (next[p] < offset) return false;
    }
    return true;
  };
  if (done()) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<KafkaConsumer>> consumer =
      KafkaConsumer::CreateTail(brokers, topic, from);
  if (!consumer.ok()) return consumer.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_timeout_seconds));
  while (!done()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("could not read ", topic, " to its end"));
    }
    std::unique_ptr<RdKafka::Message> m = (*consumer)->Poll(absl::Milliseconds(200));
    if (m == nullptr || m->err() != RdKafka::ERR_NO_ERROR) continue;
    // A partition that began before the log start (retention) starts where the log does.
    next[m->partition()] = m->offset() + 1;
    if (m->offset() >= until[m->partition()]) continue;  // published after the check began
    Record r;
    r.topic = topic;
    r.partition = m->partition();
    r.offset = m->offset();
    if (m->key() != nullptr) r.key = *m->key();
    r.value.assign(static_cast<const char*>(m->payload()), m->len());
    if (RdKafka::Headers* h = m->headers()) {
      for (const RdKafka::Headers::Header& header : h->get_all()) {
        r.headers.emplace_back(
            header.key(),
            header.value() == nullptr
                ? std::string()
                : std::string(static_cast<const char*>(header.value()), header.value_size()));
      }
    }
    checker.Add(r);
  }
  return absl::OkStatus();
}

int Mark(const std::string& brokers, const std::vector<std::string>& topics,
         const std::string& path) {
  absl::StatusOr<Offsets> ends = EndOffsets(brokers, topics);
  if (!ends.ok()) {
    std::cerr << "event_contract_check: " << ends.status() << "\n";
    return 2;
  }
  std::error_code ignored;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ignored);
  std::ofstream out(path, std::ios::trunc);
  for (const auto& [tp, offset] : *ends)
    out << tp.first << " " << tp.second << " " << offset << "\n";
  out.close();
  if (!out) {
    std::cerr << "event_contract_check: cannot write " << path << "\n";
    return 2;
  }
  std::cout << "event contract: marked the ends of " << topics.size() << " topics in " << path
            << "\n";
  return 0;
}

// The mark in `path`, or empty (everything) when there is none.
Offsets ReadMark(const std::string& path) {
  Offsets start;
  std::ifstream in(path);
  std::string topic;
  int32_t partition;
  int64_t offset;
  while (in >> topic >> partition >> offset) start[{topic, partition}] = offset;
  return start;
}

int Check(const std::string& brokers, const std::vector<std::string>& topics,
          const std::string& mark_path) {
  Offsets start;
  if (!mark_path.empty()) {
    start = ReadMark(mark_path);
    std::cout << "event contract: "
              << (start.empty() ? "no mark in " + mark_path + ": every topic from its beginning"
                                : "what came after the mark in " + mark_path)
              << "\n";
  }
  absl::StatusOr<Offsets> end = EndOffsets(brokers, topics);
  if (!end.ok()) {
    std::cerr << "event_contract_check: " << end.status() << "\n";
    return 2;
  }
  CheckerOptions options;
  for (const std::string& type : absl::GetFlag(FLAGS_reused_id_types)) {
    if (!type.empty()) options.reused_id_types.insert(type);
  }
  EventContractChecker checker(options);
  for (const std::string& topic : topics) {
    if (absl::Status read = ReadTopic(brokers, topic, start, *end, checker); !read.ok()) {
      std::cerr << "event_contract_check: " << read << "\n";
      return 2;
    }
  }
  std::vector<Violation> violations = checker.Finish();
  std::cout << Report(violations, checker.stats()) << std::flush;
  if (!mark_path.empty()) std::remove(mark_path.c_str());  // a mark is used once
  return violations.empty() ? 0 : 1;
}

}  // namespace
}  // namespace techtrade::contract

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "checks every event on the techtrade topics against docs/events.md; "
      "--mark FILE records the topics' ends, --since FILE checks what came after");
  absl::ParseCommandLine(argc, argv);
  std::string brokers = absl::GetFlag(FLAGS_brokers);
  if (brokers.empty()) brokers = techtrade::EnvOr("TECHTRADE_KAFKA_BROKERS", "");
  if (brokers.empty()) {
    std::cerr << "event_contract_check: --brokers or TECHTRADE_KAFKA_BROKERS is required\n";
    return 2;
  }
  absl::StatusOr<std::vector<std::string>> topics =
      techtrade::contract::Topics(brokers, absl::GetFlag(FLAGS_topic_prefix));
  if (!topics.ok()) {
    std::cerr << "event_contract_check: " << topics.status() << "\n";
    return 2;
  }
  const std::string mark = absl::GetFlag(FLAGS_mark), since = absl::GetFlag(FLAGS_since);
  if (!mark.empty()) {
    return techtrade::contract::Mark(brokers, *topics,
                                     techtrade::contract::MarkPath(mark, brokers));
  }
  return techtrade::contract::Check(
      brokers, *topics, since.empty() ? "" : techtrade::contract::MarkPath(since, brokers));
}
