// The event-contract checker's own rules, fed synthetic records: a clean stream passes, and each
// way of breaking docs/events.md is reported under its rule — so the checker cannot pass silently.
#include "tests/contract/event_contract.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/ids.h"
#include "common/trace.h"
#include "techtrade/common/v1/common.pb.h"
#include "techtrade/fund/v1/fund.pb.h"
#include "techtrade/listings/v1/listings.pb.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::contract {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace tv1 = techtrade::transactions::v1;
namespace lv1 = techtrade::listings::v1;
namespace reg = techtrade::registry::v1;

constexpr char kDeals[] = "techtrade.transactions.events.v1";

// An event as the outbox writes it, and its record as the relay publishes it.
struct Event {
  common::v1::EventEnvelope envelope;
  int32_t partition = 0;

  Record ToRecord(int64_t offset) const {
    Record r;
    r.topic = absl::StrCat("techtrade.", envelope.producer(), ".events.v1");
    r.partition = partition;
    r.offset = offset;
    r.key = envelope.aggregate_id();
    r.value = envelope.SerializeAsString();
    r.headers = {{"event_id", envelope.event_id()},
                 {"event_type", envelope.event_type()},
                 {"aggregate_type", envelope.aggregate_type()},
                 {"aggregate_id", envelope.aggregate_id()},
                 {"sequence", absl::StrCat(envelope.sequence())},
                 {"producer", envelope.producer()},
                 {"traceparent", envelope.trace().traceparent()}};
    return r;
  }
};

Event Wrap(const google::protobuf::Message& payload, const std::string& producer,
           const std::string& aggregate_type, const std::string& aggregate_id, int64_t sequence) {
  Event e;
  e.envelope.set_event_id(NewUuid());
  e.envelope.set_event_type(payload.GetDescriptor()->full_name());
  e.envelope.set_aggregate_type(aggregate_type);
  e.envelope.set_aggregate_id(aggregate_id);
  e.envelope.set_sequence(sequence);
  e.envelope.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(absl::Now()) - 60);
  e.envelope.set_producer(producer);
  e.envelope.mutable_trace()->set_traceparent(NewTraceparent());
  e.envelope.mutable_payload()->PackFrom(payload);
  return e;
}

// The deal's event with the deal at `version` (= `sequence` unless told otherwise).
Event DealEvent(const std::string& deal_id, int64_t sequence, int64_t version = -1) {
  tv1::DealOpened payload;
  payload.mutable_deal()->set_id(deal_id);
  payload.mutable_deal()->set_version(version < 0 ? sequence : version);
  payload.set_idempotency_key(absl::StrCat(deal_id, ":", sequence));
  return Wrap(payload, "transactions", "deal", deal_id, sequence);
}

struct Outcome {
  std::vector<Violation> violations;
  CheckerStats stats;
  std::vector<std::string> Rules() const {
    std::vector<std::string> rules;
    for (const Violation& v : violations) rules.push_back(v.rule);
    return rules;
  }
};

Outcome Check(const std::vector<Record>& records, const CheckerOptions& options) {
  EventContractChecker checker(options);
  for (const Record& r : records) checker.Add(r);
  Outcome out;
  out.violations = checker.Finish();
  out.stats = checker.stats();
  return out;
}

Outcome Check(const std::vector<Record>& records) { return Check(records, CheckerOptions()); }

std::vector<Record> Records(const std::vector<Event>& events) {
  std::vector<Record> records;
  for (const Event& e : events) records.push_back(e.ToRecord(static_cast<int64_t>(records.size())));
  return records;
}

void SetHeader(Record& r, const std::string& name, const std::string& value) {
  for (auto& [k, v] : r.headers) {
    if (k == name) v = value;
  }
}

TEST(EventContractTest, ACleanStreamOfEveryServicePasses) {
  const std::string deal = NewUuid(), org = NewUuid(), offer = NewUuid();
  reg::OrganizationRegistered registered;
  registered.mutable_organization()->set_id(org);
  registered.mutable_organization()->set_version(1);
  lv1::OfferCreated created;
  created.mutable_offer()->set_id(offer);
  created.mutable_offer()->set_version(1);
  lv1::OrganizationListingsHidden hidden;  // carries no version: only its sequence is checked
  hidden.set_organization_id(org);
  Outcome out = Check(Records({DealEvent(deal, 1), DealEvent(deal, 2), DealEvent(deal, 3),
                               Wrap(registered, "registry", "organization", org, 1),
                               Wrap(created, "listings", "offer", offer, 1),
                               Wrap(hidden, "listings", "organization_visibility", org, 1)}));
  EXPECT_THAT(out.violations, ::testing::IsEmpty()) << Report(out.violations, out.stats);
  EXPECT_EQ(out.stats.events, 6);
  EXPECT_EQ(out.stats.versions_checked.at("techtrade.transactions.v1.DealOpened"), 3);
  EXPECT_THAT(out.stats.types_without_version,
              ElementsAre("techtrade.listings.v1.OrganizationListingsHidden"));
  EXPECT_THAT(Report(out.violations, out.stats), HasSubstr("no violations"));
}

TEST(EventContractTest, AGapIsReported) {
  const std::string deal = NewUuid();
  Outcome out = Check(Records({DealEvent(deal, 1), DealEvent(deal, 3)}));
  ASSERT_THAT(out.Rules(), ElementsAre("sequence"));
  EXPECT_THAT(out.violations[0].detail, HasSubstr("gap: sequence 3 after 1"));
  EXPECT_THAT(out.violations[0].where, HasSubstr(deal));
  // An aggregate whose first event is not 1.
  EXPECT_THAT(Check(Records({DealEvent(NewUuid(), 2)})).Rules(), ElementsAre("sequence"));
}

TEST(EventContractTest, ARepeatedSequenceUnderAnotherIdIsReported) {
  const std::string deal = NewUuid();
  // Hidden, then shown, both sequence 1 (the fault of issue 20, item 3).
  Outcome out = Check(Records({DealEvent(deal, 1), DealEvent(deal, 1)}));
  ASSERT_THAT(out.Rules(), ElementsAre("sequence"));
  EXPECT_THAT(out.violations[0].detail, HasSubstr("sequence 1 again"));
}

TEST(EventContractTest, ADuplicateIdOfADifferentEventIsReportedAnIdenticalCopyIsARedelivery) {
  const std::string deal = NewUuid();
  Event first = DealEvent(deal, 1), second = DealEvent(deal, 2);
  second.envelope.set_event_id(first.envelope.event_id());
  Outcome out = Check(Records({first, second}));
  EXPECT_THAT(out.Rules(), ElementsAre("event_id"));
  EXPECT_THAT(out.violations[0].detail, HasSubstr("another, different record"));

  Outcome redelivered =
      Check({first.ToRecord(0), DealEvent(deal, 2).ToRecord(1), first.ToRecord(2)});
  EXPECT_THAT(redelivered.violations, ::testing::IsEmpty());
  EXPECT_EQ(redelivered.stats.redeliveries, 1);
}

// A deal's event is on the platform's topic and, the same record, on its finance partner's
// (docs/partners.md): each topic holds it once, so neither copy is another event under its id.
TEST(EventContractTest, ADealsEventOnItsPartnersTopicTooIsNoDuplicate) {
  const std::string deal = NewUuid();
  Event first = DealEvent(deal, 1), second = DealEvent(deal, 2);
  std::vector<Record> records;
  for (const Event* e : {&first, &second}) {
    records.push_back(e->ToRecord(static_cast<int64_t>(records.size())));
    Record copy = records.back();
    copy.topic = "techtrade.partner.0123456789abcdef.deals.v1";
    records.push_back(copy);
  }
  Outcome out = Check(records);
  EXPECT_THAT(out.violations, ::testing::IsEmpty());
  EXPECT_EQ(out.stats.redeliveries, 0);
}

TEST(EventContractTest, AWrongOrMissingHeaderIsReported) {
  std::vector<Record> records = Records({DealEvent(NewUuid(), 1)});
  SetHeader(records[0], "sequence", "2");
  Outcome wrong = Check(records);
  ASSERT_THAT(wrong.Rules(), ElementsAre("header"));
  EXPECT_THAT(wrong.violations[0].detail, HasSubstr("header 'sequence' is '2'"));

  records = Records({DealEvent(NewUuid(), 1)});
  records[0].headers.pop_back();  // traceparent
  Outcome missing = Check(records);
  ASSERT_THAT(missing.Rules(), ElementsAre("header"));
  EXPECT_THAT(missing.violations[0].detail, HasSubstr("header 'traceparent' missing"));

  records = Records({DealEvent(NewUuid(), 1)});
  records[0].headers.push_back(records[0].headers[0]);
  EXPECT_THAT(Check(records).Rules(), ElementsAre("header"));
}

TEST(EventContractTest, AMissingOrInvalidTraceIsReported) {
  for (const std::string trace :
       {"", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "not a trace"}) {
    Event e = DealEvent(NewUuid(), 1);
    e.envelope.mutable_trace()->set_traceparent(trace);
    Outcome out = Check(Records({e}));  // the header repeats it: only the trace rule breaks
    EXPECT_THAT(out.Rules(), ElementsAre("traceparent")) << "'" << trace << "'";
  }
}

TEST(EventContractTest, AVersionOtherThanTheSequenceIsReported) {
  const std::string deal = NewUuid();
  // The first of a two-step change carrying the deal after both steps (issue 20, item 4).
  Outcome out = Check(Records({DealEvent(deal, 1), DealEvent(deal, 2, /*version=*/3)}));
  ASSERT_THAT(out.Rules(), ElementsAre("version"));
  EXPECT_THAT(out.violations[0].detail, HasSubstr("version 3, the event's sequence is 2"));
}

TEST(EventContractTest, KeyTypeProducerTimeAndIdempotencyKeyAreChecked) {
  auto rules_of = [](const std::function<void(Event&, Record&)>& spoil) {
    Event e = DealEvent(NewUuid(), 1);
    Record r = e.ToRecord(0);
    spoil(e, r);
    return Check({r}).Rules();
  };
  auto reserialize = [](Event& e, Record& r) { r.value = e.envelope.SerializeAsString(); };
  EXPECT_THAT(rules_of([](Event&, Record& r) { r.key = "other"; }), ElementsAre("key"));
  EXPECT_THAT(rules_of([](Event&, Record& r) { r.key.reset(); }), ElementsAre("key"));
  EXPECT_THAT(rules_of([&](Event& e, Record& r) {
                e.envelope.mutable_payload()->set_type_url("type.googleapis.com/x.Y");
                reserialize(e, r);
              }),
              ElementsAre("event_type"));
  EXPECT_THAT(rules_of([&](Event& e, Record& r) {
                e.envelope.set_event_type("techtrade.transactions.v1.NoSuchEvent");
                reserialize(e, r);
                SetHeader(r, "event_type", e.envelope.event_type());
              }),
              ElementsAre("event_type"));
  EXPECT_THAT(rules_of([](Event&, Record& r) { r.topic = "techtrade.fund.events.v1"; }),
              ::testing::IsSupersetOf({"producer", "event_type"}));
  EXPECT_THAT(rules_of([&](Event& e, Record& r) {
                e.envelope.set_producer("");
                reserialize(e, r);
                SetHeader(r, "producer", "");
              }),
              ElementsAre("producer"));
  for (auto [seconds, nanos] : std::vector<std::pair<int64_t, int32_t>>{
           {1'800'000'000, -1}, {253'402'300'800, 0}, {0, 0}, {4'000'000'000, 0}}) {
    EXPECT_THAT(rules_of([&](Event& e, Record& r) {
                  e.envelope.mutable_occurred_at()->set_seconds(seconds);
                  e.envelope.mutable_occurred_at()->set_nanos(nanos);
                  reserialize(e, r);
                }),
                ElementsAre("occurred_at"))
        << seconds << "s " << nanos << "ns";
  }
  EXPECT_THAT(rules_of([&](Event& e, Record& r) {
                tv1::DealOpened payload;
                e.envelope.payload().UnpackTo(&payload);
                payload.set_idempotency_key(payload.deal().id() + ":2");
                e.envelope.mutable_payload()->PackFrom(payload);
                reserialize(e, r);
              }),
              ElementsAre("idempotency_key"));
  EXPECT_THAT(rules_of([](Event&, Record& r) { r.value = "not protobuf \xff"; }),
              ElementsAre("envelope"));
}

TEST(EventContractTest, OneAggregateInTwoPartitionsIsReported) {
  const std::string deal = NewUuid();
  Event second = DealEvent(deal, 2);
  second.partition = 1;
  EXPECT_THAT(Check(Records({DealEvent(deal, 1), second})).Rules(), ElementsAre("partition"));
}

TEST(EventContractTest, InjectedRecordsAreLeftOutAndReusedIdsRestartOnlyWhereDeclared) {
  std::vector<Record> records = Records({DealEvent(NewUuid(), 5)});
  records[0].headers.emplace_back(kInjectedHeader, "a forged event");
  Outcome out = Check(records);
  EXPECT_THAT(out.violations, ::testing::IsEmpty());
  EXPECT_EQ(out.stats.injected, 1);

  reg::PilotCityCreated city;
  city.mutable_pilot_city()->set_id("shenzhen");
  city.mutable_pilot_city()->set_version(1);
  // The same city created in two scratch databases.
  std::vector<Event> twice = {Wrap(city, "registry", "pilot_city", "shenzhen", 1),
                              Wrap(city, "registry", "pilot_city", "shenzhen", 1)};
  EXPECT_THAT(Check(Records(twice)).Rules(), ElementsAre("sequence"));
  CheckerOptions reused;
  reused.reused_id_types = {"pilot_city"};
  Outcome restarted = Check(Records(twice), reused);
  EXPECT_THAT(restarted.violations, ::testing::IsEmpty());
  EXPECT_EQ(restarted.stats.restarted_chains, 1);
  // Reuse never excuses a gap.
  EXPECT_THAT(Check(Records({Wrap(city, "registry", "pilot_city", "wuhan", 1),
                             Wrap(city, "registry", "pilot_city", "wuhan", 3)}),
                    reused)
                  .Rules(),
              ::testing::Contains("sequence"));
}

TEST(EventContractTest, TheReportNamesTheEventAndTheRule) {
  const std::string deal = NewUuid();
  Event e = DealEvent(deal, 1, /*version=*/2);
  Outcome out = Check(Records({e}));
  const std::string report = Report(out.violations, out.stats);
  EXPECT_THAT(report, HasSubstr("1 violations: version 1"));
  EXPECT_THAT(report, HasSubstr(absl::StrCat(
                          "VIOLATION [version] ", kDeals, "/0@0 event ", e.envelope.event_id(),
                          " techtrade.transactions.v1.DealOpened deal/", deal, " #1")));
}

// The headers the checker requires are the ones docs/events.md lists ("Kafka record").
TEST(EventContractTest, TheRequiredHeadersAreTheDocumentedOnes) {
  std::ifstream in(absl::StrCat(TECHTRADE_SOURCE_DIR, "/docs/events.md"));
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const size_t section = doc.find("## Kafka record");
  ASSERT_NE(section, std::string::npos);
  const size_t table = doc.find("| header | value |", section);
  ASSERT_NE(table, std::string::npos);
  std::vector<std::string> documented;
  for (absl::string_view line : absl::StrSplit(doc.substr(table), '\n')) {
    if (!absl::ConsumePrefix(&line, "| `")) {
      if (!documented.empty()) break;  // the table ends
      continue;
    }
    documented.emplace_back(line.substr(0, line.find('`')));
  }
  EXPECT_EQ(documented, RequiredHeaders());
}

}  // namespace
}  // namespace techtrade::contract
