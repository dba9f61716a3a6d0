// `make bench`, fund: applications decided per second with the fund's real database work (each
// one approved, reserved and its signing tranche disbursed against the one programme's balances
// row), next to a raw single-row PostgreSQL insert at the same concurrency; and the time to
// reconcile a ledger of a million entries (250,000 applications whose amounts must agree with
// their entries) — all against real processes on the real stack.
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
#include <tuple>

#include "absl/flags/flag.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/bench_main.h"
#include "bench/fund_deals.h"
#include "bench/load.h"
#include "bench/registry_setup.h"
#include "bench/services.h"
#include "common/auth.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/money.h"
#include "common/server.h"
#include "google/protobuf/util/time_util.h"
#include "techtrade/common/v1/common.pb.h"
#include "techtrade/fund/v1/fund.grpc.pb.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"
#include "tests/support/harness.h"

ABSL_FLAG(int, seconds, 5, "duration of the raw insert baseline");
ABSL_FLAG(int, concurrency, 8, "client threads (applications in flight)");
ABSL_FLAG(int, deals, 3000, "signed deals applied for in the measured scenario");
ABSL_FLAG(int, warmup_deals, 300, "signed deals applied for before measuring");
ABSL_FLAG(int, one_client_deals, 500, "signed deals applied for by one client alone (info)");
ABSL_FLAG(int, budget_seconds, 15, "time bound of the measured application scenario");
ABSL_FLAG(int, buyers, 50, "distinct buyers the deals are spread over");
ABSL_FLAG(int, ledger_entries, 1000000, "ledger entries bulk-loaded for the reconcile scenario");
ABSL_FLAG(int, auto_deals, 2000, "registered deals decided without application, measured");
ABSL_FLAG(int, auto_warmup_deals, 200, "registered deals decided before measuring");
ABSL_FLAG(int, sellers, 50, "distinct sellers the registered deals are spread over");
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
// At 10% of kContractValue the subsidy is 100,000.00 CNY, 30% of it paid at signing.
constexpr int32_t kRateBps = 1000;
constexpr int64_t kSubsidy = kContractValue * kRateBps / 10000;
constexpr int64_t kSigningTranche = kSubsidy * 3000 / 10000;
// Each application of the reconciled ledger, under a 30% signing / 40% milestones / 30% completion
// plan: approved, paid at signing and for the first of two equal milestones, then the deal was
// cancelled and the rest released.
constexpr int64_t kLedgerApproved = 1000;
constexpr int64_t kLedgerSigning = 300;
constexpr int64_t kLedgerMilestone = 200;
constexpr int64_t kLedgerRelease = kLedgerApproved - kLedgerSigning - kLedgerMilestone;
constexpr int64_t kLedgerVersion = 4;  // submitted+decided, 2 tranches, released
constexpr char kLedgerApplicant[] = "0b0b0b0b-0000-4000-8000-00000000beef";

// Publishes a ContractSigned (or, `registered`, a ContractRegistered) event per deal the way the
// transactions outbox relay does (envelope, headers, keyed by deal id) and waits for every
// acknowledgement; false on any failure.
bool PublishDealEvents(const std::string& brokers, const std::vector<tv1::Deal>& deals,
                       bool registered = false) {
  std::atomic<int64_t> delivered{0}, failed{0};
  absl::StatusOr<std::unique_ptr<KafkaProducer>> producer =
      KafkaProducer::Create(brokers, {{"linger.ms", "5"}},
                            [&](void*, const absl::Status& s) { ++(s.ok() ? delivered : failed); });
  if (!producer.ok()) {
    std::cerr << "kafka producer: " << producer.status() << "\n";
    return false;
  }
  for (const tv1::Deal& deal : deals) {
    techtrade::common::v1::EventEnvelope envelope;
    if (registered) {
      tv1::ContractRegistered event;
      *event.mutable_deal() = deal;
      event.set_idempotency_key(absl::StrCat(deal.id(), ":", deal.version()));
      envelope.mutable_payload()->PackFrom(event);
    } else {
      tv1::ContractSigned event;
      *event.mutable_deal() = deal;
      event.set_idempotency_key(absl::StrCat(deal.id(), ":", deal.version()));
      *event.mutable_payment_schedule() = deal.milestones();
      envelope.mutable_payload()->PackFrom(event);
    }
    envelope.set_event_id(NewUuid());
    std::string type = envelope.payload().type_url();
    envelope.set_event_type(type.substr(type.rfind('/') + 1));
    envelope.set_aggregate_type("deal");
    envelope.set_aggregate_id(deal.id());
    envelope.set_sequence(deal.version());
    *envelope.mutable_occurred_at() = Ts(absl::Now());
    envelope.set_producer("transactions");
    envelope.set_causation_request_id("fund-bench-" + deal.id());
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

// 30% of a subsidy at signing, `milestones_bps` spread over the milestones, the rest at completion.
v1::CreateProgrammeRequest Programme(const std::string& name, int64_t budget, absl::Time now,
                                     int32_t milestones_bps = 0) {
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
  if (milestones_bps > 0) {
    v1::Tranche* milestones = rules->add_tranches();
    milestones->set_trigger(v1::TRANCHE_TRIGGER_MILESTONES);
    milestones->set_share_bps(milestones_bps);
  }
  v1::Tranche* completion = rules->add_tranches();
  completion->set_trigger(v1::TRANCHE_TRIGGER_COMPLETION);
  completion->set_share_bps(7000 - milestones_bps);
  rules->set_claw_back_on_cancellation(true);
  return r;
}

// The stored record of a ledger application without its id and deal id (fields 1 and 3, which
// the loading statement puts in front of it per row), hex-encoded.
std::string LedgerApplicationTemplateHex(const std::string& programme_id, absl::Time now) {
  v1::Application a;
  a.set_programme_id(programme_id);
  tv1::Party* applicant = a.mutable_applicant();
  applicant->set_organization_id(kLedgerApplicant);
  applicant->set_name("Bench ledger applicant");
  applicant->set_city_id(kCity);
  applicant->set_kind(reg::ORGANIZATION_KIND_ENTERPRISE);
  a.set_currency("CNY");
  a.set_year(static_cast<int>(absl::ToCivilYear(now, absl::FixedTimeZone(8 * 60 * 60)).year()));
  v1::Calculation* c = a.mutable_calculation();
  c->set_contract_value_minor(kLedgerApproved * 10);
  c->set_tiered_minor(kLedgerApproved);
  c->set_amount_minor(kLedgerApproved);
  c->set_limited_by("tiered rate");
  a.set_status(v1::APPLICATION_STATUS_CANCELLED);
  a.set_decision_reason("the deal was cancelled");
  a.set_approved_minor(kLedgerApproved);
  a.set_disbursed_minor(kLedgerSigning + kLedgerMilestone);
  a.set_released_minor(kLedgerRelease);
  for (auto [tranche, trigger, amount] :
       {std::tuple{"signing", v1::TRANCHE_TRIGGER_SIGNING, kLedgerSigning},
        std::tuple{"milestone-1", v1::TRANCHE_TRIGGER_MILESTONES, kLedgerMilestone}}) {
    v1::Disbursement* d = a.add_disbursements();
    d->set_tranche(tranche);
    d->set_trigger(trigger);
    d->set_amount_minor(amount);
    *d->mutable_time() = Ts(now);
  }
  a.set_version(kLedgerVersion);
  *a.mutable_create_time() = Ts(now);
  *a.mutable_decide_time() = Ts(now);
  *a.mutable_update_time() = Ts(now);
  return absl::BytesToHexString(a.SerializeAsString());
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

int Main(BenchRun& run) {
  const int threads = absl::GetFlag(FLAGS_concurrency);
  const int deals_measured = absl::GetFlag(FLAGS_deals);
  const int deals_warmup = absl::GetFlag(FLAGS_warmup_deals);
  const int deals_one_client = absl::GetFlag(FLAGS_one_client_deals);
  const int buyers = std::max(1, absl::GetFlag(FLAGS_buyers));
  const int64_t ledger_entries = absl::GetFlag(FLAGS_ledger_entries);
  const int reconcile_runs = std::max(1, absl::GetFlag(FLAGS_reconcile_runs));
  std::vector<ScenarioResult>& results = run.results;
  std::vector<Figure>& figures = run.figures;

  // --- The registry (API keys) and the fund, each on a fresh database; the fund reads deal
  // events from now on under a group of its own.
  const testing::Stack stack = testing::Stack::FromEnvironment();
  testing::ScratchDatabase registry_db(stack, "fund_bench_reg");
  testing::ScratchDatabase db(stack, "fund_bench");
  QuietDatabase(db.url());
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
      "fund",
      env(db.url(), {{"TECHTRADE_REGISTRY_ADDR", registry.address()},
                     {"TECHTRADE_FUND_TRANSACTIONS_CONSUMER",
                      testing::ConsumerGroupAtEnd(stack.kafka_brokers, kDealTopic, "fund-bench")},
                     {"TECHTRADE_FUND_REGISTRY_CONSUMER",
                      testing::ConsumerGroupAtEnd(stack.kafka_brokers,
                                                  "techtrade.registry.events.v1", "fund-bench")}}));
  if (!fund.WaitUntilServing()) return 1;
  auto stubs = Stubs<v1::FundService>(fund.address(), threads);
  const absl::Time now = absl::Now();

  // --- Applications: one programme with a budget no run can exhaust, many buyers.
  v1::Programme programme;
  {
    grpc::Status s = stubs[0]->CreateProgramme(
        AuthedContext(key).get(), Programme("Bench programme", kMaxAmountMinor, now), &programme);
    if (!s.ok()) {
      std::cerr << "CreateProgramme: " << s.error_message() << "\n";
      return 1;
    }
  }
  // The buyers, registered and verified: the fund asks the registry whether an applicant is in
  // good standing (not suspended) before it decides.
  std::vector<std::string> buyer_ids;
  {
    auto registry_stub = reg::RegistryService::NewStub(registry.channel());
    absl::StatusOr<std::vector<reg::Organization>> orgs = RegisterVerifiedOrganizations(
        *registry_stub, key, kCity, reg::ORGANIZATION_KIND_ENTERPRISE, buyers, "Bench buyer");
    if (!orgs.ok()) {
      std::cerr << "registering buyers: " << orgs.status() << "\n";
      return 1;
    }
    for (const reg::Organization& org : *orgs) buyer_ids.push_back(org.id());
  }
  std::vector<tv1::Deal> deals;
  for (int i = 0; i < deals_warmup + deals_one_client + deals_measured; ++i) {
    deals.push_back(SignedDeal(buyer_ids[i % buyers], i % buyers + 1, now));
  }
  if (!PublishDealEvents(stack.kafka_brokers, deals)) return 1;
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
  // One client alone, for context: what a decision costs when nobody waits for the row.
  results.push_back(
      DrainLoop("fund.submit_application_1", 1, deals_one_client, absl::Seconds(10),
                [&](int t, int64_t i) { return submit(t, deals[deals_warmup + i]); }));
  results.back().note = "the same from one client: nobody waits for the balances row (info)";
  const size_t first_measured = static_cast<size_t>(deals_warmup + deals_one_client);
  results.push_back(
      DrainLoop("fund.submit_application", threads, deals_measured,
                absl::Seconds(absl::GetFlag(FLAGS_budget_seconds)),
                [&](int t, int64_t i) { return submit(t, deals[first_measured + i]); }));
  results.back().note =
      absl::StrCat("approve + reserve + signing tranche on one programme's balances row; ", threads,
                   " clients, ", buyers, " buyers");
  const int64_t approved = db.QueryInt(
      absl::StrCat("SELECT count(*) FROM applications WHERE status = 2 AND programme_id = '",
                   programme.id(), "'"));
  std::fprintf(stderr, "bench: %lld applications approved in the fund's database\n",
               static_cast<long long>(approved));

  // Raw single-row insert baseline at the same concurrency, on the fund's database.
  results.push_back(RawInsertBaseline("fund.raw_insert", db.url(), threads,
                                      absl::Seconds(absl::GetFlag(FLAGS_seconds))));

  // --- Reconcile: a programme made through the API, then a ledger of a million entries for it,
  // shaped like a real one: applications each approved (reserve), paid two tranches (disburse)
  // and released when the deal was cancelled (release) — four entries per application, so
  // 250,000 applications whose own amounts agree with their entries. Ledger entries must name
  // applications that exist, so the application rows go in first (one statement), then the
  // entries (one statement; the statement trigger posts their net effect to the balances), and
  // the ledger must still reconcile.
  v1::Programme ledger_programme;
  {
    grpc::Status s = stubs[0]->CreateProgramme(
        AuthedContext(key).get(), Programme("Bench ledger", 1'000'000'000'000, now, 4000),
        &ledger_programme);
    if (!s.ok()) {
      std::cerr << "CreateProgramme: " << s.error_message() << "\n";
      return 1;
    }
  }
  const int64_t ledger_applications = (ledger_entries + 3) / 4;
  const int64_t entries_loaded = ledger_applications * 4;
  double load_seconds = 0;
  try {
    pqxx::connection conn(db.url());
    pqxx::nontransaction tx(conn);
    const absl::Time apps_start = absl::Now();
    tx.exec_params(
        "INSERT INTO applications (id, programme_id, deal_id, applicant_org_id, city_id, currency, "
        "status, approved, disbursed, released, clawed_back, version, record) "
        "SELECT a.id, $1::uuid, a.deal_id, $2::uuid, $3, 'CNY', $4, $5, $6, $7, 0, $8, "
        // The stored record with its own id (field 1) and deal id (field 3) in front.
        "decode('0a24', 'hex') || convert_to(a.id::text, 'UTF8') || decode('1a24', 'hex') || "
        "convert_to(a.deal_id::text, 'UTF8') || decode($9, 'hex') "
        "FROM (SELECT md5('fund-bench-application-' || i)::uuid AS id, "
        "md5('fund-bench-deal-' || i)::uuid AS deal_id FROM generate_series(0, $10::bigint - 1) i) "
        "a",
        ledger_programme.id(), kLedgerApplicant, kCity,
        static_cast<int>(v1::APPLICATION_STATUS_CANCELLED), kLedgerApproved,
        kLedgerSigning + kLedgerMilestone, kLedgerRelease, kLedgerVersion,
        LedgerApplicationTemplateHex(ledger_programme.id(), now), ledger_applications);
    std::fprintf(stderr, "bench: %lld applications loaded in %.1f s (one INSERT … SELECT)\n",
                 static_cast<long long>(ledger_applications),
                 absl::ToDoubleSeconds(absl::Now() - apps_start));
    const absl::Time start = absl::Now();
    tx.exec_params(
        "INSERT INTO ledger_entries (programme_id, application_id, kind, tranche, debit, credit, "
        "amount) "
        "SELECT $1::uuid, md5('fund-bench-application-' || (g / 4))::uuid, "
        "(ARRAY['reserve', 'disburse', 'disburse', 'release'])[g % 4 + 1], "
        "(ARRAY[NULL, 'signing', 'milestone-1', NULL])[g % 4 + 1], "
        "(ARRAY[3, 4, 4, 2])[g % 4 + 1], (ARRAY[2, 3, 3, 3])[g % 4 + 1], "
        "(ARRAY[$2::bigint, $3::bigint, $4::bigint, $5::bigint])[g % 4 + 1] "
        "FROM generate_series(0, $6::bigint - 1) g",
        ledger_programme.id(), kLedgerApproved, kLedgerSigning, kLedgerMilestone, kLedgerRelease,
        entries_loaded);
    load_seconds = absl::ToDoubleSeconds(absl::Now() - start);
    std::fprintf(stderr, "bench: %lld ledger entries loaded in %.1f s (one INSERT … SELECT)\n",
                 static_cast<long long>(entries_loaded), load_seconds);
    const absl::Time vacuum_start = absl::Now();
    // The steady state a ledger this size lives in (autovacuum would otherwise start part-way
    // through the timed calls): visibility map set, statistics current.
    tx.exec("VACUUM (ANALYZE) ledger_entries, applications");
    std::fprintf(stderr, "bench: VACUUM (ANALYZE) in %.1f s\n",
                 absl::ToDoubleSeconds(absl::Now() - vacuum_start));
  } catch (const std::exception& e) {
    std::cerr << "ledger load: " << e.what() << "\n";
    return 1;
  }

  std::vector<double> one_times, all_times;
  bool reconciled = true;
  int64_t all_entries = 0;
  for (int run = 0; run < reconcile_runs && reconciled; ++run) {
    double seconds = 0;
    v1::ReconcileResponse response;
    reconciled =
        TimedReconcile(*stubs[0], key, ledger_programme.id(), entries_loaded, &seconds, &response);
    one_times.push_back(seconds);
  }
  for (int run = 0; run < reconcile_runs && reconciled; ++run) {
    double seconds = 0;
    v1::ReconcileResponse response;
    reconciled =
        TimedReconcile(*stubs[0], key, "", entries_loaded + approved * 2, &seconds, &response);
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
    r.note = absl::StrCat("Reconcile of one programme: ", entries_loaded, " entries, ",
                          ledger_applications, " applications; p50 = median, p99 = slowest");
    results.push_back(r);
    r.name = "fund.reconcile_all";
    r.calls = static_cast<int64_t>(all_times.size());
    r.qps = reconcile_all > 0 ? 1.0 / reconcile_all : 0;
    r.p50_ms = reconcile_all * 1000;
    r.p99_ms = all_times.empty() ? 0 : *std::max_element(all_times.begin(), all_times.end()) * 1000;
    r.note = absl::StrCat("Reconcile of every programme: ", all_entries, " entries, ",
                          approved + ledger_applications, " applications");
    results.push_back(r);
  }
  // --- Awards without an application: registrations published as the transactions service
  // would, each deciding a seller's and a registration body's award (reserve + signing tranche)
  // in the fund's consumer; timed from the first publish to the last award row.
  v1::Programme auto_programme;
  {
    v1::CreateProgrammeRequest r = Programme("Bench awards", kMaxAmountMinor, now);
    v1::ProgrammeRules* rules = r.mutable_rules();
    rules->clear_bands();
    rules->set_per_deal_cap_minor(0);
    rules->set_per_organization_annual_cap_minor(0);
    rules->set_auto_approval_threshold_minor(0);
    for (auto [beneficiary, bps] :
         {std::pair{v1::BENEFICIARY_SELLER, 100}, {v1::BENEFICIARY_REGISTRATION_BODY, 10}}) {
      v1::AutomaticAward* award = rules->add_automatic_awards();
      award->set_beneficiary(beneficiary);
      v1::CumulativeBand* band = award->add_bands();
      band->set_rate_bps(bps);
    }
    grpc::Status s = stubs[0]->CreateProgramme(AuthedContext(key).get(), r, &auto_programme);
    if (!s.ok()) {
      std::cerr << "CreateProgramme (automatic): " << s.error_message() << "\n";
      return 1;
    }
  }
  const int sellers = std::max(1, absl::GetFlag(FLAGS_sellers));
  std::vector<std::string> seller_ids;
  for (int i = 0; i < sellers; ++i) seller_ids.push_back(NewUuid());
  const std::string body_id = NewUuid();
  auto registered = [&](int n) {
    std::vector<tv1::Deal> batch;
    for (int i = 0; i < n; ++i)
      batch.push_back(RegisteredDeal(seller_ids[i % sellers], body_id, now));
    return batch;
  };
  const std::string count_awards =
      absl::StrCat("SELECT count(*) FROM applications WHERE automatic AND programme_id = '",
                   auto_programme.id(), "'");
  // Decisions in the database once `expected` are there (bounded); the seconds it took from
  // `start`, or a negative number on time-out.
  auto awards_after = [&](int64_t expected, absl::Time start, absl::Duration timeout) {
    while (absl::Now() - start < timeout) {
      if (db.QueryInt(count_awards) >= expected) return absl::ToDoubleSeconds(absl::Now() - start);
      absl::SleepFor(absl::Milliseconds(20));
    }
    return -1.0;
  };
  const int auto_warmup = absl::GetFlag(FLAGS_auto_warmup_deals);
  const int auto_measured = absl::GetFlag(FLAGS_auto_deals);
  double auto_seconds = -1;
  {
    const std::vector<tv1::Deal> warmup = registered(auto_warmup);
    const absl::Time start = absl::Now();
    if (!PublishDealEvents(stack.kafka_brokers, warmup, /*registered=*/true) ||
        awards_after(2 * auto_warmup, start, absl::Seconds(60)) < 0) {
      std::cerr << "automatic awards (warm-up) not decided; fund log: " << fund.log_path() << "\n";
      return 1;
    }
    const std::vector<tv1::Deal> measured = registered(auto_measured);
    const absl::Time measured_start = absl::Now();
    if (PublishDealEvents(stack.kafka_brokers, measured, /*registered=*/true)) {
      auto_seconds =
          awards_after(2 * (auto_warmup + auto_measured), measured_start, absl::Seconds(120));
    }
  }
  const int64_t auto_decisions = 2 * static_cast<int64_t>(auto_measured);
  const double auto_per_s = auto_seconds > 0 ? auto_decisions / auto_seconds : 0;
  {
    ScenarioResult r;
    r.name = "fund.auto_decisions";
    r.calls = auto_decisions;
    r.errors = auto_seconds > 0 ? 0 : 1;
    r.qps = auto_per_s;
    r.note = absl::StrCat(auto_measured, " ContractRegistered events → ", auto_decisions,
                          " awards (seller + body), each reserved and its signing tranche paid; ",
                          sellers, " sellers, one programme; publish → last ledger row");
    results.push_back(r);
    std::fprintf(stderr, "bench: %lld automatic awards decided in %.2f s (%.0f/s)\n",
                 static_cast<long long>(auto_decisions), auto_seconds, auto_per_s);
  }

  stubs.clear();  // closes the channels
  fund.Terminate();
  registry.Terminate();

  auto find = [&](const std::string& name) -> const ScenarioResult& { return Find(results, name); };
  const ScenarioResult& submit_result = find("fund.submit_application");
  const double per_s = submit_result.qps;
  const bool submit_clean = submit_result.errors == 0 && submit_result.calls > 0;
  const double raw = find("fund.raw_insert").qps;
  figures.push_back({"fund.applications_per_s", per_s, ">= 200", per_s >= 200 && submit_clean});
  figures.push_back({"fund.auto_decisions_per_s", auto_per_s, ">= 200", auto_per_s >= 200});
  figures.push_back({"fund.applications_vs_raw_insert", raw > 0 ? per_s / raw : 0, "info", true});
  figures.push_back({"fund.applications_p99_ms", submit_result.p99_ms, "info", true});
  figures.push_back(
      {"fund.applications_per_s_one_client", find("fund.submit_application_1").qps, "info", true});
  figures.push_back(
      {"fund.reconcile_1m_s", reconcile_one, "<= 10", reconciled && reconcile_one <= 10});
  figures.push_back({"fund.reconcile_all_s", reconcile_all, "info", reconciled});
  figures.push_back({"fund.ledger_bulk_load_s", load_seconds, "info", true});
  return 0;
}

}  // namespace

int Run(BenchRun& run) { return Main(run); }

}  // namespace techtrade::bench
