// Listings against the real local stack: a registry and a listings process, each on its own
// scratch database, real Kafka topics between them and Redis in front (the fixture:
// tests/support/listings_fixture.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/auth.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/trace.h"
#include "google/protobuf/util/time_util.h"
#include "services/registry/domain/credit_code.h"
#include "techtrade/listings/v1/listings.grpc.pb.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"
#include "tests/contract/event_contract.h"
#include "tests/support/harness.h"
#include "tests/support/listings_fixture.h"

namespace techtrade::testing {
namespace {

using ::testing::HasSubstr;

TEST_F(ListingsTest, PublishPutsAnEventOnTheTopicAndTheOfferInSearch) {
  TopicReader reader(stack_.kafka_brokers, kListingsTopic);
  reg::Organization org = Organization(1);
  v1::Offer offer = PublishedOffer(org);
  ASSERT_EQ(offer.status(), v1::OFFER_STATUS_PUBLISHED);
  ASSERT_EQ(offer.version(), 2);
  reader.ReadUntil([&](auto&) { return reader.ForAggregate(offer.id()).size() >= 2; },
                   absl::Seconds(20));
  auto events = reader.ForAggregate(offer.id());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].envelope.event_type(), "techtrade.listings.v1.OfferCreated");
  EXPECT_EQ(events[1].envelope.event_type(), "techtrade.listings.v1.OfferPublished");
  EXPECT_EQ(events[1].envelope.sequence(), 2);
  EXPECT_EQ(events[1].envelope.aggregate_type(), "offer");
  EXPECT_EQ(events[1].key, offer.id());
  v1::OfferPublished published;
  ASSERT_TRUE(events[1].envelope.payload().UnpackTo(&published));
  EXPECT_EQ(published.offer().status(), v1::OFFER_STATUS_PUBLISHED);
  EXPECT_EQ(published.offer().owner_org_id(), org.id());
  // Chinese keywords find it (character bigrams), and so does the IPC-coded English word.
  EXPECT_THAT(SearchOffers("锂电池 健康状态"), ::testing::Contains(offer.id()));
  // A second replica builds the same read model from the database and the topic.
  v1::GetListingRequest get;
  get.set_id(offer.id());
  v1::Offer fetched;
  ASSERT_TRUE(stub_->GetOffer(AuthedContext(operator_key_).get(), get, &fetched).ok());
  EXPECT_EQ(fetched.version(), 2);
  EXPECT_TRUE(fetched.visible());
}

TEST_F(ListingsTest, ARestartedReplicaRebuildsItsReadModel) {
  reg::Organization org = Organization(2);
  v1::Offer offer = PublishedOffer(org);
  listings_->Terminate();
  StartListings();
  EXPECT_THAT(SearchOffers("锂电池"), ::testing::ElementsAre(offer.id()));
}

TEST_F(ListingsTest, ASecondReplicaLearnsOfChangesFromTheEventStream) {
  // Same database, its own read model: it hears of the publication only through Kafka.
  ServiceProcess replica("listings", ListingsEnv());
  ASSERT_TRUE(replica.WaitUntilServing()) << replica.log_path();
  auto replica_stub = v1::ListingsService::NewStub(replica.channel());
  reg::Organization org = Organization(11);
  v1::Offer offer = PublishedOffer(org);
  auto replica_finds = [&] {
    v1::SearchRequest req;
    req.set_kind(v1::LISTING_KIND_OFFER);
    req.set_query("锂电池");
    v1::SearchResponse resp;
    return replica_stub->Search(AuthedContext(operator_key_).get(), req, &resp).ok() &&
           resp.hits_size() == 1 && resp.hits(0).id() == offer.id();
  };
  std::optional<absl::Duration> seen = TimeUntil(replica_finds, absl::Seconds(10));
  ASSERT_TRUE(seen.has_value()) << "the other replica never saw the publication";
  std::cout << "publication -> searchable on another replica: " << absl::FormatDuration(*seen)
            << std::endl;
}

TEST_F(ListingsTest, OnlyAVerifiedOrganisationCanPublish) {
  reg::Organization pending = Organization(3, "wuhan-east-lake", /*verify=*/false);
  v1::Offer draft, out;
  ASSERT_TRUE(CreateOffer(pending.id(), Draft(), &draft).ok());
  grpc::Status s = Publish(draft, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("PENDING"));

  reg::Organization verified = Organization(4);
  v1::Offer second;
  ASSERT_TRUE(CreateOffer(verified.id(), Draft(), &second).ok());
  ChangeOrganization(verified, "suspend");
  s = Publish(second, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("SUSPENDED"));
  EXPECT_TRUE(SearchOffers("锂电池").empty());
}

TEST_F(ListingsTest, SuspensionTakesListingsOutOfSearchWithinASecondAndReinstatementBack) {
  reg::Organization org = Organization(5);
  v1::Offer offer = PublishedOffer(org);
  ASSERT_THAT(SearchOffers("锂电池"), ::testing::ElementsAre(offer.id()));

  reg::Organization suspended = ChangeOrganization(org, "suspend");
  std::optional<absl::Duration> gone =
      TimeUntil([&] { return SearchOffers("锂电池").empty(); }, absl::Seconds(10));
  ASSERT_TRUE(gone.has_value()) << "still in search 10 s after the suspension";
  EXPECT_LE(*gone, absl::Seconds(1)) << "took " << absl::FormatDuration(*gone);
  std::cout << "suspension -> out of search: " << absl::FormatDuration(*gone) << std::endl;
  // Not in matchmaking either, and Get says why.
  v1::GetListingRequest get;
  get.set_id(offer.id());
  v1::Offer fetched;
  ASSERT_TRUE(stub_->GetOffer(AuthedContext(operator_key_).get(), get, &fetched).ok());
  EXPECT_FALSE(fetched.visible());

  ChangeOrganization(suspended, "reinstate");
  std::optional<absl::Duration> back =
      TimeUntil([&] { return !SearchOffers("锂电池").empty(); }, absl::Seconds(10));
  ASSERT_TRUE(back.has_value());
  EXPECT_LE(*back, absl::Seconds(1)) << "took " << absl::FormatDuration(*back);
  std::cout << "reinstatement -> back in search: " << absl::FormatDuration(*back) << std::endl;
}

TEST_F(ListingsTest, AReplayedRegistryEventTakesEffectOnce) {
  TopicReader registry_events(stack_.kafka_brokers, kRegistryTopic);
  TopicReader listings_events(stack_.kafka_brokers, kListingsTopic);
  reg::Organization org = Organization(6);
  PublishedOffer(org);
  ChangeOrganization(org, "suspend");
  registry_events.ReadUntil(
      [&](auto&) {
        for (const auto& e : registry_events.ForAggregate(org.id())) {
          if (e.envelope.payload().Is<reg::OrganizationSuspended>()) return true;
        }
        return false;
      },
      absl::Seconds(20));
  const TopicReader::Event* suspension = nullptr;
  auto org_events = registry_events.ForAggregate(org.id());
  for (const auto& e : org_events) {
    if (e.envelope.payload().Is<reg::OrganizationSuspended>()) suspension = &e;
  }
  ASSERT_NE(suspension, nullptr);
  auto hidden_events = [&] {
    int n = 0;
    for (const auto& e : listings_events.ForAggregate(org.id())) {
      n += e.envelope.payload().Is<v1::OrganizationListingsHidden>();
    }
    return n;
  };
  listings_events.ReadUntil([&](auto&) { return hidden_events() == 1; }, absl::Seconds(20));
  ASSERT_EQ(hidden_events(), 1);

  // The same event, byte for byte, delivered again (as after a consumer crash before its offset
  // commit).
  std::atomic<int> delivered{0};
  auto producer = *KafkaProducer::Create(
      stack_.kafka_brokers, {}, [&](void*, const absl::Status& s) { delivered += s.ok(); });
  ASSERT_TRUE(producer
                  ->Produce(kRegistryTopic, org.id(), suspension->envelope.SerializeAsString(),
                            {{contract::kInjectedHeader, "a redelivery forged by the test"}},
                            nullptr)
                  .ok());
  for (int i = 0; i < 100 && delivered == 0; ++i) producer->Poll(absl::Milliseconds(100));
  ASSERT_EQ(delivered, 1);
  // Once the consumer is past it, nothing more happened: no second event, one inbox entry.
  absl::SleepFor(absl::Seconds(3));
  listings_events.ReadUntil([](auto&) { return false; }, absl::Seconds(1));
  EXPECT_EQ(hidden_events(), 1);
  EXPECT_EQ(listings_db_->QueryInt(absl::StrCat("SELECT count(*) FROM inbox WHERE event_id = '",
                                                suspension->envelope.event_id(), "'")),
            1);
  EXPECT_EQ(
      listings_db_->QueryInt(absl::StrCat(
          "SELECT version FROM organization_visibility WHERE organization_id = '", org.id(), "'")),
      1);
}

// A consumer that fell behind (down for a while) applies one organisation's backlog of registry
// events in one transaction. Each event must be decided on the state the previous one left, so that
// the batch ends exactly where applying the events one by one ends: one listings event per registry
// event, sequences 1, 2, 3, 4, the row at version 4.
TEST_F(ListingsTest, ABacklogOfOneOrganisationsEventsAppliedAsOneBatchEndsAsOneByOne) {
  TopicReader registry_events(stack_.kafka_brokers, kRegistryTopic);
  TopicReader listings_events(stack_.kafka_brokers, kListingsTopic);
  reg::Organization org = Organization(7);
  v1::Offer offer = PublishedOffer(org);
  const std::vector<std::string> actions = {"suspend", "reinstate", "suspend", "reinstate"};
  {
    // Down (it leaves its consumer group at once) while the organisation changes.
    ASSERT_EQ(listings_->Terminate(), 0);
    reg::Organization changed = org;
    for (const std::string& action : actions) changed = ChangeOrganization(changed, action);
    // All four on the topic before the consumer wakes up.
    auto visibility_changes = [&] {
      int n = 0;
      for (const auto& e : registry_events.ForAggregate(org.id())) {
        n += e.envelope.payload().Is<reg::OrganizationSuspended>() ||
             e.envelope.payload().Is<reg::OrganizationReinstated>();
      }
      return n;
    };
    registry_events.ReadUntil([&](auto&) { return visibility_changes() == 4; }, absl::Seconds(20));
    ASSERT_EQ(visibility_changes(), 4);
    StartListings(/*again=*/true);
  }
  // The restarted consumer may first wait for the group to let go of the old member.
  listings_events.ReadUntil(
      [&](auto&) { return listings_events.ForAggregate(org.id()).size() >= 4; }, absl::Seconds(60));
  listings_events.ReadUntil([](auto&) { return false; }, absl::Milliseconds(500));  // any extra
  std::vector<std::string> types;
  std::vector<int64_t> sequences, registry_sequences;
  for (const auto& e : listings_events.ForAggregate(org.id())) {
    sequences.push_back(e.envelope.sequence());
    v1::OrganizationListingsHidden hidden;
    v1::OrganizationListingsShown shown;
    if (e.envelope.payload().UnpackTo(&hidden)) {
      types.push_back("hidden");
      registry_sequences.push_back(hidden.registry_sequence());
    } else if (e.envelope.payload().UnpackTo(&shown)) {
      types.push_back("shown");
      registry_sequences.push_back(shown.registry_sequence());
    }
  }
  EXPECT_THAT(types, ::testing::ElementsAre("hidden", "shown", "hidden", "shown"));
  EXPECT_THAT(sequences, ::testing::ElementsAre(1, 2, 3, 4));
  EXPECT_TRUE(std::is_sorted(registry_sequences.begin(), registry_sequences.end()) &&
              std::adjacent_find(registry_sequences.begin(), registry_sequences.end()) ==
                  registry_sequences.end())
      << "registry sequences not strictly increasing";
  EXPECT_EQ(
      listings_db_->QueryInt(absl::StrCat(
          "SELECT version FROM organization_visibility WHERE organization_id = '", org.id(), "'")),
      4);
  EXPECT_EQ(listings_db_->QueryInt(absl::StrCat(
                "SELECT hidden::int FROM organization_visibility WHERE organization_id = '",
                org.id(), "'")),
            0);
  EXPECT_THAT(SearchOffers("锂电池"), ::testing::Contains(offer.id()));
  // The backlog really was one batch (else this test shows nothing about batches).
  EXPECT_GE(LargestConsumerBatch(listings_->log_path()), 2) << listings_->log_path();
}

// Suspended, reinstated and suspended again, each change on its own: every visibility event takes
// the aggregate's next sequence (a consumer dropping applied sequences must not drop the second),
// and carries the trace of the registry event that caused it, in a span of its own, also in the
// Kafka headers (docs/events.md, "Kafka record").
TEST_F(ListingsTest, EachVisibilityEventTakesTheNextSequenceAndTheCausingTrace) {
  TopicReader registry_events(stack_.kafka_brokers, kRegistryTopic);
  TopicReader listings_events(stack_.kafka_brokers, kListingsTopic);
  reg::Organization org = Organization(11);
  PublishedOffer(org);
  std::vector<std::string> traces;
  for (const std::string action : {"suspend", "reinstate", "suspend"}) {
    traces.push_back(absl::StrCat("00-", RandomHex(16), "-", RandomHex(8), "-01"));
    org = ChangeOrganization(org, action, traces.back());
    const size_t n = traces.size();
    listings_events.ReadUntil(
        [&](auto&) { return listings_events.ForAggregate(org.id()).size() >= n; },
        absl::Seconds(20));
  }
  listings_events.ReadUntil([](auto&) { return false; }, absl::Milliseconds(500));  // any extra
  std::vector<TopicReader::Event> events = listings_events.ForAggregate(org.id());
  ASSERT_EQ(events.size(), 3u);
  std::vector<std::string> types;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    const std::string where = absl::StrCat("event ", i + 1);
    types.push_back(e.envelope.payload().Is<v1::OrganizationListingsHidden>() ? "hidden" : "shown");
    EXPECT_EQ(e.envelope.aggregate_type(), "organization_visibility") << where;
    EXPECT_EQ(e.envelope.sequence(), static_cast<int64_t>(i + 1)) << where;
    EXPECT_EQ(e.headers.count("sequence") ? e.headers.at("sequence") : "", absl::StrCat(i + 1));
    const std::string& trace = e.envelope.trace().traceparent();
    EXPECT_TRUE(IsValidTraceparent(trace)) << where << ": '" << trace << "'";
    EXPECT_EQ(trace.substr(0, 35), traces[i].substr(0, 35)) << where << ": not the request's trace";
    EXPECT_NE(trace, traces[i]) << where << ": no span of its own";
    EXPECT_EQ(e.headers.count("traceparent") ? e.headers.at("traceparent") : "", trace) << where;
  }
  EXPECT_THAT(types, ::testing::ElementsAre("hidden", "shown", "hidden"));
  EXPECT_EQ(
      listings_db_->QueryInt(absl::StrCat(
          "SELECT version FROM organization_visibility WHERE organization_id = '", org.id(), "'")),
      3);
}

// A client that never saw the answer to its CreateOffer retries it with the same request_id
// after the owner was suspended: the call had succeeded, so the retry gets its offer back
// instead of a refusal decided on what changed since.
TEST_F(ListingsTest, ARetryOfACreateThatSucceededGetsItsAnswerAfterTheOwnerChanged) {
  reg::Organization org = Organization(8);
  const std::string request_id = "offer-" + NewUuid();
  v1::Offer created;
  ASSERT_TRUE(CreateOffer(org.id(), Draft(), &created, request_id).ok());
  ChangeOrganization(org, "suspend");
  v1::Offer again;
  grpc::Status s;
  // The suspension reaches listings' look-up through the registry's cache invalidation.
  for (int i = 0; i < 50; ++i) {
    v1::Offer fresh;
    if (CreateOffer(org.id(), Draft(), &fresh).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  s = CreateOffer(org.id(), Draft(), &again, request_id);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(again.id(), created.id());
  EXPECT_EQ(again.version(), created.version());
}

TEST_F(ListingsTest, BadInputIsRefusedNamingTheFieldAndNothingIsStored) {
  reg::Organization org = Organization(7);
  struct Case {
    std::string field;
    std::function<void(v1::OfferDraft&)> spoil;
  };
  std::vector<Case> cases = {
      {"offer.readiness_level", [](auto& d) { d.set_readiness_level(0); }},
      {"offer.readiness_level", [](auto& d) { d.set_readiness_level(10); }},
      {"offer.ipc_codes[1]", [](auto& d) { d.set_ipc_codes(1, "G06N3-08"); }},
      {"offer.ipc_codes[0]", [](auto& d) { d.set_ipc_codes(0, "Z99Q 1/00"); }},
      {"offer.asking_price.amount_minor",
       [](auto& d) { d.mutable_asking_price()->set_amount_minor(-100); }},
      {"offer.asking_price.currency",
       [](auto& d) { d.mutable_asking_price()->set_currency("cny"); }},
      {"offer.transfer_modes[1]",
       [](auto& d) { d.add_transfer_modes(static_cast<v1::TransferMode>(99)); }},
      {"offer.fields[0]", [](auto& d) { d.set_fields(0, "alchemy"); }},
      {"offer.title", [](auto& d) { d.set_title(""); }},
      {"offer.title", [](auto& d) { d.set_title(std::string(201, 'x')); }},
  };
  for (const Case& c : cases) {
    v1::OfferDraft draft = Draft();
    c.spoil(draft);
    v1::Offer out;
    grpc::Status s = CreateOffer(org.id(), draft, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(s.error_message(), ::testing::StartsWith(c.field + ":")) << s.error_message();
  }
  // Demands: a budget whose minimum exceeds its maximum, a readiness out of range.
  v1::CreateDemandRequest demand;
  demand.set_request_id("bad-demand");
  demand.set_seeker_org_id(org.id());
  demand.mutable_demand()->set_title("需要电池健康状态估计技术");
  demand.mutable_demand()->set_problem("储能电站需要在线估计电池健康状态");
  demand.mutable_demand()->add_fields("energy-storage");
  demand.mutable_demand()->set_min_readiness_level(5);
  demand.mutable_demand()->mutable_budget_min()->set_currency("CNY");
  demand.mutable_demand()->mutable_budget_min()->set_amount_minor(90000000);
  demand.mutable_demand()->mutable_budget_max()->set_currency("CNY");
  demand.mutable_demand()->mutable_budget_max()->set_amount_minor(10000000);
  v1::Demand out;
  grpc::Status s = stub_->CreateDemand(AuthedContext(operator_key_).get(), demand, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("demand.budget_min:"));
  demand.mutable_demand()->mutable_budget_min()->set_amount_minor(0);
  demand.mutable_demand()->set_min_readiness_level(10);
  s = stub_->CreateDemand(AuthedContext(operator_key_).get(), demand, &out);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("demand.min_readiness_level:"));
  // An owner the registry does not know.
  v1::Offer offer;
  s = CreateOffer(NewUuid(), Draft(), &offer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("owner_org_id:"));

  EXPECT_EQ(listings_db_->QueryInt("SELECT count(*) FROM offers"), 0);
  EXPECT_EQ(listings_db_->QueryInt("SELECT count(*) FROM demands"), 0);
  EXPECT_EQ(listings_db_->QueryInt(
                "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM outbox_position_seq"),
            0);
}

TEST_F(ListingsTest, RetriesStaleVersionsAndOtherCitiesAreHandled) {
  reg::Organization org = Organization(8);
  v1::Offer first, again;
  ASSERT_TRUE(CreateOffer(org.id(), Draft(), &first, "same-request").ok());
  ASSERT_TRUE(CreateOffer(org.id(), Draft(), &again, "same-request").ok());
  EXPECT_EQ(first.id(), again.id());
  EXPECT_EQ(listings_db_->QueryInt("SELECT count(*) FROM offers"), 1);

  v1::Offer published;
  ASSERT_TRUE(Publish(first, &published).ok());
  grpc::Status s = Publish(first, &again);  // version 1 is stale now
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();

  // A Shenzhen city system may not act for a Wuhan organisation.
  reg::IssueApiKeyRequest issue;
  issue.set_request_id("sz-key");
  issue.set_name("Shenzhen portal");
  issue.set_role(reg::API_CLIENT_ROLE_CITY_SYSTEM);
  issue.set_city_id("shenzhen");
  reg::IssueApiKeyResponse key;
  ASSERT_TRUE(registry_stub_->IssueApiKey(AuthedContext(operator_key_).get(), issue, &key).ok());
  v1::Offer denied;
  s = CreateOffer(org.id(), Draft(), &denied, "", key.api_key());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  s = CreateOffer(org.id(), Draft(), &denied, "", NewApiKey());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
}

TEST_F(ListingsTest, MatchmakingExplainsWhyAnOfferFitsADemand) {
  reg::Organization university = Organization(9);
  reg::Organization enterprise = Organization(10);
  v1::Offer offer = PublishedOffer(university);
  v1::CreateDemandRequest req;
  req.set_request_id("demand-1");
  req.set_seeker_org_id(enterprise.id());
  v1::DemandDraft* d = req.mutable_demand();
  d->set_title("储能电站锂电池健康状态在线估计");
  d->set_problem("需要基于深度学习的锂电池健康状态估计方法, 用于储能电站运维。");
  d->add_ipc_codes("H01M 10/44");
  d->add_fields("energy-storage");
  d->set_min_readiness_level(5);
  d->mutable_budget_min()->set_currency("CNY");
  d->mutable_budget_min()->set_amount_minor(0);
  d->mutable_budget_max()->set_currency("CNY");
  d->mutable_budget_max()->set_amount_minor(100000000);
  d->add_transfer_modes(v1::TRANSFER_MODE_EXCLUSIVE_LICENSE);
  v1::Demand demand;
  ASSERT_TRUE(stub_->CreateDemand(AuthedContext(operator_key_).get(), req, &demand).ok());
  v1::MatchRequest match;
  match.set_id(demand.id());  // a draft demand is matched from the store
  v1::MatchResponse resp;
  grpc::Status s = stub_->MatchOffersForDemand(AuthedContext(operator_key_).get(), match, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.matches_size(), 1);
  EXPECT_EQ(resp.matches(0).id(), offer.id());
  std::map<std::string, std::string> reasons;
  for (const auto& f : resp.matches(0).factors()) reasons[f.name()] = f.reason();
  EXPECT_THAT(reasons["ipc"], HasSubstr("main group H01M 10"));
  EXPECT_THAT(reasons["price"], HasSubstr("within the budget"));
  EXPECT_THAT(reasons["transfer_mode"], HasSubstr("both accept"));
}

TEST_F(ListingsTest, TwoReplicasSweepingExpireEachDemandOnce) {
  TopicReader reader(stack_.kafka_brokers, kListingsTopic);
  listings_->Terminate();
  listings_env_["TECHTRADE_LISTING_EXPIRY_SWEEP_SECONDS"] = "1";
  StartListings(/*again=*/true);
  std::map<std::string, std::string> replica_env = ListingsEnv();
  replica_env["TECHTRADE_LISTING_EXPIRY_SWEEP_SECONDS"] = "1";
  ServiceProcess replica("listings", replica_env);
  ASSERT_TRUE(replica.WaitUntilServing()) << replica.log_path();

  reg::Organization seeker = Organization(31);
  constexpr int kDemands = 8;
  // Far enough ahead to publish them all first; the same moment for all, so both replicas' sweeps
  // find the same due demands.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  std::vector<std::string> ids;
  for (int i = 0; i < kDemands; ++i) {
    v1::CreateDemandRequest req;
    req.set_request_id(absl::StrCat("expiring-", i));
    req.set_seeker_org_id(seeker.id());
    v1::DemandDraft* d = req.mutable_demand();
    d->set_title(absl::StrCat("储能电站锂电池健康状态在线估计 ", i));
    d->set_problem("需要基于深度学习的锂电池健康状态估计方法。");
    d->add_fields("energy-storage");
    d->set_min_readiness_level(5);
    *d->mutable_deadline() =
        google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(deadline));
    v1::Demand draft, published;
    grpc::Status s = stub_->CreateDemand(AuthedContext(operator_key_).get(), req, &draft);
    ASSERT_TRUE(s.ok()) << s.error_message();
    v1::ChangeListingRequest publish;
    publish.set_request_id(absl::StrCat("publish-expiring-", i));
    publish.set_id(draft.id());
    publish.set_expected_version(draft.version());
    s = stub_->PublishDemand(AuthedContext(operator_key_).get(), publish, &published);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ids.push_back(draft.id());
  }
  ASSERT_LT(absl::Now(), deadline) << "the demands were published too slowly to test the sweep";

  auto expired_events = [&](const std::string& id) {
    int n = 0;
    for (const auto& e : reader.ForAggregate(id)) {
      n += e.envelope.payload().Is<v1::DemandExpired>() ? 1 : 0;
    }
    return n;
  };
  auto all_expired = [&](const auto&) {
    return std::all_of(ids.begin(), ids.end(),
                       [&](const std::string& id) { return expired_events(id) >= 1; });
  };
  reader.ReadUntil(all_expired, absl::Seconds(30));
  ASSERT_TRUE(all_expired(0)) << "not every demand expired";
  // Several more sweeps of both replicas change nothing.
  absl::SleepFor(absl::Seconds(3));
  reader.ReadUntil([](const auto&) { return false; }, absl::Seconds(1));
  for (const std::string& id : ids) {
    EXPECT_EQ(expired_events(id), 1) << id;
    const auto events = reader.ForAggregate(id);
    EXPECT_EQ(events.back().envelope.sequence(), 3) << id;  // created, published, expired
    v1::GetListingRequest get;
    get.set_id(id);
    v1::Demand read;
    ASSERT_TRUE(stub_->GetDemand(AuthedContext(operator_key_).get(), get, &read).ok());
    EXPECT_EQ(read.status(), v1::DEMAND_STATUS_EXPIRED);
  }
  // Out of search on both replicas.
  auto replica_stub = v1::ListingsService::NewStub(replica.channel());
  for (v1::ListingsService::Stub* s : {stub_.get(), replica_stub.get()}) {
    v1::SearchRequest search;
    search.set_kind(v1::LISTING_KIND_DEMAND);
    search.set_query("储能电站");
    v1::SearchResponse found;
    ASSERT_TRUE(s->Search(AuthedContext(operator_key_).get(), search, &found).ok());
    EXPECT_EQ(found.hits_size(), 0);
  }
}

}  // namespace
}  // namespace techtrade::testing
