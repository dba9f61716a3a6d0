// Helpers of common/: paging tokens, validation, API keys, ids, configuration parsing, group
// commit statements, failpoints, the near cache, and the metrics endpoint (on an ephemeral local
// port).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/auth.h"
#include "common/cache.h"
#include "common/channel.h"
#include "common/command.h"
#include "common/db.h"
#include "common/failpoint.h"
#include "common/grpc_status.h"
#include "common/ids.h"
#include "common/metrics.h"
#include "common/paging.h"
#include "common/server.h"
#include "common/tls.h"
#include "common/validation.h"
#include "techtrade/bench/v1/echo.grpc.pb.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "tests/support/fake_clock.h"

namespace techtrade {
namespace {

using ::testing::StartsWith;

TEST(PagingTest, TokensRoundTripAndRejectForgeries) {
  registry::v1::ListOrganizationsRequest request;
  request.set_city_id("wuhan");
  EXPECT_EQ(*DecodePageToken("ListOrganizations", request), 0);
  request.set_page_token(EncodePageToken("ListOrganizations", request, 12345));
  request.set_page_size(7);  // the page size may change between pages
  EXPECT_EQ(*DecodePageToken("ListOrganizations", request), 12345);

  for (const char* forged : {"garbage!", "eDox", "cDE6MTIzNDU"}) {  // "p1:12345", an old token
    registry::v1::ListOrganizationsRequest r = request;
    r.set_page_token(forged);
    EXPECT_THAT(std::string(DecodePageToken("ListOrganizations", r).status().message()),
                StartsWith("page_token: "))
        << forged;
  }
}

TEST(PagingTest, TokensAreTakenOnlyByTheListAndFiltersThatMadeThem) {
  registry::v1::ListOrganizationsRequest request;
  request.set_city_id("wuhan");
  request.set_page_token(EncodePageToken("ListOrganizations", request, 10));
  // Another list of the same request type.
  EXPECT_EQ(DecodePageToken("ListApiClients", request).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Other filters.
  registry::v1::ListOrganizationsRequest other_city = request;
  other_city.set_city_id("hefei");
  EXPECT_EQ(DecodePageToken("ListOrganizations", other_city).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Another position with the first position's seal.
  registry::v1::ListOrganizationsRequest moved = request;
  std::string token = EncodePageToken("ListOrganizations", request, 10);
  std::string decoded;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &decoded));
  decoded.replace(3, 2, "99");
  moved.set_page_token(absl::WebSafeBase64Escape(decoded));
  EXPECT_EQ(DecodePageToken("ListOrganizations", moved).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PagingTest, PageSizeBounds) {
  EXPECT_EQ(*ResolvePageSize(0), kDefaultPageSize);
  EXPECT_EQ(*ResolvePageSize(1), 1);
  EXPECT_EQ(*ResolvePageSize(500), 500);
  EXPECT_THAT(std::string(ResolvePageSize(501).status().message()), StartsWith("page_size: "));
  EXPECT_FALSE(ResolvePageSize(-1).ok());
}

TEST(ValidationTest, Uuid) {
  EXPECT_TRUE(CheckUuid("id", NewUuid()).ok());
  EXPECT_FALSE(CheckUuid("id", "").ok());
  EXPECT_FALSE(CheckUuid("id", "3F0C9A8E-1B2C-4D5E-8F90-123456789ABC").ok());
  EXPECT_FALSE(CheckUuid("id", "3f0c9a8e1b2c4d5e8f90123456789abc").ok());
}

TEST(ValidationTest, Email) {
  EXPECT_TRUE(CheckEmail("e", "").ok());
  EXPECT_TRUE(CheckEmail("e", "a@b.cn").ok());
  EXPECT_FALSE(CheckEmail("e", "a@b").ok());
  EXPECT_FALSE(CheckEmail("e", "@b.cn").ok());
  EXPECT_FALSE(CheckEmail("e", "a@@b.cn").ok());
  EXPECT_FALSE(CheckEmail("e", "a b@c.cn").ok());
}

TEST(ValidationTest, RequestId) {
  EXPECT_THAT(std::string(ValidateRequestId("").message()), StartsWith("request_id: "));
  EXPECT_FALSE(ValidateRequestId(std::string(65, 'a')).ok());
  EXPECT_FALSE(ValidateRequestId("has space").ok());
  EXPECT_TRUE(ValidateRequestId("2f1c-retry-safe").ok());
}

TEST(ApiKeyTest, NewKeysParseAndDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string key = NewApiKey();
    absl::StatusOr<ParsedApiKey> parsed = ParseApiKey(key);
    ASSERT_TRUE(parsed.ok()) << key;
    EXPECT_EQ(parsed->key_id.size(), 16u);
    EXPECT_EQ(parsed->secret.size(), 64u);
    EXPECT_TRUE(seen.insert(key).second);
  }
}

TEST(ApiKeyTest, MalformedKeysAreUnauthenticated) {
  for (const std::string& bad : std::vector<std::string>{"", "tt_", "Bearer x", NewApiKey() + "0",
                                                         "xx" + NewApiKey().substr(2)}) {
    EXPECT_EQ(ParseApiKey(bad).status().code(), absl::StatusCode::kUnauthenticated) << bad;
  }
  std::string upper = NewApiKey();
  upper[5] = 'A';
  EXPECT_FALSE(ParseApiKey(upper).ok());
}

TEST(AuthorizationTest, CityRules) {
  Principal op, city, partner;
  op.set_role(registry::v1::API_CLIENT_ROLE_OPERATOR);
  city.set_role(registry::v1::API_CLIENT_ROLE_CITY_SYSTEM);
  city.set_city_id("wuhan-east-lake");
  partner.set_role(registry::v1::API_CLIENT_ROLE_PARTNER);
  EXPECT_TRUE(RequireCityAccess(op, "shenzhen").ok());
  EXPECT_TRUE(RequireCityAccess(city, "wuhan-east-lake").ok());
  EXPECT_EQ(RequireCityAccess(city, "shenzhen").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(RequireCityAccess(partner, "wuhan-east-lake").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(RequireOperator(city).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(RequireWriter(partner).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(RequireWriter(city).ok());
}

// An empty scope reads every city, so only operators and partners (scoped by their own deals)
// get one; a caller of no known role, or a city system without a city, reads nothing.
TEST(AuthorizationTest, CityScopeIsEmptyOnlyForOperatorsAndPartners) {
  Principal op, city, partner, cityless, unknown;
  op.set_role(registry::v1::API_CLIENT_ROLE_OPERATOR);
  city.set_role(registry::v1::API_CLIENT_ROLE_CITY_SYSTEM);
  city.set_city_id("wuhan-east-lake");
  partner.set_role(registry::v1::API_CLIENT_ROLE_PARTNER);
  partner.set_api_client_id("bank-1");
  cityless.set_role(registry::v1::API_CLIENT_ROLE_CITY_SYSTEM);
  unknown.set_api_client_id("someone");
  EXPECT_EQ(CityScope(op).value_or("?"), "");
  EXPECT_EQ(CityScope(partner).value_or("?"), "");
  EXPECT_EQ(CityScope(city).value_or("?"), "wuhan-east-lake");
  EXPECT_EQ(CityScope(cityless).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CityScope(unknown).status().code(), absl::StatusCode::kPermissionDenied);
  partner.clear_api_client_id();
  EXPECT_EQ(CityScope(partner).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(IdsTest, UuidShapeAndDigest) {
  std::string id = NewUuid();
  EXPECT_EQ(id[14], '4');
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
}

// Random bytes come from a per-thread buffer: across its refills and across threads, no draw may
// repeat another (a byte range handed out twice would repeat ids and secrets).
TEST(IdsTest, RandomDrawsNeverRepeatAcrossRefillsAndThreads) {
  std::mutex mutex;
  std::set<std::string> seen;
  int draws = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<std::string> mine;
      for (int i = 0; i < 600; ++i) {  // 600 x 16 bytes + secrets: several 4 KiB refills
        mine.push_back(NewUuid());
        if (i % 50 == 0) mine.push_back(RandomHex(100));  // a draw larger than what is left
      }
      std::lock_guard lock(mutex);
      draws += static_cast<int>(mine.size());
      seen.insert(mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(static_cast<int>(seen.size()), draws);
  EXPECT_EQ(RandomHex(5000).size(), 10000u);  // more than a whole buffer at once
}

TEST(RedisUrlTest, Parses) {
  absl::StatusOr<RedisOptions> o = ParseRedisUrl("redis://127.0.0.1:25479");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->host, "127.0.0.1");
  EXPECT_EQ(o->port, 25479);
  EXPECT_EQ(ParseRedisUrl("redis://cache/0")->port, 6379);
  EXPECT_FALSE(ParseRedisUrl("http://x").ok());
  EXPECT_FALSE(ParseRedisUrl("redis://x:notaport").ok());
}

TEST(RedisUrlTest, CarriesAclCredentials) {
  absl::StatusOr<RedisOptions> o = ParseRedisUrl("redis://techtrade:s3cret@127.0.0.1:25479/0");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->user, "techtrade");
  EXPECT_EQ(o->password, "s3cret");
  EXPECT_EQ(o->host, "127.0.0.1");
  EXPECT_EQ(o->port, 25479);
  EXPECT_TRUE(ParseRedisUrl("redis://cache:6379")->user.empty());
  EXPECT_FALSE(ParseRedisUrl("redis://techtrade@cache:6379").ok());
  EXPECT_FALSE(ParseRedisUrl("redis://:pw@cache:6379").ok());
}

TEST(CacheTest, UnreachableRedisIsAMissNotAnError) {
  RedisOptions options;
  options.port = 1;  // nothing listens there
  Cache cache(options);
  EXPECT_FALSE(cache.Get("k").has_value());
  cache.Set("k", "v", absl::Seconds(1));
  cache.Invalidate("k");
  EXPECT_FALSE(cache.Get("k").has_value());
  EXPECT_GE(cache.errors(), 1u);
}

// Near copies, with no Redis to answer: what the process itself keeps.
class NearCopyTest : public ::testing::Test {
 protected:
  NearCopyTest() : cache_(Options(clock_)) {}
  static RedisOptions Options(const Clock& clock) {
    RedisOptions options;
    options.port = 1;  // nothing listens there: every Redis read is a miss
    options.cooldown = absl::ZeroDuration();
    options.near_copy_ttl = absl::Milliseconds(200);
    options.clock = &clock;
    return options;
  }
  absl::StatusOr<registry::v1::Organization> Read(bool near_copy) {
    return cache_.GetOrLoad<registry::v1::Organization>(
        "org", absl::Seconds(60),
        [&]() -> absl::StatusOr<registry::v1::Organization> {
          ++loads_;
          if (during_load_) during_load_();
          registry::v1::Organization org;
          org.set_name(absl::StrCat("load ", loads_));
          return org;
        },
        near_copy);
  }
  testing::FakeClock clock_;
  Cache cache_;
  int loads_ = 0;
  std::function<void()> during_load_;
};

TEST_F(NearCopyTest, ServedFromTheProcessUntilItExpires) {
  EXPECT_EQ(Read(true)->name(), "load 1");
  EXPECT_EQ(Read(true)->name(), "load 1");
  EXPECT_EQ(loads_, 1);
  clock_.Advance(absl::Milliseconds(199));
  EXPECT_EQ(Read(true)->name(), "load 1");
  clock_.Advance(absl::Milliseconds(1));  // near_copy_ttl has passed
  EXPECT_EQ(Read(true)->name(), "load 2");
}

TEST_F(NearCopyTest, OnlyForReadsThatAskAndOnlyWhenConfigured) {
  (void)Read(false);
  (void)Read(false);
  EXPECT_EQ(loads_, 2);
  RedisOptions off = Options(clock_);
  off.near_copy_ttl = absl::ZeroDuration();
  Cache cache(off);
  int loads = 0;
  for (int i = 0; i < 2; ++i) {
    (void)cache.GetOrLoad<registry::v1::Organization>(
        "org", absl::Seconds(60),
        [&] {
          ++loads;
          return absl::StatusOr<registry::v1::Organization>(registry::v1::Organization());
        },
        true);
  }
  EXPECT_EQ(loads, 2);
}

TEST_F(NearCopyTest, AnInvalidationDropsItAtOnce) {
  (void)Read(true);
  cache_.Invalidate("org");
  EXPECT_EQ(Read(true)->name(), "load 2");
  cache_.Invalidate("other");  // another key's invalidation leaves this copy alone
  EXPECT_EQ(Read(true)->name(), "load 2");
}

TEST_F(NearCopyTest, AReadRacingAnInvalidationIsNotKept) {
  // The record changes while it is being read: what was read may be the old state.
  during_load_ = [&] { cache_.Invalidate("org"); };
  EXPECT_EQ(Read(true)->name(), "load 1");
  during_load_ = nullptr;
  EXPECT_EQ(Read(true)->name(), "load 2");
}

TEST_F(NearCopyTest, ErrorsAreNotKept) {
  auto failing = [&]() -> absl::StatusOr<registry::v1::Organization> {
    ++loads_;
    return absl::UnavailableError("database unavailable");
  };
  EXPECT_FALSE(
      cache_.GetOrLoad<registry::v1::Organization>("org", absl::Seconds(60), failing, true).ok());
  EXPECT_EQ(Read(true)->name(), "load 2");
}

// Group commit's statements: each transaction's writes in order, the n-th writes of all together,
// rows with the same head and tail in one statement, placeholders renumbered across rows.
std::vector<std::string> Sql(const std::vector<internal::Statement>& statements) {
  std::vector<std::string> sql;
  for (const auto& s : statements) sql.push_back(s.sql);
  return sql;
}

TEST(BatchStatementsTest, MergesTheRowsOfTheSameStatementAndKeepsEachTransactionsOrder) {
  const std::vector<StagedWrite> a = {{"INSERT INTO t VALUES ", "(1)", ""},
                                      {"INSERT INTO o VALUES ", "('a')", " ON CONFLICT DO NOTHING"},
                                      {"UPDATE c SET n = n + 1", "", ""}};
  const std::vector<StagedWrite> b = {
      {"INSERT INTO t VALUES ", "(2)", ""},
      {"INSERT INTO o VALUES ", "('b')", " ON CONFLICT DO NOTHING"}};
  const std::vector<StagedWrite> c = {{"DELETE FROM t WHERE id = 9", "", ""},
                                      {"INSERT INTO t VALUES ", "(3)", ""}};
  EXPECT_THAT(Sql(internal::BatchStatements({&a, &b, &c})),
              ::testing::ElementsAre("INSERT INTO t VALUES (1), (2)", "DELETE FROM t WHERE id = 9",
                                     "INSERT INTO o VALUES ('a'), ('b') ON CONFLICT DO NOTHING",
                                     "INSERT INTO t VALUES (3)", "UPDATE c SET n = n + 1"));
}

TEST(BatchStatementsTest, RowsWithADifferentTailAreNotMerged) {
  const std::vector<StagedWrite> a = {{"INSERT INTO t VALUES ", "(1)", ""}};
  const std::vector<StagedWrite> b = {{"INSERT INTO t VALUES ", "(2)", " ON CONFLICT DO NOTHING"}};
  const std::vector<StagedWrite> c = {{"INSERT INTO t VALUES ", "(3)", ""}};
  EXPECT_THAT(Sql(internal::BatchStatements({&a, &b, &c})),
              ::testing::ElementsAre("INSERT INTO t VALUES (1), (3)",
                                     "INSERT INTO t VALUES (2) ON CONFLICT DO NOTHING"));
}

TEST(BatchStatementsTest, PlaceholdersOfMergedRowsFollowThePreviousRows) {
  const std::vector<StagedWrite> a = {
      {"INSERT INTO t VALUES ", "($1, $2::bytea)", "", {SqlText("a"), SqlBytes("\x01")}}};
  // A literal row is taken as it is, a '$1' inside its string included.
  const std::vector<StagedWrite> b = {{"INSERT INTO t VALUES ", "('costs $1', NULL)", ""}};
  const std::vector<StagedWrite> c = {
      {"INSERT INTO t VALUES ", "($1, $2::bytea)", "", {SqlText(int64_t{7}), SqlNull()}},
      {"UPDATE c SET n = $1 WHERE id = $2", "", "", {SqlText("5"), SqlText("x")}}};
  const std::vector<internal::Statement> statements = internal::BatchStatements({&a, &b, &c});
  ASSERT_EQ(statements.size(), 2u);
  EXPECT_EQ(statements[0].sql,
            "INSERT INTO t VALUES ($1, $2::bytea), ('costs $1', NULL), ($3, $4::bytea)");
  ASSERT_EQ(statements[0].params.size(), 4u);
  EXPECT_EQ(statements[0].params[0]->value, "a");
  EXPECT_EQ(statements[0].params[1]->kind, SqlParam::Kind::kBytes);
  EXPECT_EQ(statements[0].params[2]->value, "7");
  EXPECT_EQ(statements[0].params[3]->kind, SqlParam::Kind::kNull);
  EXPECT_EQ(statements[1].sql, "UPDATE c SET n = $1 WHERE id = $2");
  EXPECT_EQ(statements[1].params.size(), 2u);
}

TEST(BatchStatementsTest, OneTransactionAloneIsItsOwnStatements) {
  const std::vector<StagedWrite> a = {{"INSERT INTO t VALUES ", "($1)", "", {SqlText("x")}},
                                      {"UPDATE c SET n = 2", "", ""}};
  EXPECT_THAT(Sql(internal::BatchStatements({&a})),
              ::testing::ElementsAre("INSERT INTO t VALUES ($1)", "UPDATE c SET n = 2"));
  // Sent as a simple query (after reads), the values become literals.
  EXPECT_EQ(internal::WritesSql(a, [](const SqlParam& p) { return "'" + p.value + "'"; }),
            "INSERT INTO t VALUES ('x');\nUPDATE c SET n = 2;\n");
}

// GET /metrics from 127.0.0.1:port: the response, or "" if nothing listens there.
std::string Scrape(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) response.append(buf, n);
    }
  }
  close(fd);
  return response;
}

// Restores "all off" at the end, so that no other test meets an armed failpoint.
class FailpointTest : public ::testing::Test {
 protected:
  void TearDown() override { ASSERT_TRUE(failpoint::Configure("").ok()); }
};

TEST_F(FailpointTest, OffUnlessConfiguredAndOffAgainWhenCleared) {
  EXPECT_TRUE(failpoint::Hit("outbox.after_ack").ok());
  ASSERT_TRUE(failpoint::Configure("outbox.after_ack=error").ok());
  absl::Status fired = failpoint::Hit("outbox.after_ack");
  EXPECT_EQ(fired.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(fired.message()), ::testing::HasSubstr("outbox.after_ack"));
  EXPECT_TRUE(failpoint::Hit("inbox.after_commit").ok());  // another point stays off
  ASSERT_TRUE(failpoint::Configure("").ok());
  EXPECT_TRUE(failpoint::Hit("outbox.after_ack").ok());
}

TEST_F(FailpointTest, AStallWaitsThenGoesOn) {
  ASSERT_TRUE(failpoint::Configure(" inbox.after_commit = stall(50) ").ok());
  absl::Time start = absl::Now();
  EXPECT_TRUE(failpoint::Hit("inbox.after_commit").ok());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
}

TEST_F(FailpointTest, AProbabilityFiresSometimes) {
  ASSERT_TRUE(failpoint::Configure("db.after_commit=error@0.5").ok());
  int fired = 0;
  for (int i = 0; i < 2000; ++i) fired += !failpoint::Hit("db.after_commit").ok();
  EXPECT_GT(fired, 800);
  EXPECT_LT(fired, 1200);
}

TEST_F(FailpointTest, ACrashKillsTheProcessAsKillNineWould) {
  ASSERT_TRUE(failpoint::Configure("db.group_commit.mid_batch=crash").ok());
  EXPECT_EXIT((void)failpoint::Hit("db.group_commit.mid_batch"), ::testing::KilledBySignal(SIGKILL),
              "");
}

TEST_F(FailpointTest, ABadSpecIsRefusedNamingTheEntryAndChangesNothing) {
  ASSERT_TRUE(failpoint::Configure("outbox.drop=error").ok());
  for (const char* spec :
       {"no.such.point=crash", "outbox.after_ack=explode", "outbox.after_ack=error@0",
        "outbox.after_ack=error@1.5", "outbox.after_ack=error@", "outbox.after_ack=stall(x)",
        "outbox.after_ack"}) {
    absl::Status s = failpoint::Configure(spec);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << spec;
    EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr(spec)) << spec;
  }
  EXPECT_FALSE(failpoint::Hit("outbox.drop").ok());  // the earlier configuration stands
}

TEST(MetricsTest, ServesRpcFiguresThenStopsAndFreesItsPort) {
  Metrics metrics("unit");
  ASSERT_TRUE(metrics.Serve("127.0.0.1", 0).ok());
  const int port = metrics.bound_port();
  ASSERT_GT(port, 0);
  metrics.RecordRpc("Get", "OK", 0.002);
  metrics.RecordRpc("Get", "OK", 0.004);
  metrics.RecordRpc("Get", "NOT_FOUND", 0.001);
  metrics.RecordRpc("List", "OK", 0.001);
  const std::string scraped = Scrape(port);
  using ::testing::HasSubstr;
  EXPECT_THAT(scraped, HasSubstr("techtrade_rpc_requests_total{service=\"unit\",code=\"OK\","
                                 "method=\"Get\"} 2"));
  EXPECT_THAT(scraped, HasSubstr("techtrade_rpc_requests_total{service=\"unit\",code=\"NOT_"
                                 "FOUND\",method=\"Get\"} 1"));
  EXPECT_THAT(scraped, HasSubstr("techtrade_rpc_requests_total{service=\"unit\",code=\"OK\","
                                 "method=\"List\"} 1"));
  // One latency series per method, whatever the code.
  EXPECT_THAT(scraped,
              HasSubstr("techtrade_rpc_duration_seconds_count{service=\"unit\",method=\"Get\"} 3"));
  EXPECT_THAT(
      scraped,
      HasSubstr("techtrade_rpc_duration_seconds_sum{service=\"unit\",method=\"Get\"} 0.007"));
  metrics.StopServing();
  EXPECT_EQ(metrics.bound_port(), -1);
  EXPECT_EQ(Scrape(port), "");
  metrics.StopServing();  // again: nothing to stop
}

// Counts the calls it answers.
class CountingEcho final : public bench::v1::EchoService::Service {
 public:
  grpc::Status Echo(grpc::ServerContext* context, const bench::v1::EchoRequest* request,
                    bench::v1::EchoResponse* response) override {
    calls++;
    response->set_message(context->peer());
    return grpc::Status::OK;
  }
  std::atomic<int> calls{0};
};

// A client's connection is closed once it is max_connection_age old, so that the client connects
// anew (and resolves its target again: the pods a scale-out added get their share of the calls).
TEST(GrpcServerTest, AgesConnectionsSoThatClientsConnectAgain) {
  CountingEcho echo;
  GrpcServer server(
      {.max_threads = 4, .tls = ProcessTls(), .max_connection_age = absl::Milliseconds(500)});
  server.AddService(&echo);
  ASSERT_TRUE(server.Start().ok());
  auto stub = bench::v1::EchoService::NewStub(
      ServiceChannel(absl::StrCat("ipv4:127.0.0.1:", server.port())));
  auto peer = [&] {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    bench::v1::EchoRequest request;
    bench::v1::EchoResponse response;
    grpc::Status s = stub->Echo(&context, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.message();  // the client's address and port: one per connection
  };
  const std::string first = peer();
  EXPECT_EQ(peer(), first);
  absl::SleepFor(absl::Seconds(2));  // the age, its jitter, and the close
  const std::string later = peer();
  EXPECT_FALSE(later.empty());
  EXPECT_NE(later, first);
  server.Shutdown(absl::Seconds(1));
}

// A slow call whose client pings the connection: served while the pings are no more frequent than
// the server allows, and the connection ends with GOAWAY (too many pings) when they are.
class SlowEcho final : public bench::v1::EchoService::Service {
 public:
  grpc::Status Echo(grpc::ServerContext*, const bench::v1::EchoRequest* request,
                    bench::v1::EchoResponse* response) override {
    // Long enough for gRPC's client to send the four pings that, too frequent, end the
    // connection (the first is free, then two strikes are forgiven); it spaces them at least a
    // second apart whatever its keepalive time.
    absl::SleepFor(absl::Seconds(7));
    response->set_message(request->message());
    return grpc::Status::OK;
  }
};

grpc::Status SlowCallPingingEvery(absl::Duration ping, absl::Duration server_allows) {
  SlowEcho echo;
  GrpcServer server(
      {.max_threads = 4, .tls = ProcessTls(), .min_client_ping_interval = server_allows});
  server.AddService(&echo);
  if (absl::Status started = server.Start(); !started.ok()) return ToGrpcStatus(started);
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(absl::ToInt64Milliseconds(ping)));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5'000);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_HTTP2_MIN_SENT_PING_INTERVAL_WITHOUT_DATA_MS,
              static_cast<int>(absl::ToInt64Milliseconds(ping)));
  auto stub = bench::v1::EchoService::NewStub(grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", server.port()), ChannelCredentialsFor(ProcessTls()), args));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
  bench::v1::EchoRequest request;
  bench::v1::EchoResponse response;
  grpc::Status s = stub->Echo(&context, request, &response);
  server.Shutdown(absl::Seconds(1));
  return s;
}

TEST(GrpcServerTest, ServesClientsThatPingAsOftenAsItAllows) {
  // Allowed well below the client's interval: a ping parsed late on a busy machine, then one on
  // time, must not look too frequent.
  grpc::Status s = SlowCallPingingEvery(absl::Milliseconds(500), absl::Milliseconds(100));
  EXPECT_TRUE(s.ok()) << s.error_message();
  // The check has teeth: gRPC's own bound (5 minutes) ends such a client's connection.
  s = SlowCallPingingEvery(absl::Milliseconds(500), absl::Minutes(5));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

TEST(ServiceChannelTest, SpreadsCallsOverEveryAddressTheTargetNames) {
  CountingEcho first_echo, second_echo;
  // As the channel does: TLS when the environment has it (an ipv4: list is checked against its
  // first address, which the stack's certificates carry).
  GrpcServer first({.max_threads = 4, .tls = ProcessTls()}),
      second({.max_threads = 4, .tls = ProcessTls()});
  first.AddService(&first_echo);
  second.AddService(&second_echo);
  ASSERT_TRUE(first.Start().ok());
  ASSERT_TRUE(second.Start().ok());
  // Two addresses behind one name, as a headless Kubernetes Service resolves to its pods.
  auto channel =
      ServiceChannel(absl::StrCat("ipv4:127.0.0.1:", first.port(), ",127.0.0.1:", second.port()));
  auto stub = bench::v1::EchoService::NewStub(channel);
  ASSERT_TRUE(
      channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5)));
  constexpr int kCalls = 40;
  for (int i = 0; i < kCalls; ++i) {
    grpc::ClientContext context;
    bench::v1::EchoRequest request;
    request.set_message("ping");
    bench::v1::EchoResponse response;
    ASSERT_TRUE(stub->Echo(&context, request, &response).ok());
  }
  EXPECT_EQ(first_echo.calls + second_echo.calls, kCalls);
  // Round robin: both take a share (pick-first, gRPC's default, would send all to one).
  EXPECT_GE(first_echo.calls, kCalls / 4);
  EXPECT_GE(second_echo.calls, kCalls / 4);
  first.Shutdown(absl::Seconds(1));
  second.Shutdown(absl::Seconds(1));
}

}  // namespace
}  // namespace techtrade
