// The reference finance-partner consumer (tools/partner_consumer.cc) against the real broker:
// a redelivered event (same sequence, same event id) is dropped, while a different event under
// a sequence already applied is a conflict that fails the run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "techtrade/transactions/v1/transactions.pb.h"
#include "tests/contract/event_contract.h"
#include "tests/support/harness.h"

namespace techtrade::testing {
namespace {

using ::testing::HasSubstr;
namespace tv1 = techtrade::transactions::v1;

constexpr char kDealTopic[] = "techtrade.transactions.events.v1";

class PartnerConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    group_ = ConsumerGroupAtEnd(stack_.kafka_brokers, kDealTopic, "partner-it");
    deal_id_ = NewUuid();
  }

  common::v1::EventEnvelope Event(int64_t sequence) {
    common::v1::EventEnvelope e;
    e.set_event_id(NewUuid());
    e.set_aggregate_type("deal");
    e.set_aggregate_id(deal_id_);
    e.set_sequence(sequence);
    tv1::DealCancelled payload;
    payload.mutable_deal()->set_id(deal_id_);
    payload.set_reason(absl::StrCat("event ", sequence));
    e.set_event_type(payload.GetDescriptor()->full_name());
    e.mutable_payload()->PackFrom(payload);
    return e;
  }

  void Produce(const std::vector<common::v1::EventEnvelope>& events) {
    std::atomic<int> delivered{0};
    auto producer = *KafkaProducer::Create(
        stack_.kafka_brokers, {}, [&](void*, const absl::Status& s) { delivered += s.ok(); });
    for (const auto& e : events) {
      // Made up for the partner consumer, not the platform's: the contract check leaves it out.
      ASSERT_TRUE(producer
                      ->Produce(kDealTopic, deal_id_, e.SerializeAsString(),
                                {{contract::kInjectedHeader, "a partner consumer test event"}},
                                nullptr)
                      .ok());
    }
    for (int i = 0; i < 100 && delivered < static_cast<int>(events.size()); ++i) {
      producer->Poll(absl::Milliseconds(100));
    }
    ASSERT_EQ(delivered, static_cast<int>(events.size()));
  }

  // Runs the partner consumer over what was produced since SetUp; its exit code and output.
  std::pair<int, std::string> RunPartner() {
    const std::string command =
        absl::StrCat(BinaryPath("techtrade-partner"), " --brokers ", stack_.kafka_brokers,
                     " --group ", group_, " --topics ", kDealTopic, " --idle_exit_seconds 3 2>&1");
    FILE* pipe = popen(command.c_str(), "r");
    std::string output;
    char buffer[4096];
    for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
    const int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
  }

  Stack stack_;
  std::string group_, deal_id_;
};

TEST_F(PartnerConsumerTest, ARedeliveryIsDroppedAndTheRunSucceeds) {
  common::v1::EventEnvelope first = Event(1);
  Produce({first, first, Event(2)});
  auto [code, output] = RunPartner();
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("2 events over 1 deals and applications, 1 redeliveries dropped"));
}

TEST_F(PartnerConsumerTest, ADifferentEventUnderAnAppliedSequenceIsAConflict) {
  Produce({Event(1), Event(2), Event(2)});
  auto [code, output] = RunPartner();
  EXPECT_EQ(code, 3) << output;
  EXPECT_THAT(output, HasSubstr(absl::StrCat("CONFLICT deal ", deal_id_, ": sequence 2")));
  EXPECT_THAT(output, HasSubstr("0 redeliveries dropped"));
}

// Amounts in the currency's own minor unit: JPY has no decimals, KWD three.
TEST_F(PartnerConsumerTest, AmountsArePrintedWithTheirCurrencysDecimals) {
  common::v1::EventEnvelope accepted = Event(1);
  tv1::MilestoneAccepted due;
  due.mutable_deal()->set_id(deal_id_);
  due.mutable_amount_due()->set_currency("JPY");
  due.mutable_amount_due()->set_amount_minor(1200);
  accepted.set_event_type(due.GetDescriptor()->full_name());
  accepted.mutable_payload()->PackFrom(due);
  common::v1::EventEnvelope paid = Event(2);
  tv1::PaymentRecorded payment;
  payment.mutable_deal()->set_id(deal_id_);
  payment.mutable_amount()->set_currency("KWD");
  payment.mutable_amount()->set_amount_minor(1250);
  *payment.mutable_deal()->mutable_paid_total() = payment.amount();
  paid.set_event_type(payment.GetDescriptor()->full_name());
  paid.mutable_payload()->PackFrom(payment);
  Produce({accepted, paid});
  auto [code, output] = RunPartner();
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("PAY JPY 1,200 from"));
  EXPECT_THAT(output, HasSubstr("payment KWD 1.250 recorded"));
  EXPECT_THAT(output, HasSubstr("paid so far KWD 1.250"));
}

}  // namespace
}  // namespace techtrade::testing
