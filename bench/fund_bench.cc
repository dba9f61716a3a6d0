// `make bench`, fund: applications decided per second with the fund's real database work (each
// one approved, reserved and its signing tranche disbursed against the one programme's balances
// row), next to a raw single-row PostgreSQL insert at the same concurrency; and the time to
// reconcile a ledger of a million entries — all against real processes on the real stack.
//
// The signed deals the applications are for are published as synthetic but valid ContractSigned
// events straight onto techtrade.transactions.events.v1, as the transactions service would, so the
// fund's consumer builds its projection exactly as in production without the bench paying for
// thousands of deal life cycles first.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <pqxx/pqxx>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/load.h"
#include "bench/services.h"
#include "common/auth.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/server.h"
#include "google/protobuf/util/time_util.h"
#include "techtrade/common/v1/common.pb.h"
#include "techtrade/fund/v1/fund.grpc.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"
#include "tests/support/harness.h"

ABSL_FLAG(std::string, out, "bench/out/latest.json", "JSON file to merge results into");
ABSL_FLAG(int, seconds, 5, "duration of the raw insert baseline");
ABSL_FLAG(int, concurrency, 8, "client threads (applications in flight)");
ABSL_FLAG(int, deals, 3000, "signed deals applied for in the measured scenario");
ABSL_FLAG(int, warmup_deals, 300, "signed deals applied for before measuring");
ABSL_FLAG(int, budget_seconds, 20, "time bound of the measured application scenario");
ABSL_FLAG(int, buyers, 50, "distinct buyers the deals are spread over");
ABSL_FLAG(int, ledger_entries, 1000000, "ledger entries bulk-loaded for the reconcile scenario");
ABSL_FLAG(int, reconcile_runs, 3, "Reconcile calls timed per figure (the median is reported)");

namespace techtrade::bench {
namespace {

namespace v1 = techtrade::fund::v1;
namespace tv1 = techtrade::transactions::v1;
namespace lv1 = techtrade::listings::v1;
namespace reg = techtrade::registry::v1;
using google::protobuf::util::TimeUtil;
using testing::AuthedContext;
using Stub = v1::FundService::Stub;

constexpr char kDealTopic[] = "techtrade.transactions.events.v1";
constexpr char kCity[] = "bench-city";
// 1,000,000.00 CNY per contract; at 10% the subsidy is 100,000.00 CNY, 30% of it paid at signing.
constexpr int64_t kContractValue = 100'000'000;
constexpr int32_t kRateBps = 1000;
constexpr int64_t kSubsidy = kContractValue * kRateBps / 10000;
constexpr int64_t kSigningTranche = kSubsidy * 3000 / 10000;

google::protobuf::Timestamp Ts(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

techtrade::common::v1::Money Cny(int64_t minor) {
  techtrade::common::v1::Money m;
  m.set_currency("CNY");
  m.set_amount_minor(minor);
  return m;
}

// A deal as the transactions service has it right after SignContract: open, terms proposed by
// the seller, accepted by both, signed an hour ago.
tv1::Deal SignedDeal(const std::string& buyer_org_id, int buyer_number, absl::Time now) {
  tv1::Deal d;
  d.set_id(NewUuid());
  d.set_listing_id(NewUuid());
  d.set_listing_kind(lv1::LISTING_KIND_OFFER);
  d.set_city_id(kCity);
  tv1::Party* buyer = d.mutable_buyer();
  buyer->set_organization_id(buyer_org_id);
  buyer->set_credit_code(absl::StrFormat("91420100%09dX", buyer_number));
  buyer->set_name(absl::StrCat("Bench buyer ", buyer_number));
  buyer->set_city_id(kCity);
  buyer->set_kind(reg::ORGANIZATION_KIND_ENTERPRISE);
  tv1::Party* seller = d.mutable_seller();
  seller->set_organization_id(NewUuid());
  seller->set_credit_code("914201009999999990");
  seller->set_name("Bench seller");
  seller->set_city_id(kCity);
  seller->set_kind(reg::ORGANIZATION_KIND_UNIVERSITY);
  d.set_state(tv1::DEAL_STATE_SIGNED);
  tv1::Terms* terms = d.add_terms();
  terms->set_version(1);
  terms->set_proposed_by(tv1::PARTY_ROLE_SELLER);
  *terms->mutable_price() = Cny(kContractValue);
  terms->set_transfer_mode(lv1::TRANSFER_MODE_NON_EXCLUSIVE_LICENSE);
  terms->set_licence_scope("bench");
  terms->set_territory("CN");
  *terms->mutable_propose_time() = Ts(now - absl::Hours(30));
  for (int i = 1; i <= 2; ++i) {
    tv1::MilestonePlan* plan = terms->add_milestones();
    plan->set_title(absl::StrCat("milestone ", i));
    *plan->mutable_amount() = Cny(kContractValue / 2);
    *plan->mutable_due_time() = Ts(now + absl::Hours(24 * 30 * i));
    tv1::Milestone* m = d.add_milestones();
    m->set_index(i);
    m->set_title(plan->title());
    *m->mutable_amount() = plan->amount();
    *m->mutable_due_time() = plan->due_time();
    m->set_state(tv1::MILESTONE_STATE_PENDING);
  }
  d.set_buyer_accepted_version(1);
  d.set_seller_accepted_version(1);
  d.set_agreed_terms_version(1);
  d.mutable_contract()->set_registration_number("BENCH-" + d.id().substr(0, 8));
  *d.mutable_contract()->mutable_signing_time() = Ts(now - absl::Hours(1));
  *d.mutable_paid_total() = Cny(0);
  d.set_version(5);  // opened, proposed, accepted twice, signed
  *d.mutable_create_time() = Ts(now - absl::Hours(48));
  *d.mutable_update_time() = d.contract().signing_time();
  return d;
}

// Publishes a ContractSigned event per deal the way the transactions outbox relay does (envelope,
// headers, keyed by deal id) and waits for every acknowledgement; false on any failure.
bool PublishSigned(const std::string& brokers, const std::vector<tv1::Deal>& deals) {
  std::atomic<int64_t> delivered{0}, failed{0};
  absl::StatusOr<std::unique_ptr<KafkaProducer>> producer =
      KafkaProducer::Create(brokers, {{"linger.ms", "5"}},
                            [&](void*, const absl::Status& s) { ++(s.ok() ? delivered : failed); });
  if (!producer.ok()) {
    std::cerr << "kafka producer: " << producer.status() << "\n";
    return false;
  }
  for (const tv1::Deal& deal : deals) {
    tv1::ContractSigned event;
    *event.mutable_deal() = deal;
    event.set_idempotency_key(absl::StrCat(deal.id(), ":", deal.version()));
    *event.mutable_payment_schedule() = deal.milestones();
    techtrade::common::v1::EventEnvelope envelope;
    envelope.set_event_id(NewUuid());
    envelope.set_event_type(event.GetDescriptor()->full_name());
    envelope.set_aggregate_type("deal");
    envelope.set_aggregate_id(deal.id());
    envelope.set_sequence(deal.version());
    *envelope.mutable_occurred_at() = Ts(absl::Now());
    envelope.set_producer("transactions");
    envelope.set_causation_request_id("fund-bench-sign-" + deal.id());
    envelope.mutable_payload()->PackFrom(event);
    const std::vector<KafkaHeader> headers = {{"event_id", envelope.event_id()},
                                              {"event_type", envelope.event_type()},
                                              {"aggregate_type", envelope.aggregate_type()},
                                              {"aggregate_id", envelope.aggregate_id()},
                                              {"sequence", absl::StrCat(envelope.sequence())},
                                              {"producer", envelope.producer()}};
    absl::Status s =
        (*producer)->Produce(kDealTopic, deal.id(), envelope.SerializeAsString(), headers, nullptr);
    if (!s.ok()) {
      std::cerr << "produce: " << s << "\n";
      return false;
    }
    (*producer)->Poll(absl::ZeroDuration());
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (delivered + failed < static_cast<int64_t>(deals.size()) && absl::Now() < deadline &&
         !(*producer)->fatal()) {
    (*producer)->Poll(absl::Milliseconds(50));
  }
  if (delivered != static_cast<int64_t>(deals.size())) {
    std::cerr << "published " << delivered << " of " << deals.size() << " deal events (" << failed
              << " failed)\n";
    (*producer)->Purge();
    return false;
  }
  return true;
}

// Waits (bounded) until the fund's projection holds `expected` deals.
bool WaitForDeals(const testing::ScratchDatabase& db, int64_t expected, absl::Duration timeout) {
  const absl::Time start = absl::Now();
  int64_t seen = 0;
  while (absl::Now() - start < timeout) {
    seen = db.QueryInt(absl::StrCat("SELECT count(*) FROM deals WHERE state = ",
                                    static_cast<int>(tv1::DEAL_STATE_SIGNED)));
    if (seen >= expected) {
      std::fprintf(stderr, "bench: fund projected %lld signed deals in %.1f s\n",
                   static_cast<long long>(seen), absl::ToDoubleSeconds(absl::Now() - start));
      return true;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  std::cerr << "the fund projected " << seen << " of " << expected << " deals within " << timeout
            << "\n";
  return false;
}

// `threads` clients take items 0 … total-1 in turn, each a call(thread, item), until every item
// is done or `budget` has passed: bounded both ways. qps counts the successful calls.
ScenarioResult DrainLoop(const std::string& name, int threads, int64_t total, absl::Duration budget,
                         const std::function<bool(int, int64_t)>& call) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  const auto end = started + absl::ToChronoNanoseconds(budget);
  std::atomic<int64_t> next{0}, errors{0};
  std::vector<std::vector<double>> latencies(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int64_t i = next++; i < total && Clock::now() < end; i = next++) {
        const auto before = Clock::now();
        if (!call(t, i)) ++errors;
        latencies[t].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - before).count());
      }
    });
  }
  for (auto& w : workers) w.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  ScenarioResult r;
  r.name = name;
  r.calls = static_cast<int64_t>(all.size());
  r.errors = errors;
  r.qps = static_cast<double>(r.calls - r.errors) / seconds;
  r.p50_ms = Percentile(all, 50);
  r.p99_ms = Percentile(all, 99);
  std::fprintf(stderr,
               "bench: %-26s %8.0f qps  p50 %6.2f ms  p99 %6.2f ms  errors %lld  (%lld of %lld "
               "in %.1f s)\n",
               name.c_str(), r.qps, r.p50_ms, r.p99_ms, static_cast<long long>(r.errors),
               static_cast<long long>(r.calls), static_cast<long long>(total), seconds);
  return r;
}

v1::CreateProgrammeRequest Programme(const std::string& name, int64_t budget, absl::Time now) {
  v1::CreateProgrammeRequest r;
  r.set_request_id("programme-" + NewUuid());
  r.set_name(name);  // national: no city, so no registry look-up of one
  *r.mutable_start_time() = Ts(now - absl::Hours(24 * 30));
  *r.mutable_end_time() = Ts(now + absl::Hours(24 * 30));
  *r.mutable_total_budget() = Cny(budget);
  v1::ProgrammeRules* rules = r.mutable_rules();
  rules->add_eligible_transfer_modes(lv1::TRANSFER_MODE_NON_EXCLUSIVE_LICENSE);
  rules->add_eligible_transfer_modes(lv1::TRANSFER_MODE_ASSIGNMENT);
  rules->add_eligible_buyer_kinds(reg::ORGANIZATION_KIND_ENTERPRISE);
  v1::SubsidyBand* band = rules->add_bands();
  band->set_from_minor(0);
  band->set_rate_bps(kRateBps);
  rules->set_per_deal_cap_minor(1'000'000'000'000);
  rules->set_per_organization_annual_cap_minor(10'000'000'000'000);
  rules->set_auto_approval_threshold_minor(1'000'000'000'000);
  v1::Tranche* signing = rules->add_tranches();
  signing->set_trigger(v1::TRANCHE_TRIGGER_SIGNING);
  signing->set_share_bps(3000);
  v1::Tranche* completion = rules->add_tranches();
  completion->set_trigger(v1::TRANCHE_TRIGGER_COMPLETION);
  completion->set_share_bps(7000);
  rules->set_claw_back_on_cancellation(true);
  return r;
}

// One Reconcile call, timed; false (and a message) unless it answers balanced.
bool TimedReconcile(Stub& stub, const std::string& key, const std::string& programme_id,
                    int64_t min_entries, double* seconds, v1::ReconcileResponse* response) {
  v1::ReconcileRequest r;
  r.set_programme_id(programme_id);
  const absl::Time start = absl::Now();
  grpc::Status s = stub.Reconcile(AuthedContext(key, absl::Seconds(120)).get(), r, response);
  *seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!s.ok()) {
    std::cerr << "Reconcile: " << s.error_message() << "\n";
    return false;
  }
  if (!response->balanced() || response->entries_checked() < min_entries) {
    std::cerr << "Reconcile" << (programme_id.empty() ? " (all)" : "")
              << ": balanced=" << response->balanced()
              << " entries_checked=" << response->entries_checked()
              << " (expected >= " << min_entries << ")\n"
              << response->DebugString().substr(0, 2000) << "\n";
    return false;
  }
  return true;
}

double Median(std::vector<double> values) { return Percentile(values, 50); }

int Main() {
  const int threads = absl::GetFlag(FLAGS_concurrency);
  const int deals_measured = absl::GetFlag(FLAGS_deals);
  const int deals_warmup = absl::GetFlag(FLAGS_warmup_deals);
  const int buyers = std::max(1, absl::GetFlag(FLAGS_buyers));
  const int64_t ledger_entries = absl::GetFlag(FLAGS_ledger_entries);
  const int reconcile_runs = std::max(1, absl::GetFlag(FLAGS_reconcile_runs));
  std::vector<ScenarioResult> results;
  std::vector<Figure> figures;

  // --- The registry (API keys) and the fund, each on a fresh database; the fund reads deal
  // events from now on under a group of its own.
  const testing::Stack stack = testing::Stack::FromEnvironment();
  testing::ScratchDatabase registry_db(stack, "fund_bench_reg");
  testing::ScratchDatabase db(stack, "fund_bench");
  const std::string key = NewApiKey();
  std::map<std::string, std::string> common = {{"TECHTRADE_KAFKA_BROKERS", stack.kafka_brokers},
                                               {"TECHTRADE_REDIS_URL", stack.redis_url}};
  auto env = [&](const std::string& url, std::map<std::string, std::string> extra) {
    extra.insert(common.begin(), common.end());
    extra["TECHTRADE_PG_URL"] = url;
    return extra;
  };
  testing::ServiceProcess registry(
      "registry", env(registry_db.url(), {{"TECHTRADE_BOOTSTRAP_OPERATOR_KEY", key}}));
  if (!registry.WaitUntilServing()) return 1;
  testing::ServiceProcess fund(
      "fund", env(db.url(),
                  {{"TECHTRADE_REGISTRY_ADDR", registry.address()},
                   {"TECHTRADE_FUND_TRANSACTIONS_CONSUMER",
                    testing::ConsumerGroupAtEnd(stack.kafka_brokers, kDealTopic, "fund-bench")}}));
  if (!fund.WaitUntilServing()) return 1;
  auto stubs = Stubs<v1::FundService>(fund.address(), threads);
  const absl::Time now = absl::Now();

  // --- Applications: one programme with a budget no run can exhaust, many buyers.
  v1::Programme programme;
  {
    grpc::Status s = stubs[0]->CreateProgramme(
        AuthedContext(key).get(), Programme("Bench programme", 1'000'000'000'000'000, now),
        &programme);
    if (!s.ok()) {
      std::cerr << "CreateProgramme: " << s.error_message() << "\n";
      return 1;
    }
  }
  std::vector<std::string> buyer_ids;
  for (int b = 0; b < buyers; ++b) buyer_ids.push_back(NewUuid());
  std::vector<tv1::Deal> deals;
  for (int i = 0; i < deals_warmup + deals_measured; ++i) {
    deals.push_back(SignedDeal(buyer_ids[i % buyers], i % buyers + 1, now));
  }
  if (!PublishSigned(stack.kafka_brokers, deals)) return 1;
  if (!WaitForDeals(db, static_cast<int64_t>(deals.size()), absl::Seconds(60))) {
    std::cerr << "fund log: " << fund.log_path() << "\n";
    return 1;
  }

  std::atomic<int64_t> unexpected{0};
  auto submit = [&](int t, const tv1::Deal& deal) {
    v1::SubmitApplicationRequest r;
    r.set_request_id("apply-" + NewUuid());
    r.set_programme_id(programme.id());
    r.set_deal_id(deal.id());
    v1::Application a;
    grpc::Status s = stubs[t]->SubmitApplication(AuthedContext(key).get(), r, &a);
    if (!s.ok()) {
      std::cerr << "SubmitApplication: " << s.error_code() << " " << s.error_message() << "\n";
      return false;
    }
    // Approved at once, reserved, and the signing tranche paid out: the full decision.
    if (a.status() != v1::APPLICATION_STATUS_APPROVED || a.approved_minor() != kSubsidy ||
        a.disbursed_minor() != kSigningTranche) {
      if (unexpected++ < 3) std::cerr << "unexpected application: " << a.DebugString() << "\n";
      return false;
    }
    return true;
  };
  // Warm-up, not measured: pools, prepared statements, the caches of the key and the row.
  DrainLoop("warm-up", threads, deals_warmup, absl::Seconds(10),
            [&](int t, int64_t i) { return submit(t, deals[i]); });
  results.push_back(
      DrainLoop("fund.submit_application", threads, deals_measured,
                absl::Seconds(absl::GetFlag(FLAGS_budget_seconds)),
                [&](int t, int64_t i) { return submit(t, deals[deals_warmup + i]); }));
  results.back().note = absl::StrCat(
      "approve + reserve + signing tranche, one programme's balances row; ", buyers, " buyers");
  const int64_t approved = db.QueryInt(
      absl::StrCat("SELECT count(*) FROM applications WHERE status = 2 AND programme_id = '",
                   programme.id(), "'"));
  std::fprintf(stderr, "bench: %lld applications approved in the fund's database\n",
               static_cast<long long>(approved));

  // Raw single-row insert baseline at the same concurrency, on the fund's database.
  results.push_back(RawInsertBaseline("fund.raw_insert", db.url(), threads,
                                      absl::Seconds(absl::GetFlag(FLAGS_seconds))));

  // --- Reconcile: a programme made through the API, then a million entries in one statement
  // (reserve/release pairs of one fen for applications four entries each: net zero, so its
  // balances stay as they were and the ledger must still reconcile).
  v1::Programme ledger_programme;
  {
    grpc::Status s = stubs[0]->CreateProgramme(
        AuthedContext(key).get(), Programme("Bench ledger", 1'000'000'000, now), &ledger_programme);
    if (!s.ok()) {
      std::cerr << "CreateProgramme: " << s.error_message() << "\n";
      return 1;
    }
  }
  double load_seconds = 0;
  try {
    pqxx::connection conn(db.url());
    pqxx::nontransaction tx(conn);
    const absl::Time start = absl::Now();
    tx.exec_params(
        "INSERT INTO ledger_entries (programme_id, application_id, kind, debit, credit, amount) "
        "SELECT $1::uuid, md5('fund-bench-' || (g / 4))::uuid, "
        "CASE WHEN g % 2 = 0 THEN 'reserve' ELSE 'release' END, "
        "CASE WHEN g % 2 = 0 THEN 3 ELSE 2 END, CASE WHEN g % 2 = 0 THEN 2 ELSE 3 END, 1 "
        "FROM generate_series(0, $2::bigint - 1) g",
        ledger_programme.id(), ledger_entries);
    load_seconds = absl::ToDoubleSeconds(absl::Now() - start);
    // The steady state a ledger this size lives in (autovacuum would otherwise start part-way
    // through the timed calls): visibility map set, statistics current.
    tx.exec("VACUUM (ANALYZE) ledger_entries");
  } catch (const std::exception& e) {
    std::cerr << "ledger load: " << e.what() << "\n";
    return 1;
  }
  std::fprintf(stderr, "bench: %lld ledger entries loaded in %.1f s (one INSERT … SELECT)\n",
               static_cast<long long>(ledger_entries), load_seconds);

  std::vector<double> one_times, all_times;
  bool reconciled = true;
  int64_t all_entries = 0;
  for (int run = 0; run < reconcile_runs && reconciled; ++run) {
    double seconds = 0;
    v1::ReconcileResponse response;
    reconciled =
        TimedReconcile(*stubs[0], key, ledger_programme.id(), ledger_entries, &seconds, &response);
    one_times.push_back(seconds);
  }
  for (int run = 0; run < reconcile_runs && reconciled; ++run) {
    double seconds = 0;
    v1::ReconcileResponse response;
    reconciled =
        TimedReconcile(*stubs[0], key, "", ledger_entries + approved * 2, &seconds, &response);
    all_times.push_back(seconds);
    all_entries = response.entries_checked();
  }
  for (double s : one_times) std::fprintf(stderr, "bench: Reconcile (programme) %.3f s\n", s);
  for (double s : all_times) std::fprintf(stderr, "bench: Reconcile (all) %.3f s\n", s);
  const double reconcile_one = Median(one_times);
  const double reconcile_all = Median(all_times);
  {
    ScenarioResult r;
    r.name = "fund.reconcile_programme";
    r.calls = static_cast<int64_t>(one_times.size());
    r.errors = reconciled ? 0 : 1;
    r.qps = reconcile_one > 0 ? 1.0 / reconcile_one : 0;
    r.p50_ms = reconcile_one * 1000;
    r.p99_ms = *std::max_element(one_times.begin(), one_times.end()) * 1000;
    r.note = absl::StrCat("Reconcile of one programme, ", ledger_entries, " entries");
    results.push_back(r);
    r.name = "fund.reconcile_all";
    r.calls = static_cast<int64_t>(all_times.size());
    r.qps = reconcile_all > 0 ? 1.0 / reconcile_all : 0;
    r.p50_ms = reconcile_all * 1000;
    r.p99_ms = all_times.empty() ? 0 : *std::max_element(all_times.begin(), all_times.end()) * 1000;
    r.note = absl::StrCat("Reconcile of every programme, ", all_entries, " entries, ", approved,
                          " applications compared");
    results.push_back(r);
  }
  fund.Terminate();
  registry.Terminate();

  auto find = [&](const std::string& name) -> const ScenarioResult& { return Find(results, name); };
  const ScenarioResult& submit_result = find("fund.submit_application");
  const double per_s = submit_result.qps;
  const bool submit_clean = submit_result.errors == 0 && submit_result.calls > 0;
  const double raw = find("fund.raw_insert").qps;
  figures.push_back({"fund.applications_per_s", per_s, ">= 200", per_s >= 200 && submit_clean});
  figures.push_back({"fund.applications_vs_raw_insert", raw > 0 ? per_s / raw : 0, "info", true});
  figures.push_back({"fund.applications_p99_ms", submit_result.p99_ms, "info", true});
  figures.push_back(
      {"fund.reconcile_1m_s", reconcile_one, "<= 10", reconciled && reconcile_one <= 10});
  figures.push_back({"fund.reconcile_all_s", reconcile_all, "info", reconciled});
  figures.push_back({"fund.ledger_bulk_load_s", load_seconds, "info", true});
  Report(results, figures, absl::GetFlag(FLAGS_out));
  return 0;
}

}  // namespace
}  // namespace techtrade::bench

int main(int argc, char** argv) {
  techtrade::InitProcess();
  absl::ParseCommandLine(argc, argv);
  return techtrade::bench::Main();
}
