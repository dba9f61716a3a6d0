// What integration and end-to-end tests share: the local stack's addresses, fresh databases,
// service processes started from build/bin, and a reader of a Kafka topic from "now".
#pragma once

#include <grpcpp/grpcpp.h>
#include <librdkafka/rdkafkacpp.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/kafka.h"
#include "common/tls_files.h"
#include "techtrade/common/v1/common.pb.h"

namespace techtrade::testing {

// The local stack (deploy/local/stack.sh up, TECHTRADE_INSTANCE=test) as given by its env file.
struct Stack {
  std::string pg_server_url;  // without a database
  std::string kafka_brokers;
  std::string redis_url;
  std::string instance;
  // Reads TECHTRADE_* from the environment; fails the test run with a message when missing.
  static Stack FromEnvironment();
  // deploy/local/stack.sh stop|start <component> for this instance (kafka, redis, postgres).
  void Stop(const std::string& component) const;
  void Start(const std::string& component) const;
  // deploy/local/stack.sh partner <id>: the partner's certificate (<pki dir>/<id>.crt and .key,
  // beside TECHTRADE_TLS_CA), its topic and its Kafka ACLs.
  bool OnboardPartner(const std::string& partner_id) const;
};

// Stops a stack component for the scope of a test and starts it again at the end, also when the
// test fails half-way, so one failure cannot take the next tests down with it.
class ComponentOutage {
 public:
  ComponentOutage(const Stack& stack, std::string component);
  ~ComponentOutage();
  // Starts the component again now (idempotent).
  void End();

 private:
  const Stack& stack_;
  std::string component_;
  bool down_ = true;
};

// Creates a uniquely named database and drops it when destroyed.
class ScratchDatabase {
 public:
  ScratchDatabase(const Stack& stack, const std::string& prefix);
  ~ScratchDatabase();
  const std::string& url() const { return url_; }
  // Runs a query returning one integer (e.g. a count) on this database.
  int64_t QueryInt(const std::string& sql) const;

 private:
  std::string server_url_;
  std::string name_;
  std::string url_;
};

// A service binary from build/bin, started with the given environment, on a free port.
class ServiceProcess {
 public:
  ServiceProcess(const std::string& binary, std::map<std::string, std::string> env);
  ~ServiceProcess();
  // Waits until the health service reports SERVING; false on timeout or exit.
  bool WaitUntilServing(absl::Duration timeout = absl::Seconds(30));
  std::string address() const;
  int port() const { return port_; }
  // SIGTERM and wait; returns the exit status (or -1 on timeout, after which it is killed).
  int Terminate(absl::Duration timeout = absl::Seconds(20));
  void Kill();
  pid_t pid() const { return pid_; }
  // Resident memory in KiB from /proc.
  long RssKib() const;
  std::shared_ptr<grpc::Channel> channel() const;
  const std::string& log_path() const { return log_path_; }

 private:
  std::string port_file_;
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// The TLS files of the stack's certificate for `identity`, one of the platform's services
// (kServiceIdentities): what a process of that service presents. TLS off when the process has no
// TLS or the stack no such certificate.
TlsFiles ServiceIdentityTls(const std::string& identity);
// A channel to `address` presenting that certificate, as the service would call (e.g. the
// registry's Authenticate).
std::shared_ptr<grpc::Channel> ServiceIdentityChannel(const std::string& address,
                                                      const std::string& identity);

// A registry process's environment on `stack`: its database, the stack's Kafka and Redis, a pool
// of 4 and `operator_key` bootstrapped as the operator's; `extra` adds to or overrides it.
std::map<std::string, std::string> RegistryEnv(const Stack& stack, const std::string& db_url,
                                               const std::string& operator_key,
                                               std::map<std::string, std::string> extra = {});

// Path of a built binary (build/bin/<name>).
std::string BinaryPath(const std::string& name);
std::string SourceDir();

// A ClientContext with the API key and a deadline.
std::unique_ptr<grpc::ClientContext> AuthedContext(const std::string& api_key,
                                                   absl::Duration deadline = absl::Seconds(10));

// Reads a topic from its end at construction time: only events produced afterwards are seen.
class TopicReader {
 public:
  struct Event {
    techtrade::common::v1::EventEnvelope envelope;
    std::string key;
    int32_t partition;
    int64_t offset;
    std::map<std::string, std::string> headers;
  };
  TopicReader(const std::string& brokers, const std::string& topic);
  // Reads until `done(all events so far)` is true or the timeout passes; returns all events read.
  const std::vector<Event>& ReadUntil(const std::function<bool(const std::vector<Event>&)>& done,
                                      absl::Duration timeout);
  // Events so far whose aggregate id is `aggregate_id`, in topic order.
  std::vector<Event> ForAggregate(const std::string& aggregate_id) const;
  // Reads until an event of `aggregate_id` carrying a `Payload` has arrived; false on timeout.
  template <class Payload>
  bool ReadUntilPayload(const std::string& aggregate_id, absl::Duration timeout) {
    auto arrived = [&] {
      for (const Event& e : ForAggregate(aggregate_id)) {
        if (e.envelope.payload().template Is<Payload>()) return true;
      }
      return false;
    };
    ReadUntil([&](const std::vector<Event>&) { return arrived(); }, timeout);
    return arrived();
  }

 private:
  std::unique_ptr<KafkaConsumer> consumer_;
  std::vector<Event> events_;
};

// The name of a consumer group that has never run, with its offsets committed at the current end
// of `topic`: a service consuming with it sees only events produced from now on, not the history
// earlier tests left on the shared topic.
std::string ConsumerGroupAtEnd(const std::string& brokers, const std::string& topic,
                               const std::string& prefix);

// The largest number of events a service's consumer applied in one transaction, from the
// "consumer: events applied in one transaction" lines of its log (the service must log at debug
// level); 0 if none. Shows that a backlog test really exercised a batch.
int LargestConsumerBatch(const std::string& log_path);

}  // namespace techtrade::testing
