// Finance partners see only the applications of their deals, in process: partner A reads and
// lists the application of the deal that names it, partner B gets NOT_FOUND exactly as for an
// unknown id and an empty list; and every event of such an application, from every path that
// emits one (submission, review, a deal event), also goes to A's own stream
// (PartnerDealsTopic), while programme events stay on the fund's topic alone. Reconcile and the
// appraisal count a partner's own deals' applications and entries only.
#include "common/topics.h"
#include "tests/unit/fund/api/fund_handler_fixture.h"

namespace techtrade::fund::test {
namespace {

using ::testing::ElementsAre;

constexpr char kPartnerA[] = "aaaaaaaaaaaaaaaa";
constexpr char kPartnerB[] = "bbbbbbbbbbbbbbbb";
constexpr char kDealOfB[] = "3e0b1f4d-6a5c-4d8e-8f9a-0b1c2d3e4f5a";

reg::Principal Partner(const std::string& id) {
  reg::Principal p = ::techtrade::testing::PartnerPrincipal();
  p.set_api_client_id(id);
  return p;
}

class PartnerScope : public FundHandlerTest {
 protected:
  void SetUp() override {
    FundHandlerTest::SetUp();
    partner_a_ = server_.keys().Add(Partner(kPartnerA));
    partner_b_ = server_.keys().Add(Partner(kPartnerB));
    store().PutDeal(DealOf(kPartnerA));
    tv1::Deal of_b = DealOf(kPartnerB);
    of_b.set_id(kDealOfB);
    store().PutDeal(of_b);
  }
  static tv1::Deal DealOf(const std::string& partner, int64_t price = 500'000 * kYuan) {
    tv1::Deal d = HandlerDeal(price);
    d.set_finance_partner_id(partner);
    return d;
  }
  v1::Application SubmitFor(const std::string& programme_id, const std::string& deal_id) {
    v1::SubmitApplicationRequest request = SubmitRequest(programme_id, "submit-" + deal_id);
    request.set_deal_id(deal_id);
    v1::Application a;
    grpc::Status s = Submit(wuhan_, request, &a);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return a;
  }
  grpc::Status Get(const std::string& key, const std::string& id, v1::Application* out) {
    v1::GetApplicationRequest get;
    get.set_id(id);
    return stub_->GetApplication(CallAs(key).get(), get, out);
  }
  std::vector<std::string> Listed(const std::string& key, v1::ListApplicationsRequest r = {}) {
    v1::ListApplicationsResponse page;
    grpc::Status s = stub_->ListApplications(CallAs(key).get(), r, &page);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> ids;
    for (const v1::Application& a : page.applications()) ids.push_back(a.deal_id());
    return ids;
  }
  // Asserts every event of an application is on `partner`'s stream and in its audit scope, and
  // every programme event on the fund's topic alone.
  void ExpectStreams(const std::string& application_id, const std::string& partner) {
    int seen = 0;
    for (const EmittedEvent& e : events()) {
      if (e.aggregate.type == "programme") {
        EXPECT_EQ(e.aggregate.also_topic, "") << e.type;
        EXPECT_EQ(e.aggregate.partner_id, "") << e.type;
      } else if (e.aggregate.id == application_id) {
        ++seen;
        EXPECT_EQ(e.aggregate.also_topic, PartnerDealsTopic(partner)) << e.type;
        EXPECT_EQ(e.aggregate.partner_id, partner) << e.type;
      }
    }
    EXPECT_GT(seen, 0);
  }

  std::string partner_a_, partner_b_;
};

TEST_F(PartnerScope, PartnerBGetsNotFoundForPartnerAsApplicationAsForNoApplication) {
  const v1::Application a = SubmitFor(Programme().id(), kDealId);
  EXPECT_EQ(a.finance_partner_id(), kPartnerA);
  v1::Application read;
  grpc::Status s = Get(partner_a_, a.id(), &read);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(read.SerializeAsString(), a.SerializeAsString());

  grpc::Status refused = Get(partner_b_, a.id(), &read);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(refused.error_message(), "id: no application " + a.id());
  grpc::Status unknown = Get(partner_b_, kUnknownId, &read);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.error_message(), std::string("id: no application ") + kUnknownId);
  // A partner's key that names no client sees no application at all.
  EXPECT_EQ(Get(partner_, a.id(), &read).error_code(), grpc::StatusCode::NOT_FOUND);
  // Operators and the buyer's city are not scoped by the partner.
  EXPECT_TRUE(Get(operator_, a.id(), &read).ok());
  EXPECT_TRUE(Get(wuhan_, a.id(), &read).ok());
}

TEST_F(PartnerScope, ListsHoldOnlyTheCallersDealsApplications) {
  const v1::Programme p = Programme();
  SubmitFor(p.id(), kDealId);
  SubmitFor(p.id(), kDealOfB);
  EXPECT_THAT(Listed(partner_a_), ElementsAre(kDealId));
  EXPECT_THAT(Listed(partner_b_), ElementsAre(kDealOfB));
  EXPECT_THAT(Listed(partner_), ElementsAre());
  EXPECT_THAT(Listed(operator_), ElementsAre(kDealId, kDealOfB));
  EXPECT_THAT(Listed(wuhan_), ElementsAre(kDealId, kDealOfB));
  // Asking for the other's deal by filter finds nothing either.
  v1::ListApplicationsRequest by_deal;
  by_deal.set_deal_id(kDealOfB);
  EXPECT_THAT(Listed(partner_a_, by_deal), ElementsAre());
}

TEST_F(PartnerScope, TheLedgerShowsAPartnerTheProgrammesEntriesAndItsOwnApplicationsOnly) {
  const v1::Programme p = Programme();
  const v1::Application of_a = SubmitFor(p.id(), kDealId);
  const v1::Application of_b = SubmitFor(p.id(), kDealOfB);
  auto listed = [&](const std::string& key, const std::string& application_id) {
    v1::ListLedgerEntriesRequest r;
    r.set_programme_id(p.id());
    r.set_application_id(application_id);
    v1::ListLedgerEntriesResponse page;
    grpc::Status s = stub_->ListLedgerEntries(CallAs(key).get(), r, &page);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> kinds;
    for (const v1::LedgerEntry& e : page.entries()) {
      kinds.push_back(e.application_id().empty()        ? e.kind()
                      : e.application_id() == of_a.id() ? e.kind() + " A"
                                                        : e.kind() + " B");
    }
    return kinds;
  };
  EXPECT_THAT(listed(partner_a_, ""), ElementsAre("fund", "reserve A", "disburse A"));
  EXPECT_THAT(listed(partner_b_, ""), ElementsAre("fund", "reserve B", "disburse B"));
  EXPECT_THAT(listed(partner_, ""), ElementsAre("fund"));
  EXPECT_THAT(listed(operator_, ""),
              ElementsAre("fund", "reserve A", "disburse A", "reserve B", "disburse B"));
  // Another partner's application: nothing, as for an unknown one.
  EXPECT_THAT(listed(partner_b_, of_a.id()), ElementsAre());
  EXPECT_THAT(listed(partner_b_, kUnknownId), ElementsAre());
  EXPECT_THAT(listed(partner_b_, of_b.id()), ElementsAre("reserve B", "disburse B"));
}

TEST_F(PartnerScope, ADealNamingNoPartnerIsNoPartnersApplication) {
  store().PutDeal(DealOf("", 500'000 * kYuan));
  const v1::Application a = SubmitFor(Programme().id(), kDealId);
  EXPECT_EQ(a.finance_partner_id(), "");
  v1::Application read;
  EXPECT_EQ(Get(partner_a_, a.id(), &read).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(Listed(partner_a_), ElementsAre());
  for (const EmittedEvent& e : events()) EXPECT_EQ(e.aggregate.also_topic, "") << e.type;
}

TEST_F(PartnerScope, SubmissionEventsGoToTheDealsPartnerStream) {
  const v1::Application a = SubmitFor(Programme().id(), kDealId);
  ASSERT_EQ(events().size(), 3u);  // ProgrammeCreated, ApplicationDecided, TrancheDisbursed
  ExpectStreams(a.id(), kPartnerA);
}

TEST_F(PartnerScope, AnOperatorsReviewGoesToTheDealsPartnerStream) {
  store().PutDeal(DealOf(kPartnerA, 5'000'000 * kYuan));  // above the auto-approval threshold
  const v1::Application a = SubmitFor(Programme().id(), kDealId);
  ASSERT_EQ(a.status(), v1::APPLICATION_STATUS_PENDING_REVIEW);
  v1::Application approved;
  ASSERT_TRUE(stub_->ApproveApplication(CallAs(operator_).get(), DecideRequest(a), &approved).ok());
  ASSERT_EQ(events().size(), 4u);  // programme, submitted, decided, tranche
  ExpectStreams(a.id(), kPartnerA);
}

TEST_F(PartnerScope, ADealEventsTranchesAndClawbacksGoToTheDealsPartnerStream) {
  const v1::Application a = SubmitFor(Programme().id(), kDealId);
  const size_t before = events().size();
  tv1::Deal cancelled = DealOf(kPartnerA);
  cancelled.set_version(9);
  cancelled.set_state(tv1::DEAL_STATE_CANCELLED);
  ASSERT_TRUE(transactor_
                  .Run([&](FundStore& store, UnitOfWork& work) {
                    return FundServiceImpl::HandleTransactionsEvent(store, work,
                                                                    DealEvent(cancelled));
                  })
                  .ok());
  ASSERT_GT(events().size(), before);  // released, and the signing tranche clawed back
  ExpectStreams(a.id(), kPartnerA);
}

TEST_F(PartnerScope, ReconcileAndTheAppraisalCountAPartnersOwnDealsOnly) {
  const v1::Programme p = Programme();
  SubmitFor(p.id(), kDealId);
  SubmitFor(p.id(), kDealOfB);
  auto reconciled = [&](const std::string& key) {
    v1::ReconcileRequest r;
    r.set_programme_id(p.id());
    v1::ReconcileResponse out;
    grpc::Status s = stub_->Reconcile(CallAs(key).get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(out.balanced());
    return out.entries_checked();
  };
  // The entries each counts are those its ledger lists: fund, and reserve and disburse per
  // application it sees.
  EXPECT_EQ(reconciled(partner_a_), 3);
  EXPECT_EQ(reconciled(partner_b_), 3);
  EXPECT_EQ(reconciled(partner_), 1);
  EXPECT_EQ(reconciled(operator_), 5);

  auto signed_deals = [&](const std::string& key, const std::string& city_id) {
    v1::GetAppraisalRequest r;
    r.set_city_id(city_id);
    *r.mutable_period_start() = At("2026-01-01T00:00:00Z");
    *r.mutable_period_end() = At("2027-01-01T00:00:00Z");
    v1::Appraisal out;
    grpc::Status s = stub_->GetAppraisal(CallAs(key).get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(out.contract_value().amount_minor(), out.deals_signed() * 500'000 * kYuan);
    EXPECT_EQ(out.subsidy_disbursed().amount_minor() > 0, out.deals_signed() > 0);
    return out.deals_signed();
  };
  for (const std::string city : {"wuhan", ""}) {
    EXPECT_EQ(signed_deals(partner_a_, city), 1) << city;
    EXPECT_EQ(signed_deals(partner_b_, city), 1) << city;
    EXPECT_EQ(signed_deals(partner_, city), 0) << city;
    EXPECT_EQ(signed_deals(operator_, city), 2) << city;
  }
}

}  // namespace
}  // namespace techtrade::fund::test
