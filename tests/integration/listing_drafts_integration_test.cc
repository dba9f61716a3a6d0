// Drafts are private (docs/listings.md): an unpublished offer or demand is seen by operators and
// by the system of its owner's city only; to other cities and to finance partners it does not
// exist, in Get, List, Search and Match alike.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/listings_fixture.h"

namespace techtrade::testing {
namespace {

using ::testing::Contains;
using ::testing::Not;

class ListingDraftsTest : public ListingsTest {
 protected:
  void SetUp() override {
    ListingsTest::SetUp();
    if (HasFatalFailure()) return;
    keys_["operator"] = operator_key_;
    keys_["wuhan"] = Key(reg::API_CLIENT_ROLE_CITY_SYSTEM, "wuhan-east-lake");
    keys_["shenzhen"] = Key(reg::API_CLIENT_ROLE_CITY_SYSTEM, "shenzhen");
    keys_["partner"] = Key(reg::API_CLIENT_ROLE_PARTNER, "");
  }

  std::string Key(reg::ApiClientRole role, const std::string& city) {
    reg::IssueApiKeyRequest r;
    r.set_request_id("key-" + NewUuid());
    r.set_name("drafts test");
    r.set_role(role);
    r.set_city_id(city);
    reg::IssueApiKeyResponse out;
    grpc::Status s = registry_stub_->IssueApiKey(AuthedContext(operator_key_).get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.api_key();
  }

  v1::Demand DraftDemand(const reg::Organization& seeker) {
    v1::CreateDemandRequest r;
    r.set_request_id("demand-" + NewUuid());
    r.set_seeker_org_id(seeker.id());
    v1::DemandDraft* d = r.mutable_demand();
    d->set_title("储能电站锂电池健康状态在线估计");
    d->set_problem("需要基于深度学习的锂电池健康状态估计方法, 用于储能电站运维。");
    d->add_ipc_codes("H01M 10/44");
    d->add_fields("energy-storage");
    d->set_min_readiness_level(5);
    v1::Demand out;
    grpc::Status s = stub_->CreateDemand(AuthedContext(operator_key_).get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  std::vector<std::string> ListedOffers(const std::string& who, const std::string& owner = "") {
    v1::ListListingsRequest r;
    r.set_owner_org_id(owner);
    v1::ListOffersResponse out;
    grpc::Status s = stub_->ListOffers(AuthedContext(keys_[who]).get(), r, &out);
    EXPECT_TRUE(s.ok()) << who << ": " << s.error_message();
    std::vector<std::string> ids;
    for (const auto& o : out.offers()) ids.push_back(o.id());
    return ids;
  }

  std::vector<std::string> ListedDemands(const std::string& who) {
    v1::ListListingsRequest r;
    v1::ListDemandsResponse out;
    grpc::Status s = stub_->ListDemands(AuthedContext(keys_[who]).get(), r, &out);
    EXPECT_TRUE(s.ok()) << who << ": " << s.error_message();
    std::vector<std::string> ids;
    for (const auto& d : out.demands()) ids.push_back(d.id());
    return ids;
  }

  std::map<std::string, std::string> keys_;
};

TEST_F(ListingDraftsTest, ADraftIsSeenOnlyByOperatorsAndTheOwnersCity) {
  const reg::Organization owner = Organization(31);  // Wuhan
  v1::Offer draft;
  ASSERT_TRUE(CreateOffer(owner.id(), Draft(), &draft).ok());
  const v1::Demand demand = DraftDemand(owner);
  v1::GetListingRequest get_offer, get_demand, unknown;
  get_offer.set_id(draft.id());
  get_demand.set_id(demand.id());
  unknown.set_id(NewUuid());

  for (const std::string who : {"operator", "wuhan"}) {
    v1::Offer o;
    v1::Demand d;
    EXPECT_TRUE(stub_->GetOffer(AuthedContext(keys_[who]).get(), get_offer, &o).ok()) << who;
    EXPECT_TRUE(stub_->GetDemand(AuthedContext(keys_[who]).get(), get_demand, &d).ok()) << who;
    EXPECT_THAT(ListedOffers(who), Contains(draft.id())) << who;
    EXPECT_THAT(ListedOffers(who, owner.id()), Contains(draft.id())) << who;
    EXPECT_THAT(ListedDemands(who), Contains(demand.id())) << who;
    v1::MatchRequest match;
    match.set_id(demand.id());
    v1::MatchResponse matches;
    EXPECT_TRUE(stub_->MatchOffersForDemand(AuthedContext(keys_[who]).get(), match, &matches).ok())
        << who;
  }
  for (const std::string who : {"shenzhen", "partner"}) {
    v1::Offer o;
    v1::Demand d;
    grpc::Status s = stub_->GetOffer(AuthedContext(keys_[who]).get(), get_offer, &o);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << who << ": " << s.error_message();
    // As an id that never existed: nothing tells the draft is there.
    grpc::Status never = stub_->GetOffer(AuthedContext(keys_[who]).get(), unknown, &o);
    EXPECT_EQ(never.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(s.error_message().size(), never.error_message().size());
    s = stub_->GetDemand(AuthedContext(keys_[who]).get(), get_demand, &d);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << who << ": " << s.error_message();
    EXPECT_THAT(ListedOffers(who), Not(Contains(draft.id()))) << who;
    EXPECT_THAT(ListedOffers(who, owner.id()), Not(Contains(draft.id()))) << who;
    EXPECT_THAT(ListedDemands(who), Not(Contains(demand.id()))) << who;
    v1::MatchRequest match;
    match.set_id(demand.id());
    v1::MatchResponse matches;
    s = stub_->MatchOffersForDemand(AuthedContext(keys_[who]).get(), match, &matches);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << who << ": " << s.error_message();
    match.set_id(draft.id());
    s = stub_->MatchDemandsForOffer(AuthedContext(keys_[who]).get(), match, &matches);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << who << ": " << s.error_message();
  }
  EXPECT_THAT(SearchOffers("锂电池"), Not(Contains(draft.id())));
  // Nor can another city's system find it to change it.
  {
    v1::ChangeListingRequest publish;
    publish.set_request_id("foreign-publish");
    publish.set_id(draft.id());
    publish.set_expected_version(draft.version());
    v1::Offer o;
    grpc::Status s = stub_->PublishOffer(AuthedContext(keys_["shenzhen"]).get(), publish, &o);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  }

  // Published, it is everyone's.
  v1::Offer published;
  ASSERT_TRUE(Publish(draft, &published).ok());
  for (const std::string who : {"shenzhen", "partner"}) {
    v1::Offer o;
    grpc::Status s = stub_->GetOffer(AuthedContext(keys_[who]).get(), get_offer, &o);
    EXPECT_TRUE(s.ok()) << who << ": " << s.error_message();
    EXPECT_THAT(ListedOffers(who), Contains(draft.id())) << who;
  }
}

}  // namespace
}  // namespace techtrade::testing
