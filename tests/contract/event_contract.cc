#include "tests/contract/event_contract.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/trace.h"
#include "techtrade/common/v1/common.pb.h"
#include "techtrade/fund/v1/fund.pb.h"
#include "techtrade/listings/v1/listings.pb.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::contract {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::util::TimeUtil;

constexpr char kTypeUrlPrefix[] = "type.googleapis.com/";

// The event protos are linked statically: referenced here so that their descriptors are in the
// generated pool, where event types are looked up.
void LinkEventDescriptors() {
  static const bool linked = [] {
    techtrade::registry::v1::OrganizationRegistered::descriptor();
    techtrade::listings::v1::OfferCreated::descriptor();
    techtrade::transactions::v1::DealOpened::descriptor();
    techtrade::fund::v1::ProgrammeCreated::descriptor();
    return true;
  }();
  (void)linked;
}

bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !(absl::ascii_isdigit(s[i]) || (s[i] >= 'a' && s[i] <= 'f'))) {
      return false;
    }
  }
  return true;
}

// "techtrade.<service>.events.v1" -> "<service>"; empty for any other name.
std::string ServiceOfTopic(const std::string& topic) {
  std::vector<std::string> parts = absl::StrSplit(topic, '.');
  if (parts.size() != 4 || parts[0] != "techtrade" || parts[2] != "events") return "";
  return parts[1];
}

std::string Fingerprint(const Record& r) {
  std::string out =
      absl::StrCat(r.topic, "\n", r.key.value_or("<none>"), "\n", r.value.size(), "\n", r.value);
  std::vector<std::pair<std::string, std::string>> headers = r.headers;
  std::sort(headers.begin(), headers.end());
  for (const auto& [k, v] : headers) absl::StrAppend(&out, "\n", k, "=", v);
  return out;
}

// The value the envelope gives header `name` (docs/events.md, "Kafka record").
std::string HeaderValue(const techtrade::common::v1::EventEnvelope& e, const std::string& name) {
  if (name == "event_id") return e.event_id();
  if (name == "event_type") return e.event_type();
  if (name == "aggregate_type") return e.aggregate_type();
  if (name == "aggregate_id") return e.aggregate_id();
  if (name == "sequence") return absl::StrCat(e.sequence());
  if (name == "producer") return e.producer();
  if (name == "traceparent") return e.trace().traceparent();
  return "";
}

std::optional<int64_t> VersionIfOf(const Message& m, const std::string& aggregate_id) {
  const Descriptor* d = m.GetDescriptor();
  const FieldDescriptor* id = d->FindFieldByName("id");
  const FieldDescriptor* version = d->FindFieldByName("version");
  if (id == nullptr || version == nullptr || id->is_repeated() || version->is_repeated() ||
      id->cpp_type() != FieldDescriptor::CPPTYPE_STRING) {
    return std::nullopt;
  }
  if (m.GetReflection()->GetString(m, id) != aggregate_id) return std::nullopt;
  switch (version->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT64:
      return m.GetReflection()->GetInt64(m, version);
    case FieldDescriptor::CPPTYPE_INT32:
      return m.GetReflection()->GetInt32(m, version);
    case FieldDescriptor::CPPTYPE_UINT64:
      return static_cast<int64_t>(m.GetReflection()->GetUInt64(m, version));
    case FieldDescriptor::CPPTYPE_UINT32:
      return m.GetReflection()->GetUInt32(m, version);
    default:
      return std::nullopt;
  }
}

}  // namespace

const std::vector<std::string>& RequiredHeaders() {
  static const std::vector<std::string> names = {"event_id",     "event_type", "aggregate_type",
                                                 "aggregate_id", "sequence",   "producer",
                                                 "traceparent"};
  return names;
}

std::optional<int64_t> PayloadVersion(const Message& payload, const std::string& aggregate_id) {
  if (std::optional<int64_t> own = VersionIfOf(payload, aggregate_id)) return own;
  const Descriptor* d = payload.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_repeated() || f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (!payload.GetReflection()->HasField(payload, f)) continue;
    const Message& inner = payload.GetReflection()->GetMessage(payload, f);
    if (std::optional<int64_t> v = VersionIfOf(inner, aggregate_id)) return v;
  }
  return std::nullopt;
}

EventContractChecker::EventContractChecker(CheckerOptions options) : options_(std::move(options)) {
  LinkEventDescriptors();
}

void EventContractChecker::Fail(const std::string& rule, const std::string& where,
                                const std::string& detail) {
  violations_.push_back({rule, where, detail});
}

void EventContractChecker::Add(const Record& r) {
  ++stats_.records;
  ++stats_.per_topic[r.topic];
  for (const auto& [name, value] : r.headers) {
    if (name == kInjectedHeader) {
      ++stats_.injected;
      return;
    }
  }
  std::string where = absl::StrCat(r.topic, "/", r.partition, "@", r.offset);
  techtrade::common::v1::EventEnvelope e;
  if (!e.ParseFromString(r.value) || e.event_id().empty()) {
    Fail("envelope", where, "the value is not a techtrade.common.v1.EventEnvelope");
    return;
  }
  absl::StrAppend(&where, " event ", e.event_id(), " ", e.event_type(), " ", e.aggregate_type(),
                  "/", e.aggregate_id(), " #", e.sequence());

  // One event id, one record per topic: a copy is a redelivery (docs/events.md, "At least
  // once"). A deal's event is also on its finance partner's topic (docs/partners.md), the same
  // record there.
  const std::string fingerprint = Fingerprint(r);
  if (auto [it, inserted] = seen_.emplace(absl::StrCat(r.topic, "\n", e.event_id()), fingerprint);
      !inserted) {
    if (it->second == fingerprint) {
      ++stats_.redeliveries;
    } else {
      Fail("event_id", where, "the event id of another, different record");
    }
    return;
  }
  ++stats_.events;

  if (!IsUuid(e.event_id())) Fail("event_id", where, "not a lowercase UUID");
  if (e.aggregate_type().empty() || e.aggregate_id().empty()) {
    Fail("aggregate", where, "aggregate_type and aggregate_id are required");
  }
  if (!r.key.has_value() || *r.key != e.aggregate_id()) {
    Fail("key", where,
         absl::StrCat("Kafka key '", r.key.value_or("<none>"), "' is not the aggregate_id"));
  }

  // Headers: each of docs/events.md's once, equal to the envelope.
  for (const std::string& name : RequiredHeaders()) {
    std::vector<std::string> values;
    for (const auto& [k, v] : r.headers) {
      if (k == name) values.push_back(v);
    }
    if (values.empty()) {
      Fail("header", where, absl::StrCat("header '", name, "' missing"));
    } else if (values.size() > 1) {
      Fail("header", where, absl::StrCat("header '", name, "' ", values.size(), " times"));
    } else if (values[0] != HeaderValue(e, name)) {
      Fail("header", where,
           absl::StrCat("header '", name, "' is '", values[0], "', the envelope says '",
                        HeaderValue(e, name), "'"));
    }
  }

  if (!IsValidTraceparent(e.trace().traceparent())) {
    Fail("traceparent", where,
         absl::StrCat("trace.traceparent '", e.trace().traceparent(),
                      "' is not a valid W3C traceparent"));
  }

  const std::string service = ServiceOfTopic(r.topic);
  if (e.producer().empty() || (!service.empty() && e.producer() != service)) {
    Fail("producer", where,
         absl::StrCat("producer '", e.producer(), "' on a topic of '", service, "'"));
  }

  // Valid (RFC 3339 range, nanos in [0, 1e9)), after the platform existed, not in the future.
  const google::protobuf::Timestamp& at = e.occurred_at();
  const bool valid_time = e.has_occurred_at() && at.nanos() >= 0 && at.nanos() < 1'000'000'000 &&
                          at.seconds() >= TimeUtil::kTimestampMinSeconds &&
                          at.seconds() <= TimeUtil::kTimestampMaxSeconds;
  const absl::Time earliest = absl::FromCivil(absl::CivilSecond(2020, 1, 1), absl::UTCTimeZone());
  if (!valid_time || at.seconds() < absl::ToUnixSeconds(earliest) ||
      absl::FromUnixSeconds(at.seconds()) > options_.now + options_.clock_skew) {
    Fail("occurred_at", where,
         absl::StrCat("occurred_at {", e.occurred_at().seconds(), "s, ", e.occurred_at().nanos(),
                      "ns} is not a valid time of the past"));
  }

  // The payload: a known message of the topic's service, of the type the envelope names.
  const Descriptor* type =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(e.event_type());
  std::unique_ptr<Message> payload;
  if (type == nullptr) {
    Fail("event_type", where, absl::StrCat("'", e.event_type(), "' is no known message"));
  } else if (!service.empty() &&
             !absl::StartsWith(e.event_type(), absl::StrCat("techtrade.", service, ".v1."))) {
    Fail("event_type", where,
         absl::StrCat("'", e.event_type(), "' is not a message of the ", service, " service"));
  } else if (e.payload().type_url() != absl::StrCat(kTypeUrlPrefix, e.event_type())) {
    Fail("event_type", where,
         absl::StrCat("the payload's type URL '", e.payload().type_url(), "' is not ",
                      kTypeUrlPrefix, e.event_type()));
  } else {
    payload.reset(google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
    if (!payload->ParseFromString(e.payload().value())) {
      Fail("event_type", where, "the payload does not parse as " + e.event_type());
      payload.reset();
    }
  }
  if (payload != nullptr) {
    if (const FieldDescriptor* key = type->FindFieldByName("idempotency_key");
        key != nullptr && key->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
        !key->is_repeated()) {
      const std::string expected = absl::StrCat(e.aggregate_id(), ":", e.sequence());
      const std::string actual = payload->GetReflection()->GetString(*payload, key);
      if (actual != expected) {
        Fail("idempotency_key", where,
             absl::StrCat("idempotency_key '", actual, "', expected '", expected, "'"));
      }
    }
    if (std::optional<int64_t> version = PayloadVersion(*payload, e.aggregate_id())) {
      ++stats_.versions_checked[e.event_type()];
      if (*version != e.sequence()) {
        Fail("version", where,
             absl::StrCat("the payload's ", e.aggregate_type(), " is at version ", *version,
                          ", the event's sequence is ", e.sequence()));
      }
    } else {
      stats_.types_without_version.insert(e.event_type());
    }
  }

  CheckSequence(r, where, e.aggregate_type(), e.aggregate_id(), e.sequence(), e.event_id());
}

void EventContractChecker::CheckSequence(const Record& r, const std::string& where,
                                         const std::string& aggregate_type,
                                         const std::string& aggregate_id, int64_t sequence,
                                         const std::string& event_id) {
  auto [it, created] =
      chains_.try_emplace({r.topic, absl::StrCat(aggregate_type, "/", aggregate_id)});
  Chain& chain = it->second;
  if (created) {
    chain.aggregate_type = aggregate_type;
    chain.partition = r.partition;
  } else if (chain.partition != r.partition) {
    Fail("partition", where,
         absl::StrCat("the aggregate's earlier events are in partition ", chain.partition));
  }
  const int64_t expected = chain.last_sequence + 1;
  if (sequence == expected) {
    chain.last_sequence = sequence;
    chain.last_event_id = event_id;
    return;
  }
  if (sequence == 1 && options_.reused_id_types.count(aggregate_type) > 0) {
    ++stats_.restarted_chains;  // the same id created afresh in another scratch database
    chain.last_sequence = 1;
    chain.last_event_id = event_id;
    chain.partition = r.partition;
    return;
  }
  if (sequence > expected) {
    Fail("sequence", where,
         absl::StrCat("gap: sequence ", sequence, " after ", chain.last_sequence,
                      chain.last_sequence == 0 ? " (the aggregate's first event)" : ""));
  } else {
    Fail("sequence", where,
         absl::StrCat("sequence ", sequence, " again (or out of order) after ", chain.last_sequence,
                      ", under another event id than ",
                      chain.last_event_id.empty() ? "before" : chain.last_event_id));
  }
  // Go on from what the record says, so that one fault is reported once.
  chain.last_sequence = std::max(chain.last_sequence, sequence);
  chain.last_event_id = event_id;
}

std::vector<Violation> EventContractChecker::Finish() {
  stats_.violations_per_rule.clear();
  for (const Violation& v : violations_) ++stats_.violations_per_rule[v.rule];
  return violations_;
}

std::string Report(const std::vector<Violation>& violations, const CheckerStats& stats) {
  std::string out =
      absl::StrCat("event contract (docs/events.md): ", stats.records, " records, ", stats.events,
                   " events, ", stats.redeliveries, " redeliveries (identical copies), ",
                   stats.injected, " injected by tests and left out, ", stats.restarted_chains,
                   " chains restarted under reused ids\n");
  for (const auto& [topic, n] : stats.per_topic) absl::StrAppend(&out, "  ", topic, ": ", n, "\n");
  int64_t versions = 0;
  for (const auto& [type, n] : stats.versions_checked) versions += n;
  absl::StrAppend(&out, "  version = sequence checked on ", versions, " events of ",
                  stats.versions_checked.size(), " types; payloads without a version: ",
                  stats.types_without_version.empty()
                      ? "none"
                      : absl::StrJoin(stats.types_without_version, ", "),
                  "\n");
  if (violations.empty()) {
    absl::StrAppend(&out, "no violations\n");
    return out;
  }
  absl::StrAppend(&out, violations.size(), " violations:");
  for (const auto& [rule, n] : stats.violations_per_rule) absl::StrAppend(&out, " ", rule, " ", n);
  absl::StrAppend(&out, "\n");
  for (const Violation& v : violations) {
    absl::StrAppend(&out, "VIOLATION [", v.rule, "] ", v.where, ": ", v.detail, "\n");
  }
  return out;
}

}  // namespace techtrade::contract
