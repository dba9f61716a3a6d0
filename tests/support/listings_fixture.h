// The fixture of the listings integration tests: a registry and a listings process, each on its
// own scratch database, real Kafka topics between them and Redis in front, with helpers for
// organisations, offers and search.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/auth.h"
#include "common/ids.h"
#include "services/registry/domain/credit_code.h"
#include "techtrade/listings/v1/listings.grpc.pb.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"
#include "tests/support/harness.h"

namespace techtrade::testing {

namespace reg = techtrade::registry::v1;
namespace v1 = techtrade::listings::v1;

inline constexpr char kListingsTopic[] = "techtrade.listings.events.v1";
inline constexpr char kRegistryTopic[] = "techtrade.registry.events.v1";

class ListingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    registry_db_ = std::make_unique<ScratchDatabase>(stack_, "listings_it_reg");
    listings_db_ = std::make_unique<ScratchDatabase>(stack_, "listings_it");
    operator_key_ = NewApiKey();
    registry_ = std::make_unique<ServiceProcess>(
        "registry", RegistryEnv(stack_, registry_db_->url(), operator_key_));
    ASSERT_TRUE(registry_->WaitUntilServing()) << registry_->log_path();
    registry_stub_ = reg::RegistryService::NewStub(registry_->channel());
    StartListings();
    run_ = RandomHex(3);
    CreateCity("wuhan-east-lake");
    CreateCity("shenzhen");
  }

  // A listings process's environment on the fixture's database, with consumer groups of its own
  // that start at the topics' ends.
  std::map<std::string, std::string> ListingsEnv() {
    return {{"TECHTRADE_PG_URL", listings_db_->url()},
            {"TECHTRADE_KAFKA_BROKERS", stack_.kafka_brokers},
            {"TECHTRADE_REDIS_URL", stack_.redis_url},
            {"TECHTRADE_REGISTRY_ADDR", registry_->address()},
            {"TECHTRADE_LISTINGS_REGISTRY_CONSUMER",
             ConsumerGroupAtEnd(stack_.kafka_brokers, kRegistryTopic, "listings-it")},
            {"TECHTRADE_LISTINGS_TRANSACTIONS_CONSUMER",
             ConsumerGroupAtEnd(stack_.kafka_brokers, "techtrade.transactions.events.v1",
                                "listings-it")}};
  }

  // A listings process; `again`: the previous one's port, consumer groups and all (a restart).
  void StartListings(bool again = false) {
    if (again) {
      listings_ = std::make_unique<ServiceProcess>("listings", listings_env_);
      ASSERT_TRUE(listings_->WaitUntilServing()) << listings_->log_path();
      return;
    }
    listings_env_ = ListingsEnv();
    listings_env_["TECHTRADE_DB_POOL_SIZE"] = "4";
    listings_env_["TECHTRADE_LOG_LEVEL"] = "debug";  // for LargestConsumerBatch
    listings_ = std::make_unique<ServiceProcess>("listings", listings_env_);
    ASSERT_TRUE(listings_->WaitUntilServing()) << listings_->log_path();
    listings_env_["TECHTRADE_GRPC_PORT"] = absl::StrCat(listings_->port());
    stub_ = v1::ListingsService::NewStub(listings_->channel());
  }

  void TearDown() override {
    listings_.reset();
    registry_.reset();
    listings_db_.reset();
    registry_db_.reset();
  }

  void CreateCity(const std::string& id) {
    reg::CreatePilotCityRequest req;
    req.set_request_id("city-" + id);
    req.set_id(id);
    req.set_name(id);
    req.set_kind(reg::PILOT_CITY_KIND_CITY);
    req.set_division_code("420100");
    reg::PilotCity city;
    grpc::Status s =
        registry_stub_->CreatePilotCity(AuthedContext(operator_key_).get(), req, &city);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // A registered organisation, verified unless told otherwise.
  reg::Organization Organization(int n, const std::string& city = "wuhan-east-lake",
                                 bool verify = true) {
    std::string first17 = absl::StrFormat("91420100%09d", n);
    reg::RegisterOrganizationRequest req;
    req.set_request_id(absl::StrCat("org-", n));
    req.set_credit_code(first17 + registry::CreditCodeCheckCharacter(first17));
    req.set_name(absl::StrCat("武汉光谷科技 ", n));
    req.set_kind(reg::ORGANIZATION_KIND_UNIVERSITY);
    req.set_city_id(city);
    reg::Organization org;
    grpc::Status s =
        registry_stub_->RegisterOrganization(AuthedContext(operator_key_).get(), req, &org);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (verify) org = ChangeOrganization(org, "verify");
    return org;
  }

  // Verifies, suspends or reinstates `org`; a `traceparent` goes with the request.
  reg::Organization ChangeOrganization(const reg::Organization& org, const std::string& action,
                                       const std::string& traceparent = "") {
    reg::Organization out;
    grpc::Status s;
    auto context = [&] {
      auto ctx = AuthedContext(operator_key_);
      if (!traceparent.empty()) ctx->AddMetadata("traceparent", traceparent);
      return ctx;
    };
    if (action == "verify") {
      reg::VerifyOrganizationRequest req;
      req.set_request_id("verify-" + org.id() + std::to_string(org.version()));
      req.set_id(org.id());
      req.set_expected_version(org.version());
      s = registry_stub_->VerifyOrganization(context().get(), req, &out);
    } else if (action == "suspend") {
      reg::SuspendOrganizationRequest req;
      req.set_request_id("suspend-" + org.id() + std::to_string(org.version()));
      req.set_id(org.id());
      req.set_expected_version(org.version());
      req.set_reason("audit finding");
      s = registry_stub_->SuspendOrganization(context().get(), req, &out);
    } else {
      reg::ReinstateOrganizationRequest req;
      req.set_request_id("reinstate-" + org.id() + std::to_string(org.version()));
      req.set_id(org.id());
      req.set_expected_version(org.version());
      s = registry_stub_->ReinstateOrganization(context().get(), req, &out);
    }
    EXPECT_TRUE(s.ok()) << action << ": " << s.error_message();
    return out;
  }

  static v1::OfferDraft Draft() {
    v1::OfferDraft d;
    d.set_title("基于深度学习的锂电池健康状态估计方法");
    d.set_abstract("利用长短期记忆网络从充放电曲线估计锂离子电池的健康状态, 误差小于2%。");
    d.add_ipc_codes("H01M 10/48");
    d.add_ipc_codes("G06N 3/08");
    d.add_fields("energy-storage");
    d.add_fields("artificial-intelligence");
    d.set_readiness_level(6);
    d.add_ip_assets("CN114512345A");
    d.add_transfer_modes(v1::TRANSFER_MODE_EXCLUSIVE_LICENSE);
    d.mutable_asking_price()->set_currency("CNY");
    d.mutable_asking_price()->set_amount_minor(80000000);
    return d;
  }

  grpc::Status CreateOffer(const std::string& owner, const v1::OfferDraft& draft, v1::Offer* out,
                           const std::string& request_id = "", const std::string& key = "") {
    v1::CreateOfferRequest req;
    req.set_request_id(request_id.empty() ? "offer-" + NewUuid() : request_id);
    req.set_owner_org_id(owner);
    *req.mutable_offer() = draft;
    return stub_->CreateOffer(AuthedContext(key.empty() ? operator_key_ : key).get(), req, out);
  }

  grpc::Status Publish(const v1::Offer& offer, v1::Offer* out) {
    v1::ChangeListingRequest req;
    req.set_request_id("publish-" + NewUuid());
    req.set_id(offer.id());
    req.set_expected_version(offer.version());
    return stub_->PublishOffer(AuthedContext(operator_key_).get(), req, out);
  }

  v1::Offer PublishedOffer(const reg::Organization& owner) {
    v1::Offer draft, published;
    EXPECT_TRUE(CreateOffer(owner.id(), Draft(), &draft).ok());
    grpc::Status s = Publish(draft, &published);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return published;
  }

  // Offer ids that a keyword search returns now.
  std::vector<std::string> SearchOffers(const std::string& query) {
    v1::SearchRequest req;
    req.set_kind(v1::LISTING_KIND_OFFER);
    req.set_query(query);
    v1::SearchResponse resp;
    grpc::Status s = stub_->Search(AuthedContext(operator_key_).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> ids;
    for (const auto& h : resp.hits()) ids.push_back(h.id());
    return ids;
  }

  // How long until `done` holds (polling every 10 ms), or nullopt after `limit`.
  static std::optional<absl::Duration> TimeUntil(const std::function<bool()>& done,
                                                 absl::Duration limit) {
    absl::Time start = absl::Now();
    while (absl::Now() - start < limit) {
      if (done()) return absl::Now() - start;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return std::nullopt;
  }

  Stack stack_;
  std::unique_ptr<ScratchDatabase> registry_db_, listings_db_;
  std::string operator_key_, run_;
  std::unique_ptr<ServiceProcess> registry_, listings_;
  std::map<std::string, std::string> listings_env_;
  std::unique_ptr<reg::RegistryService::Stub> registry_stub_;
  std::unique_ptr<v1::ListingsService::Stub> stub_;
};

}  // namespace techtrade::testing
