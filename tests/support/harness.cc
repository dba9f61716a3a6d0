#include "tests/support/harness.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <sstream>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/server.h"
#include "common/tls.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/health_check_service_interface.h"

extern char** environ;

namespace techtrade::testing {
namespace {

std::string RequiredEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    std::cerr
        << "integration tests need " << name
        << ": run them through `make test` (it starts the local stack and sources .run/test/env)\n";
    std::exit(2);
  }
  return value;
}

}  // namespace

std::string SourceDir() { return TECHTRADE_SOURCE_DIR; }

TlsFiles ServiceIdentityTls(const std::string& identity) {
  TlsFiles tls = ProcessTls();
  if (!tls.enabled() || !absl::c_linear_search(kServiceIdentities, identity)) return TlsFiles{};
  // The stack's certificates sit beside its CA (deploy/local/lib/pki.sh).
  const std::string dir = tls.ca.substr(0, tls.ca.rfind('/') + 1);
  tls.cert = absl::StrCat(dir, identity, ".crt");
  tls.key = absl::StrCat(dir, identity, ".key");
  if (!std::ifstream(tls.cert).good() || !std::ifstream(tls.key).good()) return TlsFiles{};
  return tls;
}

std::shared_ptr<grpc::Channel> ServiceIdentityChannel(const std::string& address,
                                                      const std::string& identity) {
  grpc::ChannelArguments args;
  // Its own connection: a channel presenting another certificate must not share it.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, ChannelCredentialsFor(ServiceIdentityTls(identity)),
                                   args);
}
std::map<std::string, std::string> RegistryEnv(const Stack& stack, const std::string& db_url,
                                               const std::string& operator_key,
                                               std::map<std::string, std::string> extra) {
  // merge keeps what `extra` already holds.
  extra.merge(std::map<std::string, std::string>{{"TECHTRADE_PG_URL", db_url},
                                                 {"TECHTRADE_KAFKA_BROKERS", stack.kafka_brokers},
                                                 {"TECHTRADE_REDIS_URL", stack.redis_url},
                                                 {"TECHTRADE_BOOTSTRAP_OPERATOR_KEY", operator_key},
                                                 {"TECHTRADE_DB_POOL_SIZE", "4"}});
  return extra;
}

std::string BinaryPath(const std::string& name) {
  return absl::StrCat(TECHTRADE_BINARY_DIR, "/bin/", name);
}

Stack Stack::FromEnvironment() {
  Stack s;
  s.pg_server_url = RequiredEnv("TECHTRADE_PG_URL");
  s.kafka_brokers = RequiredEnv("TECHTRADE_KAFKA_BROKERS");
  s.redis_url = RequiredEnv("TECHTRADE_REDIS_URL");
  s.instance = RequiredEnv("TECHTRADE_INSTANCE");
  return s;
}

void Stack::Stop(const std::string& component) const {
  std::string cmd = absl::StrCat("TECHTRADE_INSTANCE=", instance, " ", SourceDir(),
                                 "/deploy/local/stack.sh stop ", component, " >&2");
  if (std::system(cmd.c_str()) != 0) std::cerr << "failed: " << cmd << "\n";
}

void Stack::Start(const std::string& component) const {
  std::string cmd = absl::StrCat("TECHTRADE_INSTANCE=", instance, " ", SourceDir(),
                                 "/deploy/local/stack.sh start ", component, " >&2");
  if (std::system(cmd.c_str()) != 0) std::cerr << "failed: " << cmd << "\n";
}

bool Stack::OnboardPartner(const std::string& partner_id) const {
  std::string cmd = absl::StrCat("TECHTRADE_INSTANCE=", instance, " ", SourceDir(),
                                 "/deploy/local/stack.sh partner ", partner_id, " >&2");
  return std::system(cmd.c_str()) == 0;
}

ComponentOutage::ComponentOutage(const Stack& stack, std::string component)
    : stack_(stack), component_(std::move(component)) {
  stack_.Stop(component_);
}

ComponentOutage::~ComponentOutage() { End(); }

void ComponentOutage::End() {
  if (!down_) return;
  stack_.Start(component_);
  down_ = false;
}

ScratchDatabase::ScratchDatabase(const Stack& stack, const std::string& prefix)
    : server_url_(stack.pg_server_url), name_(absl::StrCat(prefix, "_", RandomHex(6))) {
  pqxx::connection conn(server_url_ + "/postgres");
  pqxx::nontransaction tx(conn);
  tx.exec("CREATE DATABASE " + name_);
  url_ = absl::StrCat(server_url_, "/", name_);
}

ScratchDatabase::~ScratchDatabase() {
  try {
    pqxx::connection conn(server_url_ + "/postgres");
    pqxx::nontransaction tx(conn);
    tx.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::cerr << "could not drop " << name_ << ": " << e.what() << "\n";
  }
}

int64_t ScratchDatabase::QueryInt(const std::string& sql) const {
  pqxx::connection conn(url_);
  pqxx::nontransaction tx(conn);
  return tx.exec1(sql)[0].as<int64_t>();
}

ServiceProcess::ServiceProcess(const std::string& binary, std::map<std::string, std::string> env) {
  std::string tag = RandomHex(4);
  port_file_ = absl::StrCat(::testing::TempDir(), "/", tag, ".port");
  log_path_ = absl::StrCat(::testing::TempDir(), "/", binary, "-", tag, ".log");
  env["TECHTRADE_PORT_FILE"] = port_file_;
  if (!env.contains("TECHTRADE_GRPC_PORT")) env["TECHTRADE_GRPC_PORT"] = "0";
  if (!env.contains("TECHTRADE_METRICS_PORT")) env["TECHTRADE_METRICS_PORT"] = "0";
  // The child inherits this process's environment, with `env` on top.
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (auto& [k, v] : env) merged[k] = v;
  // A platform service presents its own certificate, as in the stack and in k8s/, not the
  // developer's the tests inherit: the registry answers Authenticate to services only.
  if (!env.contains("TECHTRADE_TLS_CERT") && !env.contains("TECHTRADE_TLS_CA") &&
      !merged["TECHTRADE_TLS_CA"].empty()) {
    const TlsFiles own = ServiceIdentityTls(binary);
    if (!own.cert.empty()) {
      merged["TECHTRADE_TLS_CERT"] = own.cert;
      merged["TECHTRADE_TLS_KEY"] = own.key;
    }
  }
  std::vector<std::string> entries;
  for (auto& [k, v] : merged) entries.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : entries) envp.push_back(e.data());
  envp.push_back(nullptr);

  std::string path = BinaryPath(binary);
  char* argv[] = {path.data(), nullptr};
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    // The service dies with the test (or bench) that started it, even if that one is killed.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(log, 1);
    dup2(log, 2);
    execve(path.c_str(), argv, envp.data());
    _exit(127);
  }
}

ServiceProcess::~ServiceProcess() {
  if (pid_ > 0) Kill();
}

bool ServiceProcess::WaitUntilServing(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (pid_ <= 0 || waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::cerr << "service exited during start-up; log " << log_path_ << ":\n"
                << std::ifstream(log_path_).rdbuf() << "\n";
      return false;
    }
    if (port_ == 0) {
      std::ifstream in(port_file_);
      in >> port_;
    }
    if (port_ != 0) {
      auto stub = grpc::health::v1::Health::NewStub(channel());
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
      grpc::health::v1::HealthCheckRequest req;
      grpc::health::v1::HealthCheckResponse resp;
      if (stub->Check(&ctx, req, &resp).ok() &&
          resp.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
        return true;
      }
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

std::string ServiceProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

std::shared_ptr<grpc::Channel> ServiceProcess::channel() const {
  return grpc::CreateChannel(address(), ChannelCredentialsFor(ProcessTls()));
}

int ServiceProcess::Terminate(absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  Kill();
  return -1;
}

void ServiceProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

long ServiceProcess::RssKib() const {
  std::ifstream status(absl::StrCat("/proc/", pid_, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

std::unique_ptr<grpc::ClientContext> AuthedContext(const std::string& api_key,
                                                   absl::Duration deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!api_key.empty()) ctx->AddMetadata("authorization", "Bearer " + api_key);
  ctx->set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(deadline));
  return ctx;
}

TopicReader::TopicReader(const std::string& brokers, const std::string& topic) {
  absl::StatusOr<std::map<int32_t, int64_t>> ends =
      KafkaConsumer::EndOffsets(brokers, topic, absl::Seconds(10));
  if (!ends.ok()) throw std::runtime_error(ends.status().ToString());
  absl::StatusOr<std::unique_ptr<KafkaConsumer>> consumer =
      KafkaConsumer::CreateTail(brokers, topic, *ends);
  if (!consumer.ok()) throw std::runtime_error(consumer.status().ToString());
  consumer_ = *std::move(consumer);
}

std::string ConsumerGroupAtEnd(const std::string& brokers, const std::string& topic,
                               const std::string& prefix) {
  const std::string group = prefix + "-" + RandomHex(6);
  absl::StatusOr<std::map<int32_t, int64_t>> ends =
      KafkaConsumer::EndOffsets(brokers, topic, absl::Seconds(10));
  if (!ends.ok()) throw std::runtime_error(ends.status().ToString());
  std::string error;
  auto conf = MakeKafkaConf({{"bootstrap.servers", brokers}, {"group.id", group}});
  if (!conf.ok()) throw std::runtime_error(conf.status().ToString());
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(conf->get(), error));
  if (consumer == nullptr) throw std::runtime_error(error);
  std::vector<RdKafka::TopicPartition*> offsets;
  for (const auto& [partition, offset] : *ends) {
    offsets.push_back(RdKafka::TopicPartition::create(topic, partition, offset));
  }
  RdKafka::ErrorCode err = consumer->commitSync(offsets);
  RdKafka::TopicPartition::destroy(offsets);
  consumer->close();
  if (err != RdKafka::ERR_NO_ERROR) {
    throw std::runtime_error("commit offsets for " + group + ": " + RdKafka::err2str(err));
  }
  return group;
}

const std::vector<TopicReader::Event>& TopicReader::ReadUntil(
    const std::function<bool(const std::vector<Event>&)>& done, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!done(events_) && absl::Now() < deadline) {
    std::unique_ptr<RdKafka::Message> m = consumer_->Poll(absl::Milliseconds(100));
    if (m == nullptr) continue;
    Event e;
    e.envelope.ParseFromArray(m->payload(), static_cast<int>(m->len()));
    if (m->key() != nullptr) e.key = *m->key();
    e.partition = m->partition();
    e.offset = m->offset();
    if (RdKafka::Headers* h = m->headers()) {
      for (const auto& header : h->get_all()) {
        e.headers[header.key()] =
            std::string(static_cast<const char*>(header.value()), header.value_size());
      }
    }
    events_.push_back(std::move(e));
  }
  return events_;
}

std::vector<TopicReader::Event> TopicReader::ForAggregate(const std::string& aggregate_id) const {
  std::vector<Event> out;
  for (const Event& e : events_) {
    if (e.envelope.aggregate_id() == aggregate_id) out.push_back(e);
  }
  return out;
}

int LargestConsumerBatch(const std::string& log_path) {
  std::ifstream log(log_path);
  int largest = 0;
  for (std::string line; std::getline(log, line);) {
    if (line.find("consumer: events applied in one transaction") == std::string::npos) continue;
    nlohmann::json entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (entry.is_object() && entry.contains("events") && entry["events"].is_number_integer()) {
      largest = std::max(largest, entry["events"].get<int>());
    }
  }
  return largest;
}

}  // namespace techtrade::testing
