// A gtest fixture with registry, listings and transactions running as processes on the real
// local stack (each on its own scratch database), two pilot cities with their systems' keys, a
// verified university (seller, Wuhan) and enterprise (buyer, Shenzhen), a published offer, and
// helpers that drive a deal through its life. Shared by the transactions and fund tests.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/auth.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/topics.h"
#include "google/protobuf/util/time_util.h"
#include "services/registry/domain/credit_code.h"
#include "techtrade/listings/v1/listings.grpc.pb.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"
#include "techtrade/transactions/v1/transactions.grpc.pb.h"
#include "tests/support/harness.h"
#include "tests/support/requests.h"

namespace techtrade::testing {

namespace reg = techtrade::registry::v1;
namespace lv1 = techtrade::listings::v1;
namespace tv1 = techtrade::transactions::v1;

inline constexpr char kDealTopic[] = "techtrade.transactions.events.v1";

class DealFixture : public ::testing::Test {
 protected:
  explicit DealFixture(std::string db_prefix) : db_prefix_(std::move(db_prefix)) {}

  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    operator_key_ = NewApiKey();
    for (const char* name : {"registry", "listings", "transactions"}) {
      dbs_.push_back(std::make_unique<ScratchDatabase>(stack_, db_prefix_ + name));
    }
    std::map<std::string, std::string> common = {{"TECHTRADE_KAFKA_BROKERS", stack_.kafka_brokers},
                                                 {"TECHTRADE_REDIS_URL", stack_.redis_url},
                                                 {"TECHTRADE_DB_POOL_SIZE", "8"},
                                                 // A process killed by a test hands its relay's
                                                 // lease on within seconds.
                                                 {"TECHTRADE_LEASE_TTL_SECONDS", "3"},
                                                 // for LargestConsumerBatch
                                                 {"TECHTRADE_LOG_LEVEL", "debug"}};
    auto env = [&](int db, std::map<std::string, std::string> extra) {
      extra.insert(common.begin(), common.end());
      extra["TECHTRADE_PG_URL"] = dbs_[db]->url();
      return extra;
    };
    envs_["registry"] = env(0, {{"TECHTRADE_BOOTSTRAP_OPERATOR_KEY", operator_key_}});
    registry_ = std::make_unique<ServiceProcess>("registry", envs_["registry"]);
    ASSERT_TRUE(registry_->WaitUntilServing());
    envs_["listings"] = env(
        1, {{"TECHTRADE_REGISTRY_ADDR", registry_->address()},
            {"TECHTRADE_LISTINGS_REGISTRY_CONSUMER",
             ConsumerGroupAtEnd(stack_.kafka_brokers, "techtrade.registry.events.v1", db_prefix_)},
            {"TECHTRADE_LISTINGS_TRANSACTIONS_CONSUMER",
             ConsumerGroupAtEnd(stack_.kafka_brokers, kDealTopic, db_prefix_)}});
    listings_ = std::make_unique<ServiceProcess>("listings", envs_["listings"]);
    ASSERT_TRUE(listings_->WaitUntilServing());
    envs_["transactions"] = env(2, {{"TECHTRADE_REGISTRY_ADDR", registry_->address()},
                                    {"TECHTRADE_LISTINGS_ADDR", listings_->address()}});
    transactions_ = std::make_unique<ServiceProcess>("transactions", envs_["transactions"]);
    ASSERT_TRUE(transactions_->WaitUntilServing()) << transactions_->log_path();
    registry_stub_ = reg::RegistryService::NewStub(registry_->channel());
    listings_stub_ = lv1::ListingsService::NewStub(listings_->channel());
    stub_ = tv1::TransactionsService::NewStub(transactions_->channel());

    City("wuhan-east-lake");
    City("shenzhen");
    wuhan_key_ = Key(reg::API_CLIENT_ROLE_CITY_SYSTEM, "wuhan-east-lake");
    shenzhen_key_ = Key(reg::API_CLIENT_ROLE_CITY_SYSTEM, "shenzhen");
    partner_key_ = Key(reg::API_CLIENT_ROLE_PARTNER, "");
    partner_id_ = KeyId(partner_key_);
    seller_ = Organization(1, "wuhan-east-lake", reg::ORGANIZATION_KIND_UNIVERSITY);
    buyer_ = Organization(2, "shenzhen", reg::ORGANIZATION_KIND_ENTERPRISE);
    offer_id_ = PublishedOffer(seller_.id());
  }

  void TearDown() override {
    transactions_.reset();
    listings_.reset();
    registry_.reset();
    dbs_.clear();
  }

  void City(const std::string& id) {
    reg::CreatePilotCityRequest r;
    r.set_request_id("city-" + id);
    r.set_id(id);
    r.set_name(id);
    r.set_kind(reg::PILOT_CITY_KIND_CITY);
    r.set_division_code("420100");
    reg::PilotCity c;
    ASSERT_TRUE(registry_stub_->CreatePilotCity(AuthedContext(operator_key_).get(), r, &c).ok());
  }

  std::string Key(reg::ApiClientRole role, const std::string& city) {
    reg::IssueApiKeyRequest r;
    r.set_request_id("key-" + NewUuid());
    r.set_name("test");
    r.set_role(role);
    r.set_city_id(city);
    reg::IssueApiKeyResponse resp;
    EXPECT_TRUE(registry_stub_->IssueApiKey(AuthedContext(operator_key_).get(), r, &resp).ok());
    return resp.api_key();
  }

  // The API client id of `key`: a partner's id, as a deal names it.
  static std::string KeyId(const std::string& key) {
    absl::StatusOr<ParsedApiKey> parsed = ParseApiKey(key);
    return parsed.ok() ? parsed->key_id : "";
  }

  reg::Organization Organization(int n, const std::string& city, reg::OrganizationKind kind) {
    std::string first17 = absl::StrFormat("91420100%09d", n);
    reg::RegisterOrganizationRequest r;
    r.set_request_id(absl::StrCat("org-", n));
    r.set_credit_code(first17 + registry::CreditCodeCheckCharacter(first17));
    r.set_name(absl::StrCat("Organisation ", n));
    r.set_kind(kind);
    r.set_city_id(city);
    reg::Organization org;
    EXPECT_TRUE(
        registry_stub_->RegisterOrganization(AuthedContext(operator_key_).get(), r, &org).ok());
    reg::VerifyOrganizationRequest v;
    v.set_request_id("verify-" + org.id());
    v.set_id(org.id());
    v.set_expected_version(1);
    EXPECT_TRUE(
        registry_stub_->VerifyOrganization(AuthedContext(operator_key_).get(), v, &org).ok());
    return org;
  }

  std::string PublishedOffer(const std::string& owner) {
    lv1::CreateOfferRequest r;
    r.set_request_id("offer-" + owner);
    r.set_owner_org_id(owner);
    lv1::OfferDraft* d = r.mutable_offer();
    d->set_title("Lithium battery state-of-health estimation");
    d->add_ipc_codes("H01M 10/48");
    d->add_fields("energy-storage");
    d->set_readiness_level(7);
    d->add_transfer_modes(lv1::TRANSFER_MODE_EXCLUSIVE_LICENSE);
    d->add_transfer_modes(lv1::TRANSFER_MODE_ASSIGNMENT);
    d->set_negotiable(true);
    lv1::Offer offer;
    EXPECT_TRUE(listings_stub_->CreateOffer(AuthedContext(operator_key_).get(), r, &offer).ok());
    lv1::ChangeListingRequest p;
    p.set_request_id("publish-" + offer.id());
    p.set_id(offer.id());
    p.set_expected_version(1);
    EXPECT_TRUE(listings_stub_->PublishOffer(AuthedContext(operator_key_).get(), p, &offer).ok());
    return offer.id();
  }

  // A deal on the offer, bought by `buyer_id` (default: buyer_), financed by partner_id_.
  tv1::OpenDealRequest OpenRequest(const std::string& buyer_id = "") const {
    tv1::OpenDealRequest r;
    r.set_request_id("open-" + NewUuid());
    r.set_listing_id(offer_id_);
    r.set_listing_kind(lv1::LISTING_KIND_OFFER);
    r.set_buyer_org_id(buyer_id.empty() ? buyer_.id() : buyer_id);
    r.set_seller_org_id(seller_.id());
    r.set_finance_partner_id(partner_id_);
    return r;
  }

  // Opens OpenRequest(buyer_id).
  grpc::Status Open(tv1::Deal* deal, const std::string& key, const std::string& buyer_id = "") {
    return stub_->OpenDeal(AuthedContext(key).get(), OpenRequest(buyer_id), deal);
  }

  static tv1::ProposeTermsRequest Terms(const tv1::Deal& deal, tv1::PartyRole by, int64_t price) {
    return TermsRequest("terms-" + NewUuid(), deal, by, price);
  }

  // Runs one mutation and expects it to succeed; returns the deal after it.
  template <class Request, class Rpc>
  tv1::Deal Must(Rpc rpc, Request r, const std::string& key) {
    tv1::Deal out;
    grpc::Status s = ((*stub_).*rpc)(AuthedContext(key).get(), r, &out);
    EXPECT_TRUE(s.ok()) << r.GetDescriptor()->name() << ": " << s.error_message();
    return out;
  }

  tv1::Deal Accept(const tv1::Deal& d, tv1::PartyRole by, const std::string& key) {
    tv1::AcceptTermsRequest r;
    r.set_request_id("accept-" + NewUuid());
    r.set_deal_id(d.id());
    r.set_expected_version(d.version());
    r.set_acting_as(by);
    r.set_terms_version(d.terms_size());
    return Must(&tv1::TransactionsService::Stub::AcceptTerms, r, key);
  }

  tv1::MilestoneRequest Milestone(const tv1::Deal& d, int index) {
    tv1::MilestoneRequest r;
    r.set_request_id("milestone-" + NewUuid());
    r.set_deal_id(d.id());
    r.set_expected_version(d.version());
    r.set_milestone_index(index);
    return r;
  }

  tv1::RecordPaymentRequest Payment(const tv1::Deal& d, int index, const std::string& ref) {
    tv1::RecordPaymentRequest r;
    r.set_request_id("pay-" + NewUuid());
    r.set_deal_id(d.id());
    r.set_expected_version(d.version());
    r.set_milestone_index(index);
    *r.mutable_amount() = d.milestones(index - 1).amount();
    r.set_payment_reference(ref);
    return r;
  }

  // Signs the AGREED (or half-signed) deal `d` as `as` (unset: both parties) with `key`.
  grpc::Status SignAs(const tv1::Deal& d, tv1::PartyRole as, const std::string& key, tv1::Deal* out,
                      const std::string& registration_number = "2026420100000123") {
    tv1::SignContractRequest sign;
    sign.set_request_id(absl::StrCat("sign-", d.id(), "-", static_cast<int>(as)));
    sign.set_deal_id(d.id());
    sign.set_expected_version(d.version());
    sign.set_registration_number(registration_number);
    *sign.mutable_signing_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
    sign.set_acting_as(as);
    return stub_->SignContract(AuthedContext(key).get(), sign, out);
  }

  // A deal brought to AGREED (seller proposes, buyer counters, both accept the counter) and
  // signed by both parties, each by its own city's system (the seller first).
  tv1::Deal Signed(const std::string& buyer_id = "") {
    tv1::Deal d;
    EXPECT_TRUE(Open(&d, shenzhen_key_, buyer_id).ok());
    d = Must(&tv1::TransactionsService::Stub::ProposeTerms,
             Terms(d, tv1::PARTY_ROLE_SELLER, 100'000'00), wuhan_key_);
    d = Must(&tv1::TransactionsService::Stub::ProposeTerms,
             Terms(d, tv1::PARTY_ROLE_BUYER, 80'000'00), shenzhen_key_);
    d = Accept(d, tv1::PARTY_ROLE_SELLER, wuhan_key_);
    d = Accept(d, tv1::PARTY_ROLE_BUYER, shenzhen_key_);
    EXPECT_EQ(d.state(), tv1::DEAL_STATE_AGREED);
    for (auto [as, key] : {std::pair{tv1::PARTY_ROLE_SELLER, wuhan_key_},
                           std::pair{tv1::PARTY_ROLE_BUYER, shenzhen_key_}}) {
      grpc::Status s = SignAs(d, as, key, &d);
      EXPECT_TRUE(s.ok()) << "SignContract: " << s.error_message();
    }
    EXPECT_EQ(d.state(), tv1::DEAL_STATE_SIGNED);
    return d;
  }

  // Waits (bounded) until the relay has created the finance partner's own topic, which it does
  // with the first event of a deal naming the partner; a reader started after it reads on.
  void WaitForPartnerTopic() {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (!KafkaConsumer::EndOffsets(stack_.kafka_brokers, PartnerDealsTopic(partner_id_),
                                      absl::Seconds(2))
                .ok()) {
      ASSERT_LT(absl::Now(), deadline) << "the partner's topic was never created";
      absl::SleepFor(absl::Milliseconds(200));
    }
  }

  std::vector<std::string> EventTypes(TopicReader& reader, const tv1::Deal& deal, size_t expected) {
    reader.ReadUntil([&](auto&) { return reader.ForAggregate(deal.id()).size() >= expected; },
                     absl::Seconds(20));
    reader.ReadUntil([](auto&) { return false; }, absl::Milliseconds(500));  // any extra one
    std::vector<std::string> types;
    int64_t sequence = 0;
    for (const auto& e : reader.ForAggregate(deal.id())) {
      EXPECT_EQ(e.envelope.sequence(), ++sequence) << "gap or disorder";
      EXPECT_EQ(e.key, deal.id());
      std::string type = e.envelope.event_type();
      types.push_back(type.substr(type.rfind('.') + 1));
    }
    return types;
  }

  // The process slot of a service this fixture (or a subclass) runs.
  virtual std::unique_ptr<ServiceProcess>* Slot(const std::string& name) {
    if (name == "registry") return &registry_;
    if (name == "listings") return &listings_;
    if (name == "transactions") return &transactions_;
    return nullptr;
  }

  // SIGKILL, then the same binary on the same port, database and consumer groups: a crash and
  // the restart an orchestrator would do. Clients' channels reconnect to the same address.
  // The new process dies with the thread that calls this (PR_SET_PDEATHSIG follows the forking
  // thread), so call it from one that lives as long as the test.
  bool KillAndRestart(const std::string& name) {
    std::unique_ptr<ServiceProcess>* slot = Slot(name);
    const int port = (*slot)->port();
    (*slot)->Kill();
    return Relaunch(name, port);
  }

  // A service down for a while (SIGTERM: it leaves its consumer groups at once), then started
  // again as KillAndRestart does: meanwhile its consumers fall behind, and the restarted process
  // meets the backlog at once.
  void ShutDown(const std::string& name) {
    std::unique_ptr<ServiceProcess>* slot = Slot(name);
    down_ports_[name] = (*slot)->port();
    EXPECT_EQ((*slot)->Terminate(), 0) << name;
  }
  bool StartAgain(const std::string& name) { return Relaunch(name, down_ports_.at(name)); }

  bool Relaunch(const std::string& name, int port) {
    std::map<std::string, std::string> env = envs_.at(name);
    env["TECHTRADE_GRPC_PORT"] = absl::StrCat(port);
    *Slot(name) = std::make_unique<ServiceProcess>(name, env);
    return (*Slot(name))->WaitUntilServing();
  }
  std::map<std::string, int> down_ports_;

  const std::string db_prefix_;
  // Each service's environment, kept for restarts.
  std::map<std::string, std::map<std::string, std::string>> envs_;
  Stack stack_;
  std::vector<std::unique_ptr<ScratchDatabase>> dbs_;
  std::string operator_key_, wuhan_key_, shenzhen_key_, partner_key_, offer_id_;
  std::string partner_id_;  // partner_key_'s client: the finance partner of the deals opened here
  std::unique_ptr<ServiceProcess> registry_, listings_, transactions_;
  std::unique_ptr<reg::RegistryService::Stub> registry_stub_;
  std::unique_ptr<lv1::ListingsService::Stub> listings_stub_;
  std::unique_ptr<tv1::TransactionsService::Stub> stub_;
  reg::Organization seller_, buyer_;
};

}  // namespace techtrade::testing
