// techtrade-verify-deal: checks a deal's events offline against the platform's signed attestation
// (交易鉴证), a thin wrapper over VerifyDealStream (common/attestation.h). kUsage says how to run
// it.
#include <google/protobuf/util/json_util.h>
#include <librdkafka/rdkafkacpp.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/attestation.h"
#include "common/config.h"
#include "common/envelope.h"
#include "common/kafka.h"
#include "techtrade/common/v1/common.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace {

using techtrade::transactions::v1::DealAttestation;

constexpr char kUsage[] =
    R"(techtrade-verify-deal — check a deal's events against the platform's signed attestation
(交易鉴证): none altered, none missing, none reordered, up to the signed head.

usage: techtrade-verify-deal --attestation FILE [--public_key PEM]
                             (--events FILE | --topic TOPIC [--deal_id ID] [--brokers HOST:PORT])
                             [--dump FILE] [--timeout_seconds S]

flags:
  --attestation FILE   the attestation as JSON, as
                       `techtradectl deal attestation --deal_id ID --json` prints it
  --public_key PEM     the platform's Ed25519 public key (SPKI PEM; default:
                       $TECHTRADE_ATTESTATION_PUBLIC_KEY)
  --events FILE        the deal's events, one base64 Kafka record value per line, in stream order
                       (what --dump writes); blank lines are skipped
  --topic TOPIC        or read them from Kafka: TOPIC from its beginning to its current end (no
                       consumer group, nothing committed; TLS from $TECHTRADE_KAFKA_CA/_CERT/_KEY),
                       keeping the deal's events (record key or envelope aggregate_id) in order
  --deal_id ID         the deal to keep from TOPIC (default: the attestation's deal)
  --brokers HOST:PORT  Kafka bootstrap servers (default: $TECHTRADE_KAFKA_BROKERS)
  --dump FILE          also write the deal's events as base64 lines to FILE (before verifying)
  --timeout_seconds S  how long reading TOPIC may take (default 30)
  --help               print this text

It prints "OK: <n> events, sequence <first>..<head>, head <hex>" when the events from the
attestation's first_sequence to its head all verify, or "FAILED: event <position> (sequence <s>):
<why>", positions counted from 1 in the deal's events as read.

examples:
  set -a; source .run/dev/env; set +a
  techtradectl deal attestation --deal_id "$DEAL" --json > attestation.json
  techtrade-verify-deal --attestation attestation.json --topic techtrade.partner.$PARTNER.deals.v1 \
      --dump deal-events.b64
  techtrade-verify-deal --attestation attestation.json --events deal-events.b64 \
      --public_key techtrade-attestation.pub

exit codes: 0 verified; 1 verification failed; 2 a usage error, or a file, key or topic that could
not be read
)";

constexpr int kVerified = 0, kFailed = 1, kUsageOrIo = 2;

struct Args {
  std::string attestation, public_key, events, topic, deal_id, brokers, dump;
  int timeout_seconds = 30;
};

// Accepts --name=value and --name value. An error names the flag.
absl::StatusOr<Args> ParseArgs(int argc, char** argv) {
  Args args;
  const std::map<std::string, std::string*> flags = {{"attestation", &args.attestation},
                                                     {"public_key", &args.public_key},
                                                     {"events", &args.events},
                                                     {"topic", &args.topic},
                                                     {"deal_id", &args.deal_id},
                                                     {"brokers", &args.brokers},
                                                     {"dump", &args.dump}};
  std::string timeout;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (!absl::StartsWith(a, "--")) {
      return absl::InvalidArgumentError(absl::StrCat(a, ": unexpected argument"));
    }
    a = a.substr(2);
    std::string name = a, value;
    bool has_value = false;
    if (size_t eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    std::string* target = name == "timeout_seconds" ? &timeout : nullptr;
    if (auto it = flags.find(name); it != flags.end()) target = it->second;
    if (target == nullptr) return absl::InvalidArgumentError(absl::StrCat("--", name, ": unknown"));
    if (!has_value) {
      if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat("--", name, ": no value"));
      value = argv[++i];
    }
    *target = value;
  }
  if (!timeout.empty() && (!absl::SimpleAtoi(timeout, &args.timeout_seconds) ||
                           args.timeout_seconds < 1 || args.timeout_seconds > 3600)) {
    return absl::InvalidArgumentError("--timeout_seconds: a whole number from 1 to 3600");
  }
  if (args.public_key.empty()) {
    args.public_key = techtrade::EnvOr("TECHTRADE_ATTESTATION_PUBLIC_KEY", "");
  }
  if (args.brokers.empty()) args.brokers = techtrade::EnvOr("TECHTRADE_KAFKA_BROKERS", "");
  if (args.attestation.empty()) return absl::InvalidArgumentError("--attestation: required");
  if (args.public_key.empty()) {
    return absl::InvalidArgumentError(
        "--public_key: required (or TECHTRADE_ATTESTATION_PUBLIC_KEY)");
  }
  if (args.events.empty() == args.topic.empty()) {
    return absl::InvalidArgumentError("--events or --topic: exactly one is required");
  }
  if (!args.topic.empty() && args.brokers.empty()) {
    return absl::InvalidArgumentError(
        "--brokers: required with --topic (or TECHTRADE_KAFKA_BROKERS)");
  }
  if (!args.deal_id.empty() && args.topic.empty()) {
    return absl::InvalidArgumentError("--deal_id: only with --topic");
  }
  return args;
}

absl::StatusOr<std::string> ReadFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(flag, ": cannot read ", path));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::StatusOr<DealAttestation> ReadAttestation(const std::string& path) {
  absl::StatusOr<std::string> json = ReadFile("--attestation", path);
  if (!json.ok()) return json.status();
  DealAttestation attestation;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (auto s = google::protobuf::util::JsonStringToMessage(*json, &attestation, options); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--attestation: not a DealAttestation as JSON: ", std::string(s.message())));
  }
  return attestation;
}

// One base64 value per line, in order.
absl::StatusOr<std::vector<std::string>> ReadEventsFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile("--events", path);
  if (!text.ok()) return text.status();
  std::vector<std::string> events;
  std::istringstream lines(*text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    absl::string_view trimmed = absl::StripAsciiWhitespace(line);
    if (trimmed.empty()) continue;
    std::string bytes;
    if (!absl::Base64Unescape(trimmed, &bytes)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--events: line ", number, " of ", path, " is not base64"));
    }
    events.push_back(std::move(bytes));
  }
  return events;
}

// Whether a record of `topic` belongs to `deal_id`: its key (the relay keys by aggregate id) or,
// for a record without that key, its envelope says so.
bool OfDeal(const RdKafka::Message& m, const std::string& deal_id) {
  if (m.key() != nullptr && *m.key() == deal_id) return true;
  absl::StatusOr<techtrade::common::v1::EventEnvelope> e =
      techtrade::DecodeEnvelope(absl::string_view(static_cast<const char*>(m.payload()), m.len()));
  return e.ok() && e->aggregate_type() == "deal" && e->aggregate_id() == deal_id;
}

// `deal_id`'s events on `topic`, from its beginning to the end it has now. The relay keys a deal's
// events by its id, so they are all in one partition, in stream order.
absl::StatusOr<std::vector<std::string>> ReadTopic(const Args& args, const std::string& deal_id) {
  const absl::Duration timeout = absl::Seconds(args.timeout_seconds);
  absl::StatusOr<std::map<int32_t, int64_t>> ends =
      techtrade::KafkaConsumer::EndOffsets(args.brokers, args.topic, timeout);
  if (!ends.ok()) {
    return absl::UnavailableError(
        absl::StrCat("--topic: cannot read ", args.topic, ": ", ends.status().message()));
  }
  std::map<int32_t, int64_t> remaining;  // partition → end offset still to reach
  for (const auto& [partition, end] : *ends) {
    if (end > 0) remaining[partition] = end;
  }
  std::vector<std::string> events;
  if (remaining.empty()) return events;
  auto consumer = techtrade::KafkaConsumer::CreateTail(args.brokers, args.topic, {});
  if (!consumer.ok()) {
    return absl::UnavailableError(
        absl::StrCat("--topic: cannot read ", args.topic, ": ", consumer.status().message()));
  }
  const absl::Time deadline = absl::Now() + timeout;
  while (!remaining.empty()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "--topic: ", args.topic, " not read to its end within ", args.timeout_seconds, " s"));
    }
    std::unique_ptr<RdKafka::Message> m = (*consumer)->Poll(absl::Milliseconds(200));
    if (m == nullptr) continue;
    auto it = remaining.find(m->partition());
    if (it == remaining.end() || m->offset() >= it->second) continue;  // past the end seen
    if (OfDeal(*m, deal_id)) {
      events.emplace_back(static_cast<const char*>(m->payload()), m->len());
    }
    if (m->offset() + 1 >= it->second) remaining.erase(it);
  }
  return events;
}

absl::Status WriteDump(const std::string& path, const std::vector<std::string>& events) {
  std::ofstream out(path, std::ios::trunc);
  for (const std::string& e : events) out << absl::Base64Escape(e) << "\n";
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("--dump: cannot write ", path));
  return absl::OkStatus();
}

int Run(int argc, char** argv) {
  absl::StatusOr<Args> args = ParseArgs(argc, argv);
  if (!args.ok()) {
    std::cerr << "techtrade-verify-deal: " << args.status().message()
              << "\n(techtrade-verify-deal --help for usage)\n";
    return kUsageOrIo;
  }
  auto fail_io = [](const absl::Status& s) {
    std::cerr << "techtrade-verify-deal: " << s.message() << "\n";
    return kUsageOrIo;
  };
  absl::StatusOr<DealAttestation> attestation = ReadAttestation(args->attestation);
  if (!attestation.ok()) return fail_io(attestation.status());
  absl::StatusOr<std::string> pem = ReadFile("--public_key", args->public_key);
  if (!pem.ok()) return fail_io(pem.status());
  auto verifier = techtrade::AttestationVerifier::FromPem(*pem);
  if (!verifier.ok()) {
    return fail_io(absl::InvalidArgumentError(
        absl::StrCat("--public_key: ", args->public_key, ": ", verifier.status().message())));
  }
  absl::StatusOr<std::vector<std::string>> events;
  if (!args->events.empty()) {
    events = ReadEventsFile(args->events);
  } else {
    const std::string deal_id = args->deal_id.empty() ? attestation->deal_id() : args->deal_id;
    if (deal_id != attestation->deal_id()) {
      return fail_io(absl::InvalidArgumentError(absl::StrCat(
          "--deal_id: ", deal_id, " is not the attested deal ", attestation->deal_id())));
    }
    events = ReadTopic(*args, deal_id);
  }
  if (!events.ok()) return fail_io(events.status());
  if (!args->dump.empty()) {
    if (absl::Status s = WriteDump(args->dump, *events); !s.ok()) return fail_io(s);
  }
  absl::StatusOr<techtrade::StreamVerification> result =
      techtrade::VerifyDealStream(*events, *attestation, **verifier);
  if (!result.ok()) {
    std::cout << "FAILED: " << result.status().message() << "\n";
    return kFailed;
  }
  std::cout << "OK: " << result->covered << " events, sequence " << attestation->first_sequence()
            << ".." << attestation->sequence() << ", head "
            << absl::BytesToHexString(attestation->head_hash()) << "\n";
  if (result->before_chain > 0) {
    std::cout << "  " << result->before_chain
              << " earlier events, from before events were chained, not covered\n";
  }
  if (result->after_head > 0) {
    std::cout << "  " << result->after_head
              << " later events, after the attested head, not covered\n";
  }
  return kVerified;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h" || a == "-help") {
      std::cout << kUsage;
      return 0;
    }
  }
  return Run(argc, argv);
}
