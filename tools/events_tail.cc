// techtrade-events: prints the events of a techtrade topic as JSON lines, the way a consumer
// sees them. Usage:
//   techtrade-events --brokers 127.0.0.1:15492 --topic techtrade.registry.events.v1
//                    [--from-beginning] [--max 100] [--idle-exit-seconds 5]
#include <google/protobuf/util/json_util.h>
#include <librdkafka/rdkafkacpp.h>

#include <iostream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/clock.h"
#include "common/config.h"
#include "common/ids.h"
#include "techtrade/common/v1/common.pb.h"
// Linked in so that event payloads (google.protobuf.Any) can be printed as JSON.
#include "techtrade/listings/v1/listings.pb.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

ABSL_FLAG(std::string, brokers, "",
          "Kafka bootstrap servers (default: env TECHTRADE_KAFKA_BROKERS)");
ABSL_FLAG(std::string, topic, "techtrade.registry.events.v1", "topic to read");
ABSL_FLAG(bool, from_beginning, false, "read the whole topic, not only new events");
ABSL_FLAG(int, max, 0, "stop after this many events (0 = no limit)");
ABSL_FLAG(int, idle_exit_seconds, 0, "stop after this many seconds without an event (0 = never)");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("prints techtrade events from Kafka as JSON lines");
  // Referenced so that the linker keeps the event descriptors the JSON printer resolves Any with.
  techtrade::registry::v1::OrganizationRegistered::descriptor();
  techtrade::listings::v1::OfferCreated::descriptor();
  techtrade::transactions::v1::DealOpened::descriptor();
  absl::ParseCommandLine(argc, argv);
  std::string brokers = absl::GetFlag(FLAGS_brokers);
  if (brokers.empty()) brokers = techtrade::EnvOr("TECHTRADE_KAFKA_BROKERS", "");
  if (brokers.empty()) {
    std::cerr << "techtrade-events: --brokers or TECHTRADE_KAFKA_BROKERS is required\n";
    return 2;
  }
  std::string error;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", brokers, error);
  conf->set("group.id", "techtrade-events-" + techtrade::RandomHex(4), error);
  conf->set("enable.auto.commit", "false", error);
  conf->set("auto.offset.reset", absl::GetFlag(FLAGS_from_beginning) ? "earliest" : "latest",
            error);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(conf.get(), error));
  if (consumer == nullptr) {
    std::cerr << "techtrade-events: " << error << "\n";
    return 1;
  }
  consumer->subscribe({absl::GetFlag(FLAGS_topic)});
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  int printed = 0;
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
    std::string json;
    if (!envelope.ParseFromArray(m->payload(), static_cast<int>(m->len())) ||
        !google::protobuf::util::MessageToJsonString(envelope, &json, options).ok()) {
      json = "{\"error\":\"not a techtrade EventEnvelope\"}";
    }
    std::cout << "{\"partition\":" << m->partition() << ",\"offset\":" << m->offset()
              << ",\"event\":" << json << "}" << std::endl;
    ++printed;
  }
  consumer->close();
  return 0;
}
