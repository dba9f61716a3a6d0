// Dead letters an operator sees and acts on, against the real stack: listings' consumer of
// registry events is made to refuse events (failpoint inbox.apply), so that suspensions end
// parked; the gauge counts them, the DeadLetterService lists and shows them, a replay after the
// cause is gone (the listings restarted without the failpoint: a fix deployed) applies the
// suspension exactly once, and a discard keeps the row for audit. Operators only; bad input is
// INVALID_ARGUMENT naming the field.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/tls_files.h"
#include "techtrade/ops/v1/dead_letters.grpc.pb.h"
#include "tests/support/deal_fixture.h"
#include "tests/support/polling.h"
#include "tests/support/tool_runner.h"

namespace techtrade::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
namespace ops = techtrade::ops::v1;

constexpr char kRegistryTopic[] = "techtrade.registry.events.v1";
constexpr char kListingsTopic[] = "techtrade.listings.events.v1";

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

// The body of GET /metrics on 127.0.0.1:port ("" when it cannot be read).
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
      char buffer[8192];
      for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) response.append(buffer, n);
    }
  }
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

class DeadLettersTest : public DealFixture {
 protected:
  DeadLettersTest() : DealFixture("dl_") {}

  void SetUp() override {
    DealFixture::SetUp();
    if (HasFatalFailure()) return;
    // The listings again, now refusing every event its consumers act on, with a known metrics
    // port.
    consumer_ = envs_["listings"]["TECHTRADE_LISTINGS_REGISTRY_CONSUMER"];
    metrics_port_ = FreePort();
    envs_["listings"]["TECHTRADE_METRICS_PORT"] = absl::StrCat(metrics_port_);
    envs_["listings"]["TECHTRADE_FAILPOINTS"] = "inbox.apply=error";
    ShutDown("listings");
    ASSERT_TRUE(StartAgain("listings")) << listings_->log_path();
    dead_letters_ = ops::DeadLetterService::NewStub(listings_->channel());
  }

  // The gauge for the registry consumer as the listings exports it; -1 when it is not there.
  double Gauge() {
    const std::string labels = absl::StrCat("consumer=\"", consumer_, "\"");
    for (absl::string_view line : absl::StrSplit(Scrape(metrics_port_), '\n')) {
      if (absl::StartsWith(line, "techtrade_inbox_dead_letters{") &&
          absl::StrContains(line, labels) &&
          absl::StrContains(line, absl::StrCat("topic=\"", kRegistryTopic, "\""))) {
        double value = -1;
        if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value)) return value;
      }
    }
    return -1;
  }

  // Polls the gauge until it shows `expected`; returns the last value read.
  double GaugeBecomes(double expected) {
    double value = -1;
    for (absl::Time deadline = absl::Now() + absl::Seconds(20); absl::Now() < deadline;
         absl::SleepFor(absl::Milliseconds(100))) {
      if ((value = Gauge()) == expected) break;
    }
    return value;
  }

  reg::Organization Suspend(const reg::Organization& org) {
    reg::SuspendOrganizationRequest r;
    r.set_request_id("suspend-" + org.id());
    r.set_id(org.id());
    r.set_expected_version(org.version());
    r.set_reason("licence under review");
    reg::Organization out;
    grpc::Status s =
        registry_stub_->SuspendOrganization(AuthedContext(operator_key_).get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  ops::ListDeadLettersResponse List(ops::ListDeadLettersRequest r) {
    ops::ListDeadLettersResponse out;
    grpc::Status s = dead_letters_->ListDeadLetters(AuthedContext(operator_key_).get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  // Waits until the consumer parked the event of `organization_id`; returns its dead letter.
  ops::DeadLetter WaitForDeadLetter(const std::string& organization_id) {
    for (absl::Time deadline = absl::Now() + absl::Seconds(40); absl::Now() < deadline;
         absl::SleepFor(absl::Milliseconds(200))) {
      const ops::ListDeadLettersResponse listed = List({});
      for (const ops::DeadLetter& d : listed.dead_letters()) {
        if (d.aggregate_id() == organization_id) return d;
      }
    }
    ADD_FAILURE() << "no dead letter for " << organization_id;
    return {};
  }

  grpc::Status Get(int64_t id, ops::DeadLetter* out, const std::string& key = "") {
    ops::GetDeadLetterRequest r;
    r.set_id(id);
    return dead_letters_->GetDeadLetter(AuthedContext(key.empty() ? operator_key_ : key).get(), r,
                                        out);
  }

  grpc::Status Replay(int64_t id, const std::string& request_id, ops::DeadLetter* out) {
    ops::ReplayDeadLetterRequest r;
    r.set_request_id(request_id);
    r.set_id(id);
    return dead_letters_->ReplayDeadLetter(AuthedContext(operator_key_).get(), r, out);
  }

  grpc::Status Discard(int64_t id, const std::string& request_id, const std::string& reason,
                       ops::DeadLetter* out) {
    ops::DiscardDeadLetterRequest r;
    r.set_request_id(request_id);
    r.set_id(id);
    r.set_reason(reason);
    return dead_letters_->DiscardDeadLetter(AuthedContext(operator_key_).get(), r, out);
  }

  int64_t Listings(const std::string& sql) const { return dbs_[1]->QueryInt(sql); }

  std::string consumer_;
  int metrics_port_ = 0;
  std::unique_ptr<ops::DeadLetterService::Stub> dead_letters_;
};

TEST_F(DeadLettersTest, ParkedSeenReplayedAfterTheFixAndDiscardedWithAReason) {
  // Nothing parked yet: the gauge is there, at 0, from start-up.
  EXPECT_EQ(GaugeBecomes(0), 0);

  // A suspension the consumer refuses: parked after its attempts, counted at once.
  Suspend(seller_);
  const ops::DeadLetter parked = WaitForDeadLetter(seller_.id());
  EXPECT_EQ(parked.status(), ops::DEAD_LETTER_STATUS_UNRESOLVED);
  EXPECT_EQ(parked.consumer(), consumer_);
  EXPECT_EQ(parked.topic(), kRegistryTopic);
  EXPECT_EQ(parked.event_type(), "techtrade.registry.v1.OrganizationSuspended");
  EXPECT_EQ(parked.attempts(), 5);
  EXPECT_THAT(parked.error(), HasSubstr("failpoint inbox.apply"));
  EXPECT_FALSE(parked.has_envelope()) << "the list leaves the envelope to GetDeadLetter";
  EXPECT_EQ(GaugeBecomes(1), 1);
  EXPECT_EQ(Listings("SELECT count(*) FROM organization_visibility"), 0) << "not applied";

  ops::DeadLetter shown;
  ASSERT_TRUE(Get(parked.id(), &shown).ok());
  EXPECT_TRUE(shown.envelope().payload().Is<reg::OrganizationSuspended>());
  EXPECT_EQ(shown.envelope().event_id(), parked.event_id());
  EXPECT_EQ(shown.envelope().aggregate_id(), seller_.id());
  EXPECT_TRUE(shown.has_parked_time());
  EXPECT_TRUE(shown.has_last_attempt_time());
  EXPECT_FALSE(shown.has_resolved_time());

  // Replayed before the fix: it fails again, stays parked with one more attempt.
  ops::DeadLetter replayed;
  grpc::Status early = Replay(parked.id(), "replay-too-early", &replayed);
  EXPECT_EQ(early.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(early.error_message(), HasSubstr("failpoint inbox.apply"));
  ASSERT_TRUE(Get(parked.id(), &shown).ok());
  EXPECT_EQ(shown.status(), ops::DEAD_LETTER_STATUS_UNRESOLVED);
  EXPECT_EQ(shown.attempts(), 6);
  EXPECT_EQ(GaugeBecomes(1), 1);

  // A second one, discarded with a reason: kept for audit, no longer counted.
  Suspend(buyer_);
  const ops::DeadLetter second = WaitForDeadLetter(buyer_.id());
  EXPECT_EQ(GaugeBecomes(2), 2);
  ops::DeadLetter discarded;
  ASSERT_TRUE(
      Discard(second.id(), "discard-1", "superseded by a manual correction", &discarded).ok());
  EXPECT_EQ(discarded.status(), ops::DEAD_LETTER_STATUS_DISCARDED);
  EXPECT_EQ(discarded.resolution(), "superseded by a manual correction");
  EXPECT_FALSE(discarded.resolved_by().empty());
  EXPECT_TRUE(discarded.has_resolved_time());
  EXPECT_EQ(GaugeBecomes(1), 1);
  ops::DeadLetter again;
  ASSERT_TRUE(Discard(second.id(), "discard-1", "superseded by a manual correction", &again).ok())
      << "the same request_id answers as the first time";
  EXPECT_EQ(again.resolved_time().seconds(), discarded.resolved_time().seconds());
  EXPECT_EQ(Discard(second.id(), "discard-2", "twice", &again).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Replay(second.id(), "replay-discarded", &again).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // The fix is deployed: the listings start again without the failpoint; the gauge still says 1
  // from start-up.
  envs_["listings"].erase("TECHTRADE_FAILPOINTS");
  ShutDown("listings");
  ASSERT_TRUE(StartAgain("listings")) << listings_->log_path();
  dead_letters_ = ops::DeadLetterService::NewStub(listings_->channel());
  EXPECT_EQ(GaugeBecomes(1), 1);

  TopicReader listings_events(stack_.kafka_brokers, kListingsTopic);
  ASSERT_TRUE(Replay(parked.id(), "replay-1", &replayed).ok());
  EXPECT_EQ(replayed.status(), ops::DEAD_LETTER_STATUS_RESOLVED);
  EXPECT_EQ(replayed.resolution(), "replayed");
  EXPECT_EQ(replayed.attempts(), 7);
  EXPECT_TRUE(replayed.has_resolved_time());
  EXPECT_EQ(GaugeBecomes(0), 0);
  // The same request again is answered as the first time; another one finds it resolved.
  ASSERT_TRUE(Replay(parked.id(), "replay-1", &again).ok());
  EXPECT_EQ(again.status(), ops::DEAD_LETTER_STATUS_RESOLVED);
  EXPECT_EQ(Replay(parked.id(), "replay-2", &again).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // Applied exactly once: one inbox record, one visibility change, one event.
  EXPECT_EQ(Listings(absl::StrCat("SELECT count(*) FROM inbox WHERE consumer = '", consumer_,
                                  "' AND event_id = '", parked.event_id(), "'")),
            1);
  EXPECT_EQ(Listings(absl::StrCat("SELECT count(*) FROM organization_visibility WHERE "
                                  "hidden AND organization_id = '",
                                  seller_.id(), "'")),
            1);
  ASSERT_TRUE(listings_events.ReadUntilPayload<lv1::OrganizationListingsHidden>(seller_.id(),
                                                                                absl::Seconds(20)));
  listings_events.ReadUntil([](auto&) { return false; }, absl::Seconds(1));  // any second one
  int hidden = 0;
  for (const auto& e : listings_events.ForAggregate(seller_.id())) {
    hidden += e.envelope.payload().Is<lv1::OrganizationListingsHidden>();
  }
  EXPECT_EQ(hidden, 1);

  // Both kept, by status; paged oldest first.
  ops::ListDeadLettersRequest unresolved;
  unresolved.set_status(ops::DEAD_LETTER_STATUS_UNRESOLVED);
  EXPECT_EQ(List(unresolved).dead_letters_size(), 0);
  ops::ListDeadLettersRequest by_topic;
  by_topic.set_topic(kRegistryTopic);
  by_topic.set_page_size(1);
  ops::ListDeadLettersResponse first_page = List(by_topic);
  ASSERT_EQ(first_page.dead_letters_size(), 1);
  EXPECT_EQ(first_page.dead_letters(0).id(), parked.id());
  ASSERT_FALSE(first_page.next_page_token().empty());
  by_topic.set_page_token(first_page.next_page_token());
  ops::ListDeadLettersResponse second_page = List(by_topic);
  ASSERT_EQ(second_page.dead_letters_size(), 1);
  EXPECT_EQ(second_page.dead_letters(0).id(), second.id());
  EXPECT_EQ(second_page.dead_letters(0).status(), ops::DEAD_LETTER_STATUS_DISCARDED);
  EXPECT_TRUE(second_page.next_page_token().empty());

  // The same through the operator's CLI.
  auto ctl = [&](std::vector<std::string> args) {
    for (const std::string& a :
         {std::string("--service"), std::string("listings"), std::string("--listings"),
          listings_->address(), std::string("--key"), operator_key_, std::string("--env"),
          std::string("/nonexistent")}) {
      args.push_back(a);
    }
    return RunTool("techtradectl", args);
  };
  ToolResult listed = ctl({"dead-letters", "list", "--status", "DISCARDED"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("DEAD_LETTER_STATUS_DISCARDED"));
  EXPECT_THAT(listed.out, HasSubstr(buyer_.id()));
  EXPECT_THAT(listed.out, Not(HasSubstr(seller_.id())));
  ToolResult shown_by_cli = ctl({"dead-letters", "show", "--id", absl::StrCat(parked.id())});
  ASSERT_EQ(shown_by_cli.exit_code, 0) << shown_by_cli.err;
  EXPECT_THAT(shown_by_cli.out, HasSubstr("techtrade.registry.v1.OrganizationSuspended"));
  EXPECT_THAT(shown_by_cli.out, HasSubstr("replayed"));
  ToolResult replayed_by_cli = ctl({"dead-letters", "replay", "--id", absl::StrCat(parked.id())});
  EXPECT_EQ(replayed_by_cli.exit_code, 6) << "already resolved: " << replayed_by_cli.err;
}

TEST_F(DeadLettersTest, OperatorsOnlyAndBadInputNamesTheField) {
  ops::DeadLetter out;
  for (const std::string& key : {wuhan_key_, partner_key_}) {
    EXPECT_EQ(Get(1, &out, key).error_code(), grpc::StatusCode::PERMISSION_DENIED);
    ops::ListDeadLettersRequest list;
    ops::ListDeadLettersResponse listed;
    EXPECT_EQ(dead_letters_->ListDeadLetters(AuthedContext(key).get(), list, &listed).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    ops::DiscardDeadLetterRequest discard;
    discard.set_request_id("discard-by-city");
    discard.set_id(1);
    discard.set_reason("not mine to discard");
    EXPECT_EQ(
        dead_letters_->DiscardDeadLetter(AuthedContext(key).get(), discard, &out).error_code(),
        grpc::StatusCode::PERMISSION_DENIED);
  }

  auto expect_invalid = [](const grpc::Status& s, const std::string& field) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_THAT(s.error_message(), StartsWith(field + ":"));
  };
  expect_invalid(Get(0, &out), "id");
  expect_invalid(Get(-3, &out), "id");
  expect_invalid(Replay(1, "", &out), "request_id");
  expect_invalid(Discard(1, "discard-no-reason", "", &out), "reason");
  expect_invalid(Discard(1, "discard-blank-reason", "   ", &out), "reason");
  expect_invalid(Discard(1, "discard-long-reason", std::string(501, 'x'), &out), "reason");
  ops::ListDeadLettersRequest list;
  ops::ListDeadLettersResponse listed;
  list.set_page_size(-1);
  expect_invalid(dead_letters_->ListDeadLetters(AuthedContext(operator_key_).get(), list, &listed),
                 "page_size");
  list.Clear();
  list.set_status(static_cast<ops::DeadLetterStatus>(42));
  expect_invalid(dead_letters_->ListDeadLetters(AuthedContext(operator_key_).get(), list, &listed),
                 "status");
  list.Clear();
  list.set_page_token("forged");
  expect_invalid(dead_letters_->ListDeadLetters(AuthedContext(operator_key_).get(), list, &listed),
                 "page_token");
  // Unknown, and well-formed: NOT_FOUND.
  EXPECT_EQ(Get(987654, &out).error_code(), grpc::StatusCode::NOT_FOUND);

  // Every consuming service serves it; the transactions service (no parked events) lists none.
  auto transactions = ops::DeadLetterService::NewStub(transactions_->channel());
  ASSERT_TRUE(transactions->ListDeadLetters(AuthedContext(operator_key_).get(), {}, &listed).ok());
  EXPECT_EQ(listed.dead_letters_size(), 0);
}

// The value of the first series of `metric` whose line contains every one of `labels`; -1 when
// there is none.
double SeriesValue(const std::string& scraped, absl::string_view metric,
                   const std::vector<std::string>& labels) {
  for (absl::string_view line : absl::StrSplit(scraped, '\n')) {
    if (!absl::StartsWith(line, absl::StrCat(metric, "{"))) continue;
    bool all = true;
    for (const std::string& label : labels) all = all && absl::StrContains(line, label);
    double value = -1;
    if (all && absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value)) return value;
  }
  return -1;
}

// What the alerts of k8s/components/monitoring/alerts.yaml read, as a listings process exports it:
// its consumer's lag (none left once it has gone through the registry's events),
// how current its read model is, and when the certificate it serves expires.
TEST_F(DeadLettersTest, AListingsProcessExportsWhatTheAlertsRead) {
  const double started = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  std::string scraped;
  const std::vector<std::string> lag_labels = {absl::StrCat("consumer_group=\"", consumer_, "\""),
                                               absl::StrCat("topic=\"", kRegistryTopic, "\"")};
  const bool seen = Eventually(
      [&] {
        scraped = Scrape(metrics_port_);
        return SeriesValue(scraped, "techtrade_inbox_consumer_lag", lag_labels) == 0 &&
               SeriesValue(scraped, "techtrade_listings_read_model_synced_timestamp_seconds", {}) >=
                   started;
      },
      absl::Seconds(60));
  EXPECT_TRUE(seen) << scraped;
  absl::StatusOr<absl::Time> not_after =
      CertificateFileNotAfter(ServiceIdentityTls("listings").cert);
  ASSERT_TRUE(not_after.ok()) << not_after.status();
  EXPECT_EQ(SeriesValue(scraped, "techtrade_tls_certificate_expiry_timestamp_seconds",
                        {"certificate=\"server\"", "service=\"listings\""}),
            absl::ToUnixSeconds(*not_after));
}

}  // namespace
}  // namespace techtrade::testing
