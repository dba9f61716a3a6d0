// techtrade-events: prints the events of a techtrade topic as JSON lines, the way a consumer
// sees them (kUsage below says how to run it).
#include <google/protobuf/util/json_util.h>
#include <librdkafka/rdkafkacpp.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "techtrade/common/v1/common.pb.h"
// Linked in so that event payloads (google.protobuf.Any) can be printed as JSON.
#include "techtrade/fund/v1/fund.pb.h"
#include "techtrade/listings/v1/listings.pb.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

ABSL_FLAG(std::string, brokers, "",
          "Kafka bootstrap servers (default: env TECHTRADE_KAFKA_BROKERS)");
ABSL_FLAG(std::string, topic, "techtrade.registry.events.v1", "topic to read");
ABSL_FLAG(bool, from_beginning, false, "read the whole topic, not only new events");
ABSL_FLAG(int, max, 0, "stop after this many events (0 = no limit)");
ABSL_FLAG(int, idle_exit_seconds, 0, "stop after this many seconds without an event (0 = never)");

namespace {

constexpr char kUsage[] =
    R"(techtrade-events — print the events of a techtrade topic as JSON lines, the way a
consumer sees them.

usage: techtrade-events [--brokers HOST:PORT[,HOST:PORT]] [--topic TOPIC] [--from_beginning]
                        [--max N] [--idle_exit_seconds S]

It reads with a consumer group of its own (a new one each run, no offsets committed), so it
never takes events from the services' consumers. Each line is one Kafka message:
  {"partition":P,"offset":O,"event":{the EventEnvelope, payload included, as JSON}}
or, for a message that cannot be printed, {"partition":P,"offset":O,"error":"why"}.

flags:
  --brokers HOST:PORT[,...]  Kafka bootstrap servers (default: $TECHTRADE_KAFKA_BROKERS)
  --topic TOPIC              the topic to read (default techtrade.registry.events.v1); every
                             service has one: techtrade.{registry,listings,transactions,fund}.events.v1
  --from_beginning           read the whole topic, not only the events produced from now on
  --max N                    stop after N events (default 0: no limit)
  --idle_exit_seconds S      stop after S seconds without an event (default 0: never)
  --help                     print this text

examples:
  set -a; source .run/dev/env; set +a
  techtrade-events --topic techtrade.transactions.events.v1 --from_beginning --idle_exit_seconds 5
  techtrade-events --topic techtrade.fund.events.v1 --max 1 | jq .event.payload

exit codes: 0 stopped by --max or --idle_exit_seconds; 1 an unknown flag, or the Kafka client
could not be created; 2 no brokers given; 3 a message could not be printed (its line says why)
)";

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h" || a == "-help" || a == "--helpfull") {
      std::cout << kUsage;
      return 0;
    }
  }
  // Referenced so that the linker keeps the event descriptors the JSON printer resolves Any with.
  techtrade::registry::v1::OrganizationRegistered::descriptor();
  techtrade::listings::v1::OfferCreated::descriptor();
  techtrade::transactions::v1::DealOpened::descriptor();
  techtrade::fund::v1::ProgrammeCreated::descriptor();
  absl::ParseCommandLine(argc, argv);
  std::string brokers = absl::GetFlag(FLAGS_brokers);
  if (brokers.empty()) brokers = techtrade::EnvOr("TECHTRADE_KAFKA_BROKERS", "");
  if (brokers.empty()) {
    std::cerr << "techtrade-events: --brokers or TECHTRADE_KAFKA_BROKERS is required\n";
    return 2;
  }
  std::string error;
  auto conf = techtrade::MakeKafkaConf(
      {{"bootstrap.servers", brokers},
       {"group.id", "techtrade-events-" + techtrade::RandomHex(4)},
       {"enable.auto.commit", "false"},
       {"auto.offset.reset", absl::GetFlag(FLAGS_from_beginning) ? "earliest" : "latest"}});
  if (!conf.ok()) {
    std::cerr << "techtrade-events: " << conf.status() << "\n";
    return 2;
  }
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(conf->get(), error));
  if (consumer == nullptr) {
    std::cerr << "techtrade-events: " << error << "\n";
    return 1;
  }
  consumer->subscribe({absl::GetFlag(FLAGS_topic)});
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  int printed = 0, unprintable = 0;
  absl::Time last_event = absl::Now();
  const int idle_exit = absl::GetFlag(FLAGS_idle_exit_seconds);
  const int max = absl::GetFlag(FLAGS_max);
  while (max == 0 || printed < max) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(200));
    if (m == nullptr || m->err() != RdKafka::ERR_NO_ERROR) {
      if (idle_exit > 0 && absl::Now() - last_event > absl::Seconds(idle_exit)) break;
      continue;
    }
    last_event = absl::Now();
    techtrade::common::v1::EventEnvelope envelope;
    std::string json, error;
    if (!envelope.ParseFromArray(m->payload(), static_cast<int>(m->len()))) {
      error = "not a techtrade EventEnvelope";
    } else if (auto s = google::protobuf::util::MessageToJsonString(envelope, &json, options);
               !s.ok()) {
      // E.g. a timestamp outside what google.protobuf.Timestamp allows, or an unknown payload type.
      error = absl::StrCat("event ", envelope.event_id(), " (", envelope.event_type(),
                           ") cannot be printed as JSON: ", std::string(s.message()));
    }
    std::cout << "{\"partition\":" << m->partition() << ",\"offset\":" << m->offset();
    if (error.empty()) {
      std::cout << ",\"event\":" << json << "}" << std::endl;
    } else {
      ++unprintable;
      std::cout << ",\"error\":" << nlohmann::json(error).dump() << "}" << std::endl;
      std::cerr << "techtrade-events: offset " << m->offset() << ": " << error << "\n";
    }
    ++printed;
  }
  consumer->close();
  return unprintable == 0 ? 0 : 3;
}
