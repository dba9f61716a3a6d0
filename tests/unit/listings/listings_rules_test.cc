// The listings' pure rules: tokenisation, IPC codes, draft validation and the status machines.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "google/protobuf/util/time_util.h"
#include "services/listings/domain/rules.h"
#include "services/listings/domain/text.h"

namespace techtrade::listings {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::StartsWith;

TEST(TokenizeTest, ChineseRunsBecomeCharacterBigrams) {
  EXPECT_THAT(Tokenize("锂电池"), ElementsAre("锂电", "电池"));
  EXPECT_THAT(Tokenize("锂，电池"), ElementsAre("锂", "电池"));  // punctuation splits runs
}

TEST(TokenizeTest, LatinWordsAreLowercasedFoldedAndStopWordsDropped) {
  EXPECT_THAT(Tokenize("The Batteries of Lithium-ion CELLS"),
              ElementsAre("battery", "lithium", "ion", "cell"));
  EXPECT_THAT(Tokenize("glasses boxes process"), ElementsAre("glass", "box", "process"));
}

TEST(TokenizeTest, MixedScriptAndFullWidthForms) {
  EXPECT_THAT(Tokenize("ＡＩ芯片chips 5G"), ElementsAre("ai", "芯片", "chip", "5g"));
  EXPECT_THAT(Tokenize("a 3 x"), ElementsAre("3"));  // lone letters go, lone digits stay
  EXPECT_TRUE(Tokenize("").empty());
  EXPECT_TRUE(Tokenize("\xff\xfe").empty());  // malformed UTF-8 is skipped, not a crash
}

TEST(IpcTest, ParsesCanonicalAndSloppyForms) {
  for (const char* text : {"G06N 3/08", "g06n3/08", " G06N  3/08 "}) {
    absl::StatusOr<IpcCode> code = ParseIpc(text);
    ASSERT_TRUE(code.ok()) << text;
    EXPECT_EQ(code->ToString(), "G06N 3/08");
  }
  EXPECT_EQ(ParseIpc("H01M")->ToString(), "H01M");
  EXPECT_EQ(ParseIpc("C12N 15/8213")->ToString(), "C12N 15/8213");
  EXPECT_EQ(ParseIpc("A01B 1/00")->ToString(), "A01B 1/00");
}

TEST(IpcTest, RefusesMalformedCodes) {
  for (const char* text :
       {"", "G06", "Z06N 3/08", "G6N 3/08", "G06N 3", "G06N 3/8", "G06N 12345/08", "G06N 3/0812345",
        "G06N 0/08", "G06N3-08", "G06n 3/O8"}) {
    EXPECT_FALSE(ParseIpc(text).ok()) << text;
  }
}

TEST(IpcTest, ClosenessByLevel) {
  auto c = [](const char* a, const char* b) { return IpcCloseness(*ParseIpc(a), *ParseIpc(b)); };
  EXPECT_EQ(c("G06N 3/08", "G06N 3/04"), 1);
  EXPECT_EQ(c("G06N 3/08", "G06N 5/02"), 0.75);
  EXPECT_EQ(c("G06N 3/08", "G06N"), 0.75);
  EXPECT_EQ(c("G06N 3/08", "G06F 3/08"), 0.5);
  EXPECT_EQ(c("G06N 3/08", "G01R 31/36"), 0.25);
  EXPECT_EQ(c("G06N 3/08", "H01M 10/48"), 0);
  EXPECT_EQ(IpcClosenessReason(*ParseIpc("G06N 3/08"), *ParseIpc("G06N 3/04")),
            "same IPC main group G06N 3");
}

TEST(FieldsTest, VocabularyRoundTrips) {
  for (int i = 0; i < kFieldCount; ++i) EXPECT_EQ(FieldIndex(FieldName(i)), i);
  EXPECT_FALSE(FieldIndex("alchemy").has_value());
}

v1::OfferDraft GoodOffer() {
  v1::OfferDraft d;
  d.set_title("SiC MOSFET gate oxide process");
  d.add_ipc_codes("H01L 29/16");
  d.add_fields("integrated-circuits");
  d.set_readiness_level(5);
  d.add_ip_assets("CN202110123456.7");
  d.add_transfer_modes(v1::TRANSFER_MODE_ASSIGNMENT);
  d.mutable_asking_price()->set_currency("CNY");
  d.mutable_asking_price()->set_amount_minor(100);
  return d;
}

TEST(ValidateOfferTest, AGoodDraftPasses) {
  EXPECT_TRUE(ValidateOfferDraft(GoodOffer(), "offer.").ok());
  v1::OfferDraft negotiable = GoodOffer();
  negotiable.clear_asking_price();
  negotiable.set_negotiable(true);
  EXPECT_TRUE(ValidateOfferDraft(negotiable, "offer.").ok());
}

TEST(ValidateOfferTest, EachBadFieldIsNamed) {
  struct Case {
    const char* field;
    std::function<void(v1::OfferDraft&)> spoil;
  };
  std::vector<Case> cases = {
      {"offer.title", [](auto& d) { d.set_title(""); }},
      {"offer.abstract", [](auto& d) { d.set_abstract(std::string(4001, 'a')); }},
      {"offer.ipc_codes", [](auto& d) { d.clear_ipc_codes(); }},
      {"offer.ipc_codes[0]", [](auto& d) { d.set_ipc_codes(0, "H01L-29"); }},
      {"offer.fields", [](auto& d) { d.clear_fields(); }},
      {"offer.fields[1]", [](auto& d) { d.add_fields("alchemy"); }},
      {"offer.readiness_level", [](auto& d) { d.set_readiness_level(0); }},
      {"offer.readiness_level", [](auto& d) { d.set_readiness_level(10); }},
      {"offer.ip_assets[0]", [](auto& d) { d.set_ip_assets(0, "patent 1"); }},
      {"offer.transfer_modes", [](auto& d) { d.clear_transfer_modes(); }},
      {"offer.transfer_modes[0]",
       [](auto& d) { d.set_transfer_modes(0, v1::TRANSFER_MODE_UNSPECIFIED); }},
      {"offer.transfer_modes[1]",
       [](auto& d) { d.add_transfer_modes(static_cast<v1::TransferMode>(42)); }},
      {"offer.asking_price.amount_minor",
       [](auto& d) { d.mutable_asking_price()->set_amount_minor(-1); }},
      {"offer.asking_price.amount_minor",
       [](auto& d) { d.mutable_asking_price()->set_amount_minor(0); }},
      {"offer.asking_price.currency",
       [](auto& d) { d.mutable_asking_price()->set_currency("RMB1"); }},
      {"offer.asking_price", [](auto& d) { d.clear_asking_price(); }},
  };
  for (const Case& c : cases) {
    v1::OfferDraft d = GoodOffer();
    c.spoil(d);
    absl::Status s = ValidateOfferDraft(d, "offer.");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(std::string(s.message()), StartsWith(std::string(c.field) + ":")) << s;
  }
}

v1::DemandDraft GoodDemand(absl::Time now) {
  v1::DemandDraft d;
  d.set_title("需要碳化硅器件栅氧工艺");
  d.set_problem("新能源汽车电驱需要高可靠性碳化硅功率器件");
  d.add_fields("integrated-circuits");
  d.set_min_readiness_level(6);
  d.mutable_budget_min()->set_currency("CNY");
  d.mutable_budget_min()->set_amount_minor(0);
  d.mutable_budget_max()->set_currency("CNY");
  d.mutable_budget_max()->set_amount_minor(500);
  *d.mutable_deadline() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now + absl::Hours(24 * 90)));
  d.mutable_challenge()->mutable_reward()->set_currency("CNY");
  d.mutable_challenge()->mutable_reward()->set_amount_minor(1000);
  *d.mutable_challenge()->mutable_close_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now + absl::Hours(24 * 30)));
  return d;
}

TEST(ValidateDemandTest, BudgetsDeadlinesAndChallenges) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  EXPECT_TRUE(ValidateDemandDraft(GoodDemand(now), "demand.", now).ok());
  struct Case {
    const char* field;
    std::function<void(v1::DemandDraft&)> spoil;
  };
  std::vector<Case> cases = {
      {"demand.problem", [](auto& d) { d.set_problem(""); }},
      {"demand.min_readiness_level", [](auto& d) { d.set_min_readiness_level(10); }},
      {"demand.budget_min", [](auto& d) { d.mutable_budget_min()->set_amount_minor(600); }},
      {"demand.budget_min.amount_minor",
       [](auto& d) { d.mutable_budget_min()->set_amount_minor(-5); }},
      {"demand.budget_max.currency", [](auto& d) { d.mutable_budget_max()->set_currency("USD"); }},
      {"demand.deadline",
       [&](auto& d) { *d.mutable_deadline() = TimeUtil::SecondsToTimestamp(1'700'000'000); }},
      {"demand.challenge.reward", [](auto& d) { d.mutable_challenge()->clear_reward(); }},
      {"demand.challenge.close_time",
       [&](auto& d) {
         *d.mutable_challenge()->mutable_close_time() =
             TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now + absl::Hours(24 * 100)));
       }},
      {"demand.ipc_codes[0]", [](auto& d) { d.add_ipc_codes("not ipc"); }},
  };
  for (const Case& c : cases) {
    v1::DemandDraft d = GoodDemand(now);
    c.spoil(d);
    absl::Status s = ValidateDemandDraft(d, "demand.", now);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(std::string(s.message()), StartsWith(std::string(c.field) + ":")) << s;
  }
}

TEST(NormalizeTest, CanonicalCodesAndNoDuplicates) {
  v1::OfferDraft d = GoodOffer();
  d.add_ipc_codes("h01l29/16");
  d.add_ipc_codes("g06n 3/08");
  d.add_fields("integrated-circuits");
  d = NormalizeOfferDraft(d);
  EXPECT_THAT(d.ipc_codes(), ElementsAre("H01L 29/16", "G06N 3/08"));
  EXPECT_THAT(d.fields(), ElementsAre("integrated-circuits"));
}

// Every (status, action) pair of the offer machine against the table below.
TEST(OfferStatusTest, EveryTransition) {
  using S = v1::OfferStatus;
  using A = ListingAction;
  const std::map<std::pair<S, A>, S> allowed = {
      {{v1::OFFER_STATUS_DRAFT, A::kUpdate}, v1::OFFER_STATUS_DRAFT},
      {{v1::OFFER_STATUS_PUBLISHED, A::kUpdate}, v1::OFFER_STATUS_PUBLISHED},
      {{v1::OFFER_STATUS_WITHDRAWN, A::kUpdate}, v1::OFFER_STATUS_WITHDRAWN},
      {{v1::OFFER_STATUS_EXPIRED, A::kUpdate}, v1::OFFER_STATUS_EXPIRED},
      {{v1::OFFER_STATUS_DRAFT, A::kPublish}, v1::OFFER_STATUS_PUBLISHED},
      {{v1::OFFER_STATUS_WITHDRAWN, A::kPublish}, v1::OFFER_STATUS_PUBLISHED},
      {{v1::OFFER_STATUS_EXPIRED, A::kPublish}, v1::OFFER_STATUS_PUBLISHED},
      {{v1::OFFER_STATUS_DRAFT, A::kWithdraw}, v1::OFFER_STATUS_WITHDRAWN},
      {{v1::OFFER_STATUS_PUBLISHED, A::kWithdraw}, v1::OFFER_STATUS_WITHDRAWN},
      {{v1::OFFER_STATUS_PUBLISHED, A::kStartNegotiation}, v1::OFFER_STATUS_UNDER_NEGOTIATION},
      {{v1::OFFER_STATUS_UNDER_NEGOTIATION, A::kEndNegotiation}, v1::OFFER_STATUS_PUBLISHED},
      {{v1::OFFER_STATUS_PUBLISHED, A::kTransfer}, v1::OFFER_STATUS_TRANSFERRED},
      {{v1::OFFER_STATUS_UNDER_NEGOTIATION, A::kTransfer}, v1::OFFER_STATUS_TRANSFERRED},
      {{v1::OFFER_STATUS_PUBLISHED, A::kExpire}, v1::OFFER_STATUS_EXPIRED},
  };
  for (int s = v1::OFFER_STATUS_DRAFT; s <= v1::OFFER_STATUS_EXPIRED; ++s) {
    for (A a : {A::kUpdate, A::kPublish, A::kWithdraw, A::kStartNegotiation, A::kEndNegotiation,
                A::kTransfer, A::kExpire}) {
      auto it = allowed.find({static_cast<S>(s), a});
      absl::StatusOr<S> next = NextOfferStatus(static_cast<S>(s), a);
      if (it == allowed.end()) {
        EXPECT_EQ(next.status().code(), absl::StatusCode::kFailedPrecondition)
            << v1::OfferStatus_Name(static_cast<S>(s)) << " " << static_cast<int>(a);
      } else {
        ASSERT_TRUE(next.ok()) << next.status();
        EXPECT_EQ(*next, it->second);
      }
    }
  }
}

TEST(DemandStatusTest, EveryTransition) {
  using S = v1::DemandStatus;
  using A = ListingAction;
  const std::map<std::pair<S, A>, S> allowed = {
      {{v1::DEMAND_STATUS_DRAFT, A::kUpdate}, v1::DEMAND_STATUS_DRAFT},
      {{v1::DEMAND_STATUS_PUBLISHED, A::kUpdate}, v1::DEMAND_STATUS_PUBLISHED},
      {{v1::DEMAND_STATUS_WITHDRAWN, A::kUpdate}, v1::DEMAND_STATUS_WITHDRAWN},
      {{v1::DEMAND_STATUS_EXPIRED, A::kUpdate}, v1::DEMAND_STATUS_EXPIRED},
      {{v1::DEMAND_STATUS_DRAFT, A::kPublish}, v1::DEMAND_STATUS_PUBLISHED},
      {{v1::DEMAND_STATUS_WITHDRAWN, A::kPublish}, v1::DEMAND_STATUS_PUBLISHED},
      {{v1::DEMAND_STATUS_EXPIRED, A::kPublish}, v1::DEMAND_STATUS_PUBLISHED},
      {{v1::DEMAND_STATUS_DRAFT, A::kWithdraw}, v1::DEMAND_STATUS_WITHDRAWN},
      {{v1::DEMAND_STATUS_PUBLISHED, A::kWithdraw}, v1::DEMAND_STATUS_WITHDRAWN},
      {{v1::DEMAND_STATUS_PUBLISHED, A::kTransfer}, v1::DEMAND_STATUS_FULFILLED},
      {{v1::DEMAND_STATUS_EXPIRED, A::kTransfer}, v1::DEMAND_STATUS_FULFILLED},
      {{v1::DEMAND_STATUS_PUBLISHED, A::kExpire}, v1::DEMAND_STATUS_EXPIRED},
  };
  for (int s = v1::DEMAND_STATUS_DRAFT; s <= v1::DEMAND_STATUS_EXPIRED; ++s) {
    for (A a : {A::kUpdate, A::kPublish, A::kWithdraw, A::kStartNegotiation, A::kEndNegotiation,
                A::kTransfer, A::kExpire}) {
      auto it = allowed.find({static_cast<S>(s), a});
      absl::StatusOr<S> next = NextDemandStatus(static_cast<S>(s), a);
      if (it == allowed.end()) {
        EXPECT_EQ(next.status().code(), absl::StatusCode::kFailedPrecondition);
      } else {
        ASSERT_TRUE(next.ok()) << next.status();
        EXPECT_EQ(*next, it->second);
      }
    }
  }
}

}  // namespace
}  // namespace techtrade::listings
