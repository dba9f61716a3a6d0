// End to end: the four services as separate processes on the real stack play the platform's
// story — a demand matched to an offer, a deal countered, signed, performed over two milestones
// and paid, the fund's subsidy approved and paid in tranches — and its unhappy paths. The story is
// played once undisturbed and once with each service SIGKILLed at a random moment and restarted;
// the final state of every service and what a partner reads from every topic must be the same:
// nothing lost, nothing doubled.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/support/platform_fixture.h"

namespace techtrade::testing {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using TxStub = tv1::TransactionsService::Stub;

constexpr char kRegistryTopic[] = "techtrade.registry.events.v1";
constexpr char kListingsTopic[] = "techtrade.listings.events.v1";

// 10 % of the 80 000.00 contract, 30 % at signing and the rest at completion.
constexpr int64_t kSubsidy = 8'000'00;
constexpr int64_t kSigning = 2'400'00;
constexpr int64_t kCompletion = 5'600'00;

bool Transient(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

// What a city system does when a service is away: the same request again (same request_id),
// until it answers.
template <class Stub, class Request, class Response>
grpc::Status Retry(Stub& stub,
                   grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                   const Request& request, Response* response, const std::string& key) {
  grpc::Status s;
  for (absl::Time deadline = absl::Now() + absl::Seconds(60); absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(100))) {
    s = (stub.*rpc)(AuthedContext(key, absl::Seconds(5)).get(), request, response);
    if (!Transient(s)) return s;
  }
  return s;
}

// What the story leaves behind, in terms that do not depend on generated ids.
struct Outcome {
  std::vector<std::string> deal_events;         // types in sequence order, duplicates dropped
  std::vector<std::string> application_events;  // ditto
  std::vector<std::string> demand_events;
  int duplicates_with_other_ids = 0;  // the same sequence twice under different event ids
  int gaps = 0;
};

std::string ShortType(const std::string& type) { return type.substr(type.rfind('.') + 1); }

// A partner's view of one aggregate on one topic: in sequence order, redeliveries (same event
// id) dropped, anything else counted as a fault.
std::vector<std::string> Stream(const TopicReader& reader, const std::string& id,
                                Outcome& outcome) {
  std::map<int64_t, std::pair<std::string, std::string>> by_sequence;  // → (event id, type)
  for (const auto& e : reader.ForAggregate(id)) {
    auto [it, inserted] =
        by_sequence.emplace(e.envelope.sequence(),
                            std::pair{e.envelope.event_id(), ShortType(e.envelope.event_type())});
    if (!inserted && it->second.first != e.envelope.event_id()) {
      ++outcome.duplicates_with_other_ids;
    }
  }
  std::vector<std::string> types;
  int64_t expected = 1;
  for (const auto& [sequence, event] : by_sequence) {
    if (sequence != expected) ++outcome.gaps;
    expected = sequence + 1;
    types.push_back(event.second);
  }
  return types;
}

class PlatformE2E : public PlatformFixture, public ::testing::WithParamInterface<std::string> {
 protected:
  PlatformE2E() : PlatformFixture("e2e_") {}

  template <class Request, class Rpc>
  tv1::Deal Deal(Rpc rpc, const Request& r, const std::string& key) {
    tv1::Deal out;
    grpc::Status s = Retry(*stub_, rpc, r, &out, key);
    EXPECT_TRUE(s.ok()) << r.GetDescriptor()->name() << ": " << s.error_message();
    return out;
  }

  // Kills `service` after a random delay within `window`, then restarts it. The thread lives
  // until TearDown: a child's PR_SET_PDEATHSIG fires when the thread that forked it ends.
  void KillLater(const std::string& service, absl::Duration window) {
    std::random_device seed;
    const uint32_t s = seed();
    std::mt19937 rng(s);
    const int64_t delay_ms =
        std::uniform_int_distribution<int64_t>(0, absl::ToInt64Milliseconds(window))(rng);
    std::cerr << "killing " << service << " after " << delay_ms << " ms (seed " << s << ")\n";
    killer_ = std::thread([this, service, delay_ms] {
      absl::SleepFor(absl::Milliseconds(delay_ms));
      restarted_ = KillAndRestart(service);
      killed_ = true;
      while (!finished_) absl::SleepFor(absl::Milliseconds(50));
    });
  }

  void TearDown() override {
    finished_ = true;
    if (killer_.joinable()) killer_.join();
    PlatformFixture::TearDown();
  }

  std::thread killer_;
  std::atomic<bool> restarted_{false};
  std::atomic<bool> finished_{false};
  std::atomic<bool> killed_{false};
};

TEST_P(PlatformE2E, TheStoryEndsTheSameWhicheverServiceCrashes) {
  TopicReader registry_events(stack_.kafka_brokers, kRegistryTopic);
  TopicReader listings_events(stack_.kafka_brokers, kListingsTopic);
  TopicReader deal_events(stack_.kafka_brokers, kDealTopic);
  TopicReader fund_events(stack_.kafka_brokers, kFundTopic);
  if (GetParam() != "none") KillLater(GetParam(), absl::Seconds(4));

  // The operator defines the programme: 10 %, 30 % at signing, 70 % at completion.
  fv1::CreateProgrammeRequest pr = ProgrammeRequest(1'000'000'00);
  pr.mutable_rules()->clear_bands();
  fv1::SubsidyBand* band = pr.mutable_rules()->add_bands();
  band->set_rate_bps(1000);
  pr.mutable_rules()->clear_tranches();
  for (auto [trigger, share] : {std::pair{fv1::TRANCHE_TRIGGER_SIGNING, 3000},
                                std::pair{fv1::TRANCHE_TRIGGER_COMPLETION, 7000}}) {
    fv1::Tranche* t = pr.mutable_rules()->add_tranches();
    t->set_trigger(trigger);
    t->set_share_bps(share);
  }
  fv1::Programme programme;
  ASSERT_TRUE(
      Retry(*fund_, &fv1::FundService::Stub::CreateProgramme, pr, &programme, operator_key_).ok());

  // The enterprise posts its demand; matchmaking proposes the university's offer.
  lv1::CreateDemandRequest cd;
  cd.set_request_id("e2e-demand");
  cd.set_seeker_org_id(buyer_.id());
  lv1::DemandDraft* draft = cd.mutable_demand();
  draft->set_title("Online state-of-health estimation for energy-storage batteries");
  draft->set_problem("Our storage plant must find degrading lithium cells before they fail.");
  draft->add_ipc_codes("H01M 10/44");
  draft->add_fields("energy-storage");
  draft->set_min_readiness_level(5);
  draft->add_transfer_modes(lv1::TRANSFER_MODE_EXCLUSIVE_LICENSE);
  lv1::Demand demand;
  ASSERT_TRUE(
      Retry(*listings_stub_, &lv1::ListingsService::Stub::CreateDemand, cd, &demand, shenzhen_key_)
          .ok());
  lv1::ChangeListingRequest publish;
  publish.set_request_id("e2e-demand-publish");
  publish.set_id(demand.id());
  publish.set_expected_version(1);
  ASSERT_TRUE(Retry(*listings_stub_, &lv1::ListingsService::Stub::PublishDemand, publish, &demand,
                    shenzhen_key_)
                  .ok());
  lv1::MatchRequest match;
  match.set_id(demand.id());
  match.set_limit(3);
  lv1::MatchResponse matches;
  for (absl::Time deadline = absl::Now() + absl::Seconds(30); absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(100))) {
    grpc::Status s = Retry(*listings_stub_, &lv1::ListingsService::Stub::MatchOffersForDemand,
                           match, &matches, shenzhen_key_);
    if (s.ok() && matches.matches_size() > 0) break;
  }
  ASSERT_GT(matches.matches_size(), 0);
  EXPECT_EQ(matches.matches(0).id(), offer_id_);

  // The offer as the deal finds it: its later events are the deal's doing.
  lv1::GetListingRequest get_offer;
  get_offer.set_id(offer_id_);
  lv1::Offer offer;
  ASSERT_TRUE(Retry(*listings_stub_, &lv1::ListingsService::Stub::GetOffer, get_offer, &offer,
                    operator_key_)
                  .ok());
  ASSERT_EQ(offer.status(), lv1::OFFER_STATUS_PUBLISHED);
  const int64_t offer_version = offer.version();

  // The deal: the seller asks 100 000.00, the buyer counters 80 000.00, both accept, sign.
  tv1::OpenDealRequest open;
  open.set_request_id("e2e-open");
  open.set_listing_id(offer_id_);
  open.set_listing_kind(lv1::LISTING_KIND_OFFER);
  open.set_buyer_org_id(buyer_.id());
  open.set_seller_org_id(seller_.id());
  open.set_finance_partner_id(partner_id_);
  tv1::Deal d = Deal(&TxStub::OpenDeal, open, shenzhen_key_);
  d = Deal(&TxStub::ProposeTerms, Terms(d, tv1::PARTY_ROLE_SELLER, 100'000'00), wuhan_key_);
  d = Deal(&TxStub::ProposeTerms, Terms(d, tv1::PARTY_ROLE_BUYER, 80'000'00), shenzhen_key_);
  for (auto [role, key] : {std::pair{tv1::PARTY_ROLE_SELLER, wuhan_key_},
                           std::pair{tv1::PARTY_ROLE_BUYER, shenzhen_key_}}) {
    tv1::AcceptTermsRequest accept;
    accept.set_request_id(absl::StrCat("e2e-accept-", role));
    accept.set_deal_id(d.id());
    accept.set_expected_version(d.version());
    accept.set_acting_as(role);
    accept.set_terms_version(2);
    d = Deal(&TxStub::AcceptTerms, accept, key);
  }
  // A cross-city contract: each party's city system signs for its own party.
  for (auto [role, key] : {std::pair{tv1::PARTY_ROLE_SELLER, wuhan_key_},
                           std::pair{tv1::PARTY_ROLE_BUYER, shenzhen_key_}}) {
    tv1::SignContractRequest sign;
    sign.set_request_id(absl::StrCat("e2e-sign-", role));
    sign.set_deal_id(d.id());
    sign.set_expected_version(d.version());
    sign.set_registration_number("2026420100000777");
    *sign.mutable_signing_time() = TimeUtil::GetCurrentTime();
    sign.set_acting_as(role);
    d = Deal(&TxStub::SignContract, sign, key);
  }
  ASSERT_EQ(d.state(), tv1::DEAL_STATE_SIGNED);

  // The fund approves at once and pays the signing tranche.
  fv1::SubmitApplicationRequest apply;
  apply.set_request_id("e2e-apply");
  apply.set_programme_id(programme.id());
  apply.set_deal_id(d.id());
  fv1::Application application;
  grpc::Status applied;
  for (absl::Time deadline = absl::Now() + absl::Seconds(60); absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(100))) {
    applied = Retry(*fund_, &fv1::FundService::Stub::SubmitApplication, apply, &application,
                    shenzhen_key_);
    if (applied.error_code() != grpc::StatusCode::FAILED_PRECONDITION) break;
  }
  ASSERT_TRUE(applied.ok()) << applied.error_message();
  EXPECT_EQ(application.approved_minor(), kSubsidy);

  // Performance: two milestones delivered, accepted and paid.
  for (int m = 1; m <= 2; ++m) {
    tv1::MilestoneRequest r = Milestone(d, m);
    r.set_request_id(absl::StrCat("e2e-deliver-", m));
    d = Deal(&TxStub::DeliverMilestone, r, wuhan_key_);
    r = Milestone(d, m);
    r.set_request_id(absl::StrCat("e2e-accept-milestone-", m));
    d = Deal(&TxStub::AcceptMilestone, r, shenzhen_key_);
    tv1::RecordPaymentRequest pay = Payment(d, m, absl::StrCat("E2E-BANK-", m));
    pay.set_request_id(absl::StrCat("e2e-pay-", m));
    d = Deal(&TxStub::RecordPayment, pay, partner_key_);
  }
  ASSERT_EQ(d.state(), tv1::DEAL_STATE_COMPLETED);

  for (absl::Time deadline = absl::Now() + absl::Seconds(60);
       GetParam() != "none" && !killed_ && absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(50))) {
  }
  EXPECT_TRUE(GetParam() == "none" || restarted_.load()) << "the restart failed";

  // Final state of every service.
  fv1::GetApplicationRequest get_application;
  get_application.set_id(application.id());
  for (absl::Time deadline = absl::Now() + absl::Seconds(60); absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(100))) {
    if (Retry(*fund_, &fv1::FundService::Stub::GetApplication, get_application, &application,
              operator_key_)
            .ok() &&
        application.status() == fv1::APPLICATION_STATUS_COMPLETED) {
      break;
    }
  }
  EXPECT_EQ(application.status(), fv1::APPLICATION_STATUS_COMPLETED);
  EXPECT_THAT(Amounts(application), ElementsAre(kSigning, kCompletion));
  tv1::GetDealRequest get_deal;
  get_deal.set_id(d.id());
  ASSERT_TRUE(Retry(*stub_, &TxStub::GetDeal, get_deal, &d, operator_key_).ok());
  EXPECT_EQ(d.version(), 15);
  EXPECT_EQ(d.paid_total().amount_minor(), 80'000'00);
  fv1::Programme after = GetProgramme(programme.id());
  EXPECT_EQ(after.balances().disbursed_minor(), kSubsidy);
  EXPECT_EQ(after.balances().reserved_minor(), 0);
  EXPECT_EQ(after.balances().available_minor(), 1'000'000'00 - kSubsidy);
  EXPECT_TRUE(Reconcile(programme.id()).balanced());
  // An exclusive licence takes the offer off the market once listings has the completion.
  for (absl::Time deadline = absl::Now() + absl::Seconds(60);
       absl::Now() < deadline && offer.status() != lv1::OFFER_STATUS_TRANSFERRED;
       absl::SleepFor(absl::Milliseconds(100))) {
    ASSERT_TRUE(Retry(*listings_stub_, &lv1::ListingsService::Stub::GetOffer, get_offer, &offer,
                      operator_key_)
                    .ok());
  }
  EXPECT_EQ(offer.status(), lv1::OFFER_STATUS_TRANSFERRED);

  // Every event on every topic, as a partner reads it.
  Outcome outcome;
  deal_events.ReadUntil(
      [&](auto&) {
        std::set<int64_t> seen;
        for (const auto& e : deal_events.ForAggregate(d.id())) seen.insert(e.envelope.sequence());
        return seen.size() >= 15;
      },
      absl::Seconds(60));
  fund_events.ReadUntil(
      [&](auto&) {
        std::set<int64_t> seen;
        for (const auto& e : fund_events.ForAggregate(application.id())) {
          seen.insert(e.envelope.sequence());
        }
        return seen.size() >= 3;
      },
      absl::Seconds(60));
  listings_events.ReadUntil(
      [&](auto&) { return listings_events.ForAggregate(demand.id()).size() >= 2; },
      absl::Seconds(60));
  auto offer_events = [&] {  // after offer_version: sequence → (event id, type)
    std::map<int64_t, std::pair<std::string, std::string>> by_sequence;
    for (const auto& e : listings_events.ForAggregate(offer_id_)) {
      if (e.envelope.sequence() <= offer_version) continue;
      auto [it, inserted] =
          by_sequence.emplace(e.envelope.sequence(),
                              std::pair{e.envelope.event_id(), ShortType(e.envelope.event_type())});
      if (!inserted && it->second.first != e.envelope.event_id()) {
        ++outcome.duplicates_with_other_ids;
      }
    }
    return by_sequence;
  };
  listings_events.ReadUntil([&](auto&) { return offer_events().size() >= 2; }, absl::Seconds(60));
  // Anything late (a second copy of an event) arrives within this.
  for (TopicReader* r : {&deal_events, &fund_events, &listings_events}) {
    r->ReadUntil([](auto&) { return false; }, absl::Seconds(1));
  }
  outcome.deal_events = Stream(deal_events, d.id(), outcome);
  outcome.application_events = Stream(fund_events, application.id(), outcome);
  outcome.demand_events = Stream(listings_events, demand.id(), outcome);
  EXPECT_THAT(
      outcome.deal_events,
      ElementsAre("DealOpened", "TermsProposed", "TermsProposed", "TermsAccepted", "TermsAccepted",
                  "DealAgreed", "ContractSignatureRecorded", "ContractSigned", "MilestoneDelivered",
                  "MilestoneAccepted", "PaymentRecorded", "MilestoneDelivered", "MilestoneAccepted",
                  "PaymentRecorded", "DealCompleted"));
  EXPECT_THAT(outcome.application_events,
              ElementsAre("ApplicationDecided", "TrancheDisbursed", "TrancheDisbursed"));
  EXPECT_THAT(outcome.demand_events, ElementsAre("DemandCreated", "DemandPublished"));
  // The offer followed its deal, each step once.
  const auto offer_steps = offer_events();
  EXPECT_THAT(
      offer_steps,
      ElementsAre(::testing::Pair(offer_version + 1,
                                  ::testing::Field(&std::pair<std::string, std::string>::second,
                                                   "OfferNegotiationStarted")),
                  ::testing::Pair(offer_version + 2,
                                  ::testing::Field(&std::pair<std::string, std::string>::second,
                                                   "OfferTransferred"))));
  EXPECT_EQ(outcome.duplicates_with_other_ids, 0) << "an event was produced twice";
  EXPECT_EQ(outcome.gaps, 0);
  // No event of the story is left behind in an outbox.
  for (absl::Time deadline = absl::Now() + absl::Seconds(30);
       absl::Now() < deadline && fund_db_->QueryInt("SELECT count(*) FROM outbox") > 0;
       absl::SleepFor(absl::Milliseconds(100))) {
  }
  EXPECT_EQ(fund_db_->QueryInt("SELECT count(*) FROM outbox"), 0);
  // The fund applied each deal event it acts on once.
  EXPECT_EQ(fund_db_->QueryInt(absl::StrCat("SELECT count(*) FROM ledger_entries WHERE "
                                            "application_id = '",
                                            application.id(), "'")),
            3);  // reserve, two tranches
}

INSTANTIATE_TEST_SUITE_P(Crashes, PlatformE2E,
                         ::testing::Values("none", "registry", "listings", "transactions", "fund"),
                         [](const auto& info) { return info.param; });

// The unhappy path: the deal is cancelled after signing; the fund releases what it reserved and
// claws back what it paid; a refused actor and a stale version change nothing.
class UnhappyE2E : public PlatformFixture {
 protected:
  UnhappyE2E() : PlatformFixture("e2e_unhappy_") {}
};

TEST_F(UnhappyE2E, ACancelledDealUnwindsTheSubsidyAndRefusedCallsChangeNothing) {
  TopicReader deal_events(stack_.kafka_brokers, kDealTopic);
  TopicReader fund_events(stack_.kafka_brokers, kFundTopic);
  fv1::Programme programme = CreateProgramme(ProgrammeRequest(1'000'000'00));
  tv1::Deal d = Signed();
  fv1::Application application;
  ASSERT_TRUE(Submit(programme.id(), d, &application).ok());
  ASSERT_EQ(application.status(), fv1::APPLICATION_STATUS_APPROVED);

  // The seller may not accept a milestone for the buyer; a stale version is refused.
  tv1::Deal out;
  tv1::MilestoneRequest deliver = Milestone(d, 1);
  EXPECT_EQ(stub_->AcceptMilestone(AuthedContext(wuhan_key_).get(), deliver, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  deliver.set_expected_version(d.version() - 1);
  EXPECT_EQ(stub_->DeliverMilestone(AuthedContext(wuhan_key_).get(), deliver, &out).error_code(),
            grpc::StatusCode::ABORTED);

  CancelAsOperator(d);
  application = WaitFor(application.id(), [](const auto& a) {
    return a.status() == fv1::APPLICATION_STATUS_CANCELLED;
  });
  EXPECT_EQ(application.status(), fv1::APPLICATION_STATUS_CANCELLED);
  EXPECT_EQ(application.released_minor() + application.clawed_back_minor(),
            application.approved_minor());
  fv1::Programme after = GetProgramme(programme.id());
  EXPECT_EQ(after.balances().reserved_minor(), 0);
  EXPECT_EQ(after.balances().available_minor(), 1'000'000'00);
  EXPECT_TRUE(Reconcile().balanced());

  deal_events.ReadUntil([&](auto&) { return deal_events.ForAggregate(d.id()).size() >= 9; },
                        absl::Seconds(20));
  fund_events.ReadUntil(
      [&](auto&) { return fund_events.ForAggregate(application.id()).size() >= 4; },
      absl::Seconds(20));
  Outcome outcome;
  EXPECT_THAT(
      Stream(deal_events, d.id(), outcome),
      ElementsAre("DealOpened", "TermsProposed", "TermsProposed", "TermsAccepted", "TermsAccepted",
                  "DealAgreed", "ContractSignatureRecorded", "ContractSigned", "DealCancelled"));
  EXPECT_THAT(Stream(fund_events, application.id(), outcome),
              ElementsAre("ApplicationDecided", "TrancheDisbursed", "ReservationReleased",
                          "ClawbackRaised"));
  EXPECT_EQ(outcome.gaps, 0);
}

}  // namespace
}  // namespace techtrade::testing
