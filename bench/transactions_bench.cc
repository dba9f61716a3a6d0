// `make bench`, transactions: OpenDeal and AcceptMilestone throughput against a raw single-row
// PostgreSQL insert at the same concurrency (each taking turns with it), whole deal life cycles per
// second, and the lag from commit to a partner-style consumer at a steady 500 commands/s — all
// against real processes on the real stack.
#include <atomic>
#include <chrono>
#include <iostream>
#include <pqxx/pqxx>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/bench_main.h"
#include "bench/load.h"
#include "bench/services.h"
#include "common/auth.h"
#include "common/failpoint.h"
#include "common/ids.h"
#include "common/server.h"
#include "google/protobuf/util/time_util.h"
#include "services/registry/domain/credit_code.h"
#include "techtrade/listings/v1/listings.grpc.pb.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"
#include "techtrade/transactions/v1/transactions.grpc.pb.h"
#include "tests/support/harness.h"

ABSL_FLAG(int, seconds, 5, "duration of each closed-loop scenario");
ABSL_FLAG(int, concurrency, 32,
          "calls in flight in each closed-loop scenario (one client connection each); enough "
          "that commands, like raw inserts, are limited by the machine, not by waiting");
ABSL_FLAG(int, few_clients, 8,
          "calls in flight of a second OpenDeal/raw insert pair (info): at 8, a command's round "
          "trips leave the machine idle part of the time, raw inserts not");
ABSL_FLAG(int, warmup_seconds, 5,
          "unmeasured OpenDeal load first: caches, pools, and the broker's JIT for this topic's "
          "events and consumers (a broker with the full JIT needs a minute)");
ABSL_FLAG(int, lag_rate, 500, "commands per second for the event-lag scenario");
ABSL_FLAG(int, lag_seconds, 10, "duration of the event-lag scenario");

namespace techtrade::bench {
namespace {

namespace reg = techtrade::registry::v1;
namespace lv1 = techtrade::listings::v1;
namespace v1 = techtrade::transactions::v1;

// Nanoseconds of one failpoint check while none is armed (as in production), timed over many.
double DisarmedFailpointCheckNs() {
  constexpr int64_t kChecks = 50'000'000;
  int64_t fired = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < kChecks; ++i) {
    // The compiler may not drop the check: its outcome is counted and the count printed.
    fired += !failpoint::Hit("db.after_commit").ok();
    asm volatile("" : : : "memory");
  }
  const double ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  if (fired != 0) std::cerr << "failpoint fired " << fired << " times while disarmed\n";
  return ns / kChecks;
}
using google::protobuf::util::TimeUtil;
using testing::AuthedContext;
using Stub = v1::TransactionsService::Stub;

// Milestones per prepared deal: a realistic contract has a handful.
constexpr int kMilestones = 4;

struct Platform {
  std::string key, buyer, seller, offer;
  std::string partner;  // the finance partner the deals name (an API client id)
  std::vector<std::unique_ptr<Stub>> stubs;
};

v1::ProposeTermsRequest Terms(const v1::Deal& d, int milestones, int64_t per_milestone) {
  v1::ProposeTermsRequest r;
  r.set_request_id("t-" + NewUuid());
  r.set_deal_id(d.id());
  r.set_expected_version(d.version());
  r.set_acting_as(v1::PARTY_ROLE_SELLER);
  r.mutable_price()->set_currency("CNY");
  r.mutable_price()->set_amount_minor(per_milestone * milestones);
  r.set_transfer_mode(lv1::TRANSFER_MODE_NON_EXCLUSIVE_LICENSE);
  r.set_licence_scope("bench");
  r.set_territory("CN");
  for (int i = 0; i < milestones; ++i) {
    v1::MilestonePlan* m = r.add_milestones();
    m->set_title(absl::StrCat("milestone ", i + 1));
    m->mutable_amount()->set_currency("CNY");
    m->mutable_amount()->set_amount_minor(per_milestone);
    *m->mutable_due_time() = TimeUtil::SecondsToTimestamp(1'900'000'000 + i);
  }
  return r;
}

// One RPC; false (and a message) on failure.
template <class Request, class Rpc>
bool Call(Stub& stub, Rpc rpc, const Request& r, const std::string& key, v1::Deal* out) {
  grpc::Status s = (stub.*rpc)(AuthedContext(key).get(), r, out);
  if (!s.ok()) std::cerr << r.GetDescriptor()->name() << ": " << s.error_message() << "\n";
  return s.ok();
}

v1::OpenDealRequest OpenRequest(const Platform& p, const std::string& tag = "o") {
  v1::OpenDealRequest r;
  r.set_request_id(tag + "-" + NewUuid());
  r.set_listing_id(p.offer);
  r.set_listing_kind(lv1::LISTING_KIND_OFFER);
  r.set_buyer_org_id(p.buyer);
  r.set_seller_org_id(p.seller);
  r.set_finance_partner_id(p.partner);
  return r;
}

bool Open(Stub& stub, const Platform& p, v1::Deal* d, const std::string& tag = "o") {
  return Call(stub, &Stub::OpenDeal, OpenRequest(p, tag), p.key, d);
}

// A call's failure, as Call reports it, for asynchronous calls (AsyncUnary's end).
void ReportFailure(const std::string& method, const grpc::Status& status) {
  if (!status.ok()) std::cerr << method << ": " << status.error_message() << "\n";
}

// Open → terms → both accept → signed.
bool Signed(Stub& stub, const Platform& p, int milestones, v1::Deal* d) {
  if (!Open(stub, p, d)) return false;
  if (!Call(stub, &Stub::ProposeTerms, Terms(*d, milestones, 1000'00), p.key, d)) return false;
  for (auto by : {v1::PARTY_ROLE_SELLER, v1::PARTY_ROLE_BUYER}) {
    v1::AcceptTermsRequest a;
    a.set_request_id("a-" + NewUuid());
    a.set_deal_id(d->id());
    a.set_expected_version(d->version());
    a.set_acting_as(by);
    a.set_terms_version(1);
    if (!Call(stub, &Stub::AcceptTerms, a, p.key, d)) return false;
  }
  v1::SignContractRequest s;
  s.set_request_id("s-" + NewUuid());
  s.set_deal_id(d->id());
  s.set_expected_version(d->version());
  s.set_registration_number("BENCH-" + d->id().substr(0, 8));
  *s.mutable_signing_time() = TimeUtil::GetCurrentTime();
  return Call(stub, &Stub::SignContract, s, p.key, d);
}

v1::MilestoneRequest MilestoneRequest(const v1::Deal& d, int index) {
  v1::MilestoneRequest r;
  r.set_request_id("m-" + NewUuid());
  r.set_deal_id(d.id());
  r.set_expected_version(d.version());
  r.set_milestone_index(index);
  return r;
}

bool Milestone(Stub& stub, const Platform& p, bool deliver, int index, v1::Deal* d) {
  return Call(stub, deliver ? &Stub::DeliverMilestone : &Stub::AcceptMilestone,
              MilestoneRequest(*d, index), p.key, d);
}

bool Pay(Stub& stub, const Platform& p, int index, v1::Deal* d) {
  v1::RecordPaymentRequest r;
  r.set_request_id("p-" + NewUuid());
  r.set_deal_id(d->id());
  r.set_expected_version(d->version());
  r.set_milestone_index(index);
  *r.mutable_amount() = d->milestones(index - 1).amount();
  r.set_payment_reference("PAY-" + NewUuid());
  return Call(stub, &Stub::RecordPayment, r, p.key, d);
}

int Main(BenchRun& run) {
  const absl::Duration duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  const int threads = absl::GetFlag(FLAGS_concurrency);
  std::vector<ScenarioResult>& results = run.results;
  std::vector<Figure>& figures = run.figures;

  const testing::Stack stack = testing::Stack::FromEnvironment();
  testing::ScratchDatabase registry_db(stack, "tx_bench_reg");
  testing::ScratchDatabase listings_db(stack, "tx_bench_listings");
  testing::ScratchDatabase db(stack, "tx_bench");
  QuietDatabase(db.url());
  Platform p;
  p.key = NewApiKey();
  std::map<std::string, std::string> common = {{"TECHTRADE_KAFKA_BROKERS", stack.kafka_brokers},
                                               {"TECHTRADE_REDIS_URL", stack.redis_url}};
  auto env = [&](const std::string& url, std::map<std::string, std::string> extra) {
    extra.insert(common.begin(), common.end());
    extra["TECHTRADE_PG_URL"] = url;
    return extra;
  };
  testing::ServiceProcess registry(
      "registry", env(registry_db.url(), {{"TECHTRADE_BOOTSTRAP_OPERATOR_KEY", p.key}}));
  if (!registry.WaitUntilServing()) return 1;
  testing::ServiceProcess listings(
      "listings",
      env(listings_db.url(),
          {{"TECHTRADE_REGISTRY_ADDR", registry.address()},
           {"TECHTRADE_LISTINGS_REGISTRY_CONSUMER",
            testing::ConsumerGroupAtEnd(stack.kafka_brokers, "techtrade.registry.events.v1",
                                        "tx-bench")},
           {"TECHTRADE_LISTINGS_TRANSACTIONS_CONSUMER",
            testing::ConsumerGroupAtEnd(stack.kafka_brokers, "techtrade.transactions.events.v1",
                                        "tx-bench")}}));
  if (!listings.WaitUntilServing()) return 1;
  testing::ServiceProcess transactions(
      "transactions", env(db.url(), {{"TECHTRADE_REGISTRY_ADDR", registry.address()},
                                     {"TECHTRADE_LISTINGS_ADDR", listings.address()}}));
  if (!transactions.WaitUntilServing()) return 1;

  // Two verified organisations and a published offer.
  {
    auto r = reg::RegistryService::NewStub(registry.channel());
    reg::CreatePilotCityRequest city;
    city.set_request_id("city");
    city.set_id("wuhan-east-lake");
    city.set_name("Wuhan East Lake");
    city.set_kind(reg::PILOT_CITY_KIND_PARK);
    city.set_division_code("420100");
    reg::PilotCity c;
    if (!r->CreatePilotCity(AuthedContext(p.key).get(), city, &c).ok()) return 1;
    for (int n : {1, 2}) {
      std::string first17 = absl::StrFormat("91420100%09d", n);
      reg::RegisterOrganizationRequest o;
      o.set_request_id(absl::StrCat("org-", n));
      o.set_credit_code(first17 + registry::CreditCodeCheckCharacter(first17));
      o.set_name(absl::StrCat("Bench organisation ", n));
      o.set_kind(reg::ORGANIZATION_KIND_ENTERPRISE);
      o.set_city_id("wuhan-east-lake");
      reg::Organization org;
      if (!r->RegisterOrganization(AuthedContext(p.key).get(), o, &org).ok()) return 1;
      reg::VerifyOrganizationRequest v;
      v.set_request_id(absl::StrCat("verify-", n));
      v.set_id(org.id());
      v.set_expected_version(1);
      if (!r->VerifyOrganization(AuthedContext(p.key).get(), v, &org).ok()) return 1;
      (n == 1 ? p.seller : p.buyer) = org.id();
    }
    reg::IssueApiKeyRequest partner;
    partner.set_request_id("partner");
    partner.set_name("Bench bank");
    partner.set_role(reg::API_CLIENT_ROLE_PARTNER);
    reg::IssueApiKeyResponse issued;
    if (!r->IssueApiKey(AuthedContext(p.key).get(), partner, &issued).ok()) return 1;
    p.partner = issued.api_client().id();
    auto l = lv1::ListingsService::NewStub(listings.channel());
    lv1::CreateOfferRequest create;
    create.set_request_id("offer");
    create.set_owner_org_id(p.seller);
    create.mutable_offer()->set_title("Bench technology");
    create.mutable_offer()->add_ipc_codes("G06N 3/08");
    create.mutable_offer()->add_fields("artificial-intelligence");
    create.mutable_offer()->set_readiness_level(6);
    create.mutable_offer()->add_transfer_modes(lv1::TRANSFER_MODE_NON_EXCLUSIVE_LICENSE);
    create.mutable_offer()->set_negotiable(true);
    lv1::Offer offer;
    if (!l->CreateOffer(AuthedContext(p.key).get(), create, &offer).ok()) return 1;
    lv1::ChangeListingRequest publish;
    publish.set_request_id("publish");
    publish.set_id(offer.id());
    publish.set_expected_version(1);
    if (!l->PublishOffer(AuthedContext(p.key).get(), publish, &offer).ok()) return 1;
    p.offer = offer.id();
  }
  p.stubs = Stubs<v1::TransactionsService>(transactions.address(), threads);

  // Warm-up: caches, pools, the broker.
  ClosedLoop("warm-up", threads, absl::Seconds(absl::GetFlag(FLAGS_warmup_seconds)),
             [&](int t, int64_t) {
               v1::Deal d;
               return Open(*p.stubs[t], p, &d, "warm");
             });

  // Each command taking turns with the raw single-row insert baseline at the same concurrency,
  // on the transactions database, so that both sides of a ratio meet the same machine.
  // OpenDeal with `clients` calls in flight; `suffix` ends the scenarios' names.
  auto open_deals = [&](int clients, const std::string& suffix, const std::string& note) {
    AsyncUnary<v1::Deal> open_calls(
        clients, [&] { return AuthedContext(p.key); },
        [&](int slot, int64_t, grpc::ClientContext* context, grpc::CompletionQueue* queue) {
          return p.stubs[slot]->AsyncOpenDeal(context, OpenRequest(p), queue);
        },
        [](int, const grpc::Status& status, const v1::Deal&) {
          ReportFailure("OpenDeal", status);
        });
    AgainstRawInsert(results, "transactions.open_deal" + suffix, note, open_calls,
                     "transactions.raw_insert" + suffix, db.url(), duration);
  };
  open_deals(threads, "", "OpenDeal: parties and listing through the cache, deal + event + key");
  const int few_clients = std::min(absl::GetFlag(FLAGS_few_clients), threads);
  const std::string few = absl::StrCat("_c", few_clients);  // suffix of their scenario names
  open_deals(few_clients, few,
             absl::StrCat("the same with ", few_clients, " calls in flight (info)"));

  // AcceptMilestone over milestones delivered beforehand, each thread on its own deals: twice as
  // many as OpenDeal's rate would use, so that no thread runs out (one that did would count an
  // error per call).
  {
    const size_t per_thread = static_cast<size_t>(2 * Find(results, "transactions.open_deal").qps /
                                                  threads * absl::ToDoubleSeconds(duration)) +
                              kMilestones;
    const size_t deals_per_thread = (per_thread + kMilestones - 1) / kMilestones;
    std::vector<std::vector<v1::Deal>> deals(threads);
    std::atomic<bool> ok{true};
    std::vector<std::thread> prep;
    for (int t = 0; t < threads; ++t) {
      prep.emplace_back([&, t] {
        for (size_t k = 0; k < deals_per_thread && ok; ++k) {
          v1::Deal d;
          if (!Signed(*p.stubs[t], p, kMilestones, &d)) ok = false;
          for (int m = 1; m <= kMilestones && ok; ++m) {
            if (!Milestone(*p.stubs[t], p, true, m, &d)) ok = false;
          }
          deals[t].push_back(d);
        }
      });
    }
    for (auto& w : prep) w.join();
    if (!ok) return 1;
    // Each slot's deal in flight: the response is its next version.
    std::vector<v1::Deal*> current(threads, nullptr);
    AsyncUnary<v1::Deal> accept_calls(
        threads, [&] { return AuthedContext(p.key); },
        [&](int slot, int64_t i, grpc::ClientContext* context, grpc::CompletionQueue* queue) {
          // Past the prepared deals (never, as sized above), a call fails on an empty deal id.
          static v1::Deal none;
          const size_t k = static_cast<size_t>(i / kMilestones);
          current[slot] = k < deals[slot].size() ? &deals[slot][k] : &none;
          return p.stubs[slot]->AsyncAcceptMilestone(
              context, MilestoneRequest(*current[slot], static_cast<int>(i % kMilestones) + 1),
              queue);
        },
        [&](int slot, const grpc::Status& status, v1::Deal& deal) {
          ReportFailure("AcceptMilestone", status);
          if (status.ok()) current[slot]->Swap(&deal);
        });
    AgainstRawInsert(
        results, "transactions.accept_milestone",
        "AcceptMilestone (payment due): deal read, guarded write + event, group commit",
        accept_calls, "transactions.raw_insert_with_accept", db.url(), duration);
  }

  // Whole life cycles: 13 commands each.
  results.push_back(ClosedLoop("transactions.lifecycle", threads, duration, [&](int t, int64_t) {
    v1::Deal d;
    Stub& s = *p.stubs[t];
    if (!Signed(s, p, 2, &d)) return false;
    for (int m = 1; m <= 2; ++m) {
      if (!Milestone(s, p, true, m, &d) || !Milestone(s, p, false, m, &d) || !Pay(s, p, m, &d)) {
        return false;
      }
    }
    return d.state() == v1::DEAL_STATE_COMPLETED;
  }));
  results.back().note = "open, terms, 2 accepts, sign, 2 x (deliver, accept, pay); qps = deals/s";

  // Event lag at a steady rate: OpenDeal commands, read back by a partner-style reader, after a
  // checkpoint (QuietDatabase: the steady state's recycled WAL).
  {
    QuietDatabase(db.url());
    const int rate = absl::GetFlag(FLAGS_lag_rate);
    results.push_back(
        PacedLag("transactions.event_lag", stack.kafka_brokers, "techtrade.transactions.events.v1",
                 rate, absl::GetFlag(FLAGS_lag_seconds), threads, "lag", [&](int t, int64_t) {
                   v1::Deal d;
                   return Open(*p.stubs[t], p, &d, "lag");
                 }));
    results.back().note =
        absl::StrCat("commit -> read by a partner-style consumer, at ", rate, " commands/s");
  }
  auto find = [&](const std::string& name) -> const ScenarioResult& { return Find(results, name); };
  const double open_ratio =
      find("transactions.open_deal").qps / find("transactions.raw_insert").qps;
  const double accept_ratio =
      find("transactions.accept_milestone").qps / find("transactions.raw_insert_with_accept").qps;
  const double command_ratio = std::min(open_ratio, accept_ratio);
  const auto& lag = find("transactions.event_lag");
  const bool lag_complete = lag.errors == 0 && lag.calls > 0;
  figures.push_back({"transactions.open_deal_vs_raw_insert", open_ratio, "info", true});
  figures.push_back({"transactions.accept_milestone_vs_raw_insert", accept_ratio, "info", true});
  figures.push_back(
      {absl::StrCat("transactions.open_deal_vs_raw_insert", few),
       find("transactions.open_deal" + few).qps / find("transactions.raw_insert" + few).qps, "info",
       true});
  figures.push_back(
      {"transactions.command_vs_raw_insert", command_ratio, ">= 0.40", command_ratio >= 0.40});
  figures.push_back(
      {"transactions.event_lag_p99_ms", lag.p99_ms, "<= 100", lag.p99_ms <= 100 && lag_complete});
  figures.push_back(
      {"transactions.lifecycles_per_s", find("transactions.lifecycle").qps, "info", true});
  // Failpoints cost nothing measurable when off: a command meets at most four checks (after its
  // commit, in its group-commit batch, in the relay's and a consumer's batch), against the CPU
  // the machine spent on one OpenDeal in this run.
  {
    const double check_ns = DisarmedFailpointCheckNs();
    double open_deal_cpu_ns = 0;
    for (const auto& [process, us] : find("transactions.open_deal").cpu_us_per_call) {
      if (process != "idle") open_deal_cpu_ns += us * 1000;
    }
    const double share = open_deal_cpu_ns > 0 ? 4 * check_ns / open_deal_cpu_ns : 1;
    figures.push_back({"transactions.failpoint_check_ns", check_ns, "info", true});
    figures.push_back(
        {"transactions.failpoints_off_share_of_open_deal", share, "<= 0.001", share <= 0.001});
  }
  return 0;
}

}  // namespace

int Run(BenchRun& run) { return Main(run); }

}  // namespace techtrade::bench
