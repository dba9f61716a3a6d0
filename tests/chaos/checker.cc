// The chaos checker: invariants 1–6 of docs/chaos.md, run once the platform has settled.
#include <librdkafka/rdkafkacpp.h>
#include <sys/wait.h>

#include <cstdio>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "techtrade/fund/v1/fund.grpc.pb.h"
#include "techtrade/listings/v1/listings.grpc.pb.h"
#include "tests/chaos/chaos.h"

namespace techtrade::chaos {

namespace lv1 = techtrade::listings::v1;
namespace fv1 = techtrade::fund::v1;

namespace {

constexpr char kDealTopic[] = "techtrade.transactions.events.v1";
constexpr char kFundTopic[] = "techtrade.fund.events.v1";

// Sum over partitions of (end offset - committed offset) of `group` on `topic`; -1 if unknown.
int64_t GroupLag(const std::string& brokers, const std::string& group, const std::string& topic) {
  absl::StatusOr<std::map<int32_t, int64_t>> ends =
      KafkaConsumer::EndOffsets(brokers, topic, absl::Seconds(5));
  if (!ends.ok()) return -1;
  std::string error;
  auto conf = MakeKafkaConf(
      {{"bootstrap.servers", brokers}, {"group.id", group}, {"enable.auto.commit", "false"}});
  if (!conf.ok()) return -1;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(conf->get(), error));
  if (consumer == nullptr) return -1;
  std::vector<RdKafka::TopicPartition*> parts;
  for (const auto& [p, end] : *ends) parts.push_back(RdKafka::TopicPartition::create(topic, p));
  int64_t lag = 0;
  if (consumer->committed(parts, 5000) != RdKafka::ERR_NO_ERROR) {
    lag = -1;
  } else {
    for (auto* tp : parts) {
      const int64_t end = ends->at(tp->partition());
      const int64_t committed = tp->offset() < 0 ? 0 : tp->offset();
      lag += std::max<int64_t>(0, end - committed);
    }
  }
  RdKafka::TopicPartition::destroy(parts);
  consumer->close();
  return lag;
}

std::string Short(const std::string& s, size_t n = 400) {
  return s.size() <= n ? s : s.substr(0, n) + "…";
}

}  // namespace

TopicMarks TopicMarks::Now(const std::string& brokers) {
  TopicMarks m;
  for (const char* t : kTopics) {
    absl::StatusOr<std::map<int32_t, int64_t>> ends =
        KafkaConsumer::EndOffsets(brokers, t, absl::Seconds(10));
    if (!ends.ok()) throw std::runtime_error(ends.status().ToString());
    m.start[t] = *ends;
  }
  // The reference partner's group, committed at the current ends of both of its topics.
  m.partner_group = "chaos-partner-" + RandomHex(6);
  std::string error;
  auto conf = MakeKafkaConf({{"bootstrap.servers", brokers}, {"group.id", m.partner_group}});
  if (!conf.ok()) throw std::runtime_error(conf.status().ToString());
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(conf->get(), error));
  if (consumer == nullptr) throw std::runtime_error(error);
  std::vector<RdKafka::TopicPartition*> offsets;
  for (const char* t : {kDealTopic, kFundTopic}) {
    for (const auto& [p, o] : m.start[t]) {
      offsets.push_back(RdKafka::TopicPartition::create(t, p, o));
    }
  }
  // A fresh broker answers "not coordinator" until its offsets topic exists: retry a while.
  RdKafka::ErrorCode err = RdKafka::ERR_NO_ERROR;
  for (int attempt = 0; attempt < 60; ++attempt) {
    err = consumer->commitSync(offsets);
    if (err == RdKafka::ERR_NO_ERROR) break;
    absl::SleepFor(absl::Seconds(1));
  }
  RdKafka::TopicPartition::destroy(offsets);
  consumer->close();
  if (err != RdKafka::ERR_NO_ERROR) throw std::runtime_error(RdKafka::err2str(err));
  return m;
}

Checker::Checker(Platform& platform, const TopicMarks& marks, std::vector<Ack> acks,
                 std::string partner_key, CheckOptions options)
    : platform_(platform),
      marks_(marks),
      acks_(std::move(acks)),
      partner_key_(std::move(partner_key)),
      options_(options) {}

bool Checker::Settle() {
  const std::string& brokers = platform_.stack().kafka_brokers;
  const absl::Time deadline = absl::Now() + options_.settle_timeout;
  std::string last;
  while (absl::Now() < deadline) {
    std::string pending;
    try {
      for (const char* s : kServices) {
        int64_t n = platform_.Db(s).QueryInt("SELECT count(*) FROM outbox");
        if (n > 0) absl::StrAppend(&pending, s, " outbox ", n, "; ");
      }
    } catch (const std::exception& e) {
      pending += std::string("database: ") + e.what();
    }
    const auto& g = platform_.groups();
    for (const auto& [name, topic] : std::vector<std::pair<std::string, std::string>>{
             {"listings.registry", "techtrade.registry.events.v1"},
             {"listings.transactions", kDealTopic},
             {"fund.transactions", kDealTopic},
             {"fund.registry", "techtrade.registry.events.v1"}}) {
      int64_t lag = GroupLag(brokers, g.at(name), topic);
      if (lag != 0) absl::StrAppend(&pending, name, " lag ", lag, "; ");
    }
    if (pending.empty()) {
      absl::SleepFor(absl::Seconds(2));  // read-model followers and offset commits
      return true;
    }
    if (pending != last) std::cerr << "chaos: settling: " << pending << "\n";
    last = pending;
    absl::SleepFor(absl::Seconds(1));
  }
  std::cerr << "chaos: did not settle within " << options_.settle_timeout << ": " << last << "\n";
  return false;
}

const std::vector<Checker::TopicEvent>& Checker::Events(const std::string& topic) {
  auto it = events_.find(topic);
  if (it != events_.end()) return it->second;
  std::vector<TopicEvent>& out = events_[topic];
  const std::string& brokers = platform_.stack().kafka_brokers;
  absl::StatusOr<std::map<int32_t, int64_t>> ends =
      KafkaConsumer::EndOffsets(brokers, topic, absl::Seconds(10));
  if (!ends.ok()) {
    std::cerr << "chaos: end offsets of " << topic << ": " << ends.status() << "\n";
    return out;
  }
  auto consumer = KafkaConsumer::CreateTail(brokers, topic, marks_.start.at(topic));
  if (!consumer.ok()) {
    std::cerr << "chaos: reader of " << topic << ": " << consumer.status() << "\n";
    return out;
  }
  std::map<int32_t, int64_t> next = marks_.start.at(topic);
  auto done = [&] {
    for (const auto& [p, end] : *ends) {
      if (next[p] < end) return false;
    }
    return true;
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  while (!done() && absl::Now() < deadline) {
    std::unique_ptr<RdKafka::Message> m = (*consumer)->Poll(absl::Milliseconds(200));
    if (m == nullptr) continue;
    techtrade::common::v1::EventEnvelope e;
    if (!e.ParseFromArray(m->payload(), static_cast<int>(m->len()))) continue;
    next[m->partition()] = m->offset() + 1;
    out.push_back({e.aggregate_type(), e.aggregate_id(), e.event_id(), e.event_type(), e.sequence(),
                   m->partition(), m->offset()});
  }
  if (!done()) std::cerr << "chaos: " << topic << " not read to its end in 90 s\n";
  checked["events read"] += static_cast<int64_t>(out.size());
  return out;
}

std::vector<Violation> Checker::CheckAll() {
  std::vector<Violation> all;
  for (auto f : {&Checker::CheckAcknowledged, &Checker::CheckTopics, &Checker::CheckOutboxAndInbox,
                 &Checker::CheckLedger, &Checker::CheckListings, &Checker::CheckPartner}) {
    try {
      std::vector<Violation> v = (this->*f)();
      all.insert(all.end(), v.begin(), v.end());
    } catch (const std::exception& e) {
      all.push_back({0, std::string("checker failed: ") + e.what()});
    }
  }
  return all;
}

// 1. Every acknowledged command's effect is present: the same request answers the same, and the
// resource's version is at least what was acknowledged.
std::vector<Violation> Checker::CheckAcknowledged() {
  std::vector<Violation> out;
  std::map<std::string, std::map<std::string, int64_t>> versions;  // kind → id → version
  for (const char* kind : {"pilot_cities", "organizations", "api_clients", "offers", "demands",
                           "deals", "programmes", "applications"}) {
    std::string service =
        std::string(kind) == "offers" || std::string(kind) == "demands"            ? "listings"
        : std::string(kind) == "deals"                                             ? "transactions"
        : std::string(kind) == "programmes" || std::string(kind) == "applications" ? "fund"
                                                                                   : "registry";
    for (const auto& row :
         Query(platform_.DbUrl(service), absl::StrCat("SELECT id::text, version FROM ", kind))) {
      versions[kind][row[0]] = std::stoll(row[1]);
    }
  }
  for (const Ack& a : acks_) {
    checked["acknowledged commands"]++;
    auto table = versions.find(a.kind);
    int64_t stored = -1;
    if (table != versions.end()) {
      auto it = table->second.find(a.id);
      if (it != table->second.end()) stored = it->second;
    }
    if (stored < a.version) {
      out.push_back({1, absl::StrCat(a.method, " request_id=", a.request_id, " acknowledged ",
                                     a.kind, " ", a.id, " at version ", a.version,
                                     stored < 0 ? std::string(", which does not exist")
                                                : absl::StrCat(", stored version is ", stored))});
      continue;
    }
    // Replayed: every acknowledgement that needed a retry or met a fault, and a tenth of the
    // others (bounded check time on long runs).
    const bool replay =
        a.attempts > 1 || a.under_fault || (checked["acknowledged commands"] % 10 == 1);
    if (a.replay && replay) {
      checked["re-issued"]++;
      auto again = a.replay();
      if (!again.ok()) {
        // A retry of a call that succeeded must get its answer, however the world moved on
        // since (an organisation suspended, a listing withdrawn).
        out.push_back(
            {1, absl::StrCat(a.method, " request_id=", a.request_id, " acknowledged ", a.id, " v",
                             a.version, ", re-issued is refused: ", again.status().ToString())});
      } else if (again->first != a.id || again->second != a.version) {
        out.push_back({1, absl::StrCat(a.method, " request_id=", a.request_id, " acknowledged ",
                                       a.id, " v", a.version, ", re-issued answers ", again->first,
                                       " v", again->second)});
      }
    }
  }
  return out;
}

// 2. Every committed change is on its topic exactly once: per aggregate, sequences 1..version,
// each under one event id.
std::vector<Violation> Checker::CheckTopics() {
  std::vector<Violation> out;
  struct Source {
    const char* service;
    const char* topic;
    const char* sql;
  };
  const Source sources[] = {
      {"registry", kTopics[0], "SELECT id::text, version FROM pilot_cities"},
      {"registry", kTopics[0], "SELECT id::text, version FROM organizations"},
      {"registry", kTopics[0], "SELECT id::text, version FROM api_clients"},
      {"listings", kTopics[1], "SELECT id::text, version FROM offers"},
      {"listings", kTopics[1], "SELECT id::text, version FROM demands"},
      {"listings", kTopics[1],
       "SELECT organization_id::text, version FROM organization_visibility"},
      {"transactions", kTopics[2], "SELECT id::text, version FROM deals"},
      {"fund", kTopics[3], "SELECT id::text, version FROM programmes"},
      {"fund", kTopics[3], "SELECT id::text, version FROM applications"},
  };
  std::map<std::string, std::map<std::string, int64_t>> expected;  // topic → aggregate → version
  for (const Source& s : sources) {
    for (const auto& row : Query(platform_.DbUrl(s.service), s.sql)) {
      expected[s.topic][row[0]] = std::stoll(row[1]);
    }
  }
  for (const char* topic : kTopics) {
    // aggregate → sequence → event ids
    std::map<std::string, std::map<int64_t, std::set<std::string>>> seen;
    std::map<std::string, std::string> example;
    for (const TopicEvent& e : Events(topic)) {
      if (!expected[topic].contains(e.aggregate_id)) continue;  // not this run's
      auto& ids = seen[e.aggregate_id][e.sequence];
      ids.insert(e.event_id);
      if (ids.size() > 1) {
        out.push_back({2, absl::StrCat(topic, ": ", e.aggregate_type, " ", e.aggregate_id,
                                       " sequence ", e.sequence, " repeated under event ids ",
                                       *ids.begin(), " and ", *ids.rbegin(), " (", e.event_type,
                                       ", partition ", e.partition, " offset ", e.offset, ")")});
      }
    }
    for (const auto& [aggregate, version] : expected[topic]) {
      checked["aggregates"]++;
      checked["committed versions"] += version;
      const auto& by_seq = seen[aggregate];
      for (int64_t s = 1; s <= version; ++s) {
        if (!by_seq.contains(s)) {
          out.push_back(
              {2, absl::StrCat(topic, ": ", aggregate, " is at version ", version, " but sequence ",
                               s, " was never published (", by_seq.size(), " sequences seen)")});
          break;
        }
      }
      if (!by_seq.empty() && by_seq.rbegin()->first > version) {
        out.push_back(
            {2, absl::StrCat(topic, ": ", aggregate, " is at version ", version, " but sequence ",
                             by_seq.rbegin()->first, " was published")});
      }
    }
  }
  return out;
}

// 3. Outboxes drained; effects of consumed events single.
std::vector<Violation> Checker::CheckOutboxAndInbox() {
  std::vector<Violation> out;
  for (const char* s : kServices) {
    int64_t n = platform_.Db(s).QueryInt("SELECT count(*) FROM outbox");
    if (n != 0) {
      auto rows = Query(platform_.DbUrl(s),
                        "SELECT aggregatetype, aggregateid, sequence, type FROM outbox "
                        "ORDER BY position LIMIT 1");
      // Empty when the relay drained the rows between the two reads: not a violation.
      if (!rows.empty()) {
        out.push_back({3, absl::StrCat(s, ": ", n, " outbox rows never drained, first ", rows[0][0],
                                       " ", rows[0][1], " #", rows[0][2], " ", rows[0][3])});
      }
    }
    int64_t dead = platform_.Db(s).QueryInt("SELECT count(*) FROM inbox_dead_letter");
    checked["dead letters"] += dead;
  }
  // The fund: one entry per (application, kind, tranche); no second reservation, release or
  // clawback, no tranche paid twice.
  for (const auto& row : Query(platform_.DbUrl("fund"),
                               "SELECT application_id::text, kind, coalesce(tranche, ''), "
                               "count(*) FROM ledger_entries WHERE application_id IS NOT NULL "
                               "GROUP BY 1, 2, 3 HAVING count(*) > 1 LIMIT 5")) {
    out.push_back(
        {3, absl::StrCat("fund ledger: application ", row[0], " has ", row[3], " '", row[1],
                         "' entries", row[2].empty() ? "" : " for tranche ", row[2])});
  }
  // Listings: an organisation's visibility follows its registry status exactly.
  std::map<std::string, std::string> status;  // org → registry status
  for (const auto& row :
       Query(platform_.DbUrl("registry"), "SELECT id::text, status FROM organizations")) {
    status[row[0]] = row[1];
  }
  for (const auto& row : Query(platform_.DbUrl("listings"),
                               "SELECT organization_id::text, hidden, version "
                               "FROM organization_visibility")) {
    checked["visibility rows"]++;
    auto it = status.find(row[0]);
    if (it == status.end()) continue;
    const bool hidden = row[1] == "t";
    if (hidden != (it->second == "3")) {
      out.push_back(
          {3, absl::StrCat("listings: organisation ", row[0], " has registry status ", it->second,
                           " but its listings are ", hidden ? "hidden" : "shown",
                           " (visibility version ", row[2], ")")});
    }
  }
  for (const auto& [org, st] : status) {
    if (st != "3") continue;
    auto rows = Query(platform_.DbUrl("listings"),
                      "SELECT count(*) FROM organization_visibility WHERE hidden AND "
                      "organization_id = '" +
                          org + "'");
    if (rows[0][0] != "1") {
      out.push_back({3, absl::StrCat("listings: organisation ", org,
                                     " is suspended but its listings are not hidden")});
    }
  }
  return out;
}

// 4. The fund's ledger balances and agrees with the applications and the deals.
std::vector<Violation> Checker::CheckLedger() {
  std::vector<Violation> out;
  auto stub = fv1::FundService::NewStub(platform_.Channel("fund", 0));
  fv1::ReconcileRequest r;
  fv1::ReconcileResponse resp;
  grpc::Status s;
  for (int attempt = 0; attempt < 10; ++attempt) {
    // The operator's Reconcile covers every partner's applications, a partner's only its own.
    s = stub->Reconcile(testing::AuthedContext(platform_.operator_key(), absl::Seconds(30)).get(),
                        r, &resp);
    if (s.ok()) break;
    absl::SleepFor(absl::Seconds(1));
  }
  if (!s.ok()) {
    out.push_back({4, "Reconcile failed: " + s.error_message()});
  } else {
    checked["ledger entries"] += resp.entries_checked();
    for (const auto& p : resp.programmes()) {
      if (!p.balanced() || p.mismatched_application_ids_size() > 0) {
        out.push_back({4, absl::StrCat("programme ", p.programme_id(), " not balanced: recorded ",
                                       p.recorded().ShortDebugString(), " recomputed ",
                                       p.recomputed().ShortDebugString(), "; mismatched ",
                                       p.mismatched_application_ids_size(), " applications")});
      }
    }
    if (!resp.balanced() && out.empty()) out.push_back({4, "Reconcile: not balanced"});
  }
  // Per application: the ledger's sums equal the application's amounts, and those follow from
  // its deal's final state.
  std::map<std::string, int> deal_state;
  for (const auto& row :
       Query(platform_.DbUrl("transactions"), "SELECT id::text, state FROM deals")) {
    deal_state[row[0]] = std::stoi(row[1]);
  }
  const auto apps = Query(platform_.DbUrl("fund"),
                          "SELECT a.id::text, a.deal_id::text, a.status, a.approved, a.disbursed, "
                          "a.released, a.clawed_back, "
                          "coalesce(sum(e.amount) FILTER (WHERE e.kind = 'reserve'), 0), "
                          "coalesce(sum(e.amount) FILTER (WHERE e.kind = 'disburse'), 0), "
                          "coalesce(sum(e.amount) FILTER (WHERE e.kind = 'release'), 0), "
                          "coalesce(sum(e.amount) FILTER (WHERE e.kind = 'clawback'), 0) "
                          "FROM applications a LEFT JOIN ledger_entries e "
                          "ON e.application_id = a.id GROUP BY a.id");
  for (const auto& a : apps) {
    checked["applications"]++;
    const int status = std::stoi(a[2]);
    const int64_t approved = std::stoll(a[3]), disbursed = std::stoll(a[4]),
                  released = std::stoll(a[5]), clawed = std::stoll(a[6]);
    const int64_t e_reserve = std::stoll(a[7]), e_disburse = std::stoll(a[8]),
                  e_release = std::stoll(a[9]), e_claw = std::stoll(a[10]);
    if (e_reserve != approved || e_disburse != disbursed || e_release != released ||
        e_claw != clawed) {
      out.push_back(
          {4, absl::StrCat("application ", a[0],
                           ": amounts approved/disbursed/released/"
                           "clawed ",
                           approved, "/", disbursed, "/", released, "/", clawed, " but ledger ",
                           e_reserve, "/", e_disburse, "/", e_release, "/", e_claw)});
      continue;
    }
    const int state = deal_state.contains(a[1]) ? deal_state[a[1]] : 0;
    const bool granted = status == 2 || status == 4;
    if (state == 6 && granted && disbursed != approved) {  // COMPLETED
      out.push_back({4, absl::StrCat("application ", a[0], ": deal ", a[1], " completed but ",
                                     disbursed, " of ", approved, " disbursed")});
    }
    if (state == 6 && granted && status != 4) {
      out.push_back({4, absl::StrCat("application ", a[0], ": deal ", a[1],
                                     " completed but the application is not COMPLETED (status ",
                                     status, ")")});
    }
    if (state == 7 && (status == 2 || status == 4 || status == 1)) {  // CANCELLED
      out.push_back({4, absl::StrCat("application ", a[0], ": deal ", a[1],
                                     " cancelled but the application has status ", status)});
    }
    if (state == 7 && status == 5 && (released + disbursed != approved || clawed != disbursed)) {
      out.push_back({4, absl::StrCat("application ", a[0], ": deal ", a[1], " cancelled: approved ",
                                     approved, ", disbursed ", disbursed, ", released ", released,
                                     ", clawed back ", clawed)});
    }
  }
  return out;
}

// 5. Every listings replica's read model equals the database.
std::vector<Violation> Checker::CheckListings() {
  std::vector<Violation> out;
  std::vector<std::string> hidden_orgs;
  // `listed`: the statuses search shows (docs/listings.md).
  auto expected = [&](const char* table, const char* owner, const char* listed) {
    std::map<std::string, int64_t> m;
    for (const auto& row : Query(platform_.DbUrl("listings"),
                                 absl::StrCat("SELECT t.id::text, t.version FROM ", table,
                                              " t WHERE t.status IN (", listed,
                                              ") AND NOT EXISTS (SELECT 1 "
                                              "FROM organization_visibility v WHERE v.hidden AND "
                                              "v.organization_id = t.",
                                              owner, ")"))) {
      m[row[0]] = std::stoll(row[1]);
    }
    return m;
  };
  std::string diff;
  const absl::Time deadline = absl::Now() + options_.listings_timeout;
  do {
    diff.clear();
    const auto offers = expected("offers", "owner_org_id", "2, 3");  // published, negotiating
    const auto demands = expected("demands", "seeker_org_id", "2");
    for (int i = 0; i < platform_.replicas() && diff.empty(); ++i) {
      auto stub = lv1::ListingsService::NewStub(platform_.Channel("listings", i));
      for (lv1::ListingKind kind : {lv1::LISTING_KIND_OFFER, lv1::LISTING_KIND_DEMAND}) {
        std::map<std::string, int64_t> got;
        std::string token;
        bool failed = false;
        for (int page = 0; page < 1000; ++page) {
          lv1::SearchRequest q;
          q.set_kind(kind);
          q.set_page_size(100);
          q.set_page_token(token);
          lv1::SearchResponse resp;
          grpc::Status s =
              stub->Search(testing::AuthedContext(partner_key_, absl::Seconds(10)).get(), q, &resp);
          if (!s.ok()) {
            diff = absl::StrCat("listings#", i, " Search failed: ", s.error_message());
            failed = true;
            break;
          }
          for (const auto& h : resp.hits()) {
            got[h.id()] =
                kind == lv1::LISTING_KIND_OFFER ? h.offer().version() : h.demand().version();
          }
          token = resp.next_page_token();
          if (token.empty()) break;
        }
        if (failed) break;
        const auto& want = kind == lv1::LISTING_KIND_OFFER ? offers : demands;
        const char* what = kind == lv1::LISTING_KIND_OFFER ? "offer" : "demand";
        for (const auto& [id, v] : want) {
          auto it = got.find(id);
          if (it == got.end()) {
            diff = absl::StrCat("listings#", i, ": ", what, " ", id, " v", v,
                                " is listed and visible in the database but not searchable");
          } else if (it->second != v) {
            diff = absl::StrCat("listings#", i, ": ", what, " ", id, " is v", v,
                                " in the database but v", it->second, " in the read model");
          }
          if (!diff.empty()) break;
        }
        for (const auto& [id, v] : got) {
          if (!diff.empty()) break;
          if (!want.contains(id)) {
            diff = absl::StrCat("listings#", i, ": ", what, " ", id, " v", v,
                                " is searchable but not listed and visible in the database");
          }
        }
        checked["listings compared"] += static_cast<int64_t>(want.size());
        if (!diff.empty()) break;
      }
    }
    if (diff.empty()) break;
    absl::SleepFor(absl::Seconds(2));
  } while (absl::Now() < deadline);
  if (!diff.empty()) out.push_back({5, diff});
  return out;
}

// 6. The reference partner consumer read every deal's and application's stream complete and in
// order.
std::vector<Violation> Checker::CheckPartner() {
  std::vector<Violation> out;
  // What it must count: every sequence of this run's deals, programmes and applications.
  int64_t expected = 0;
  for (const auto& [service, sql] : std::vector<std::pair<std::string, std::string>>{
           {"transactions", "SELECT coalesce(sum(version), 0) FROM deals"},
           {"fund", "SELECT coalesce(sum(version), 0) FROM programmes"},
           {"fund", "SELECT coalesce(sum(version), 0) FROM applications"}}) {
    expected += platform_.Db(service).QueryInt(sql);
  }
  const std::string cmd =
      absl::StrCat(testing::BinaryPath("techtrade-partner"), " --brokers ",
                   platform_.stack().kafka_brokers, " --group ", marks_.partner_group,
                   " --idle_exit_seconds ", options_.partner_idle_exit_seconds, " 2>&1");
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {{6, "could not run " + cmd}};
  std::string line, last, first_problem;
  char buf[4096];
  int64_t lines = 0;
  while (fgets(buf, sizeof buf, p) != nullptr) {
    line = buf;
    ++lines;
    if (first_problem.empty() && (line.rfind("GAP", 0) == 0 || line.rfind("CONFLICT", 0) == 0 ||
                                  line.rfind("UNREADABLE", 0) == 0)) {
      first_problem = line;
    }
    if (line.find(" events over ") != std::string::npos) last = line;
  }
  const int status = pclose(p);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  int64_t events = -1;
  if (!last.empty()) events = std::stoll(last.substr(0, last.find(' ')));
  checked["partner events"] += std::max<int64_t>(events, 0);
  if (code != 0 || !first_problem.empty()) {
    out.push_back(
        {6, absl::StrCat("techtrade-partner exited with ", code,
                         first_problem.empty() ? "" : ": first problem: ", Short(first_problem))});
  }
  if (events != expected) {
    out.push_back({6, absl::StrCat("techtrade-partner counted ", events,
                                   " events; the deals, programmes and applications of the run "
                                   "committed ",
                                   expected, " versions (", Short(last), ")")});
  }
  return out;
}

}  // namespace techtrade::chaos
