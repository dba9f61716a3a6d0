// Transactions against the real local stack: registry, listings and transactions processes on
// their own scratch databases, the deal's events read back from the real topic.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/auth.h"
#include "common/db.h"
#include "common/ids.h"
#include "google/protobuf/util/time_util.h"
#include "services/registry/domain/credit_code.h"
#include "services/transactions/store/deals_store.h"
#include "techtrade/listings/v1/listings.grpc.pb.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"
#include "techtrade/transactions/v1/transactions.grpc.pb.h"
#include "tests/support/deal_fixture.h"
#include "tests/support/harness.h"

namespace techtrade::testing {
namespace {

namespace reg = techtrade::registry::v1;
namespace lv1 = techtrade::listings::v1;
namespace v1 = techtrade::transactions::v1;
using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kTopic[] = "techtrade.transactions.events.v1";

class TransactionsTest : public DealFixture {
 protected:
  TransactionsTest() : DealFixture("tx_it_") {}

  // An assignment of the offer to `buyer_id` at 50 000.00, agreed and signed.
  v1::Deal SignedAssignment(const std::string& buyer_id, const std::string& registration_number) {
    using Stub = v1::TransactionsService::Stub;
    v1::Deal d;
    EXPECT_TRUE(Open(&d, shenzhen_key_, buyer_id).ok());
    v1::ProposeTermsRequest terms = Terms(d, v1::PARTY_ROLE_SELLER, 50'000'00);
    terms.set_transfer_mode(lv1::TRANSFER_MODE_ASSIGNMENT);
    d = Must(&Stub::ProposeTerms, terms, wuhan_key_);
    d = Accept(d, v1::PARTY_ROLE_SELLER, wuhan_key_);
    d = Accept(d, v1::PARTY_ROLE_BUYER, shenzhen_key_);
    EXPECT_TRUE(SignAs(d, v1::PARTY_ROLE_SELLER, wuhan_key_, &d, registration_number).ok());
    EXPECT_TRUE(SignAs(d, v1::PARTY_ROLE_BUYER, shenzhen_key_, &d, registration_number).ok());
    EXPECT_EQ(d.state(), v1::DEAL_STATE_SIGNED);
    return d;
  }
};

TEST_F(TransactionsTest, AFullDealFromInquiryToCompletionWithOneEventPerChange) {
  TopicReader reader(stack_.kafka_brokers, kTopic);
  v1::Deal d = Signed();
  EXPECT_EQ(d.state(), v1::DEAL_STATE_SIGNED);
  EXPECT_EQ(d.agreed_terms_version(), 2);
  using Stub = v1::TransactionsService::Stub;
  for (int m = 1; m <= 2; ++m) {
    d = Must(&Stub::DeliverMilestone, Milestone(d, m), wuhan_key_);
    d = Must(&Stub::AcceptMilestone, Milestone(d, m), shenzhen_key_);
    d = Must(&Stub::RecordPayment, Payment(d, m, absl::StrCat("BANK-", d.id(), "-", m)),
             partner_key_);
  }
  EXPECT_EQ(d.state(), v1::DEAL_STATE_COMPLETED);
  EXPECT_EQ(d.paid_total().amount_minor(), 80'000'00);
  EXPECT_EQ(d.version(), 15);
  std::vector<std::string> types = EventTypes(reader, d, 15);
  EXPECT_THAT(types, ElementsAre("DealOpened", "TermsProposed", "TermsProposed", "TermsAccepted",
                                 "TermsAccepted", "DealAgreed", "ContractSignatureRecorded",
                                 "ContractSigned", "MilestoneDelivered", "MilestoneAccepted",
                                 "PaymentRecorded", "MilestoneDelivered", "MilestoneAccepted",
                                 "PaymentRecorded", "DealCompleted"));
  // What a partner needs without calling back: the parties' credit codes, the schedule, the
  // amount due, an idempotency key.
  auto events = reader.ForAggregate(d.id());
  v1::ContractSigned signed_event;
  ASSERT_TRUE(events[7].envelope.payload().UnpackTo(&signed_event));
  EXPECT_EQ(signed_event.payment_schedule_size(), 2);
  EXPECT_EQ(signed_event.payment_schedule(0).amount().amount_minor(), 24'000'00);
  EXPECT_EQ(signed_event.deal().seller().credit_code(), seller_.credit_code());
  EXPECT_EQ(signed_event.deal().buyer().credit_code(), buyer_.credit_code());
  EXPECT_EQ(signed_event.idempotency_key(), absl::StrCat(d.id(), ":8"));
  v1::MilestoneAccepted due;
  ASSERT_TRUE(events[9].envelope.payload().UnpackTo(&due));
  EXPECT_EQ(due.amount_due().amount_minor(), 24'000'00);
  EXPECT_EQ(due.amount_due().currency(), "CNY");
  EXPECT_EQ(due.milestone().index(), 1);
}

// A change of two steps (the last acceptance agrees the deal, the last payment completes it)
// publishes an event per step, each with the deal as of that step: its version is the event's
// sequence (docs/events.md), its idempotency key <deal id>:<sequence>.
TEST_F(TransactionsTest, EachEventOfATwoStepChangeCarriesTheDealAsOfItsStep) {
  TopicReader reader(stack_.kafka_brokers, kTopic);
  using Stub = v1::TransactionsService::Stub;
  v1::Deal d;
  ASSERT_TRUE(Open(&d, shenzhen_key_).ok());
  d = Must(&Stub::ProposeTerms, Terms(d, v1::PARTY_ROLE_SELLER, 100'000'00), wuhan_key_);
  d = Accept(d, v1::PARTY_ROLE_SELLER, wuhan_key_);
  d = Accept(d, v1::PARTY_ROLE_BUYER, shenzhen_key_);
  v1::SignContractRequest sign;  // by the operator, for both parties
  sign.set_request_id("sign-" + d.id());
  sign.set_deal_id(d.id());
  sign.set_expected_version(d.version());
  sign.set_registration_number("2026420100000789");
  *sign.mutable_signing_time() = TimeUtil::GetCurrentTime();
  d = Must(&Stub::SignContract, sign, operator_key_);
  ASSERT_EQ(d.state(), v1::DEAL_STATE_SIGNED);
  for (int m = 1; m <= 2; ++m) {
    d = Must(&Stub::DeliverMilestone, Milestone(d, m), wuhan_key_);
    d = Must(&Stub::AcceptMilestone, Milestone(d, m), shenzhen_key_);
    d = Must(&Stub::RecordPayment, Payment(d, m, absl::StrCat("STEP-", d.id(), "-", m)),
             partner_key_);
  }
  ASSERT_EQ(d.state(), v1::DEAL_STATE_COMPLETED);
  reader.ReadUntil(
      [&](auto&) { return reader.ForAggregate(d.id()).size() >= static_cast<size_t>(d.version()); },
      absl::Seconds(20));
  const std::vector<TopicReader::Event> events = reader.ForAggregate(d.id());
  ASSERT_EQ(events.size(), static_cast<size_t>(d.version()));
  std::vector<std::string> steps;  // type:state of the deal each event carries
  for (const auto& e : events) {
    const auto* type = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
        e.envelope.event_type());
    ASSERT_NE(type, nullptr) << e.envelope.event_type();
    std::unique_ptr<google::protobuf::Message> payload(
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
    ASSERT_TRUE(e.envelope.payload().UnpackTo(payload.get()));
    v1::Deal deal;
    deal.CopyFrom(payload->GetReflection()->GetMessage(*payload, type->FindFieldByName("deal")));
    EXPECT_EQ(deal.version(), e.envelope.sequence()) << type->name();
    EXPECT_EQ(
        payload->GetReflection()->GetString(*payload, type->FindFieldByName("idempotency_key")),
        absl::StrCat(d.id(), ":", e.envelope.sequence()));
    steps.push_back(absl::StrCat(type->name(), ":", v1::DealState_Name(deal.state())));
  }
  EXPECT_THAT(steps, ::testing::IsSupersetOf({"TermsAccepted:DEAL_STATE_NEGOTIATING",
                                              "DealAgreed:DEAL_STATE_AGREED",
                                              "PaymentRecorded:DEAL_STATE_IN_PERFORMANCE",
                                              "DealCompleted:DEAL_STATE_COMPLETED"}));
  EXPECT_THAT(steps, ::testing::Not(::testing::Contains("TermsAccepted:DEAL_STATE_AGREED")));
  EXPECT_THAT(steps, ::testing::Not(::testing::Contains("PaymentRecorded:DEAL_STATE_COMPLETED")));
}

TEST_F(TransactionsTest, CompletingAnAssignmentTransfersTheOffer) {
  using Stub = v1::TransactionsService::Stub;
  v1::Deal d = SignedAssignment(buyer_.id(), "2026420100000456");
  for (int m = 1; m <= 2; ++m) {
    d = Must(&Stub::DeliverMilestone, Milestone(d, m), wuhan_key_);
    d = Must(&Stub::AcceptMilestone, Milestone(d, m), shenzhen_key_);
    d = Must(&Stub::RecordPayment, Payment(d, m, absl::StrCat("A-", d.id(), "-", m)), partner_key_);
  }
  ASSERT_EQ(d.state(), v1::DEAL_STATE_COMPLETED);
  lv1::GetListingRequest get;
  get.set_id(offer_id_);
  lv1::Offer offer;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    ASSERT_TRUE(listings_stub_->GetOffer(AuthedContext(operator_key_).get(), get, &offer).ok());
    if (offer.status() == lv1::OFFER_STATUS_TRANSFERRED) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(offer.status(), lv1::OFFER_STATUS_TRANSFERRED);
  // No longer on the market.
  lv1::SearchRequest search;
  search.set_kind(lv1::LISTING_KIND_OFFER);
  search.set_query("battery");
  lv1::SearchResponse found;
  ASSERT_TRUE(listings_stub_->Search(AuthedContext(operator_key_).get(), search, &found).ok());
  EXPECT_EQ(found.hits_size(), 0);
}

// Listings consumes deal events. Two assignment deals on one offer complete while listings is
// down; applied as one batch when it is back, the second completion must see the offer the first
// one transferred — as one by one: one OfferTransferred, the offer's next version, nothing more.
TEST_F(TransactionsTest, ABacklogOfCompletionsAppliedAsOneBatchTransfersTheOfferOnce) {
  using Stub = v1::TransactionsService::Stub;
  TopicReader deal_events(stack_.kafka_brokers, kTopic);
  TopicReader listings_events(stack_.kafka_brokers, "techtrade.listings.events.v1");
  lv1::GetListingRequest get;
  get.set_id(offer_id_);
  reg::Organization second_buyer = Organization(3, "shenzhen", reg::ORGANIZATION_KIND_ENTERPRISE);
  // Two assignment deals, each performed up to its last payment.
  std::vector<v1::Deal> deals;
  for (const std::string& buyer : {buyer_.id(), second_buyer.id()}) {
    v1::Deal d = SignedAssignment(buyer, absl::StrCat("202642010000", 1000 + deals.size()));
    d = Must(&Stub::DeliverMilestone, Milestone(d, 1), wuhan_key_);
    d = Must(&Stub::AcceptMilestone, Milestone(d, 1), shenzhen_key_);
    d = Must(&Stub::RecordPayment, Payment(d, 1, absl::StrCat("A-", d.id(), "-1")), partner_key_);
    d = Must(&Stub::DeliverMilestone, Milestone(d, 2), wuhan_key_);
    d = Must(&Stub::AcceptMilestone, Milestone(d, 2), shenzhen_key_);
    deals.push_back(d);
  }
  // Both deals open: the offer is under negotiation, as of the version the completions find.
  lv1::Offer before;
  for (absl::Time deadline = absl::Now() + absl::Seconds(20);
       absl::Now() < deadline && before.status() != lv1::OFFER_STATUS_UNDER_NEGOTIATION;
       absl::SleepFor(absl::Milliseconds(50))) {
    ASSERT_TRUE(listings_stub_->GetOffer(AuthedContext(operator_key_).get(), get, &before).ok());
  }
  ASSERT_EQ(before.status(), lv1::OFFER_STATUS_UNDER_NEGOTIATION);
  {
    ShutDown("listings");
    for (v1::Deal& d : deals) {
      d = Must(&Stub::RecordPayment, Payment(d, 2, absl::StrCat("A-", d.id(), "-2")), partner_key_);
      ASSERT_EQ(d.state(), v1::DEAL_STATE_COMPLETED);
    }
    auto completed = [&] {
      int n = 0;
      for (const v1::Deal& d : deals) {
        for (const auto& e : deal_events.ForAggregate(d.id())) {
          n += e.envelope.payload().Is<v1::DealCompleted>();
        }
      }
      return n;
    };
    deal_events.ReadUntil([&](auto&) { return completed() == 2; }, absl::Seconds(20));
    ASSERT_EQ(completed(), 2);
    ASSERT_TRUE(StartAgain("listings"));
  }
  // The restarted consumer may first wait for the group to let go of the old member.
  // (The offer's own OfferPublished may still be on its way too: wait for the transfer.)
  auto transfers = [&] {
    std::vector<int64_t> sequences;
    for (const auto& e : listings_events.ForAggregate(offer_id_)) {
      if (e.envelope.payload().Is<lv1::OfferTransferred>()) {
        sequences.push_back(e.envelope.sequence());
      }
    }
    return sequences;
  };
  listings_events.ReadUntil([&](auto&) { return !transfers().empty(); }, absl::Seconds(60));
  listings_events.ReadUntil([](auto&) { return false; }, absl::Seconds(1));  // any extra one
  EXPECT_THAT(transfers(), ElementsAre(before.version() + 1));
  lv1::Offer after;
  ASSERT_TRUE(listings_stub_->GetOffer(AuthedContext(operator_key_).get(), get, &after).ok());
  EXPECT_EQ(after.status(), lv1::OFFER_STATUS_TRANSFERRED);
  EXPECT_EQ(after.version(), before.version() + 1);
  EXPECT_GE(LargestConsumerBatch(listings_->log_path()), 2) << listings_->log_path();
}

// A client that never saw the answer to its OpenDeal retries it with the same request_id after
// the buyer was suspended: the deal had been opened, so the retry gets it back instead of a
// refusal decided on what changed since.
TEST_F(TransactionsTest, ARetryOfAnOpenDealThatSucceededGetsItsAnswerAfterAPartyChanged) {
  const v1::OpenDealRequest open = OpenRequest();
  v1::Deal opened;
  grpc::Status s = stub_->OpenDeal(AuthedContext(shenzhen_key_).get(), open, &opened);
  ASSERT_TRUE(s.ok()) << s.error_message();
  reg::SuspendOrganizationRequest suspend;
  suspend.set_request_id("suspend-" + buyer_.id());
  suspend.set_id(buyer_.id());
  suspend.set_expected_version(buyer_.version());
  suspend.set_reason("audit finding");
  reg::Organization suspended;
  s = registry_stub_->SuspendOrganization(AuthedContext(operator_key_).get(), suspend, &suspended);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // Until a new inquiry by the suspended buyer is refused (the registry invalidates its cache).
  for (int i = 0; i < 50; ++i) {
    v1::Deal fresh;
    v1::OpenDealRequest other = open;
    other.set_request_id("open-" + NewUuid());
    if (stub_->OpenDeal(AuthedContext(shenzhen_key_).get(), other, &fresh).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  v1::Deal again;
  s = stub_->OpenDeal(AuthedContext(shenzhen_key_).get(), open, &again);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(again.id(), opened.id());
  EXPECT_EQ(again.version(), opened.version());
}

// Listings follows the offer's deals: under negotiation while one is open (still found, and
// open to a second buyer), published again once the last one was cancelled — each step once.
TEST_F(TransactionsTest, AnOfferIsUnderNegotiationWhileItsDealsAreOpen) {
  using Stub = v1::TransactionsService::Stub;
  TopicReader listings_events(stack_.kafka_brokers, "techtrade.listings.events.v1");
  lv1::GetListingRequest get;
  get.set_id(offer_id_);
  lv1::Offer offer;
  auto offer_reaches = [&](lv1::OfferStatus status) {
    for (absl::Time deadline = absl::Now() + absl::Seconds(20); absl::Now() < deadline;
         absl::SleepFor(absl::Milliseconds(50))) {
      if (listings_stub_->GetOffer(AuthedContext(operator_key_).get(), get, &offer).ok() &&
          offer.status() == status) {
        return true;
      }
    }
    return false;
  };
  ASSERT_TRUE(offer_reaches(lv1::OFFER_STATUS_PUBLISHED));
  const int64_t published_version = offer.version();
  v1::Deal first;
  ASSERT_TRUE(Open(&first, shenzhen_key_).ok());
  ASSERT_TRUE(offer_reaches(lv1::OFFER_STATUS_UNDER_NEGOTIATION));
  // Still in search, as it is now.
  lv1::SearchRequest search;
  search.set_kind(lv1::LISTING_KIND_OFFER);
  search.set_query("battery");
  lv1::SearchResponse found;
  for (absl::Time deadline = absl::Now() + absl::Seconds(10); absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(50))) {
    ASSERT_TRUE(listings_stub_->Search(AuthedContext(operator_key_).get(), search, &found).ok());
    if (found.hits_size() == 1 &&
        found.hits(0).offer().status() == lv1::OFFER_STATUS_UNDER_NEGOTIATION) {
      break;
    }
  }
  ASSERT_EQ(found.hits_size(), 1);
  EXPECT_EQ(found.hits(0).offer().status(), lv1::OFFER_STATUS_UNDER_NEGOTIATION);
  // A second buyer may still open a deal on it.
  const reg::Organization second_buyer =
      Organization(3, "shenzhen", reg::ORGANIZATION_KIND_ENTERPRISE);
  v1::Deal second;
  grpc::Status s = Open(&second, shenzhen_key_, second_buyer.id());
  ASSERT_TRUE(s.ok()) << s.error_message();
  // The deals' events travel on different partitions: cancelled before listings counted the
  // second deal, the first would end the negotiation and the second start another. Both counted,
  // either cancellation may come first.
  auto open_deals = [&] {
    return dbs_[1]->QueryInt("SELECT count(*) FROM listing_deals WHERE open");
  };
  for (absl::Time deadline = absl::Now() + absl::Seconds(20);
       absl::Now() < deadline && open_deals() < 2; absl::SleepFor(absl::Milliseconds(50))) {
  }
  ASSERT_EQ(open_deals(), 2);
  for (v1::Deal* d : {&first, &second}) {
    v1::CancelDealRequest cancel;
    cancel.set_request_id("cancel-" + d->id());
    cancel.set_deal_id(d->id());
    cancel.set_expected_version(d->version());
    cancel.set_acting_as(v1::PARTY_ROLE_BUYER);
    cancel.set_reason("went elsewhere");
    *d = Must(&Stub::CancelDeal, cancel, shenzhen_key_);
  }
  ASSERT_TRUE(offer_reaches(lv1::OFFER_STATUS_PUBLISHED));
  EXPECT_EQ(offer.version(), published_version + 2);
  auto steps = [&] {
    std::map<int64_t, std::string> by_sequence;
    for (const auto& e : listings_events.ForAggregate(offer_id_)) {
      if (e.envelope.sequence() > published_version) {
        by_sequence[e.envelope.sequence()] = e.envelope.event_type();
      }
    }
    return by_sequence;
  };
  listings_events.ReadUntil([&](auto&) { return steps().size() >= 2; }, absl::Seconds(20));
  listings_events.ReadUntil([](auto&) { return false; }, absl::Seconds(1));  // any extra one
  EXPECT_THAT(
      steps(),
      ElementsAre(
          ::testing::Pair(published_version + 1, "techtrade.listings.v1.OfferNegotiationStarted"),
          ::testing::Pair(published_version + 2, "techtrade.listings.v1.OfferNegotiationEnded")));
}

TEST_F(TransactionsTest, ACancelledDeal) {
  TopicReader reader(stack_.kafka_brokers, kTopic);
  v1::Deal d;
  ASSERT_TRUE(Open(&d, shenzhen_key_).ok());
  d = Must(&v1::TransactionsService::Stub::ProposeTerms, Terms(d, v1::PARTY_ROLE_SELLER, 50'000'00),
           wuhan_key_);
  v1::CancelDealRequest cancel;
  cancel.set_request_id("cancel-" + d.id());
  cancel.set_deal_id(d.id());
  cancel.set_expected_version(d.version());
  cancel.set_acting_as(v1::PARTY_ROLE_BUYER);
  cancel.set_reason("budget withdrawn");
  d = Must(&v1::TransactionsService::Stub::CancelDeal, cancel, shenzhen_key_);
  EXPECT_EQ(d.state(), v1::DEAL_STATE_CANCELLED);
  EXPECT_THAT(EventTypes(reader, d, 3),
              ElementsAre("DealOpened", "TermsProposed", "DealCancelled"));
  // Final: nothing more can happen to it.
  v1::Deal out;
  grpc::Status s = stub_->ProposeTerms(AuthedContext(wuhan_key_).get(),
                                       Terms(d, v1::PARTY_ROLE_SELLER, 1000), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
}

TEST_F(TransactionsTest, ADisputedDealResumesAndIsCancelledByTheOperator) {
  TopicReader reader(stack_.kafka_brokers, kTopic);
  using Stub = v1::TransactionsService::Stub;
  v1::Deal d = Signed();
  d = Must(&Stub::DeliverMilestone, Milestone(d, 1), wuhan_key_);
  v1::OpenDisputeRequest dispute;
  dispute.set_request_id("dispute-" + d.id());
  dispute.set_deal_id(d.id());
  dispute.set_expected_version(d.version());
  dispute.set_acting_as(v1::PARTY_ROLE_BUYER);
  dispute.set_reason("the delivered model misses the accuracy in the contract");
  d = Must(&Stub::OpenDispute, dispute, shenzhen_key_);
  EXPECT_EQ(d.state(), v1::DEAL_STATE_DISPUTED);
  // Only the operator resolves.
  v1::ResolveDisputeRequest resolve;
  resolve.set_request_id("resolve-" + d.id());
  resolve.set_deal_id(d.id());
  resolve.set_expected_version(d.version());
  resolve.set_resolution("arbitration: contract terminated, nothing paid");
  resolve.set_cancel(true);
  v1::Deal out;
  EXPECT_EQ(stub_->ResolveDispute(AuthedContext(wuhan_key_).get(), resolve, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  d = Must(&Stub::ResolveDispute, resolve, operator_key_);
  EXPECT_EQ(d.state(), v1::DEAL_STATE_CANCELLED);
  std::vector<std::string> types = EventTypes(reader, d, 11);
  ASSERT_EQ(types.size(), 11u);
  EXPECT_THAT(std::vector<std::string>(types.end() - 3, types.end()),
              ElementsAre("MilestoneDelivered", "DisputeOpened", "DisputeResolved"));
}

TEST_F(TransactionsTest, ConcurrentClientsWithTheSameVersionGetExactlyOneChange) {
  TopicReader reader(stack_.kafka_brokers, kTopic);
  v1::Deal d;
  ASSERT_TRUE(Open(&d, shenzhen_key_).ok());
  // 12 clients propose terms against version 1 at once: one wins, the others are stale.
  constexpr int kClients = 12;
  std::atomic<int> ok{0}, aborted{0}, other{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      auto stub = v1::TransactionsService::NewStub(transactions_->channel());
      v1::Deal out;
      grpc::Status s = stub->ProposeTerms(AuthedContext(wuhan_key_).get(),
                                          Terms(d, v1::PARTY_ROLE_SELLER, 10'000'00 + i), &out);
      if (s.ok()) {
        ++ok;
      } else if (s.error_code() == grpc::StatusCode::ABORTED) {
        ++aborted;
      } else {
        ++other;
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(aborted, kClients - 1);
  EXPECT_EQ(other, 0);
  v1::GetDealRequest get;
  get.set_id(d.id());
  v1::Deal now;
  ASSERT_TRUE(stub_->GetDeal(AuthedContext(operator_key_).get(), get, &now).ok());
  EXPECT_EQ(now.version(), 2);
  EXPECT_EQ(now.terms_size(), 1);
  EXPECT_THAT(EventTypes(reader, d, 2), ElementsAre("DealOpened", "TermsProposed"));

  // A retry with the same request_id returns the first result and publishes nothing more.
  v1::ProposeTermsRequest again = Terms(now, v1::PARTY_ROLE_SELLER, 12'000'00);
  again.set_request_id("retry-me");
  v1::Deal first, second;
  ASSERT_TRUE(stub_->ProposeTerms(AuthedContext(wuhan_key_).get(), again, &first).ok());
  ASSERT_TRUE(stub_->ProposeTerms(AuthedContext(wuhan_key_).get(), again, &second).ok());
  EXPECT_EQ(first.version(), 3);
  EXPECT_EQ(second.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(EventTypes(reader, d, 3).size(), 3u);
}

TEST_F(TransactionsTest, ADealChangedThroughAnotherReplicaIsNeverActedOnFromAnOldCopy) {
  v1::Deal d;
  ASSERT_TRUE(Open(&d, shenzhen_key_).ok());  // this replica keeps its copy at version 1
  ServiceProcess other("transactions", envs_["transactions"]);
  ASSERT_TRUE(other.WaitUntilServing()) << other.log_path();
  auto other_stub = v1::TransactionsService::NewStub(other.channel());
  v1::Deal moved;
  ASSERT_TRUE(other_stub
                  ->ProposeTerms(AuthedContext(wuhan_key_).get(),
                                 Terms(d, v1::PARTY_ROLE_SELLER, 10'000'00), &moved)
                  .ok());
  ASSERT_EQ(moved.version(), 2);
  // The copy here is at version 1, as is this client's read: refused as stale, nothing changed.
  v1::Deal out;
  grpc::Status stale = stub_->ProposeTerms(AuthedContext(wuhan_key_).get(),
                                           Terms(d, v1::PARTY_ROLE_SELLER, 11'000'00), &out);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::ABORTED) << stale.error_message();
  // With the current version, this replica acts on the database's deal.
  ASSERT_TRUE(stub_
                  ->ProposeTerms(AuthedContext(wuhan_key_).get(),
                                 Terms(moved, v1::PARTY_ROLE_SELLER, 12'000'00), &out)
                  .ok());
  EXPECT_EQ(out.version(), 3);
  ASSERT_EQ(out.terms_size(), 2);
  EXPECT_EQ(out.terms(1).price().amount_minor(), 12'000'00);
}

TEST_F(TransactionsTest, ADuplicatePaymentReferenceIsRefusedWithoutASecondEvent) {
  TopicReader reader(stack_.kafka_brokers, kTopic);
  using Stub = v1::TransactionsService::Stub;
  v1::Deal d = Signed();
  d = Must(&Stub::DeliverMilestone, Milestone(d, 1), wuhan_key_);
  d = Must(&Stub::AcceptMilestone, Milestone(d, 1), shenzhen_key_);
  v1::RecordPaymentRequest pay = Payment(d, 1, "ICBC-20261123-0001");
  pay.mutable_amount()->set_amount_minor(10'000'00);  // part of the 24 000 due
  d = Must(&Stub::RecordPayment, pay, partner_key_);
  v1::RecordPaymentRequest duplicate = Payment(d, 1, "ICBC-20261123-0001");
  duplicate.mutable_amount()->set_amount_minor(10'000'00);
  v1::Deal out;
  grpc::Status s = stub_->RecordPayment(AuthedContext(partner_key_).get(), duplicate, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  EXPECT_THAT(s.error_message(), StartsWith("payment_reference:"));
  // More than is due is refused too, naming the amount.
  v1::RecordPaymentRequest excess = Payment(d, 1, "ICBC-20261123-0002");
  s = stub_->RecordPayment(AuthedContext(partner_key_).get(), excess, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), StartsWith("amount:"));
  std::vector<std::string> types = EventTypes(reader, d, 11);
  EXPECT_EQ(types.size(), 11u);
  EXPECT_EQ(types.back(), "PaymentRecorded");
  EXPECT_EQ(dbs_[2]->QueryInt("SELECT count(*) FROM payments"), 1);
}

TEST_F(TransactionsTest, BadInputGetsTheSpecificCodeAndChangesNothing) {
  v1::Deal d;
  ASSERT_TRUE(Open(&d, shenzhen_key_).ok());
  struct Case {
    const char* field;
    grpc::StatusCode code;
    std::function<void(v1::ProposeTermsRequest&)> spoil;
    std::string key;
  };
  std::vector<Case> cases = {
      {"price.amount_minor", grpc::StatusCode::INVALID_ARGUMENT,
       [](auto& r) { r.mutable_price()->set_amount_minor(0); }, wuhan_key_},
      {"milestones[0].amount.amount_minor", grpc::StatusCode::INVALID_ARGUMENT,
       [](auto& r) { r.mutable_milestones(0)->mutable_amount()->set_amount_minor(-1); },
       wuhan_key_},
      {"milestones[1].amount.currency", grpc::StatusCode::INVALID_ARGUMENT,
       [](auto& r) { r.mutable_milestones(1)->mutable_amount()->set_currency("USD"); }, wuhan_key_},
      {"milestones", grpc::StatusCode::INVALID_ARGUMENT,
       [](auto& r) { r.mutable_milestones(1)->mutable_amount()->set_amount_minor(1); }, wuhan_key_},
      {"deal_id", grpc::StatusCode::NOT_FOUND, [](auto& r) { r.set_deal_id(NewUuid()); },
       wuhan_key_},
      // Shenzhen's system acting as the Wuhan seller.
      {"", grpc::StatusCode::PERMISSION_DENIED, [](auto&) {}, shenzhen_key_},
  };
  for (const Case& c : cases) {
    v1::ProposeTermsRequest r = Terms(d, v1::PARTY_ROLE_SELLER, 30'000'00);
    c.spoil(r);
    v1::Deal out;
    grpc::Status s = stub_->ProposeTerms(AuthedContext(c.key).get(), r, &out);
    EXPECT_EQ(s.error_code(), c.code) << c.field << ": " << s.error_message();
    if (*c.field != '\0') {
      EXPECT_THAT(s.error_message(), StartsWith(std::string(c.field) + ":"));
    }
  }
  // The wrong actor at the wrong turn: the buyer's system delivering a milestone.
  v1::Deal signed_deal = Signed();
  v1::Deal out;
  grpc::Status s =
      stub_->DeliverMilestone(AuthedContext(shenzhen_key_).get(), Milestone(signed_deal, 1), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  // A partner cannot propose; a city system cannot record payments.
  s = stub_->RecordPayment(AuthedContext(wuhan_key_).get(), Payment(signed_deal, 1, "X-1"), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // Buyer and seller the same organisation.
  v1::OpenDealRequest self = OpenRequest(seller_.id());
  self.set_request_id("self");
  s = stub_->OpenDeal(AuthedContext(operator_key_).get(), self, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("seller_org_id:"));
  // Nothing changed: the first deal is still at version 1, with the one event it had.
  v1::GetDealRequest get;
  get.set_id(d.id());
  ASSERT_TRUE(stub_->GetDeal(AuthedContext(operator_key_).get(), get, &out).ok());
  EXPECT_EQ(out.version(), 1);
  EXPECT_EQ(out.state(), v1::DEAL_STATE_OPEN);
  EXPECT_EQ(dbs_[2]->QueryInt("SELECT count(*) FROM deals"), 2);
}

TEST_F(TransactionsTest, ListsFilterByPartyCityAndState) {
  v1::Deal open;
  ASSERT_TRUE(Open(&open, shenzhen_key_).ok());
  v1::Deal signed_deal = Signed();
  v1::ListDealsRequest r;
  r.set_state(v1::DEAL_STATE_SIGNED);
  v1::ListDealsResponse resp;
  ASSERT_TRUE(stub_->ListDeals(AuthedContext(operator_key_).get(), r, &resp).ok());
  ASSERT_EQ(resp.deals_size(), 1);
  EXPECT_EQ(resp.deals(0).id(), signed_deal.id());
  r.Clear();
  r.set_party_org_id(buyer_.id());
  r.set_page_size(1);
  ASSERT_TRUE(stub_->ListDeals(AuthedContext(operator_key_).get(), r, &resp).ok());
  EXPECT_EQ(resp.deals_size(), 1);
  EXPECT_FALSE(resp.next_page_token().empty());
  // A third city's system sees none of these deals.
  City("hefei");
  std::string hefei = Key(reg::API_CLIENT_ROLE_CITY_SYSTEM, "hefei");
  r.Clear();
  ASSERT_TRUE(stub_->ListDeals(AuthedContext(hefei).get(), r, &resp).ok());
  EXPECT_EQ(resp.deals_size(), 0);
  v1::GetDealRequest get;
  get.set_id(open.id());
  v1::Deal out;
  EXPECT_EQ(stub_->GetDeal(AuthedContext(hefei).get(), get, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// ListDeals by a party must start from the parties' indexes, not walk every deal: with many
// deals of others, the plan names the buyer, seller and broker indexes.
TEST_F(TransactionsTest, ListingByPartyUsesThePartyIndexes) {
  pqxx::connection conn(dbs_[2]->url());
  {
    pqxx::nontransaction fill(conn);
    fill.exec(
        "INSERT INTO deals (id, listing_id, buyer_org_id, seller_org_id, city_id, state, version, "
        "record, create_time, update_time) SELECT gen_random_uuid(), gen_random_uuid(), "
        "gen_random_uuid(), gen_random_uuid(), 'city-' || (g % 50), 1 + g % 8, 1, '\\x00', "
        "now(), now() FROM generate_series(1, 20000) AS g");
    fill.exec("ANALYZE deals");
  }
  std::string plan;
  {
    Tx tx(conn);
    const std::string sql = transactions::store::ListDealsSql(tx, {.party_org_id = buyer_.id()},
                                                              /*after=*/0, /*limit=*/50);
    pqxx::nontransaction explain(conn);
    for (const auto& row : explain.exec("EXPLAIN " + sql)) plan += row[0].as<std::string>() + "\n";
  }
  EXPECT_THAT(plan, HasSubstr("deals_buyer")) << plan;
  EXPECT_THAT(plan, HasSubstr("deals_seller")) << plan;
  EXPECT_THAT(plan, HasSubstr("deals_broker")) << plan;
  // And it still finds the party's deals among the others.
  v1::Deal open;
  ASSERT_TRUE(Open(&open, shenzhen_key_).ok());
  v1::ListDealsRequest r;
  r.set_party_org_id(buyer_.id());
  v1::ListDealsResponse resp;
  ASSERT_TRUE(stub_->ListDeals(AuthedContext(operator_key_).get(), r, &resp).ok());
  ASSERT_EQ(resp.deals_size(), 1);
  EXPECT_EQ(resp.deals(0).id(), open.id());
}

}  // namespace
}  // namespace techtrade::testing
