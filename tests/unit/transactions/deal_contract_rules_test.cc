// The deal rules that guard a contract and the money behind it: the signing-time window, signing
// by both parties, the transfer modes a listing admits, and suspended parties (docs/deals.md).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "google/protobuf/util/time_util.h"
#include "services/transactions/domain/deal_rules.h"

namespace techtrade::transactions {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace lv1 = techtrade::listings::v1;

const absl::Time kOpened = absl::FromUnixSeconds(1'800'000'000);
// Agreed a day later, 0.25 s into the second.
const absl::Time kAgreed = kOpened + absl::Hours(24) + absl::Milliseconds(250);
const absl::Time kNow = kAgreed + absl::Hours(48);

v1::ProposeTermsRequest Terms(v1::PartyRole by) {
  v1::ProposeTermsRequest r;
  r.set_acting_as(by);
  r.mutable_price()->set_currency("CNY");
  r.mutable_price()->set_amount_minor(100000);
  r.set_transfer_mode(lv1::TRANSFER_MODE_EXCLUSIVE_LICENSE);
  r.set_licence_scope("manufacture and sale of battery management systems");
  r.set_territory("CN");
  v1::MilestonePlan* m = r.add_milestones();
  m->set_title("source code and documentation");
  m->mutable_amount()->set_currency("CNY");
  m->mutable_amount()->set_amount_minor(100000);
  *m->mutable_due_time() = TimeUtil::SecondsToTimestamp(1'810'000'000);
  return r;
}

v1::Deal Apply(const absl::StatusOr<Transition>& t) {
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? t->deal : v1::Deal();
}

// Opened at kOpened; terms proposed then; agreed (the buyer's acceptance) at kAgreed.
v1::Deal Agreed() {
  v1::Deal d;
  d.set_listing_kind(lv1::LISTING_KIND_OFFER);
  d = OpenDeal(d, kOpened).deal;
  d = Apply(ProposeTerms(d, Terms(v1::PARTY_ROLE_SELLER), kOpened));
  d = Apply(AcceptTerms(d, v1::PARTY_ROLE_SELLER, 1, kOpened));
  d = Apply(AcceptTerms(d, v1::PARTY_ROLE_BUYER, 1, kAgreed));
  EXPECT_EQ(d.state(), v1::DEAL_STATE_AGREED);
  return d;
}

v1::SignContractRequest Sign(v1::PartyRole as, absl::Time at,
                             const std::string& number = "2026420100001234") {
  v1::SignContractRequest r;
  r.set_registration_number(number);
  *r.mutable_signing_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(at));
  r.set_acting_as(as);
  return r;
}

std::string EventName(const Transition& t, size_t i) {
  return t.events.size() > i ? t.events[i]->GetDescriptor()->name() : "";
}

// ---- Item 6: the signing time lies between the agreement and now ----

TEST(SigningTimeTest, AgreementRecordsWhenItHappened) {
  v1::Deal d = Agreed();
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(d.agree_time()), absl::ToUnixMicros(kAgreed));
}

TEST(SigningTimeTest, NotBeforeTheDealWasAgreedNorInTheFuture) {
  const v1::Deal d = Agreed();
  const absl::Time earliest = kAgreed - kSigningClockSkew;
  for (absl::Time before : {absl::UnixEpoch(), kOpened, earliest - absl::Seconds(1),
                            earliest - absl::Microseconds(1)}) {
    absl::StatusOr<Transition> t = SignContract(d, Sign(v1::PARTY_ROLE_UNSPECIFIED, before), kNow);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << before;
    EXPECT_THAT(std::string(t.status().message()), StartsWith("signing_time:")) << before;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr("before the deal was agreed"));
  }
  // A signer's clock may run a little behind the platform's.
  for (absl::Time ok : {earliest, kAgreed - absl::Milliseconds(250), kAgreed, kNow}) {
    absl::StatusOr<Transition> t = SignContract(d, Sign(v1::PARTY_ROLE_UNSPECIFIED, ok), kNow);
    ASSERT_TRUE(t.ok()) << ok << ": " << t.status();
    EXPECT_EQ(t->deal.state(), v1::DEAL_STATE_SIGNED);
  }
  absl::StatusOr<Transition> future =
      SignContract(d, Sign(v1::PARTY_ROLE_UNSPECIFIED, kNow + absl::Seconds(1)), kNow);
  EXPECT_THAT(std::string(future.status().message()), StartsWith("signing_time:"));
  EXPECT_THAT(std::string(ValidateSignContract(
                              Sign(v1::PARTY_ROLE_UNSPECIFIED, kNow + absl::Seconds(1)), kNow)
                              .message()),
              StartsWith("signing_time:"));
}

TEST(SigningTimeTest, ADealAgreedBeforeAgreeTimeWasRecordedIsBoundByItsAgreedTerms) {
  v1::Deal d = Agreed();
  d.clear_agree_time();
  // The agreed terms were proposed at kOpened: from then on.
  const absl::Time earliest = kOpened - kSigningClockSkew;
  EXPECT_FALSE(
      SignContract(d, Sign(v1::PARTY_ROLE_UNSPECIFIED, earliest - absl::Seconds(1)), kNow).ok());
  EXPECT_TRUE(SignContract(d, Sign(v1::PARTY_ROLE_UNSPECIFIED, earliest), kNow).ok());
}

TEST(SigningTimeTest, EachSignatureIsInTheWindowAndTheContractIsConcludedByTheLater) {
  v1::Deal d = Agreed();
  const absl::Time seller_at = kAgreed + absl::Hours(2);
  const absl::Time buyer_at = kAgreed + absl::Hours(1);
  d = Apply(SignContract(d, Sign(v1::PARTY_ROLE_SELLER, seller_at), kNow));
  EXPECT_THAT(
      std::string(
          SignContract(d, Sign(v1::PARTY_ROLE_BUYER, absl::UnixEpoch()), kNow).status().message()),
      StartsWith("signing_time:"));
  d = Apply(SignContract(d, Sign(v1::PARTY_ROLE_BUYER, buyer_at), kNow));
  EXPECT_EQ(d.state(), v1::DEAL_STATE_SIGNED);
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(d.contract().signing_time()),
            absl::ToUnixMicros(seller_at));
}

// ---- Item 10: both parties sign ----

TEST(TwoPartySigningTest, TheFirstSignatureIsRecordedAndTheSecondSigns) {
  const v1::Deal agreed = Agreed();
  absl::StatusOr<Transition> first = SignContract(agreed, Sign(v1::PARTY_ROLE_SELLER, kNow), kNow);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->deal.state(), v1::DEAL_STATE_AGREED);
  EXPECT_EQ(first->deal.contract().registration_number(), "2026420100001234");
  EXPECT_TRUE(first->deal.contract().has_seller_signing_time());
  EXPECT_FALSE(first->deal.contract().has_buyer_signing_time());
  EXPECT_FALSE(first->deal.contract().has_signing_time());  // not concluded yet
  ASSERT_EQ(first->events.size(), 1u);
  EXPECT_EQ(EventName(*first, 0), "ContractSignatureRecorded");
  const auto& recorded = static_cast<const v1::ContractSignatureRecorded&>(*first->events[0]);
  EXPECT_EQ(recorded.signed_by(), v1::PARTY_ROLE_SELLER);

  const v1::Deal half = first->deal;
  // The seller cannot sign again, nor sign for both.
  for (v1::PartyRole as : {v1::PARTY_ROLE_SELLER, v1::PARTY_ROLE_UNSPECIFIED}) {
    absl::StatusOr<Transition> again = SignContract(half, Sign(as, kNow), kNow);
    EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(again.status().message()), StartsWith("acting_as:"));
  }
  // The buyer signs the same contract, not another.
  absl::StatusOr<Transition> other =
      SignContract(half, Sign(v1::PARTY_ROLE_BUYER, kNow, "2026420100009999"), kNow);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(other.status().message()), StartsWith("registration_number:"));

  absl::StatusOr<Transition> second = SignContract(half, Sign(v1::PARTY_ROLE_BUYER, kNow), kNow);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->deal.state(), v1::DEAL_STATE_SIGNED);
  EXPECT_TRUE(second->deal.contract().has_signing_time());
  EXPECT_EQ(second->deal.contract().registration_number(), "2026420100001234");
  ASSERT_EQ(second->events.size(), 1u);
  EXPECT_EQ(EventName(*second, 0), "ContractSigned");
}

TEST(TwoPartySigningTest, OneCallForBothSignsAtOnce) {
  absl::StatusOr<Transition> t =
      SignContract(Agreed(), Sign(v1::PARTY_ROLE_UNSPECIFIED, kNow), kNow);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->deal.state(), v1::DEAL_STATE_SIGNED);
  EXPECT_TRUE(t->deal.contract().has_buyer_signing_time());
  EXPECT_TRUE(t->deal.contract().has_seller_signing_time());
  ASSERT_EQ(t->events.size(), 1u);
  EXPECT_EQ(EventName(*t, 0), "ContractSigned");
}

TEST(TwoPartySigningTest, ActingAsNamesABuyerOrSellerOrIsUnset) {
  EXPECT_EQ(Signers(Sign(v1::PARTY_ROLE_BUYER, kNow)),
            std::vector<v1::PartyRole>{v1::PARTY_ROLE_BUYER});
  EXPECT_EQ(Signers(Sign(v1::PARTY_ROLE_UNSPECIFIED, kNow)),
            (std::vector<v1::PartyRole>{v1::PARTY_ROLE_BUYER, v1::PARTY_ROLE_SELLER}));
  EXPECT_TRUE(ValidateSignContract(Sign(v1::PARTY_ROLE_SELLER, kNow), kNow).ok());
  for (v1::PartyRole bad : {v1::PARTY_ROLE_BROKER, v1::PARTY_ROLE_OPERATOR, v1::PARTY_ROLE_PARTNER,
                            static_cast<v1::PartyRole>(42)}) {
    absl::Status s = ValidateSignContract(Sign(bad, kNow), kNow);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.message()), StartsWith("acting_as:"));
  }
}

// ---- Item 9: the transfer modes the listing admits ----

TEST(TransferModeTest, AnOfferAdmitsTheModesItLists) {
  v1::Deal d;
  d.set_listing_kind(lv1::LISTING_KIND_OFFER);
  const std::vector<int> modes = {lv1::TRANSFER_MODE_EXCLUSIVE_LICENSE,
                                  lv1::TRANSFER_MODE_ASSIGNMENT};
  EXPECT_TRUE(CheckTransferModeOfListing(d, modes, lv1::TRANSFER_MODE_ASSIGNMENT).ok());
  absl::Status s = CheckTransferModeOfListing(d, modes, lv1::TRANSFER_MODE_EQUITY);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), StartsWith("transfer_mode: TRANSFER_MODE_EQUITY"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("TRANSFER_MODE_EXCLUSIVE_LICENSE"));
}

TEST(TransferModeTest, ADemandAdmitsTheModesItAcceptsOrAnyWhenItListsNone) {
  v1::Deal d;
  d.set_listing_kind(lv1::LISTING_KIND_DEMAND);
  EXPECT_TRUE(CheckTransferModeOfListing(d, {}, lv1::TRANSFER_MODE_EQUITY).ok());
  EXPECT_EQ(
      CheckTransferModeOfListing(d, {lv1::TRANSFER_MODE_ASSIGNMENT}, lv1::TRANSFER_MODE_EQUITY)
          .code(),
      absl::StatusCode::kFailedPrecondition);
}

// ---- Item 7: nothing moves towards money while a party is suspended ----

TEST(SuspendedPartyTest, RefusedNamingTheSuspendedParty) {
  v1::Deal d;
  d.mutable_buyer()->set_organization_id("b");
  d.mutable_buyer()->set_name("Shenzhen Energy Storage Co.");
  d.mutable_seller()->set_organization_id("s");
  d.mutable_broker()->set_organization_id("k");
  EXPECT_TRUE(CheckNoPartySuspended(d, {}).ok());
  EXPECT_TRUE(CheckNoPartySuspended(d, {"someone else"}).ok());
  for (const auto& [id, role] : std::vector<std::pair<std::string, std::string>>{
           {"b", "buyer"}, {"s", "seller"}, {"k", "broker"}}) {
    absl::Status s = CheckNoPartySuspended(d, {id});
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << role;
    EXPECT_THAT(std::string(s.message()), StartsWith(role + ": organisation " + id));
    EXPECT_THAT(std::string(s.message()), HasSubstr("suspended"));
  }
  EXPECT_THAT(std::string(CheckNoPartySuspended(d, {"b"}).message()),
              HasSubstr("Shenzhen Energy Storage Co."));
  // A deal without a broker: an empty id is no party.
  d.clear_broker();
  EXPECT_TRUE(CheckNoPartySuspended(d, {""}).ok());
}

}  // namespace
}  // namespace techtrade::transactions
