// The read model: versions, visibility, filters, paging, compaction and matchmaking, plus the
// relevance corpus (tests/data/listings_corpus.jsonl): for each of its demands the offer known
// to fit best must rank first, and the explanation must name what made it win.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "google/protobuf/util/time_util.h"
#include "services/listings/domain/read_model.h"

namespace techtrade::listings {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::Offer MakeOffer(const std::string& id, const std::string& title, int64_t version = 1,
                    v1::OfferStatus status = v1::OFFER_STATUS_PUBLISHED) {
  v1::Offer o;
  o.set_id(id);
  o.set_owner_org_id("org-" + id);
  o.set_city_id("wuhan-east-lake");
  o.set_title(title);
  o.add_ipc_codes("H01M 10/48");
  o.add_fields("energy-storage");
  o.set_readiness_level(6);
  o.add_transfer_modes(v1::TRANSFER_MODE_ASSIGNMENT);
  o.mutable_asking_price()->set_currency("CNY");
  o.mutable_asking_price()->set_amount_minor(1000);
  o.set_status(status);
  o.set_version(version);
  *o.mutable_publish_time() = TimeUtil::SecondsToTimestamp(1'800'000'000 + version);
  return o;
}

std::vector<std::string> Ids(const v1::SearchResponse& r) {
  std::vector<std::string> ids;
  for (const auto& h : r.hits()) ids.push_back(h.id());
  return ids;
}

v1::SearchResponse Find(const ReadModel& m, v1::SearchRequest r) {
  r.set_kind(v1::LISTING_KIND_OFFER);
  absl::StatusOr<v1::SearchResponse> resp = m.Search(r);
  EXPECT_TRUE(resp.ok()) << resp.status();
  return resp.value_or(v1::SearchResponse());
}

v1::SearchRequest Query(const std::string& q) {
  v1::SearchRequest r;
  r.set_query(q);
  return r;
}

TEST(ReadModelTest, NewerVersionsWinAndOlderOnesAreIgnored) {
  ReadModel m;
  EXPECT_TRUE(m.ApplyOffer(MakeOffer("a", "sodium battery", 2)));
  EXPECT_FALSE(m.ApplyOffer(MakeOffer("a", "lithium battery", 1)));  // late
  EXPECT_FALSE(m.ApplyOffer(MakeOffer("a", "lithium battery", 2)));  // duplicate
  EXPECT_THAT(Ids(Find(m, Query("sodium"))), ElementsAre("a"));
  EXPECT_TRUE(Ids(Find(m, Query("lithium"))).empty());
  EXPECT_TRUE(m.ApplyOffer(MakeOffer("a", "lithium battery", 3)));
  EXPECT_THAT(Ids(Find(m, Query("lithium"))), ElementsAre("a"));
  EXPECT_TRUE(Ids(Find(m, Query("sodium"))).empty());
  EXPECT_TRUE(m.ApplyOffer(MakeOffer("a", "lithium battery", 4, v1::OFFER_STATUS_WITHDRAWN)));
  EXPECT_TRUE(Ids(Find(m, Query("lithium"))).empty());
  EXPECT_EQ(m.searchable_offers(), 0u);
  EXPECT_FALSE(m.FindOffer("a").has_value());
}

TEST(ReadModelTest, HiddenOwnersLeaveSearchAndMatching) {
  ReadModel m;
  m.ApplyOffer(MakeOffer("a", "lithium battery"));
  EXPECT_TRUE(m.SetOrganizationHidden("org-a", true, 5));
  EXPECT_TRUE(Ids(Find(m, Query("lithium"))).empty());
  v1::Demand d;
  d.set_title("lithium battery");
  d.set_seeker_org_id("someone");
  EXPECT_TRUE(m.MatchOffers(d, 10).empty());
  EXPECT_FALSE(m.SetOrganizationHidden("org-a", false, 4));  // older than what was applied
  EXPECT_TRUE(m.IsHidden("org-a"));
  EXPECT_TRUE(m.SetOrganizationHidden("org-a", false, 6));
  EXPECT_THAT(Ids(Find(m, Query("lithium"))), ElementsAre("a"));
  EXPECT_EQ(m.MatchOffers(d, 10).size(), 1u);
}

TEST(ReadModelTest, DemandsDueToExpireAreThePublishedOnesPastTheirDeadlineEarliestFirst) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  auto demand = [](const std::string& id, absl::Time deadline, int64_t version = 1,
                   v1::DemandStatus status = v1::DEMAND_STATUS_PUBLISHED) {
    v1::Demand d;
    d.set_id(id);
    d.set_seeker_org_id("org-" + id);
    d.set_title("lithium battery");
    d.set_status(status);
    d.set_version(version);
    *d.mutable_deadline() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(deadline));
    return d;
  };
  ReadModel m;
  m.ApplyDemand(demand("late", now - absl::Hours(1)));
  m.ApplyDemand(demand("earliest", now - absl::Hours(2)));
  m.ApplyDemand(demand("at-now", now));
  m.ApplyDemand(demand("ahead", now + absl::Seconds(1)));
  v1::Demand open_ended = demand("open-ended", now);
  open_ended.clear_deadline();
  m.ApplyDemand(open_ended);
  m.ApplyDemand(demand("withdrawn", now - absl::Hours(3)));
  m.ApplyDemand(demand("withdrawn", now - absl::Hours(3), 2, v1::DEMAND_STATUS_WITHDRAWN));
  EXPECT_THAT(m.DemandsDueToExpire(now, 10), ElementsAre("earliest", "late", "at-now"));
  EXPECT_THAT(m.DemandsDueToExpire(now, 2), ElementsAre("earliest", "late"));
  // Once expired (its event applied), a demand is no longer a candidate.
  m.ApplyDemand(demand("earliest", now - absl::Hours(2), 2, v1::DEMAND_STATUS_EXPIRED));
  EXPECT_THAT(m.DemandsDueToExpire(now, 10), ElementsAre("late", "at-now"));
}

TEST(ReadModelTest, FiltersCombine) {
  ReadModel m;
  v1::Offer a = MakeOffer("a", "battery a");
  v1::Offer b = MakeOffer("b", "battery b");
  b.set_readiness_level(3);
  b.set_city_id("shenzhen");
  b.set_ipc_codes(0, "G06N 3/08");
  b.set_fields(0, "artificial-intelligence");
  b.set_transfer_modes(0, v1::TRANSFER_MODE_EQUITY);
  b.mutable_asking_price()->set_amount_minor(5000);
  m.ApplyOffer(a);
  m.ApplyOffer(b);
  v1::SearchRequest r;
  r.set_ipc_prefix("g06n 3/");
  EXPECT_THAT(Ids(Find(m, r)), ElementsAre("b"));
  r = v1::SearchRequest();
  r.set_max_readiness_level(4);
  EXPECT_THAT(Ids(Find(m, r)), ElementsAre("b"));
  r = v1::SearchRequest();
  r.add_fields("energy-storage");
  EXPECT_THAT(Ids(Find(m, r)), ElementsAre("a"));
  r = v1::SearchRequest();
  r.set_city_id("shenzhen");
  EXPECT_THAT(Ids(Find(m, r)), ElementsAre("b"));
  r = v1::SearchRequest();
  r.set_transfer_mode(v1::TRANSFER_MODE_ASSIGNMENT);
  EXPECT_THAT(Ids(Find(m, r)), ElementsAre("a"));
  r = v1::SearchRequest();
  r.mutable_price_min()->set_currency("CNY");
  r.mutable_price_min()->set_amount_minor(2000);
  EXPECT_THAT(Ids(Find(m, r)), ElementsAre("b"));
  r.set_city_id("nowhere");
  EXPECT_TRUE(Ids(Find(m, r)).empty());
}

TEST(ReadModelTest, BadSearchRequestsNameTheField) {
  ReadModel m;
  auto code_and_field = [&](v1::SearchRequest r) {
    absl::StatusOr<v1::SearchResponse> resp = m.Search(r);
    EXPECT_EQ(resp.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(resp.status().message());
  };
  v1::SearchRequest r;
  EXPECT_THAT(code_and_field(r), ::testing::StartsWith("kind:"));
  r.set_kind(v1::LISTING_KIND_OFFER);
  r.set_min_readiness_level(10);
  EXPECT_THAT(code_and_field(r), ::testing::StartsWith("min_readiness_level:"));
  r.set_min_readiness_level(7);
  r.set_max_readiness_level(3);
  EXPECT_THAT(code_and_field(r), ::testing::StartsWith("min_readiness_level:"));
  r = v1::SearchRequest();
  r.set_kind(v1::LISTING_KIND_OFFER);
  r.set_page_token("garbage");
  EXPECT_THAT(code_and_field(r), ::testing::StartsWith("page_token:"));
  r.clear_page_token();
  r.set_transfer_mode(static_cast<v1::TransferMode>(77));
  EXPECT_THAT(code_and_field(r), ::testing::StartsWith("transfer_mode:"));
}

TEST(ReadModelTest, PagesCoverEveryHitOnceAndCompactionKeepsResults) {
  ReadModel m;
  for (int i = 0; i < 3000; ++i) {
    m.ApplyOffer(MakeOffer(absl::StrCat("o", i), absl::StrCat("solar cell module ", i)));
  }
  // Rewrite most of them so that dead slots pile up past the compaction threshold.
  for (int i = 0; i < 2000; ++i) {
    m.ApplyOffer(MakeOffer(absl::StrCat("o", i), absl::StrCat("perovskite solar cell ", i), 2));
  }
  std::set<std::string> seen;
  v1::SearchRequest r = Query("solar");
  r.set_page_size(100);
  for (int page = 0; page < 100; ++page) {
    v1::SearchResponse resp = Find(m, r);
    EXPECT_EQ(resp.total(), 3000);
    for (const auto& h : resp.hits()) EXPECT_TRUE(seen.insert(h.id()).second) << h.id();
    if (resp.next_page_token().empty()) break;
    r.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(seen.size(), 3000u);
  EXPECT_EQ(Find(m, Query("perovskite")).total(), 2000);
}

TEST(ReadModelTest, MatchingSkipsTheSeekersOwnOffersAndExplainsEachFactor) {
  ReadModel m;
  v1::Offer mine = MakeOffer("mine", "lithium battery health estimation");
  mine.set_owner_org_id("seeker");
  m.ApplyOffer(mine);
  v1::Offer fit = MakeOffer("fit", "lithium battery health estimation");
  v1::Offer dear = MakeOffer("dear", "lithium battery health estimation");
  dear.mutable_asking_price()->set_amount_minor(5000);
  m.ApplyOffer(fit);
  m.ApplyOffer(dear);
  v1::Demand d;
  d.set_seeker_org_id("seeker");
  d.set_city_id("wuhan-east-lake");
  d.set_title("battery health estimation");
  d.add_ipc_codes("H01M 10/44");
  d.add_fields("energy-storage");
  d.set_min_readiness_level(5);
  d.mutable_budget_max()->set_currency("CNY");
  d.mutable_budget_max()->set_amount_minor(2000);
  std::vector<v1::Match> matches = m.MatchOffers(d, 10);
  ASSERT_EQ(matches.size(), 2u);
  EXPECT_EQ(matches[0].id(), "fit");
  EXPECT_EQ(matches[1].id(), "dear");
  EXPECT_GT(matches[0].score(), matches[1].score());
  std::map<std::string, std::string> reasons;
  for (const auto& f : matches[0].factors()) reasons[f.name()] = f.reason();
  EXPECT_EQ(reasons.size(), 7u);
  EXPECT_EQ(reasons["ipc"], "same IPC main group H01M 10");
  EXPECT_THAT(reasons["price"], HasSubstr("within the budget up to CNY 20.00"));
  EXPECT_EQ(reasons["city"], "same pilot city");
  for (const auto& f : matches[1].factors()) {
    if (f.name() == "price") {
      EXPECT_THAT(f.reason(), HasSubstr("above the budget"));
    }
  }
  // The converse direction finds the demand for an offer once it is published.
  d.set_id("demand");
  d.set_status(v1::DEMAND_STATUS_PUBLISHED);
  d.set_version(1);
  m.ApplyDemand(d);
  std::vector<v1::Match> demands = m.MatchDemands(fit, 5);
  ASSERT_EQ(demands.size(), 1u);
  EXPECT_EQ(demands[0].id(), "demand");
}

TEST(ReadModelTest, PriceReasonsPrintEachCurrencyWithItsOwnDecimals) {
  ReadModel m;
  v1::Offer yen = MakeOffer("yen", "lithium battery health estimation");
  yen.mutable_asking_price()->set_currency("JPY");
  yen.mutable_asking_price()->set_amount_minor(1'500'000);
  m.ApplyOffer(yen);
  v1::Demand d;
  d.set_seeker_org_id("seeker");
  d.set_city_id("wuhan-east-lake");
  d.set_title("battery health estimation");
  d.add_fields("energy-storage");
  d.set_min_readiness_level(5);
  d.mutable_budget_max()->set_currency("JPY");
  d.mutable_budget_max()->set_amount_minor(2'000'000);
  std::vector<v1::Match> matches = m.MatchOffers(d, 10);
  ASSERT_EQ(matches.size(), 1u);
  for (const auto& f : matches[0].factors()) {
    if (f.name() == "price") {
      EXPECT_EQ(f.reason(), "price JPY 1,500,000 within the budget up to JPY 2,000,000");
    }
  }
}

TEST(MatchWeightsTest, ParsesAndRefuses) {
  absl::StatusOr<MatchWeights> w = ParseMatchWeights("ipc=1, text=5");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->ipc, 1);
  EXPECT_EQ(w->text, 5);
  EXPECT_EQ(w->price, MatchWeights().price);
  EXPECT_FALSE(ParseMatchWeights("colour=2").ok());
  EXPECT_FALSE(ParseMatchWeights("ipc=-1").ok());
  EXPECT_FALSE(
      ParseMatchWeights("ipc=0,fields=0,text=0,readiness=0,price=0,transfer_mode=0,city=0").ok());
}

// ---- The relevance corpus ----

v1::TransferMode Mode(const std::string& name) {
  static const std::map<std::string, v1::TransferMode> modes = {
      {"assignment", v1::TRANSFER_MODE_ASSIGNMENT},
      {"exclusive_license", v1::TRANSFER_MODE_EXCLUSIVE_LICENSE},
      {"non_exclusive_license", v1::TRANSFER_MODE_NON_EXCLUSIVE_LICENSE},
      {"equity", v1::TRANSFER_MODE_EQUITY},
      {"joint_development", v1::TRANSFER_MODE_JOINT_DEVELOPMENT},
      {"technical_service", v1::TRANSFER_MODE_TECHNICAL_SERVICE}};
  return modes.at(name);
}

struct Corpus {
  std::vector<v1::Offer> offers;
  std::vector<std::pair<v1::Demand, nlohmann::json>> demands;
};

Corpus LoadCorpus() {
  Corpus c;
  std::ifstream in(std::string(TECHTRADE_SOURCE_DIR) + "/tests/data/listings_corpus.jsonl");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line);
    const std::string key = j["key"];
    if (j["kind"] == "offer") {
      v1::Offer o;
      o.set_id(key);
      o.set_owner_org_id("owner-" + key);
      o.set_city_id(j["city"]);
      o.set_title(j["title"]);
      o.set_abstract(j["abstract"]);
      for (const auto& c : j["ipc"]) o.add_ipc_codes(c);
      for (const auto& f : j["fields"]) o.add_fields(f);
      o.set_readiness_level(j["trl"]);
      for (const auto& m : j["transfer_modes"]) o.add_transfer_modes(Mode(m));
      if (!j["price"].is_null()) {
        o.mutable_asking_price()->set_currency(j["price"]["currency"]);
        o.mutable_asking_price()->set_amount_minor(j["price"]["amount_minor"]);
      }
      o.set_negotiable(j["negotiable"]);
      o.set_status(v1::OFFER_STATUS_PUBLISHED);
      o.set_version(1);
      *o.mutable_publish_time() = TimeUtil::SecondsToTimestamp(1'800'000'000 + n++);
      c.offers.push_back(o);
    } else {
      v1::Demand d;
      d.set_id(key);
      d.set_seeker_org_id("seeker-" + key);
      d.set_city_id(j["city"]);
      d.set_title(j["title"]);
      d.set_problem(j["problem"]);
      for (const auto& c : j["ipc"]) d.add_ipc_codes(c);
      for (const auto& f : j["fields"]) d.add_fields(f);
      d.set_min_readiness_level(j["min_trl"]);
      d.mutable_budget_min()->set_currency(j["budget"]["currency"]);
      d.mutable_budget_min()->set_amount_minor(j["budget"]["min_minor"]);
      d.mutable_budget_max()->set_currency(j["budget"]["currency"]);
      d.mutable_budget_max()->set_amount_minor(j["budget"]["max_minor"]);
      for (const auto& m : j["transfer_modes"]) d.add_transfer_modes(Mode(m));
      c.demands.emplace_back(d, j);
    }
  }
  return c;
}

TEST(RelevanceTest, TheKnownBestOfferRanksFirstForEveryDemandWithItsReasons) {
  Corpus corpus = LoadCorpus();
  ASSERT_GE(corpus.offers.size() + corpus.demands.size(), 200u);
  ASSERT_GE(corpus.demands.size(), 20u);
  ReadModel m;
  for (const auto& o : corpus.offers) ASSERT_TRUE(m.ApplyOffer(o));
  int zh = 0, en = 0, first = 0;
  for (const auto& [demand, json] : corpus.demands) {
    (json["lang"] == "zh" ? zh : en)++;
    std::vector<v1::Match> matches = m.MatchOffers(demand, 5);
    ASSERT_GE(matches.size(), 2u);
    const std::string expected = json["expected_best"];
    EXPECT_EQ(matches[0].id(), expected) << demand.id() << " " << demand.title();
    if (matches[0].id() != expected) continue;
    ++first;
    // Every factor where the winner beats the runner-up is one the corpus says it should win on,
    // and the reasons say so in words.
    std::set<std::string> winning;
    for (const auto& f : json["winning_factors"]) winning.insert(f);
    std::map<std::string, double> runner_up;
    for (const auto& f : matches[1].factors()) runner_up[f.name()] = f.value();
    for (const auto& f : matches[0].factors()) {
      if (f.value() > runner_up[f.name()] + 1e-9) {
        EXPECT_TRUE(winning.contains(f.name())) << demand.id() << " won on " << f.name();
      }
      // Braced: the EXPECT macros expand to an if/else.
      if (f.name() == "readiness") {
        EXPECT_THAT(f.reason(), HasSubstr("meets the minimum"));
      }
      if (f.name() == "price") {
        EXPECT_THAT(f.reason(), HasSubstr("within the budget"));
      }
      if (f.name() == "transfer_mode") {
        EXPECT_EQ(f.value(), 1);
      }
      if (f.name() == "ipc") {
        EXPECT_THAT(f.reason(), HasSubstr("same IPC main group"));
      }
    }
  }
  EXPECT_GT(zh, 0);
  EXPECT_GT(en, 0);
  std::cout << "relevance: best offer first for " << first << " of " << corpus.demands.size()
            << " demands (" << zh << " Chinese, " << en << " English) over " << corpus.offers.size()
            << " offers" << std::endl;
}

// Keyword search ranks an exact topic above neighbours in both languages.
TEST(RelevanceTest, KeywordSearchFindsTheTopicInBothLanguages) {
  Corpus corpus = LoadCorpus();
  ReadModel m;
  for (const auto& o : corpus.offers) m.ApplyOffer(o);
  for (const auto& [demand, json] : corpus.demands) {
    v1::SearchRequest r = Query(demand.title());
    r.set_page_size(10);
    v1::SearchResponse resp = Find(m, r);
    std::vector<std::string> ids = Ids(resp);
    EXPECT_THAT(ids, ::testing::Contains(json["expected_best"].get<std::string>()))
        << demand.id() << " " << demand.title();
  }
}

}  // namespace
}  // namespace techtrade::listings
