// Finance partners see only their deals' applications, against the running services and broker:
// partner B can neither read nor list partner A's application (NOT_FOUND, as for no
// application) nor its ledger entries, nor find it in Reconcile or in the appraisal's figures,
// and the application's events reach A's own topic (techtrade.partner.<A>.deals.v1, beside A's
// deal events) and never B's.
#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <set>

#include "common/kafka.h"
#include "common/topics.h"
#include "tests/support/platform_fixture.h"

namespace techtrade::testing {
namespace {

using ::testing::ElementsAre;

class FundPartnerScopeTest : public PlatformFixture {
 protected:
  FundPartnerScopeTest() : PlatformFixture("fund_partner_it_") {}

  // Opens a deal that names `partner_id` (so that the partner's topic exists).
  tv1::Deal OpenFor(const std::string& partner_id) {
    tv1::OpenDealRequest r;
    r.set_request_id("open-" + NewUuid());
    r.set_listing_id(offer_id_);
    r.set_listing_kind(lv1::LISTING_KIND_OFFER);
    r.set_buyer_org_id(buyer_.id());
    r.set_seller_org_id(seller_.id());
    r.set_finance_partner_id(partner_id);
    return Must(&tv1::TransactionsService::Stub::OpenDeal, r, shenzhen_key_);
  }

  // The event types per aggregate on `topic` from its beginning, read until `done` holds or
  // `timeout` passes (the relay creates the topic when it first publishes to it).
  std::map<std::string, std::vector<std::string>> EventsOnTopic(
      const std::string& topic,
      const std::function<bool(const std::map<std::string, std::vector<std::string>>&)>& done,
      absl::Duration timeout) {
    std::map<std::string, std::vector<std::string>> by_aggregate;
    const absl::Time deadline = absl::Now() + timeout;
    while (!KafkaConsumer::EndOffsets(stack_.kafka_brokers, topic, absl::Seconds(2)).ok()) {
      if (absl::Now() > deadline) return by_aggregate;
      absl::SleepFor(absl::Milliseconds(200));
    }
    auto consumer = KafkaConsumer::CreateTail(stack_.kafka_brokers, topic, {});
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    if (!consumer.ok()) return by_aggregate;
    while (!done(by_aggregate) && absl::Now() < deadline) {
      std::unique_ptr<RdKafka::Message> m = (*consumer)->Poll(absl::Milliseconds(200));
      if (m == nullptr || m->err() != RdKafka::ERR_NO_ERROR) continue;
      common::v1::EventEnvelope e;
      if (e.ParseFromArray(m->payload(), static_cast<int>(m->len()))) {
        const std::string& type = e.event_type();
        by_aggregate[e.aggregate_id()].push_back(type.substr(type.rfind('.') + 1));
      }
    }
    return by_aggregate;
  }
};

TEST_F(FundPartnerScopeTest, PartnerBNeitherReadsNorListsPartnerAsApplication) {
  const std::string b_key = Key(reg::API_CLIENT_ROLE_PARTNER, "");
  fv1::Programme p = CreateProgramme(ProgrammeRequest(1'000'000'00));
  const tv1::Deal d = Signed();
  ASSERT_EQ(d.finance_partner_id(), partner_id_);
  fv1::Application a;
  grpc::Status s = Submit(p.id(), d, &a);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(a.finance_partner_id(), partner_id_);

  fv1::GetApplicationRequest get;
  get.set_id(a.id());
  fv1::Application read;
  s = fund_->GetApplication(AuthedContext(partner_key_).get(), get, &read);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(read.id(), a.id());
  s = fund_->GetApplication(AuthedContext(b_key).get(), get, &read);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "id: no application " + a.id());
  // Exactly what an unknown id gets.
  const std::string unknown = NewUuid();
  get.set_id(unknown);
  s = fund_->GetApplication(AuthedContext(b_key).get(), get, &read);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "id: no application " + unknown);

  auto listed = [&](const std::string& key, const std::string& deal_id) {
    fv1::ListApplicationsRequest r;
    r.set_deal_id(deal_id);
    fv1::ListApplicationsResponse page;
    grpc::Status ls = fund_->ListApplications(AuthedContext(key).get(), r, &page);
    EXPECT_TRUE(ls.ok()) << ls.error_message();
    std::vector<std::string> ids;
    for (const fv1::Application& x : page.applications()) ids.push_back(x.id());
    return ids;
  };
  EXPECT_THAT(listed(partner_key_, d.id()), ElementsAre(a.id()));
  EXPECT_THAT(listed(b_key, d.id()), ElementsAre());
  EXPECT_THAT(listed(b_key, ""), ElementsAre());
  EXPECT_THAT(listed(operator_key_, d.id()), ElementsAre(a.id()));

  // The programme's ledger: its own entry for every auditor, A's application's entries for A
  // only.
  auto ledger = [&](const std::string& key) {
    fv1::ListLedgerEntriesRequest r;
    r.set_programme_id(p.id());
    fv1::ListLedgerEntriesResponse page;
    grpc::Status ls = fund_->ListLedgerEntries(AuthedContext(key).get(), r, &page);
    EXPECT_TRUE(ls.ok()) << ls.error_message();
    std::vector<std::string> kinds;
    for (const fv1::LedgerEntry& e : page.entries()) {
      kinds.push_back(e.application_id().empty() ? e.kind() : e.kind() + " " + e.application_id());
    }
    return kinds;
  };
  EXPECT_THAT(ledger(partner_key_), ElementsAre("fund", "reserve " + a.id(), "disburse " + a.id()));
  EXPECT_THAT(ledger(b_key), ElementsAre("fund"));
  EXPECT_THAT(ledger(operator_key_),
              ElementsAre("fund", "reserve " + a.id(), "disburse " + a.id()));
}

TEST_F(FundPartnerScopeTest, PartnerBNeitherReconcilesNorAppraisesPartnerAsApplication) {
  const std::string b_key = Key(reg::API_CLIENT_ROLE_PARTNER, "");
  fv1::Programme p = CreateProgramme(ProgrammeRequest(1'000'000'00));
  const tv1::Deal d = Signed();
  fv1::Application a;
  grpc::Status s = Submit(p.id(), d, &a);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(a.status(), fv1::APPLICATION_STATUS_APPROVED);
  const int64_t paid = GetApplication(a.id()).disbursed_minor();
  ASSERT_GT(paid, 0);
  // A's application disagrees with its entries, so Reconcile names it to whoever may see it.
  ASSERT_EQ(fund_db_->QueryInt("WITH u AS (UPDATE applications SET disbursed = disbursed + 1 "
                               "WHERE id = '" +
                               a.id() + "' RETURNING 1) SELECT count(*) FROM u"),
            1);

  auto reconcile = [&](const std::string& key, const std::string& programme_id) {
    fv1::ReconcileRequest r;
    r.set_programme_id(programme_id);
    fv1::ReconcileResponse out;
    grpc::Status rs = fund_->Reconcile(AuthedContext(key).get(), r, &out);
    EXPECT_TRUE(rs.ok()) << rs.error_message();
    return out;
  };
  for (const std::string& key : {partner_key_, operator_key_}) {
    const fv1::ReconcileResponse r = reconcile(key, p.id());
    ASSERT_EQ(r.programmes_size(), 1);
    EXPECT_THAT(r.programmes(0).mismatched_application_ids(), ElementsAre(a.id()));
    EXPECT_EQ(r.programmes(0).entries(), 3);  // fund, reserve, the signing tranche
    EXPECT_FALSE(r.balanced());
  }
  // B: the programme's balances (any key reads them with GetProgramme) and its own entry only;
  // nothing of A's application, not even how many entries it has.
  for (const std::string& programme_id : {p.id(), std::string()}) {
    const fv1::ReconcileResponse r = reconcile(b_key, programme_id);
    ASSERT_EQ(r.programmes_size(), 1);
    EXPECT_THAT(r.programmes(0).mismatched_application_ids(), ElementsAre());
    EXPECT_EQ(r.programmes(0).entries(), 1);
    EXPECT_EQ(r.entries_checked(), 1);
    EXPECT_EQ(r.programmes(0).recorded().SerializeAsString(),
              GetProgramme(p.id()).balances().SerializeAsString());
    EXPECT_TRUE(r.balanced());
  }

  // The appraisal counts a partner's own deals only: B's is that of a city without deals.
  auto appraise = [&](const std::string& key, const std::string& city_id) {
    fv1::GetAppraisalRequest r;
    r.set_city_id(city_id);
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    *r.mutable_period_start() = google::protobuf::util::TimeUtil::SecondsToTimestamp(now - 86400);
    *r.mutable_period_end() = google::protobuf::util::TimeUtil::SecondsToTimestamp(now + 60);
    fv1::Appraisal out;
    grpc::Status as = fund_->GetAppraisal(AuthedContext(key).get(), r, &out);
    EXPECT_TRUE(as.ok()) << as.error_message();
    return out;
  };
  for (const std::string& city : {d.city_id(), std::string()}) {
    const fv1::Appraisal mine = appraise(partner_key_, city);
    EXPECT_EQ(mine.deals_signed(), 1) << city;
    EXPECT_EQ(mine.contract_value().amount_minor(), 80'000'00) << city;
    EXPECT_EQ(mine.subsidy_disbursed().amount_minor(), paid) << city;
    EXPECT_GE(appraise(operator_key_, city).deals_signed(), 1) << city;
    const fv1::Appraisal theirs = appraise(b_key, city);
    EXPECT_EQ(theirs.deals_signed(), 0) << city;
    EXPECT_EQ(theirs.deals_completed(), 0) << city;
    EXPECT_EQ(theirs.contract_value().amount_minor(), 0) << city;
    EXPECT_EQ(theirs.subsidy_disbursed().amount_minor(), 0) << city;
    EXPECT_EQ(theirs.median_days_open_to_sign(), 0) << city;
  }
}

TEST_F(FundPartnerScopeTest, AnApplicationsEventsAreOnItsDealsPartnerTopicAndNotOnAnothers) {
  const std::string b_id = KeyId(Key(reg::API_CLIENT_ROLE_PARTNER, ""));
  const tv1::Deal b_deal = OpenFor(b_id);
  fv1::Programme p = CreateProgramme(ProgrammeRequest(1'000'000'00));
  const tv1::Deal d = Signed();
  fv1::Application a;
  grpc::Status s = Submit(p.id(), d, &a);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(a.status(), fv1::APPLICATION_STATUS_APPROVED);

  // On A's topic: the deal's events and its application's (decided, the signing tranche). Two
  // relays publish them, the transactions' and the fund's, each in its own time: wait for both.
  auto on_a = EventsOnTopic(
      PartnerDealsTopic(partner_id_),
      [&](const auto& seen) {
        return seen.contains(d.id()) && seen.contains(a.id()) && seen.at(a.id()).size() >= 2;
      },
      absl::Seconds(30));
  EXPECT_THAT(on_a[a.id()], ElementsAre("ApplicationDecided", "TrancheDisbursed"));
  EXPECT_TRUE(on_a.contains(d.id()));
  EXPECT_FALSE(on_a.contains(b_deal.id()));
  EXPECT_FALSE(on_a.contains(p.id())) << "programme events stay on the fund's topic";

  // On B's topic: B's deal, never A's deal or A's application (both were on A's topic above,
  // so the relays have published them by now).
  auto on_b = EventsOnTopic(
      PartnerDealsTopic(b_id), [&](const auto& seen) { return seen.contains(b_deal.id()); },
      absl::Seconds(30));
  EXPECT_TRUE(on_b.contains(b_deal.id()));
  EXPECT_FALSE(on_b.contains(d.id()));
  EXPECT_FALSE(on_b.contains(a.id()));
  EXPECT_FALSE(on_b.contains(p.id()));
}

}  // namespace
}  // namespace techtrade::testing
