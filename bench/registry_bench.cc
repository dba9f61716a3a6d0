// `make bench` for the foundation and the registry. Throughput targets are ratios to baselines
// measured in the same run on the same machine (a plain echo server on the same gRPC stack, raw
// single-row PostgreSQL inserts at the same concurrency); latency and memory targets are absolute
// (docs/benchmarks.md).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/bench_main.h"
#include "bench/load.h"
#include "bench/services.h"
#include "common/auth.h"
#include "common/ids.h"
#include "common/server.h"
#include "services/registry/domain/credit_code.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"
#include "tests/support/harness.h"

ABSL_FLAG(int, seconds, 5, "duration of each closed-loop scenario");
ABSL_FLAG(int, concurrency, 32,
          "calls in flight in each closed-loop scenario (one client connection each); enough "
          "that registrations, like raw inserts, are limited by the machine, not by waiting");
ABSL_FLAG(int, few_clients, 8,
          "calls in flight of the second registration/raw insert pair (info): at 8, a "
          "registration's round trips leave the machine idle part of the time, raw inserts not");
ABSL_FLAG(int, outbox_rate, 500, "registrations per second for the outbox latency scenario");
ABSL_FLAG(int, outbox_seconds, 10, "duration of the outbox latency scenario");
ABSL_FLAG(bool, outbox_checkpoint, true,
          "checkpoint before the outbox latency scenario (false: measure a fresh cluster's WAL "
          "growth too; docs/benchmarks.md)");
ABSL_FLAG(int, warmup_seconds, 10,
          "unmeasured load first (make bench runs this benchmark first, on a fresh stack); a "
          "broker with the full JIT needs a minute or more");

namespace techtrade::bench {
namespace {

namespace v1 = techtrade::registry::v1;
using testing::AuthedContext;
using testing::ServiceProcess;

// A port that was free a moment ago, for a child's metrics endpoint.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Cumulative buckets (upper bound in ms → count) of a Prometheus histogram in a /metrics text.
std::vector<std::pair<double, double>> Buckets(const std::string& metrics,
                                               const std::string& name) {
  std::vector<std::pair<double, double>> buckets;
  std::istringstream in(metrics);
  std::string line;
  const std::string prefix = name + "_bucket{";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    size_t le = line.find("le=\"");
    size_t end = line.find('"', le + 4);
    std::string bound = line.substr(le + 4, end - le - 4);
    double upper_ms = bound == "+Inf" ? 1e12 : std::stod(bound) * 1000.0;
    buckets.emplace_back(upper_ms, std::stod(line.substr(line.rfind(' ') + 1)));
  }
  return buckets;
}

// p-th percentile of the observations made between two scrapes, in ms, interpolated linearly
// within its bucket as Prometheus' histogram_quantile() does.
double PercentileBetween(const std::vector<std::pair<double, double>>& before,
                         const std::vector<std::pair<double, double>>& after, double p,
                         int64_t* count) {
  if (after.empty() || before.size() != after.size()) return 0;
  *count = static_cast<int64_t>(after.back().second - before.back().second);
  double target = static_cast<double>(*count) * p / 100.0;
  double lower_bound = 0, below = 0;
  for (size_t i = 0; i < after.size(); ++i) {
    double cumulative = after[i].second - before[i].second;
    if (cumulative >= target) {
      if (after[i].first >= 1e12) return lower_bound;  // +Inf bucket: the highest finite bound
      double in_bucket = cumulative - below;
      double fraction = in_bucket > 0 ? (target - below) / in_bucket : 1;
      return lower_bound + (after[i].first - lower_bound) * fraction;
    }
    lower_bound = after[i].first;
    below = cumulative;
  }
  return 0;
}

std::string Scrape(int port) {
  std::string out;
  std::string cmd = absl::StrCat("curl -s http://127.0.0.1:", port, "/metrics");
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    pclose(p);
  }
  return out;
}

std::string CreditCode(int64_t n) {
  std::string first17 = absl::StrFormat("91420100%09d", n);
  return first17 + registry::CreditCodeCheckCharacter(first17);
}

v1::RegisterOrganizationRequest Registration(int64_t n, const std::string& tag) {
  v1::RegisterOrganizationRequest r;
  r.set_request_id(absl::StrCat(tag, "-", n));
  r.set_credit_code(CreditCode(n));
  r.set_name(absl::StrCat("Bench enterprise ", n));
  r.set_kind(v1::ORGANIZATION_KIND_ENTERPRISE);
  r.set_city_id("bench-city");
  return r;
}

int Main(BenchRun& run) {
  const testing::Stack stack = testing::Stack::FromEnvironment();
  const absl::Duration duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  const int threads = absl::GetFlag(FLAGS_concurrency);
  std::vector<ScenarioResult>& results = run.results;
  std::vector<Figure>& figures = run.figures;
  auto note = [](ScenarioResult r, std::string text) {
    r.note = std::move(text);
    return r;
  };

  // --- The registry on a fresh database, with Redis.
  testing::ScratchDatabase db(stack, "registry_bench");
  const std::string key = NewApiKey();
  std::map<std::string, std::string> env = {{"TECHTRADE_PG_URL", db.url()},
                                            {"TECHTRADE_KAFKA_BROKERS", stack.kafka_brokers},
                                            {"TECHTRADE_REDIS_URL", stack.redis_url},
                                            {"TECHTRADE_BOOTSTRAP_OPERATOR_KEY", key}};
  const int metrics_port = FreePort();
  env["TECHTRADE_METRICS_PORT"] = absl::StrCat(metrics_port);
  auto registry = std::make_unique<ServiceProcess>("registry", env);
  if (!registry->WaitUntilServing()) return 1;
  absl::SleepFor(absl::Seconds(2));
  long idle_rss_kib = registry->RssKib();
  auto stubs = Stubs<v1::RegistryService>(registry->address(), threads);
  {
    v1::CreatePilotCityRequest city;
    city.set_request_id("bench-city");
    city.set_id("bench-city");
    city.set_name("Bench City");
    city.set_kind(v1::PILOT_CITY_KIND_CITY);
    city.set_division_code("420100");
    v1::PilotCity created;
    grpc::Status s = stubs[0]->CreatePilotCity(AuthedContext(key).get(), city, &created);
    if (!s.ok()) {
      std::cerr << "bench set-up failed: " << s.error_message() << "\n";
      return 1;
    }
  }
  v1::Organization target;
  if (!stubs[0]
           ->RegisterOrganization(AuthedContext(key).get(), Registration(1, "setup"), &target)
           .ok()) {
    return 1;
  }
  // Warm-up, not measured: the JIT of a freshly started Kafka broker, PostgreSQL's caches and the
  // connection pools would otherwise be charged to whichever scenario runs first.
  std::atomic<int64_t> next{1000};
  ClosedLoop(
      "warm-up", threads, absl::Seconds(absl::GetFlag(FLAGS_warmup_seconds)), [&](int t, int64_t) {
        v1::Organization org;
        return stubs[t]
            ->RegisterOrganization(AuthedContext(key).get(), Registration(next++, "warm"), &org)
            .ok();
      });
  absl::SleepFor(absl::Seconds(1));

  v1::GetOrganizationRequest get_request;
  get_request.set_id(target.id());
  // GetOrganization of one organisation from every slot, on the registry `stubs` point at.
  auto gets = [&] {
    return std::make_unique<AsyncUnary<v1::Organization>>(
        threads, [&] { return AuthedContext(key); },
        [&](int slot, int64_t, grpc::ClientContext* context, grpc::CompletionQueue* queue) {
          return stubs[slot]->AsyncGetOrganization(context, get_request, queue);
        });
  };
  // --- Cached reads against the ceiling, echo over the same gRPC bootstrap, taking turns once
  // everything is warm.
  long echo_rss_kib = 0;
  {
    auto cached_gets = gets();
    auto [echo, cached] = EchoCeilingTakingTurns("echo", threads, "registry.get_cached",
                                                 *cached_gets, duration, &echo_rss_kib);
    results.push_back(echo);
    results.push_back(
        note(cached, "GetOrganization: org near copy (250 ms) over Redis, key memoized"));
  }

  // --- Registrations and the raw single-row insert baseline at the same concurrency, taking
  // turns so that both meet the same machine. `clients` calls in flight; `suffix` ends the
  // scenarios' names (and the registrations' request ids).
  auto registrations = [&](int clients, const std::string& suffix, const std::string& note_text) {
    AsyncUnary<v1::Organization> register_calls(
        clients, [&] { return AuthedContext(key); },
        [&](int slot, int64_t, grpc::ClientContext* context, grpc::CompletionQueue* queue) {
          return stubs[slot]->AsyncRegisterOrganization(
              context, Registration(next++, "reg" + suffix), queue);
        });
    AgainstRawInsert(results, "registry.register" + suffix, note_text, register_calls,
                     "postgres.raw_insert" + suffix, db.url(), duration);
  };
  registrations(threads, "", "durable: row + outbox event + idempotency key, one transaction");
  // --- The same pair with fewer clients (info): each registration waits for its group commit and
  // its event's outbox row, so few of them in flight leave the machine idle part of the time.
  const int few_clients = std::min(absl::GetFlag(FLAGS_few_clients), threads);
  const std::string few = absl::StrCat("_c", few_clients);  // suffix of their scenario names
  registrations(few_clients, few,
                absl::StrCat("the same with ", few_clients, " calls in flight (info)"));

  int wal_segments_created = 0;  // during the outbox phase
  // --- Outbox at a steady rate: commit → broker acknowledgement from the relay's histogram
  // (scraped before and after), and commit → read by a consumer from the events themselves.
  {
    const int rate = absl::GetFlag(FLAGS_outbox_rate);
    std::atomic<bool> reported_failure{false};  // the first failure is printed, not every one
    auto registration = [&](const std::string& tag) {
      return [&, tag](int t, int64_t) {
        v1::Organization org;
        // Numbered on from every earlier registration: a credit code is registered once.
        grpc::Status s = stubs[t]->RegisterOrganization(AuthedContext(key).get(),
                                                        Registration(next++, tag), &org);
        if (!s.ok() && !reported_failure.exchange(true)) {
          std::cerr << "bench: registration failed: " << s.error_message() << "\n";
        }
        return s.ok();
      };
    };
    // The steady state is what is measured: a checkpoint (QuietDatabase: the WAL recycled, no
    // timed checkpoint due for minutes), then the same load, unmeasured, for a few seconds (the
    // broker's JIT and the relay's batching settle after the closed-loop scenarios).
    if (absl::GetFlag(FLAGS_outbox_checkpoint)) QuietDatabase(db.url());
    Paced(rate, 5, threads, registration("steady"));
    const int wal_files_before = WalSegmentFiles(db.url());
    const auto ack_before =
        Buckets(Scrape(metrics_port), "techtrade_outbox_publish_latency_seconds");
    ScenarioResult r = PacedLag(
        "registry.outbox_commit_to_consumer", stack.kafka_brokers, "techtrade.registry.events.v1",
        rate, absl::GetFlag(FLAGS_outbox_seconds), threads, "lag", registration("lag"));
    r.note = absl::StrCat("commit → read by a consumer, at ", rate, " registrations/s (info)");
    results.push_back(r);
    const auto ack_after =
        Buckets(Scrape(metrics_port), "techtrade_outbox_publish_latency_seconds");
    wal_segments_created = WalSegmentFiles(db.url()) - wal_files_before;
    ScenarioResult ack;
    ack.name = "registry.outbox_commit_to_ack";
    ack.p50_ms = PercentileBetween(ack_before, ack_after, 50, &ack.calls);
    ack.p99_ms = PercentileBetween(ack_before, ack_after, 99, &ack.calls);
    ack.qps = r.qps;
    ack.note = "relay histogram over the steady phase (interpolated in 25% buckets)";
    results.push_back(ack);
  }
  registry->Terminate();

  // --- The registry without near copies: the organisation from Redis on every call.
  env["TECHTRADE_CACHE_NEAR_COPY_MS"] = "0";
  env["TECHTRADE_METRICS_PORT"] = "-1";
  env.erase("TECHTRADE_BOOTSTRAP_OPERATOR_KEY");
  registry = std::make_unique<ServiceProcess>("registry", env);
  if (!registry->WaitUntilServing()) return 1;
  stubs = Stubs<v1::RegistryService>(registry->address(), threads);
  results.push_back(note(ClosedLoop("registry.get_redis", *gets(), duration),
                         "near copies off: org from Redis each call, key memoized (info)"));
  registry->Terminate();

  // --- The registry with no reachable Redis and no near copies: every lookup from PostgreSQL.
  env["TECHTRADE_REDIS_URL"] = "redis://127.0.0.1:1";
  registry = std::make_unique<ServiceProcess>("registry", env);
  if (!registry->WaitUntilServing()) return 1;
  stubs = Stubs<v1::RegistryService>(registry->address(), threads);
  results.push_back(note(ClosedLoop("registry.get_uncached", *gets(), duration),
                         "no Redis, no near copies: org from PostgreSQL each call"));
  registry->Terminate();

  // --- What TLS costs: the registrations again over plaintext gRPC (PostgreSQL, Kafka and the
  // raw-insert baseline keep theirs), against the same baseline.
  env["TECHTRADE_REDIS_URL"] = stack.redis_url;
  env.erase("TECHTRADE_CACHE_NEAR_COPY_MS");
  env["TECHTRADE_TLS_CA"] = "";
  const TlsFiles tls = ProcessTls();
  SetProcessTls({});
  registry = std::make_unique<ServiceProcess>("registry", env);
  if (!registry->WaitUntilServing()) return 1;
  stubs = Stubs<v1::RegistryService>(registry->address(), threads);
  registrations(threads, "_plaintext_grpc",
                "the durable registration over plaintext gRPC (TLS off on its port only)");
  registry->Terminate();
  SetProcessTls(tls);

  auto find = [&](const std::string& name) -> const ScenarioResult& { return Find(results, name); };
  double cached_vs_echo = find("registry.get_cached").qps / find("echo").qps;
  double register_vs_raw = find("registry.register").qps / find("postgres.raw_insert").qps;
  double outbox_p99 = find("registry.outbox_commit_to_ack").p99_ms;
  bool outbox_complete = find("registry.outbox_commit_to_consumer").errors == 0 &&
                         find("registry.outbox_commit_to_ack").calls >=
                             absl::GetFlag(FLAGS_outbox_rate) * absl::GetFlag(FLAGS_outbox_seconds);
  figures.push_back(
      {"registry.cached_get_vs_echo", cached_vs_echo, ">= 0.50", cached_vs_echo >= 0.5});
  figures.push_back({"registry.redis_get_vs_echo",
                     find("registry.get_redis").qps / find("echo").qps, "info", true});
  figures.push_back(
      {"registry.register_vs_raw_insert", register_vs_raw, ">= 0.50", register_vs_raw >= 0.5});
  figures.push_back({"registry.register_vs_raw_insert_plaintext_grpc",
                     find("registry.register_plaintext_grpc").qps /
                         find("postgres.raw_insert_plaintext_grpc").qps,
                     "info", true});
  figures.push_back({absl::StrCat("registry.register_vs_raw_insert", few),
                     find("registry.register" + few).qps / find("postgres.raw_insert" + few).qps,
                     "info", true});
  figures.push_back(
      {"registry.outbox_p99_ms", outbox_p99, "<= 50", outbox_p99 <= 50 && outbox_complete});
  figures.push_back({"registry.outbox_wal_segments_created",
                     static_cast<double>(wal_segments_created), "info", true});
  figures.push_back({"registry.outbox_to_consumer_p99_ms",
                     find("registry.outbox_commit_to_consumer").p99_ms, "info", true});
  figures.push_back(
      {"registry.idle_rss_mb", idle_rss_kib / 1024.0, "<= 64", idle_rss_kib / 1024.0 <= 64});
  figures.push_back({"echo.rss_after_load_mb", echo_rss_kib / 1024.0, "info", true});
  return 0;
}

}  // namespace

int Run(BenchRun& run) { return Main(run); }

}  // namespace techtrade::bench
