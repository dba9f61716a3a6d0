#include "services/listings/domain/read_model.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/paging.h"
#include "common/status.h"
#include "google/protobuf/util/time_util.h"
#include "services/listings/domain/listing_keys.h"
#include "services/listings/domain/text.h"

namespace techtrade::listings {
namespace {

using internal::MaskOfFields;
using internal::MaskOfModes;
using internal::PackInto;
using internal::ParseCodes;

using google::protobuf::util::TimeUtil;

constexpr double kK1 = 1.2;  // BM25 term-frequency saturation
constexpr double kB = 0.75;  // BM25 length normalisation
constexpr int kDefaultSearchPage = 20;
constexpr int kMaxSearchPage = 100;

}  // namespace

uint32_t ReadModel::Intern(const std::string& value) const {
  auto [it, inserted] = interned_.try_emplace(value, static_cast<uint32_t>(interned_.size()));
  if (inserted) {
    hidden_owner_.push_back(false);
    names_.push_back(value);
  }
  return it->second;
}

std::optional<uint32_t> ReadModel::Lookup(const std::string& value) const {
  auto it = interned_.find(value);
  if (it == interned_.end()) return std::nullopt;
  return it->second;
}

bool ReadModel::Visible(const Hot& hot) const { return hot.live && !hidden_owner_[hot.owner]; }

bool ReadModel::Apply(Corpus& corpus, bool searchable, Hot hot, Doc doc, const std::string& text) {
  auto [known, inserted] = corpus.version_of.try_emplace(doc.id, doc.version);
  if (!inserted) {
    if (known->second >= doc.version) return false;
    known->second = doc.version;
  }
  if (auto it = corpus.slot_of.find(doc.id); it != corpus.slot_of.end()) {
    Hot& old = corpus.hot[it->second];
    old.live = false;
    corpus.total_length -= old.length;
    corpus.docs[it->second] = Doc();
    --corpus.live;
    ++corpus.dead;
    corpus.slot_of.erase(it);
  }
  if (searchable) {
    const uint32_t slot = static_cast<uint32_t>(corpus.docs.size());
    std::vector<std::string> tokens = Tokenize(text);
    absl::flat_hash_map<std::string, uint32_t> tf;
    for (std::string& t : tokens) ++tf[std::move(t)];
    for (auto& [token, count] : tf) {
      corpus.postings[token].push_back(slot << 6 | std::min<uint32_t>(count, 63));
    }
    hot.length = static_cast<uint16_t>(std::min<size_t>(tokens.size(), 65535));
    hot.live = true;
    corpus.total_length += hot.length;
    corpus.slot_of[doc.id] = slot;
    corpus.hot.push_back(hot);
    corpus.docs.push_back(std::move(doc));
    ++corpus.live;
  }
  if (corpus.dead > 1024 && corpus.dead * 4 > corpus.docs.size()) Compact(corpus);
  return true;
}

void ReadModel::Compact(Corpus& corpus) {
  std::vector<uint32_t> new_slot(corpus.docs.size(), UINT32_MAX);
  std::vector<Hot> hot;
  std::vector<Doc> docs;
  hot.reserve(corpus.live);
  docs.reserve(corpus.live);
  for (uint32_t s = 0; s < corpus.docs.size(); ++s) {
    if (!corpus.hot[s].live) continue;
    new_slot[s] = static_cast<uint32_t>(docs.size());
    corpus.slot_of[corpus.docs[s].id] = new_slot[s];
    hot.push_back(corpus.hot[s]);
    docs.push_back(std::move(corpus.docs[s]));
  }
  for (auto it = corpus.postings.begin(); it != corpus.postings.end();) {
    std::vector<uint32_t> kept;
    for (uint32_t p : it->second) {
      if (uint32_t s = new_slot[p >> 6]; s != UINT32_MAX) kept.push_back(s << 6 | (p & 63));
    }
    if (kept.empty()) {
      corpus.postings.erase(it++);
    } else {
      kept.shrink_to_fit();
      it->second = std::move(kept);
      ++it;
    }
  }
  corpus.hot = std::move(hot);
  corpus.docs = std::move(docs);
  corpus.dead = 0;
}

bool ReadModel::ApplyOffer(const v1::Offer& offer) {
  Hot hot;
  Doc doc;
  doc.id = offer.id();
  doc.version = offer.version();
  doc.publish_us = TimeUtil::TimestampToMicroseconds(offer.publish_time());
  std::vector<uint32_t> packed;
  ParseCodes(offer.ipc_codes(), &doc.ipc_text, &packed);
  PackInto(packed, hot.ipc, hot.ipc_count);
  hot.fields = MaskOfFields(offer.fields());
  hot.modes = MaskOfModes(offer.transfer_modes());
  hot.readiness = static_cast<uint8_t>(offer.readiness_level());
  hot.negotiable = offer.negotiable();
  v1::Offer stored = offer;
  stored.set_visible(true);  // computed on the way out
  doc.record = stored.SerializeAsString();
  std::unique_lock lock(mutex_);
  hot.owner = Intern(offer.owner_org_id());
  hot.city = Intern(offer.city_id());
  if (offer.has_asking_price()) {
    hot.price_low = hot.price_high = offer.asking_price().amount_minor();
    hot.currency = Intern(offer.asking_price().currency());
  }
  // An offer under negotiation stays in search and matching: others may still make an offer.
  const bool listed = offer.status() == v1::OFFER_STATUS_PUBLISHED ||
                      offer.status() == v1::OFFER_STATUS_UNDER_NEGOTIATION;
  return Apply(offers_, listed, hot, std::move(doc),
               absl::StrCat(offer.title(), "\n", offer.abstract()));
}

bool ReadModel::ApplyDemand(const v1::Demand& demand) {
  Hot hot;
  Doc doc;
  doc.id = demand.id();
  doc.version = demand.version();
  doc.publish_us = TimeUtil::TimestampToMicroseconds(demand.publish_time());
  if (demand.has_deadline()) doc.expire_us = TimeUtil::TimestampToMicroseconds(demand.deadline());
  std::vector<uint32_t> packed;
  ParseCodes(demand.ipc_codes(), &doc.ipc_text, &packed);
  PackInto(packed, hot.ipc, hot.ipc_count);
  hot.fields = MaskOfFields(demand.fields());
  hot.modes = MaskOfModes(demand.transfer_modes());
  hot.readiness = static_cast<uint8_t>(demand.min_readiness_level());
  v1::Demand stored = demand;
  stored.set_visible(true);
  doc.record = stored.SerializeAsString();
  std::unique_lock lock(mutex_);
  hot.owner = Intern(demand.seeker_org_id());
  hot.city = Intern(demand.city_id());
  if (demand.has_budget_max()) {
    hot.price_low = demand.has_budget_min() ? demand.budget_min().amount_minor() : 0;
    hot.price_high = demand.budget_max().amount_minor();
    hot.currency = Intern(demand.budget_max().currency());
  }
  return Apply(demands_, demand.status() == v1::DEMAND_STATUS_PUBLISHED, hot, std::move(doc),
               absl::StrCat(demand.title(), "\n", demand.problem()));
}

std::vector<std::string> ReadModel::DemandsDueToExpire(absl::Time now, size_t limit) const {
  const int64_t now_us = absl::ToUnixMicros(now);
  std::vector<std::pair<int64_t, uint32_t>> due;  // (deadline, slot)
  std::shared_lock lock(mutex_);
  for (uint32_t s = 0; s < demands_.docs.size(); ++s) {
    const int64_t at = demands_.docs[s].expire_us;
    if (demands_.hot[s].live && at != 0 && at <= now_us) due.emplace_back(at, s);
  }
  const size_t n = std::min(limit, due.size());
  std::partial_sort(due.begin(), due.begin() + n, due.end());
  std::vector<std::string> ids;
  ids.reserve(n);
  for (size_t i = 0; i < n; ++i) ids.push_back(demands_.docs[due[i].second].id);
  return ids;
}

bool ReadModel::SetOrganizationHidden(const std::string& organization_id, bool hidden,
                                      int64_t sequence) {
  std::unique_lock lock(mutex_);
  auto [it, inserted] = hidden_.try_emplace(organization_id, hidden, sequence);
  if (!inserted) {
    if (it->second.second >= sequence) return false;
    it->second = {hidden, sequence};
  }
  hidden_owner_[Intern(organization_id)] = hidden;
  return true;
}

void ReadModel::ReplaceWith(ReadModel&& fresh) {
  if (&fresh == this) return;
  std::scoped_lock lock(mutex_, fresh.mutex_);
  offers_ = std::move(fresh.offers_);
  demands_ = std::move(fresh.demands_);
  interned_ = std::move(fresh.interned_);
  names_ = std::move(fresh.names_);
  hidden_ = std::move(fresh.hidden_);
  hidden_owner_ = std::move(fresh.hidden_owner_);
  fresh.offers_ = Corpus();
  fresh.demands_ = Corpus();
  fresh.interned_.clear();
  fresh.names_.clear();
  fresh.hidden_.clear();
  fresh.hidden_owner_.clear();
}

bool ReadModel::IsHidden(const std::string& organization_id) const {
  std::shared_lock lock(mutex_);
  auto it = hidden_.find(organization_id);
  return it != hidden_.end() && it->second.first;
}

std::optional<v1::Offer> ReadModel::FindOffer(const std::string& id) const {
  std::shared_lock lock(mutex_);
  auto it = offers_.slot_of.find(id);
  if (it == offers_.slot_of.end()) return std::nullopt;
  v1::Offer offer;
  offer.ParseFromString(offers_.docs[it->second].record);
  offer.set_visible(!hidden_owner_[offers_.hot[it->second].owner]);
  return offer;
}

std::optional<v1::Demand> ReadModel::FindDemand(const std::string& id) const {
  std::shared_lock lock(mutex_);
  auto it = demands_.slot_of.find(id);
  if (it == demands_.slot_of.end()) return std::nullopt;
  v1::Demand demand;
  demand.ParseFromString(demands_.docs[it->second].record);
  demand.set_visible(!hidden_owner_[demands_.hot[it->second].owner]);
  return demand;
}

size_t ReadModel::searchable_offers() const {
  std::shared_lock lock(mutex_);
  return offers_.live;
}

std::vector<float> ReadModel::TextScores(const Corpus& corpus,
                                         const std::vector<std::string>& tokens,
                                         bool skip_common) const {
  std::vector<float> scores(corpus.hot.size(), 0);
  if (corpus.live == 0 || tokens.empty()) return scores;
  const double n = static_cast<double>(corpus.live);
  const double avg_length = std::max(1.0, static_cast<double>(corpus.total_length) / n);
  // BM25's length normalisation per slot, once per query; dead slots get a NaN-free huge value
  // and are filtered by the caller anyway.
  std::vector<float> norm(corpus.hot.size());
  for (size_t s = 0; s < corpus.hot.size(); ++s) {
    norm[s] = static_cast<float>(kK1 * (1 - kB + kB * corpus.hot[s].length / avg_length));
  }
  absl::flat_hash_map<std::string, int> query;
  for (const std::string& t : tokens) ++query[t];
  for (const auto& [token, query_tf] : query) {
    auto it = corpus.postings.find(token);
    if (it == corpus.postings.end()) continue;
    // Postings of replaced slots still count until the next compaction; never more than n.
    const double df = std::min(n, static_cast<double>(it->second.size()));
    // For ranking, a term in more than half of the listings says almost nothing (idf below ln 2,
    // against 5–10 for a distinctive term) and costs the longest scan: it is skipped, like a stop
    // word. A search still matches it.
    if (skip_common && n >= 1000 && df > n / 2) continue;
    const float weight =
        static_cast<float>(std::log(1 + (n - df + 0.5) / (df + 0.5)) * (kK1 + 1) * query_tf);
    for (uint32_t p : it->second) {
      const uint32_t slot = p >> 6;
      const float tf = static_cast<float>(p & 63);
      scores[slot] += weight * tf / (tf + norm[slot]);
    }
  }
  return scores;
}

namespace {

// A Search request checked and read: what the scan filters on and which page it answers.
struct SearchQuery {
  FieldMask fields = 0;
  std::string ipc_prefix;  // upper case
  std::string currency;    // of price_min/price_max, empty when neither is given
  bool has_min = false;
  bool has_max = false;
  int page_size = 0;
  int64_t offset = 0;
};

absl::StatusOr<SearchQuery> ParseSearch(const v1::SearchRequest& r) {
  if (r.kind() != v1::LISTING_KIND_OFFER && r.kind() != v1::LISTING_KIND_DEMAND) {
    return FieldError("kind", "LISTING_KIND_OFFER or LISTING_KIND_DEMAND required");
  }
  SearchQuery q;
  for (int i = 0; i < r.fields_size(); ++i) {
    std::optional<int> f = FieldIndex(r.fields(i));
    if (!f) return FieldError(absl::StrCat("fields[", i, "]"), "unknown industry field");
    q.fields |= FieldMask{1} << *f;
  }
  for (char c : r.ipc_prefix()) q.ipc_prefix.push_back(absl::ascii_toupper(c));
  if (!q.ipc_prefix.empty() && (q.ipc_prefix[0] < 'A' || q.ipc_prefix[0] > 'H')) {
    return FieldError("ipc_prefix", "an IPC code or its start, e.g. \"G06N\" or \"G06N 3/\"");
  }
  for (auto [name, level] : {std::pair{"min_readiness_level", r.min_readiness_level()},
                             std::pair{"max_readiness_level", r.max_readiness_level()}}) {
    if (level < 0 || level > 9) return FieldError(name, "0 (no bound) or 1–9");
  }
  if (r.max_readiness_level() != 0 && r.min_readiness_level() > r.max_readiness_level()) {
    return FieldError("min_readiness_level", "greater than max_readiness_level");
  }
  for (auto [name, money] :
       {std::pair{"price_min", &r.price_min()}, std::pair{"price_max", &r.price_max()}}) {
    if (money->currency().empty() && money->amount_minor() == 0) continue;
    if (money->currency().size() != 3) return FieldError(name, "ISO 4217 currency required");
    if (money->amount_minor() < 0) return FieldError(name, "must not be negative");
    if (!q.currency.empty() && q.currency != money->currency()) {
      return FieldError(name, "price_min and price_max need the same currency");
    }
    q.currency = money->currency();
  }
  q.has_min = r.has_price_min() && !r.price_min().currency().empty();
  q.has_max = r.has_price_max() && !r.price_max().currency().empty();
  if (q.has_min && q.has_max && r.price_min().amount_minor() > r.price_max().amount_minor()) {
    return FieldError("price_min", "greater than price_max");
  }
  if (!v1::TransferMode_IsValid(r.transfer_mode())) {
    return FieldError("transfer_mode", absl::StrCat("unknown transfer mode ", r.transfer_mode()));
  }
  q.page_size = r.page_size() == 0 ? kDefaultSearchPage : r.page_size();
  if (q.page_size < 0 || q.page_size > kMaxSearchPage) {
    return FieldError("page_size", absl::StrCat("0 (default) or 1–", kMaxSearchPage));
  }
  TT_ASSIGN_OR_RETURN(q.offset, DecodePageToken("Search", r));
  return q;
}

}  // namespace

absl::StatusOr<v1::SearchResponse> ReadModel::Search(const v1::SearchRequest& r) const {
  TT_ASSIGN_OR_RETURN(const SearchQuery q, ParseSearch(r));

  const bool offers = r.kind() == v1::LISTING_KIND_OFFER;
  std::vector<std::string> tokens = Tokenize(r.query());
  std::shared_lock lock(mutex_);
  const Corpus& corpus = offers ? offers_ : demands_;
  std::optional<uint32_t> city;
  if (!r.city_id().empty()) {
    city = Lookup(r.city_id());
    if (!city) return v1::SearchResponse();
  }
  std::optional<uint32_t> currency_id;
  if (!q.currency.empty()) {
    currency_id = Lookup(q.currency);
    if (!currency_id) return v1::SearchResponse();
  }
  std::vector<float> text = TextScores(corpus, tokens, /*skip_common=*/false);
  std::vector<Scored> hits;
  for (uint32_t s = 0; s < corpus.hot.size(); ++s) {
    const Hot& d = corpus.hot[s];
    if (!Visible(d)) continue;
    if (!tokens.empty() && text[s] <= 0) continue;
    if (q.fields != 0 && (d.fields & q.fields) == 0) continue;
    if (city && d.city != *city) continue;
    if (r.transfer_mode() != 0 && (d.modes & (ModeMask{1} << r.transfer_mode())) == 0) continue;
    if (r.min_readiness_level() != 0 && d.readiness < r.min_readiness_level()) continue;
    if (r.max_readiness_level() != 0 && d.readiness > r.max_readiness_level()) continue;
    if (!q.ipc_prefix.empty() &&
        std::none_of(corpus.docs[s].ipc_text.begin(), corpus.docs[s].ipc_text.end(),
                     [&](const std::string& code) { return code.rfind(q.ipc_prefix, 0) == 0; })) {
      continue;
    }
    if (currency_id) {
      if (d.price_high < 0 || d.currency != *currency_id) continue;
      // Offers: the asking price inside the range; demands: the budget overlapping it.
      if (q.has_min && d.price_high < r.price_min().amount_minor()) continue;
      if (q.has_max && d.price_low > r.price_max().amount_minor()) continue;
    }
    hits.push_back({s, tokens.empty() ? 0.0 : static_cast<double>(text[s])});
  }
  std::sort(hits.begin(), hits.end(), [&](const Scored& a, const Scored& b) {
    if (a.score != b.score) return a.score > b.score;
    const Doc& da = corpus.docs[a.slot];
    const Doc& db = corpus.docs[b.slot];
    if (da.publish_us != db.publish_us) return da.publish_us > db.publish_us;
    return da.id < db.id;
  });
  v1::SearchResponse response;
  response.set_total(static_cast<int64_t>(hits.size()));
  for (size_t i = static_cast<size_t>(q.offset);
       i < hits.size() && i < static_cast<size_t>(q.offset) + q.page_size; ++i) {
    const Doc& d = corpus.docs[hits[i].slot];
    v1::SearchHit* hit = response.add_hits();
    hit->set_id(d.id);
    hit->set_kind(r.kind());
    hit->set_score(hits[i].score);
    if (offers) {
      hit->mutable_offer()->ParseFromString(d.record);
      hit->set_title(hit->offer().title());
    } else {
      hit->mutable_demand()->ParseFromString(d.record);
      hit->set_title(hit->demand().title());
    }
  }
  if (static_cast<size_t>(q.offset) + q.page_size < hits.size()) {
    response.set_next_page_token(EncodePageToken("Search", r, q.offset + q.page_size));
  }
  return response;
}

}  // namespace techtrade::listings
