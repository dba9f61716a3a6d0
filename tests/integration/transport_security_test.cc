// Transport security against the real stack and a real service process, each test trying to get
// through and failing: plaintext, no client certificate, an expired one, one of an unknown CA;
// a rotated server certificate picked up without a restart; the plaintext health port serving
// health only; PostgreSQL, Redis and Kafka refusing clients without their credentials.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/auth.h"
#include "common/cache.h"
#include "common/channel.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/tls.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"
#include "tests/support/harness.h"
#include "tests/support/test_pki.h"

namespace techtrade::testing {
namespace {

namespace fs = std::filesystem;
namespace v1 = techtrade::registry::v1;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

class TransportSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ProcessTls().enabled())
        << "the test stack runs with TLS: source its env file (TECHTRADE_TLS_CA)";
    dir_ = absl::StrCat(::testing::TempDir(), "/tls-", RandomHex(6));
    fs::create_directories(dir_);
    db_ = std::make_unique<ScratchDatabase>(stack_, "tls_it");
    operator_key_ = NewApiKey();
  }
  void TearDown() override {
    registry_.reset();
    db_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  void StartRegistry(std::map<std::string, std::string> extra = {}) {
    extra.emplace("TECHTRADE_DB_POOL_SIZE", "2");
    registry_ = std::make_unique<ServiceProcess>(
        "registry", RegistryEnv(stack_, db_->url(), operator_key_, std::move(extra)));
    ASSERT_TRUE(registry_->WaitUntilServing()) << "log: " << registry_->log_path();
  }

  // A fresh connection (no subchannel shared with earlier channels) with `tls`.
  std::shared_ptr<grpc::Channel> FreshChannel(const TlsFiles& tls) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(registry_->address(), ChannelCredentialsFor(tls), args);
  }

  grpc::Status ListCities(const std::shared_ptr<grpc::Channel>& channel,
                          std::string* server_name = nullptr) {
    auto stub = v1::RegistryService::NewStub(channel);
    auto context = AuthedContext(operator_key_, absl::Seconds(5));
    v1::ListPilotCitiesRequest request;
    v1::ListPilotCitiesResponse response;
    grpc::Status status = stub->ListPilotCities(context.get(), request, &response);
    if (server_name != nullptr && status.ok()) {
      auto names = context->auth_context()->FindPropertyValues("x509_common_name");
      *server_name = names.empty() ? "" : std::string(names[0].data(), names[0].size());
    }
    return status;
  }

  TlsFiles WithClient(const CertificateFiles& client) const {
    TlsFiles tls = ProcessTls();
    tls.cert = client.cert;
    tls.key = client.key;
    return tls;
  }

  Stack stack_ = Stack::FromEnvironment();
  std::string dir_;
  std::unique_ptr<ScratchDatabase> db_;
  std::string operator_key_;
  std::unique_ptr<ServiceProcess> registry_;
};

TEST_F(TransportSecurityTest, AClientWithTheStacksCertificateIsServed) {
  StartRegistry();
  EXPECT_TRUE(ListCities(FreshChannel(ProcessTls())).ok());
}

TEST_F(TransportSecurityTest, APlaintextClientIsRefused) {
  StartRegistry();
  grpc::Status status = ListCities(FreshChannel(TlsFiles{}));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(TransportSecurityTest, AClientWithoutACertificateIsRefused) {
  StartRegistry();
  TlsFiles no_certificate = ProcessTls();
  no_certificate.cert.clear();
  no_certificate.key.clear();
  grpc::Status status = ListCities(FreshChannel(no_certificate));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(TransportSecurityTest, AnExpiredCertificateIsRefused) {
  StartRegistry();
  CertificateFiles expired = CertificateAuthority::OfStack().Issue(
      "listings", dir_, "expired", absl::Hours(-48), absl::Hours(-24));
  grpc::Status status = ListCities(FreshChannel(WithClient(expired)));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  // The same name from the same CA, in date: served.
  CertificateFiles current = CertificateAuthority::OfStack().Issue("listings", dir_, "current");
  EXPECT_TRUE(ListCities(FreshChannel(WithClient(current))).ok());
}

TEST_F(TransportSecurityTest, ACertificateOfAnUnknownCaIsRefused) {
  StartRegistry();
  CertificateAuthority rogue = CertificateAuthority::SelfSigned("rogue-ca", dir_);
  CertificateFiles impostor = rogue.Issue("listings", dir_, "impostor");
  grpc::Status status = ListCities(FreshChannel(WithClient(impostor)));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(TransportSecurityTest, AServerOfAnUnknownCaIsRefusedByItsClients) {
  CertificateAuthority rogue = CertificateAuthority::SelfSigned("rogue-ca", dir_);
  CertificateFiles server = rogue.Issue("registry", dir_, "rogue-server");
  CertificateFiles rogue_client = rogue.Issue("dev", dir_, "rogue-client");
  const TlsFiles stack_tls = ProcessTls();
  // The harness waits for SERVING through ProcessTls(): the rogue's own, for that long.
  SetProcessTls({.ca = rogue.files.cert, .cert = rogue_client.cert, .key = rogue_client.key});
  StartRegistry({{"TECHTRADE_TLS_CERT", server.cert},
                 {"TECHTRADE_TLS_KEY", server.key},
                 {"TECHTRADE_TLS_CA", rogue.files.cert}});
  SetProcessTls(stack_tls);
  // A client that trusts only the stack's CA refuses the server (whose certificate is in date,
  // names 127.0.0.1, and would be accepted under the rogue CA).
  grpc::Status status = ListCities(FreshChannel(stack_tls));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(TransportSecurityTest, ARotatedCertificateReachesNewConnectionsWithoutARestart) {
  CertificateAuthority ca = CertificateAuthority::OfStack();
  SecretDir secret(dir_ + "/secret");
  secret.Publish(ca.Issue("registry-first", dir_, "first"), ca.files.cert);
  const TlsFiles files = secret.Files(absl::Seconds(1));
  StartRegistry({{"TECHTRADE_TLS_CERT", files.cert},
                 {"TECHTRADE_TLS_KEY", files.key},
                 {"TECHTRADE_TLS_CA", files.ca},
                 {"TECHTRADE_TLS_REFRESH_SECONDS", "1"}});
  const pid_t pid = registry_->pid();
  std::string served;
  ASSERT_TRUE(ListCities(FreshChannel(ProcessTls()), &served).ok());
  EXPECT_EQ(served, "registry-first");

  secret.Publish(ca.Issue("registry-second", dir_, "second"), ca.files.cert);
  // The server re-reads its files every second: a new connection soon meets the new one.
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (served != "registry-second" && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    ASSERT_TRUE(ListCities(FreshChannel(ProcessTls()), &served).ok());
  }
  EXPECT_EQ(served, "registry-second");
  EXPECT_EQ(registry_->pid(), pid);
  EXPECT_EQ(kill(pid, 0), 0) << "the process never stopped";
}

TEST_F(TransportSecurityTest, TheHealthPortServesHealthAndNothingElseInPlaintext) {
  StartRegistry({{"TECHTRADE_HEALTH_PORT", "0"}});
  // The bound port is in the log line "serving"; probe every port the process listens on would
  // be fragile, so the test reads it from there.
  int health_port = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (health_port == 0 && absl::Now() < deadline) {
    std::ifstream log(registry_->log_path());
    std::string line;
    while (std::getline(log, line)) {
      const std::string key = "\"health_port\":";
      if (size_t at = line.find(key); at != std::string::npos) {
        health_port = std::atoi(line.c_str() + at + key.size());
      }
    }
    if (health_port == 0) absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_GT(health_port, 0) << "no health_port in " << registry_->log_path();
  auto plaintext = grpc::CreateChannel(absl::StrCat("127.0.0.1:", health_port),
                                       grpc::InsecureChannelCredentials());
  auto health = Health::NewStub(plaintext);
  for (const std::string service : {"", "techtrade.registry.v1.RegistryService"}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    grpc::Status status = health->Check(&context, request, &response);
    ASSERT_TRUE(status.ok()) << service << ": " << status.error_message();
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING) << service;
  }
  grpc::Status status = ListCities(plaintext);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
}

TEST_F(TransportSecurityTest, PostgresRefusesPlaintextAndClientsWithoutACertificate) {
  {
    pqxx::connection verified(db_->url());
    pqxx::work tx(verified);
    EXPECT_TRUE(tx.exec1("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")[0].as<bool>());
  }
  EXPECT_THROW(pqxx::connection(db_->url() + "?sslmode=disable"), pqxx::broken_connection);
  // TLS, but no client certificate (libpq reads PGSSLCERT; a path that does not exist sends
  // none).
  EXPECT_THROW(pqxx::connection(db_->url() + "?sslcert=/nonexistent&sslkey=/nonexistent"),
               pqxx::broken_connection);
}

TEST_F(TransportSecurityTest, RedisRefusesClientsWithoutThePassword) {
  absl::StatusOr<RedisOptions> with_password = ParseRedisUrl(stack_.redis_url);
  ASSERT_TRUE(with_password.ok()) << with_password.status();
  ASSERT_FALSE(with_password->user.empty()) << "the test stack's Redis has a user and password";
  const std::string key = "tls-test:" + RandomHex(6);
  Cache authenticated(*with_password);
  authenticated.Set(key, "v", absl::Seconds(30));
  EXPECT_EQ(authenticated.Get(key), std::optional<std::string>("v"));

  RedisOptions anonymous = *with_password;
  anonymous.user.clear();
  anonymous.password.clear();
  Cache unauthenticated(anonymous);
  EXPECT_EQ(unauthenticated.Get(key), std::nullopt);
  EXPECT_GT(unauthenticated.errors(), 0);

  RedisOptions wrong = *with_password;
  wrong.password = "not-the-password";
  Cache wrong_password(wrong);
  EXPECT_EQ(wrong_password.Get(key), std::nullopt);
  EXPECT_GT(wrong_password.errors(), 0);
}

TEST_F(TransportSecurityTest, KafkaRefusesClientsWithoutACertificate) {
  ASSERT_FALSE(KafkaTlsFromEnvironment().empty()) << "the test stack's Kafka speaks TLS";
  auto metadata_of = [&](const KafkaConfig& settings) {
    absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf = MakeKafkaConf(settings);
    EXPECT_TRUE(conf.ok()) << conf.status();
    std::string error;
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf->get(), error));
    EXPECT_NE(producer, nullptr) << error;
    RdKafka::Metadata* raw = nullptr;
    RdKafka::ErrorCode err = producer->metadata(true, nullptr, &raw, 3000);
    delete raw;
    return err;
  };
  EXPECT_EQ(metadata_of({{"bootstrap.servers", stack_.kafka_brokers}}), RdKafka::ERR_NO_ERROR);
  // librdkafka cannot unset a file setting, so "no certificate" is a plaintext client, and one
  // whose certificate comes from an unknown CA.
  EXPECT_NE(metadata_of(
                {{"bootstrap.servers", stack_.kafka_brokers}, {"security.protocol", "plaintext"}}),
            RdKafka::ERR_NO_ERROR);
  CertificateAuthority rogue = CertificateAuthority::SelfSigned("rogue-ca", dir_);
  CertificateFiles impostor = rogue.Issue("dev", dir_, "kafka-impostor");
  EXPECT_NE(metadata_of({{"bootstrap.servers", stack_.kafka_brokers},
                         {"ssl.certificate.location", impostor.cert},
                         {"ssl.key.location", impostor.key}}),
            RdKafka::ERR_NO_ERROR);
}

}  // namespace
}  // namespace techtrade::testing
