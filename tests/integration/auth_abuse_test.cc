// Guessing API keys: failed authentications are limited per peer address (not for the platform's
// services, which forward their callers' keys; not for keys the server remembers), and the
// registry's Authenticate, which answers whether a key is good, answers the platform's services
// only (their certificates), not a developer's or a partner's (docs/security.md).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <latch>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/auth.h"
#include "common/ids.h"
#include "common/server.h"
#include "common/tls.h"
#include "techtrade/listings/v1/listings.grpc.pb.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"
#include "tests/support/harness.h"
#include "tests/support/test_pki.h"

namespace techtrade::testing {
namespace {

namespace fs = std::filesystem;
namespace v1 = techtrade::registry::v1;
namespace lv1 = techtrade::listings::v1;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class AuthAbuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ProcessTls().enabled())
        << "the test stack runs with TLS: source its env file (TECHTRADE_TLS_CA)";
    dir_ = absl::StrCat(::testing::TempDir(), "/auth-abuse-", RandomHex(6));
    fs::create_directories(dir_);
    db_ = std::make_unique<ScratchDatabase>(stack_, "auth_abuse");
    operator_key_ = NewApiKey();
  }
  void TearDown() override {
    listings_.reset();
    registry_.reset();
    listings_db_.reset();
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

  // A channel presenting `tls` on a connection of its own.
  static std::shared_ptr<grpc::Channel> ChannelWith(const std::string& address,
                                                    const TlsFiles& tls) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // The registry's certificate names localhost and 127.0.0.1, not ::1.
    args.SetSslTargetNameOverride("localhost");
    return grpc::CreateCustomChannel(address, ChannelCredentialsFor(tls), args);
  }

  grpc::Status AuthenticateThrough(const std::shared_ptr<grpc::Channel>& channel,
                                   const std::string& key, Principal* who) {
    v1::AuthenticateRequest r;
    r.set_api_key(key);
    return v1::RegistryService::NewStub(channel)->Authenticate(
        AuthedContext("", absl::Seconds(5)).get(), r, who);
  }

  grpc::Status ListCities(const std::shared_ptr<grpc::Channel>& channel, const std::string& key,
                          std::string* retry_after_ms = nullptr) {
    v1::ListPilotCitiesRequest r;
    v1::ListPilotCitiesResponse response;
    auto context = AuthedContext(key, absl::Seconds(5));
    grpc::Status s =
        v1::RegistryService::NewStub(channel)->ListPilotCities(context.get(), r, &response);
    if (retry_after_ms != nullptr) {
      auto it = context->GetServerTrailingMetadata().find(kRetryAfterMetadata);
      *retry_after_ms = it == context->GetServerTrailingMetadata().end()
                            ? std::string()
                            : std::string(it->second.data(), it->second.size());
    }
    return s;
  }

  Stack stack_ = Stack::FromEnvironment();
  std::string dir_;
  std::string operator_key_;
  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<ScratchDatabase> listings_db_;
  std::unique_ptr<ServiceProcess> registry_;
  std::unique_ptr<ServiceProcess> listings_;
};

TEST_F(AuthAbuseTest, AuthenticateRefusesCertificatesThatAreNotTheServices) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  Principal who;
  // The developer's certificate, which the tests and tools present.
  grpc::Status s = AuthenticateThrough(registry_->channel(), operator_key_, &who);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_THAT(s.error_message(), StartsWith("certificate: "));
  EXPECT_THAT(s.error_message(), HasSubstr("'dev'"));
  // A finance partner's, of the same CA.
  CertificateAuthority ca = CertificateAuthority::OfStack();
  CertificateFiles partner = ca.Issue("bank-abuse", dir_, "partner");
  TlsFiles partner_tls = ProcessTls();
  partner_tls.cert = partner.cert;
  partner_tls.key = partner.key;
  s = AuthenticateThrough(ChannelWith(registry_->address(), partner_tls), operator_key_, &who);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  // A bad key learns nothing either: refused for the certificate, not judged.
  s = AuthenticateThrough(registry_->channel(), NewApiKey(), &who);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();

  // Each service's own certificate is served.
  for (const char* service : {"registry", "listings", "transactions", "fund"}) {
    s = AuthenticateThrough(ServiceIdentityChannel(registry_->address(), service), operator_key_,
                            &who);
    ASSERT_TRUE(s.ok()) << service << ": " << s.error_message();
    EXPECT_EQ(who.role(), v1::API_CLIENT_ROLE_OPERATOR);
  }
}

// The test harness starts a service with that service's certificate, so that it may resolve keys
// through the registry.
TEST_F(AuthAbuseTest, AServiceStartedByTheHarnessResolvesKeysThroughTheRegistry) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  listings_db_ = std::make_unique<ScratchDatabase>(stack_, "auth_abuse_listings");
  listings_ = std::make_unique<ServiceProcess>(
      "listings",
      std::map<std::string, std::string>{
          {"TECHTRADE_PG_URL", listings_db_->url()},
          {"TECHTRADE_KAFKA_BROKERS", stack_.kafka_brokers},
          {"TECHTRADE_REDIS_URL", stack_.redis_url},
          {"TECHTRADE_REGISTRY_ADDR", registry_->address()},
          {"TECHTRADE_DB_POOL_SIZE", "2"},
          {"TECHTRADE_LISTINGS_REGISTRY_CONSUMER",
           ConsumerGroupAtEnd(stack_.kafka_brokers, "techtrade.registry.events.v1", "abuse")},
          {"TECHTRADE_LISTINGS_TRANSACTIONS_CONSUMER",
           ConsumerGroupAtEnd(stack_.kafka_brokers, "techtrade.transactions.events.v1", "abuse")}});
  ASSERT_TRUE(listings_->WaitUntilServing()) << "log: " << listings_->log_path();
  // A key nobody has used yet: no cache holds it, so listings must ask the registry.
  v1::IssueApiKeyRequest issue;
  issue.set_request_id("partner-key");
  issue.set_name("Bank");
  issue.set_role(v1::API_CLIENT_ROLE_PARTNER);
  v1::IssueApiKeyResponse issued;
  grpc::Status s = v1::RegistryService::NewStub(registry_->channel())
                       ->IssueApiKey(AuthedContext(operator_key_).get(), issue, &issued);
  ASSERT_TRUE(s.ok()) << s.error_message();
  lv1::GetListingRequest get;
  get.set_id("3f2b8c1e-0000-4000-8000-000000000000");  // no such offer
  lv1::Offer offer;
  s = lv1::ListingsService::NewStub(listings_->channel())
          ->GetOffer(AuthedContext(issued.api_key()).get(), get, &offer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
}

TEST_F(AuthAbuseTest, ABurstOfBadKeysFromOneAddressIsRefusedBeforeTheLookUpOthersAreServed) {
  // Dual-stack, so that one client can call from ::1 and another from 127.0.0.1.
  ASSERT_NO_FATAL_FAILURE(StartRegistry({{"TECHTRADE_LISTEN_HOST", "[::]"},
                                         {"TECHTRADE_METRICS_PORT", "-1"},
                                         {"TECHTRADE_RATE_LIMIT_UNAUTHENTICATED", "1/3"}}));
  auto guesser = ChannelWith(absl::StrCat("[::1]:", registry_->port()), ProcessTls());
  // The budget: three failures at once.
  for (int i = 0; i < 3; ++i) {
    grpc::Status s = ListCities(guesser, NewApiKey());
    ASSERT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << i << ": " << s.error_message();
  }
  std::string retry_after;
  grpc::Status s = ListCities(guesser, NewApiKey(), &retry_after);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_THAT(s.error_message(), StartsWith("rate limit: too many failed authentications"));
  int64_t wait_ms = 0;
  ASSERT_TRUE(absl::SimpleAtoi(retry_after, &wait_ms)) << "'" << retry_after << "'";
  EXPECT_GT(wait_ms, 0);
  EXPECT_LE(wait_ms, 1000);
  // Refused before the look-up: even a good key is not looked at from that address now.
  s = ListCities(guesser, operator_key_);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();

  // Another client, from another address, is served all the while.
  s = ListCities(registry_->channel(), operator_key_);
  EXPECT_TRUE(s.ok()) << s.error_message();

  // After the wait the guesser's keys are judged again (and refused).
  absl::SleepFor(absl::Milliseconds(wait_ms + 50));
  s = ListCities(guesser, NewApiKey());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
}

// A client's first calls on a cold replica look its key up all at once; an address that has not
// failed is not held to its failure budget for them, however small that is.
TEST_F(AuthAbuseTest, ManyFirstCallsAtOnceFromAnAddressWithoutFailuresAreAllServed) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry({{"TECHTRADE_RATE_LIMIT_UNAUTHENTICATED", "0.1/1"}}));
  constexpr int kCalls = 32;
  auto channel = registry_->channel();
  std::latch go(kCalls);
  std::atomic<int> served = 0;
  std::vector<std::thread> callers;
  for (int i = 0; i < kCalls; ++i) {
    callers.emplace_back([&, i] {
      go.arrive_and_wait();
      grpc::Status s = ListCities(channel, operator_key_);
      EXPECT_TRUE(s.ok()) << i << ": " << s.error_message();
      if (s.ok()) ++served;
    });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(served.load(), kCalls);
}

// A service forwards its callers' keys to the registry, so bad keys come from its address for
// its callers: counting them there would refuse every call the service forwards.
TEST_F(AuthAbuseTest, BadKeysForwardedByAServiceNeverLockItOutOthersAtItsAddressStillAre) {
  // A budget that does not refill while the test runs.
  ASSERT_NO_FATAL_FAILURE(StartRegistry({{"TECHTRADE_RATE_LIMIT_UNAUTHENTICATED", "0.1/3"}}));
  auto listings = ServiceIdentityChannel(registry_->address(), "listings");
  for (int i = 0; i < 10; ++i) {
    grpc::Status s = ListCities(listings, NewApiKey());
    ASSERT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << i << ": " << s.error_message();
  }
  grpc::Status s = ListCities(listings, operator_key_);
  EXPECT_TRUE(s.ok()) << s.error_message();

  // A finance partner at the same address has its whole budget, and spends it.
  CertificateFiles partner = CertificateAuthority::OfStack().Issue("bank-guesser", dir_, "partner");
  TlsFiles partner_tls = ProcessTls();
  partner_tls.cert = partner.cert;
  partner_tls.key = partner.key;
  auto guesser = ChannelWith(registry_->address(), partner_tls);
  for (int i = 0; i < 3; ++i) {
    s = ListCities(guesser, NewApiKey());
    ASSERT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << i << ": " << s.error_message();
  }
  s = ListCities(guesser, NewApiKey());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();

  // The service is still judged key by key from that address.
  s = ListCities(listings, NewApiKey());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  s = ListCities(listings, operator_key_);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

// Behind a NAT or a proxy, one client with a stale key spends the budget of everyone at that
// address; a key the server remembers costs no look-up, so it is served all the same.
TEST_F(AuthAbuseTest, OverBudgetARememberedKeyIsServedAnUnknownOneIsNot) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry({{"TECHTRADE_RATE_LIMIT_UNAUTHENTICATED", "0.1/3"}}));
  auto channel = registry_->channel();
  for (int i = 0; i < 2; ++i) {
    grpc::Status s = ListCities(channel, NewApiKey());
    ASSERT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << i << ": " << s.error_message();
  }
  // Served, and remembered for kPrincipalMemoTtl; it takes nothing from the budget.
  grpc::Status s = ListCities(channel, operator_key_);
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = ListCities(channel, NewApiKey());
  ASSERT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  s = ListCities(channel, NewApiKey());
  ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();

  s = ListCities(channel, operator_key_);
  EXPECT_TRUE(s.ok()) << s.error_message();
  s = ListCities(channel, NewApiKey());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
}

}  // namespace
}  // namespace techtrade::testing
