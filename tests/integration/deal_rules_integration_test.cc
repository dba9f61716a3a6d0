// The deal rules a city or a bank relies on, against the real stack (docs/deals.md): the signing
// time window, two-party signing of a cross-city contract, the transfer modes an offer allows,
// suspended parties, and which deals a city system sees.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/ids.h"
#include "google/protobuf/util/time_util.h"
#include "tests/support/deal_fixture.h"
#include "tests/support/harness.h"

namespace techtrade::testing {
namespace {

namespace v1 = techtrade::transactions::v1;
using google::protobuf::util::TimeUtil;
using Stub = v1::TransactionsService::Stub;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

class DealRulesTest : public DealFixture {
 protected:
  DealRulesTest() : DealFixture("deal_rules_it_") {}

  // Seller proposes 100 000.00, both accept: AGREED, not signed.
  v1::Deal Agreed(const std::string& buyer_id = "") {
    v1::Deal d;
    EXPECT_TRUE(Open(&d, shenzhen_key_, buyer_id).ok());
    d = Must(&Stub::ProposeTerms, Terms(d, v1::PARTY_ROLE_SELLER, 100'000'00), wuhan_key_);
    d = Accept(d, v1::PARTY_ROLE_SELLER, wuhan_key_);
    d = Accept(d, v1::PARTY_ROLE_BUYER, shenzhen_key_);
    EXPECT_EQ(d.state(), v1::DEAL_STATE_AGREED);
    return d;
  }

  v1::Deal Get(const std::string& id, const std::string& key = "") {
    v1::GetDealRequest r;
    r.set_id(id);
    v1::Deal d;
    grpc::Status s = stub_->GetDeal(AuthedContext(key.empty() ? operator_key_ : key).get(), r, &d);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return d;
  }

  // Suspends (or reinstates) `org` in the registry and waits until transactions sees it so.
  void SetSuspended(const reg::Organization& org, bool suspended) {
    reg::GetOrganizationRequest get;
    get.set_id(org.id());
    reg::Organization now;
    ASSERT_TRUE(
        registry_stub_->GetOrganization(AuthedContext(operator_key_).get(), get, &now).ok());
    reg::Organization out;
    grpc::Status s;
    if (suspended) {
      reg::SuspendOrganizationRequest r;
      r.set_request_id("suspend-" + NewUuid());
      r.set_id(org.id());
      r.set_expected_version(now.version());
      r.set_reason("the audit found forged invoices");
      s = registry_stub_->SuspendOrganization(AuthedContext(operator_key_).get(), r, &out);
    } else {
      reg::ReinstateOrganizationRequest r;
      r.set_request_id("reinstate-" + NewUuid());
      r.set_id(org.id());
      r.set_expected_version(now.version());
      s = registry_stub_->ReinstateOrganization(AuthedContext(operator_key_).get(), r, &out);
    }
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(out.status() == reg::ORGANIZATION_STATUS_SUSPENDED, suspended);
  }

  // Repeats `call` (returning a status) until it answers other than `while_code`, up to 10 s:
  // the registry's cache entry is dropped on a change, but let a slow machine catch up.
  static grpc::Status Until(grpc::StatusCode while_code,
                            const std::function<grpc::Status()>& call) {
    grpc::Status s;
    for (absl::Time deadline = absl::Now() + absl::Seconds(10); absl::Now() < deadline;
         absl::SleepFor(absl::Milliseconds(100))) {
      s = call();
      if (s.error_code() != while_code) break;
    }
    return s;
  }

  std::vector<std::string> Listed(const std::string& key, const std::string& city = "") {
    v1::ListDealsRequest r;
    r.set_city_id(city);
    v1::ListDealsResponse resp;
    grpc::Status s = stub_->ListDeals(AuthedContext(key).get(), r, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> ids;
    for (const auto& d : resp.deals()) ids.push_back(d.id());
    return ids;
  }
};

// Item 6: the fund reads the signing time for the programme period and the annual-cap year, so
// a caller may not choose one before the deal was agreed.
TEST_F(DealRulesTest, ASigningTimeBeforeTheAgreementIsRefusedAndChangesNothing) {
  TopicReader reader(stack_.kafka_brokers, kDealTopic);
  const v1::Deal d = Agreed();
  ASSERT_TRUE(d.has_agree_time());
  // 1970, a day before the deal opened, and past the minute allowed for the signer's clock.
  for (int64_t seconds : {int64_t{0}, TimeUtil::TimestampToSeconds(d.create_time()) - 86400,
                          TimeUtil::TimestampToSeconds(d.agree_time()) - 61}) {
    v1::SignContractRequest sign;
    sign.set_request_id("sign-early-" + NewUuid());
    sign.set_deal_id(d.id());
    sign.set_expected_version(d.version());
    sign.set_registration_number("2026420100000123");
    *sign.mutable_signing_time() = TimeUtil::SecondsToTimestamp(seconds);
    v1::Deal out;
    grpc::Status s = stub_->SignContract(AuthedContext(operator_key_).get(), sign, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << seconds;
    EXPECT_THAT(s.error_message(), StartsWith("signing_time:")) << seconds;
  }
  const v1::Deal after = Get(d.id());
  EXPECT_EQ(after.version(), d.version());
  EXPECT_FALSE(after.has_contract());
  // A signing system whose clock runs a little behind the platform's may sign.
  v1::SignContractRequest sign;
  sign.set_request_id("sign-" + d.id());
  sign.set_deal_id(d.id());
  sign.set_expected_version(d.version());
  sign.set_registration_number("2026420100000123");
  *sign.mutable_signing_time() =
      TimeUtil::SecondsToTimestamp(TimeUtil::TimestampToSeconds(d.agree_time()) - 30);
  v1::Deal signed_deal = Must(&Stub::SignContract, sign, operator_key_);
  EXPECT_EQ(signed_deal.state(), v1::DEAL_STATE_SIGNED);
  EXPECT_EQ(EventTypes(reader, d, d.version() + 1).back(), "ContractSigned");
}

// Item 10: a cross-city contract is signed by both parties' city systems, each for its own party.
TEST_F(DealRulesTest, ACrossCityContractIsSignedByEachPartysCitySystem) {
  TopicReader reader(stack_.kafka_brokers, kDealTopic);
  const v1::Deal d = Agreed();  // seller in Wuhan, buyer in Shenzhen
  v1::Deal out;
  // Wuhan's system cannot sign alone for both, nor as the Shenzhen buyer.
  grpc::Status s = SignAs(d, v1::PARTY_ROLE_UNSPECIFIED, wuhan_key_, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_THAT(s.error_message(), StartsWith("acting_as:"));
  EXPECT_EQ(SignAs(d, v1::PARTY_ROLE_BUYER, wuhan_key_, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Get(d.id()).version(), d.version());

  v1::Deal half;
  s = SignAs(d, v1::PARTY_ROLE_SELLER, wuhan_key_, &half);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(half.state(), v1::DEAL_STATE_AGREED);
  EXPECT_TRUE(half.contract().has_seller_signing_time());
  EXPECT_FALSE(half.contract().has_buyer_signing_time());
  EXPECT_FALSE(half.contract().has_signing_time());
  // The buyer signs that contract, not another one.
  s = SignAs(half, v1::PARTY_ROLE_BUYER, shenzhen_key_, &out, "2026440300000999");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), StartsWith("registration_number:"));
  v1::Deal signed_deal;
  s = SignAs(half, v1::PARTY_ROLE_BUYER, shenzhen_key_, &signed_deal);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(signed_deal.state(), v1::DEAL_STATE_SIGNED);
  EXPECT_EQ(signed_deal.contract().registration_number(), "2026420100000123");
  EXPECT_TRUE(signed_deal.contract().has_signing_time());
  EXPECT_EQ(signed_deal.version(), d.version() + 2);

  std::vector<std::string> types = EventTypes(reader, d, signed_deal.version());
  ASSERT_GE(types.size(), 2u);
  EXPECT_THAT(std::vector<std::string>(types.end() - 2, types.end()),
              ElementsAre("ContractSignatureRecorded", "ContractSigned"));
  v1::ContractSignatureRecorded recorded;
  ASSERT_TRUE(reader.ForAggregate(d.id())[types.size() - 2].envelope.payload().UnpackTo(&recorded));
  EXPECT_EQ(recorded.signed_by(), v1::PARTY_ROLE_SELLER);
  EXPECT_EQ(recorded.deal().state(), v1::DEAL_STATE_AGREED);
}

TEST_F(DealRulesTest, OneCallSignsForBothOnlyForAnOperatorOrTheCityOfBoth) {
  TopicReader reader(stack_.kafka_brokers, kDealTopic);
  // The operator.
  const v1::Deal d = Agreed();
  v1::Deal out;
  grpc::Status s = SignAs(d, v1::PARTY_ROLE_UNSPECIFIED, operator_key_, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.state(), v1::DEAL_STATE_SIGNED);
  EXPECT_EQ(EventTypes(reader, d, out.version()).back(), "ContractSigned");
  EXPECT_EQ(out.version(), d.version() + 1);
  // Wuhan's system for a Wuhan buyer and a Wuhan seller.
  reg::Organization local = Organization(7, "wuhan-east-lake", reg::ORGANIZATION_KIND_ENTERPRISE);
  v1::Deal same_city;
  ASSERT_TRUE(Open(&same_city, wuhan_key_, local.id()).ok());
  same_city =
      Must(&Stub::ProposeTerms, Terms(same_city, v1::PARTY_ROLE_SELLER, 50'000'00), wuhan_key_);
  same_city = Accept(same_city, v1::PARTY_ROLE_SELLER, wuhan_key_);
  same_city = Accept(same_city, v1::PARTY_ROLE_BUYER, wuhan_key_);
  s = SignAs(same_city, v1::PARTY_ROLE_UNSPECIFIED, wuhan_key_, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.state(), v1::DEAL_STATE_SIGNED);
}

// Item 9: the offer lists the modes it is offered under (exclusive licence, assignment).
TEST_F(DealRulesTest, TermsInATransferModeTheOfferDoesNotAllowAreRefused) {
  TopicReader reader(stack_.kafka_brokers, kDealTopic);
  v1::Deal d;
  ASSERT_TRUE(Open(&d, shenzhen_key_).ok());
  for (lv1::TransferMode mode :
       {lv1::TRANSFER_MODE_NON_EXCLUSIVE_LICENSE, lv1::TRANSFER_MODE_EQUITY}) {
    v1::ProposeTermsRequest r = Terms(d, v1::PARTY_ROLE_BUYER, 60'000'00);
    r.set_transfer_mode(mode);
    v1::Deal out;
    grpc::Status s = stub_->ProposeTerms(AuthedContext(shenzhen_key_).get(), r, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
    EXPECT_THAT(s.error_message(), StartsWith("transfer_mode:"));
    EXPECT_THAT(s.error_message(), HasSubstr("TRANSFER_MODE_EXCLUSIVE_LICENSE"));
  }
  EXPECT_EQ(Get(d.id()).version(), 1);
  v1::ProposeTermsRequest assignment = Terms(d, v1::PARTY_ROLE_BUYER, 60'000'00);
  assignment.set_transfer_mode(lv1::TRANSFER_MODE_ASSIGNMENT);
  d = Must(&Stub::ProposeTerms, assignment, shenzhen_key_);
  EXPECT_EQ(d.terms_size(), 1);
  EXPECT_THAT(EventTypes(reader, d, 2), ElementsAre("DealOpened", "TermsProposed"));
}

// Item 11, as transactions sees listings: another city's draft is no listing at all.
TEST_F(DealRulesTest, AnotherCitysDraftIsNoListingToOpenADealOn) {
  lv1::CreateOfferRequest create;
  create.set_request_id("draft-offer");
  create.set_owner_org_id(seller_.id());
  create.mutable_offer()->set_title("Solid-state electrolyte synthesis");
  create.mutable_offer()->add_ipc_codes("H01M 10/0562");
  create.mutable_offer()->add_fields("energy-storage");
  create.mutable_offer()->set_readiness_level(4);
  create.mutable_offer()->add_transfer_modes(lv1::TRANSFER_MODE_EXCLUSIVE_LICENSE);
  create.mutable_offer()->set_negotiable(true);
  lv1::Offer draft;
  grpc::Status s = listings_stub_->CreateOffer(AuthedContext(wuhan_key_).get(), create, &draft);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::OpenDealRequest open = OpenRequest();
  open.set_listing_id(draft.id());
  v1::Deal out;
  // The owner's city is told it is a draft; Shenzhen, as of a listing that does not exist.
  open.set_request_id("open-draft-wuhan");
  s = stub_->OpenDeal(AuthedContext(wuhan_key_).get(), open, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  open.set_request_id("open-draft-shenzhen");
  s = stub_->OpenDeal(AuthedContext(shenzhen_key_).get(), open, &out);
  grpc::Status none;
  open.set_listing_id(NewUuid());
  open.set_request_id("open-nothing-shenzhen");
  none = stub_->OpenDeal(AuthedContext(shenzhen_key_).get(), open, &out);
  EXPECT_EQ(s.error_code(), none.error_code()) << s.error_message();
  EXPECT_THAT(s.error_message(), StartsWith("listing_id: no such"));
  EXPECT_EQ(s.error_message(), none.error_message());
}

// Item 7: while a party is suspended nothing moves its deals towards money; cancelling and
// disputing stay possible; its reinstatement lets the deal go on.
TEST_F(DealRulesTest, WhileAPartyIsSuspendedItsDealsDoNotMoveTowardsMoney) {
  v1::Deal performing = Signed();
  performing = Must(&Stub::DeliverMilestone, Milestone(performing, 1), wuhan_key_);
  v1::Deal negotiating;
  ASSERT_TRUE(Open(&negotiating, shenzhen_key_).ok());
  negotiating =
      Must(&Stub::ProposeTerms, Terms(negotiating, v1::PARTY_ROLE_SELLER, 90'000'00), wuhan_key_);
  v1::Deal agreed = Agreed();
  v1::Deal to_cancel, probe;
  ASSERT_TRUE(Open(&to_cancel, shenzhen_key_).ok());
  ASSERT_TRUE(Open(&probe, shenzhen_key_).ok());

  ASSERT_NO_FATAL_FAILURE(SetSuspended(buyer_, true));
  // Until transactions sees the suspension (a probe that, allowed, would change only itself).
  grpc::Status probed = Until(grpc::StatusCode::OK, [&] {
    v1::Deal moved;
    grpc::Status s = stub_->ProposeTerms(AuthedContext(wuhan_key_).get(),
                                         Terms(probe, v1::PARTY_ROLE_SELLER, 1'000'00), &moved);
    if (s.ok()) probe = moved;
    return s;
  });
  ASSERT_EQ(probed.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << probed.error_message();
  auto expect_refused = [&](const char* what, const std::function<grpc::Status()>& call) {
    grpc::Status s = call();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << what << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), StartsWith("buyer: organisation " + buyer_.id())) << what;
  };
  v1::Deal out;
  expect_refused("AcceptMilestone", [&] {
    return stub_->AcceptMilestone(AuthedContext(shenzhen_key_).get(), Milestone(performing, 1),
                                  &out);
  });
  expect_refused("DeliverMilestone", [&] {
    return stub_->DeliverMilestone(AuthedContext(wuhan_key_).get(), Milestone(performing, 2), &out);
  });
  expect_refused("RecordPayment", [&] {
    return stub_->RecordPayment(AuthedContext(partner_key_).get(),
                                Payment(performing, 1, "SUSPENDED-1"), &out);
  });
  expect_refused("ProposeTerms", [&] {
    return stub_->ProposeTerms(AuthedContext(wuhan_key_).get(),
                               Terms(negotiating, v1::PARTY_ROLE_SELLER, 95'000'00), &out);
  });
  expect_refused("AcceptTerms", [&] {
    v1::AcceptTermsRequest r;
    r.set_request_id("accept-" + NewUuid());
    r.set_deal_id(negotiating.id());
    r.set_expected_version(negotiating.version());
    r.set_acting_as(v1::PARTY_ROLE_BUYER);
    r.set_terms_version(1);
    return stub_->AcceptTerms(AuthedContext(shenzhen_key_).get(), r, &out);
  });
  expect_refused("SignContract",
                 [&] { return SignAs(agreed, v1::PARTY_ROLE_SELLER, wuhan_key_, &out); });
  // Nothing of those changed anything.
  EXPECT_EQ(Get(performing.id()).version(), performing.version());
  EXPECT_EQ(Get(negotiating.id()).version(), negotiating.version());
  EXPECT_EQ(Get(agreed.id()).version(), agreed.version());

  // Walking away and disputing remain open to both sides.
  v1::CancelDealRequest cancel;
  cancel.set_request_id("cancel-" + to_cancel.id());
  cancel.set_deal_id(to_cancel.id());
  cancel.set_expected_version(to_cancel.version());
  cancel.set_acting_as(v1::PARTY_ROLE_SELLER);
  cancel.set_reason("the buyer is suspended");
  EXPECT_EQ(Must(&Stub::CancelDeal, cancel, wuhan_key_).state(), v1::DEAL_STATE_CANCELLED);
  v1::OpenDisputeRequest dispute;
  dispute.set_request_id("dispute-" + performing.id());
  dispute.set_deal_id(performing.id());
  dispute.set_expected_version(performing.version());
  dispute.set_acting_as(v1::PARTY_ROLE_SELLER);
  dispute.set_reason("the buyer's licence to operate is suspended");
  performing = Must(&Stub::OpenDispute, dispute, wuhan_key_);
  EXPECT_EQ(performing.state(), v1::DEAL_STATE_DISPUTED);
  v1::ResolveDisputeRequest resolve;
  resolve.set_request_id("resolve-" + performing.id());
  resolve.set_deal_id(performing.id());
  resolve.set_expected_version(performing.version());
  resolve.set_resolution("performance resumes once the buyer is reinstated");
  performing = Must(&Stub::ResolveDispute, resolve, operator_key_);
  EXPECT_EQ(performing.state(), v1::DEAL_STATE_IN_PERFORMANCE);

  // Reinstated: the deal goes on.
  ASSERT_NO_FATAL_FAILURE(SetSuspended(buyer_, false));
  grpc::Status s = Until(grpc::StatusCode::FAILED_PRECONDITION, [&] {
    return stub_->AcceptMilestone(AuthedContext(shenzhen_key_).get(), Milestone(performing, 1),
                                  &out);
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.milestones(0).state(), v1::MILESTONE_STATE_ACCEPTED);
}

// Item 12: a city system sees the deals of its organisations wherever the listing is, and the
// deals its organisations broker; GetDeal and ListDeals agree.
TEST_F(DealRulesTest, ACitySeesTheDealsOfItsOrganisationsWhereverTheListingIs) {
  City("hefei");
  const std::string hefei_key = Key(reg::API_CLIENT_ROLE_CITY_SYSTEM, "hefei");
  const reg::Organization broker = Organization(8, "hefei", reg::ORGANIZATION_KIND_ENTERPRISE);
  v1::Deal cross;  // a Wuhan offer bought by a Shenzhen enterprise
  ASSERT_TRUE(Open(&cross, shenzhen_key_).ok());
  v1::OpenDealRequest brokered = OpenRequest();
  brokered.set_request_id("open-brokered");
  brokered.set_broker_org_id(broker.id());
  brokered.set_broker_commission_bps(300);
  v1::Deal with_broker = Must(&Stub::OpenDeal, brokered, operator_key_);

  EXPECT_THAT(Listed(shenzhen_key_), UnorderedElementsAre(cross.id(), with_broker.id()));
  EXPECT_THAT(Listed(shenzhen_key_, "shenzhen"),
              UnorderedElementsAre(cross.id(), with_broker.id()));
  EXPECT_THAT(Listed(wuhan_key_), UnorderedElementsAre(cross.id(), with_broker.id()));
  EXPECT_THAT(Listed(hefei_key), ElementsAre(with_broker.id()));
  EXPECT_THAT(Listed(operator_key_, "hefei"), ElementsAre(with_broker.id()));
  EXPECT_THAT(Listed(operator_key_, "shenzhen"),
              UnorderedElementsAre(cross.id(), with_broker.id()));
  // GetDeal agrees with the lists.
  EXPECT_EQ(Get(cross.id(), shenzhen_key_).id(), cross.id());
  EXPECT_EQ(Get(with_broker.id(), hefei_key).id(), with_broker.id());
  v1::GetDealRequest get;
  get.set_id(cross.id());
  EXPECT_FALSE(stub_->GetDeal(AuthedContext(hefei_key).get(), get, &cross).ok());
  // A city system still lists only its own city.
  v1::ListDealsRequest other;
  other.set_city_id("wuhan-east-lake");
  v1::ListDealsResponse resp;
  EXPECT_EQ(stub_->ListDeals(AuthedContext(shenzhen_key_).get(), other, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace techtrade::testing
