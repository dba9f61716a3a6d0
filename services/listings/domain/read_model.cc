#include "services/listings/domain/read_model.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <queue>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/paging.h"
#include "common/status.h"
#include "google/protobuf/util/time_util.h"
#include "services/listings/domain/text.h"

namespace techtrade::listings {
namespace {

using google::protobuf::util::TimeUtil;

constexpr double kK1 = 1.2;  // BM25 term-frequency saturation
constexpr double kB = 0.75;  // BM25 length normalisation
constexpr int kDefaultSearchPage = 20;
constexpr int kMaxSearchPage = 100;

FieldMask MaskOfFields(const google::protobuf::RepeatedPtrField<std::string>& fields) {
  FieldMask mask = 0;
  for (const std::string& f : fields) {
    if (std::optional<int> i = FieldIndex(f)) mask |= FieldMask{1} << *i;
  }
  return mask;
}

ModeMask MaskOfModes(const google::protobuf::RepeatedField<int>& modes) {
  ModeMask mask = 0;
  for (int m : modes) {
    if (m > 0 && m < 32) mask |= ModeMask{1} << m;
  }
  return mask;
}

// An IPC code packed so that closeness is a few comparisons: section (3 bits), class (7),
// subclass (5), main group (14, 0 at subclass level).
uint32_t PackIpc(const IpcCode& c) {
  return static_cast<uint32_t>(c.section - 'A') << 26 | static_cast<uint32_t>(c.ipc_class) << 19 |
         static_cast<uint32_t>(c.subclass - 'A') << 14 | (c.main_group & 0x3FFF);
}

double PackedCloseness(uint32_t a, uint32_t b) {
  if ((a >> 26) != (b >> 26)) return 0;
  if ((a >> 19) != (b >> 19)) return 0.25;
  if ((a >> 14) != (b >> 14)) return 0.5;
  if (a == b && (a & 0x3FFF) != 0) return 1;
  return 0.75;
}

// Canonical text and packed keys of the codes that parse.
void ParseCodes(const google::protobuf::RepeatedPtrField<std::string>& codes,
                std::vector<std::string>* canonical, std::vector<uint32_t>* packed) {
  for (const std::string& c : codes) {
    if (absl::StatusOr<IpcCode> code = ParseIpc(c); code.ok()) {
      canonical->push_back(code->ToString());
      packed->push_back(PackIpc(*code));
    }
  }
}

std::string Money(int64_t minor, absl::string_view currency) {
  return absl::StrFormat("%s %.2f", currency, static_cast<double>(minor) / 100);
}

int Popcount(uint32_t x) { return __builtin_popcount(x); }

// The factors of one candidate, from the demand's side whichever way the match runs.
struct Factors {
  double ipc = 0, fields = 0, text = 0, readiness = 0, price = 0, transfer_mode = 0, city = 0;
};

}  // namespace

absl::StatusOr<MatchWeights> ParseMatchWeights(absl::string_view spec) {
  MatchWeights w;
  for (absl::string_view part : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    absl::StripAsciiWhitespace(&kv.first);
    absl::StripAsciiWhitespace(&kv.second);
    double value = 0;
    if (!absl::SimpleAtod(kv.second, &value) || value < 0 || value > 100) {
      return absl::InvalidArgumentError(
          absl::StrCat("match weights: '", part, "' needs a weight between 0 and 100"));
    }
    if (kv.first == "ipc") {
      w.ipc = value;
    } else if (kv.first == "fields") {
      w.fields = value;
    } else if (kv.first == "text") {
      w.text = value;
    } else if (kv.first == "readiness") {
      w.readiness = value;
    } else if (kv.first == "price") {
      w.price = value;
    } else if (kv.first == "transfer_mode") {
      w.transfer_mode = value;
    } else if (kv.first == "city") {
      w.city = value;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("match weights: unknown factor '", kv.first,
                       "' (ipc, fields, text, readiness, price, transfer_mode, city)"));
    }
  }
  if (w.ipc + w.fields + w.text + w.readiness + w.price + w.transfer_mode + w.city <= 0) {
    return absl::InvalidArgumentError("match weights: at least one must be positive");
  }
  return w;
}

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

namespace {
void PackInto(const std::vector<uint32_t>& packed, uint32_t (&ipc)[4], uint8_t& count) {
  count = static_cast<uint8_t>(std::min<size_t>(packed.size(), 4));
  for (int i = 0; i < count; ++i) ipc[i] = packed[i];
}
}  // namespace

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
  return Apply(offers_, offer.status() == v1::OFFER_STATUS_PUBLISHED, hot, std::move(doc),
               absl::StrCat(offer.title(), "\n", offer.abstract()));
}

bool ReadModel::ApplyDemand(const v1::Demand& demand) {
  Hot hot;
  Doc doc;
  doc.id = demand.id();
  doc.version = demand.version();
  doc.publish_us = TimeUtil::TimestampToMicroseconds(demand.publish_time());
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

absl::StatusOr<v1::SearchResponse> ReadModel::Search(const v1::SearchRequest& r) const {
  if (r.kind() != v1::LISTING_KIND_OFFER && r.kind() != v1::LISTING_KIND_DEMAND) {
    return FieldError("kind", "LISTING_KIND_OFFER or LISTING_KIND_DEMAND required");
  }
  FieldMask fields = 0;
  for (int i = 0; i < r.fields_size(); ++i) {
    std::optional<int> f = FieldIndex(r.fields(i));
    if (!f) return FieldError(absl::StrCat("fields[", i, "]"), "unknown industry field");
    fields |= FieldMask{1} << *f;
  }
  std::string ipc_prefix;
  for (char c : r.ipc_prefix()) ipc_prefix.push_back(absl::ascii_toupper(c));
  if (!ipc_prefix.empty() && (ipc_prefix[0] < 'A' || ipc_prefix[0] > 'H')) {
    return FieldError("ipc_prefix", "an IPC code or its start, e.g. \"G06N\" or \"G06N 3/\"");
  }
  for (auto [name, level] : {std::pair{"min_readiness_level", r.min_readiness_level()},
                             std::pair{"max_readiness_level", r.max_readiness_level()}}) {
    if (level < 0 || level > 9) return FieldError(name, "0 (no bound) or 1–9");
  }
  if (r.max_readiness_level() != 0 && r.min_readiness_level() > r.max_readiness_level()) {
    return FieldError("min_readiness_level", "greater than max_readiness_level");
  }
  std::string currency;
  for (auto [name, money] :
       {std::pair{"price_min", &r.price_min()}, std::pair{"price_max", &r.price_max()}}) {
    if (money->currency().empty() && money->amount_minor() == 0) continue;
    if (money->currency().size() != 3) return FieldError(name, "ISO 4217 currency required");
    if (money->amount_minor() < 0) return FieldError(name, "must not be negative");
    if (!currency.empty() && currency != money->currency()) {
      return FieldError(name, "price_min and price_max need the same currency");
    }
    currency = money->currency();
  }
  const bool has_min = r.has_price_min() && !r.price_min().currency().empty();
  const bool has_max = r.has_price_max() && !r.price_max().currency().empty();
  if (has_min && has_max && r.price_min().amount_minor() > r.price_max().amount_minor()) {
    return FieldError("price_min", "greater than price_max");
  }
  if (!v1::TransferMode_IsValid(r.transfer_mode())) {
    return FieldError("transfer_mode", absl::StrCat("unknown transfer mode ", r.transfer_mode()));
  }
  int page_size = r.page_size() == 0 ? kDefaultSearchPage : r.page_size();
  if (page_size < 0 || page_size > kMaxSearchPage) {
    return FieldError("page_size", absl::StrCat("0 (default) or 1–", kMaxSearchPage));
  }
  TT_ASSIGN_OR_RETURN(int64_t offset, DecodePageToken(r.page_token()));

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
  if (!currency.empty()) {
    currency_id = Lookup(currency);
    if (!currency_id) return v1::SearchResponse();
  }
  std::vector<float> text = TextScores(corpus, tokens, /*skip_common=*/false);
  std::vector<Scored> hits;
  for (uint32_t s = 0; s < corpus.hot.size(); ++s) {
    const Hot& d = corpus.hot[s];
    if (!Visible(d)) continue;
    if (!tokens.empty() && text[s] <= 0) continue;
    if (fields != 0 && (d.fields & fields) == 0) continue;
    if (city && d.city != *city) continue;
    if (r.transfer_mode() != 0 && (d.modes & (ModeMask{1} << r.transfer_mode())) == 0) continue;
    if (r.min_readiness_level() != 0 && d.readiness < r.min_readiness_level()) continue;
    if (r.max_readiness_level() != 0 && d.readiness > r.max_readiness_level()) continue;
    if (!ipc_prefix.empty() &&
        std::none_of(corpus.docs[s].ipc_text.begin(), corpus.docs[s].ipc_text.end(),
                     [&](const std::string& code) { return code.rfind(ipc_prefix, 0) == 0; })) {
      continue;
    }
    if (currency_id) {
      if (d.price_high < 0 || d.currency != *currency_id) continue;
      // Offers: the asking price inside the range; demands: the budget overlapping it.
      if (has_min && d.price_high < r.price_min().amount_minor()) continue;
      if (has_max && d.price_low > r.price_max().amount_minor()) continue;
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
  for (size_t i = static_cast<size_t>(offset);
       i < hits.size() && i < static_cast<size_t>(offset) + page_size; ++i) {
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
  if (static_cast<size_t>(offset) + page_size < hits.size()) {
    response.set_next_page_token(EncodePageToken(offset + page_size));
  }
  return response;
}

std::vector<v1::Match> ReadModel::MatchOffers(const v1::Demand& demand, int limit) const {
  Probe probe;
  ParseCodes(demand.ipc_codes(), &probe.ipc_text, &probe.ipc);
  PackInto(probe.ipc, probe.hot.ipc, probe.hot.ipc_count);
  probe.hot.fields = MaskOfFields(demand.fields());
  probe.hot.modes = MaskOfModes(demand.transfer_modes());
  probe.hot.readiness = static_cast<uint8_t>(demand.min_readiness_level());
  probe.tokens = Tokenize(absl::StrCat(demand.title(), "\n", demand.problem()));
  std::shared_lock lock(mutex_);
  // Strings the model has never seen get an id no listing has.
  probe.hot.owner = Lookup(demand.seeker_org_id()).value_or(UINT32_MAX);
  probe.hot.city = Lookup(demand.city_id()).value_or(UINT32_MAX);
  if (demand.has_budget_max()) {
    probe.hot.price_low = demand.has_budget_min() ? demand.budget_min().amount_minor() : 0;
    probe.hot.price_high = demand.budget_max().amount_minor();
    probe.hot.currency = Lookup(demand.budget_max().currency()).value_or(UINT32_MAX);
  }
  return Match(offers_, probe, /*probe_is_demand=*/true, limit);
}

std::vector<v1::Match> ReadModel::MatchDemands(const v1::Offer& offer, int limit) const {
  Probe probe;
  ParseCodes(offer.ipc_codes(), &probe.ipc_text, &probe.ipc);
  PackInto(probe.ipc, probe.hot.ipc, probe.hot.ipc_count);
  probe.hot.fields = MaskOfFields(offer.fields());
  probe.hot.modes = MaskOfModes(offer.transfer_modes());
  probe.hot.readiness = static_cast<uint8_t>(offer.readiness_level());
  probe.hot.negotiable = offer.negotiable();
  probe.tokens = Tokenize(absl::StrCat(offer.title(), "\n", offer.abstract()));
  std::shared_lock lock(mutex_);
  probe.hot.owner = Lookup(offer.owner_org_id()).value_or(UINT32_MAX);
  probe.hot.city = Lookup(offer.city_id()).value_or(UINT32_MAX);
  if (offer.has_asking_price()) {
    probe.hot.price_low = probe.hot.price_high = offer.asking_price().amount_minor();
    probe.hot.currency = Lookup(offer.asking_price().currency()).value_or(UINT32_MAX);
  }
  return Match(demands_, probe, /*probe_is_demand=*/false, limit);
}

std::vector<v1::Match> ReadModel::Match(const Corpus& candidates, const Probe& probe,
                                        bool probe_is_demand, int limit) const {
  const MatchWeights& w = weights_;
  const double total_weight =
      w.ipc + w.fields + w.text + w.readiness + w.price + w.transfer_mode + w.city;
  std::vector<float> text = TextScores(candidates, probe.tokens, /*skip_common=*/true);
  float max_text = 0;
  for (uint32_t s = 0; s < candidates.hot.size(); ++s) {
    if (Visible(candidates.hot[s])) max_text = std::max(max_text, text[s]);
  }
  // The codes of a candidate: the inline keys, or all of them when it has more than four.
  auto candidate_ipc = [&](uint32_t slot, std::vector<uint32_t>& out) -> const uint32_t* {
    const Hot& h = candidates.hot[slot];
    if (h.ipc_count < 4 || candidates.docs[slot].ipc_text.size() <= 4) return h.ipc;
    out.clear();
    for (const std::string& code : candidates.docs[slot].ipc_text)
      out.push_back(PackIpc(*ParseIpc(code)));
    return out.data();
  };
  std::vector<uint32_t> spill;
  // Each factor from the demand's point of view, whichever side the probe is.
  auto factors = [&](const Hot& demand, const uint32_t* demand_ipc, size_t demand_ipc_count,
                     const Hot& offer, const uint32_t* offer_ipc, size_t offer_ipc_count,
                     float text_score) {
    Factors f;
    for (size_t i = 0; i < demand_ipc_count; ++i) {
      for (size_t j = 0; j < offer_ipc_count; ++j) {
        f.ipc = std::max(f.ipc, PackedCloseness(demand_ipc[i], offer_ipc[j]));
      }
    }
    if (demand.fields != 0) {
      f.fields =
          static_cast<double>(Popcount(demand.fields & offer.fields)) / Popcount(demand.fields);
    }
    f.text = max_text > 0 ? text_score / max_text : 0;
    f.readiness = offer.readiness >= demand.readiness
                      ? 1.0
                      : std::max(0.0, 1.0 - 0.3 * (demand.readiness - offer.readiness));
    if (demand.price_high < 0) {
      f.price = 1;
    } else if (offer.price_high < 0) {
      f.price = offer.negotiable ? 0.5 : 0.3;
    } else if (offer.currency != demand.currency) {
      f.price = 0.3;
    } else if (offer.price_high <= demand.price_high) {
      f.price = 1;
    } else {
      f.price = std::max(0.0, 1.0 - static_cast<double>(offer.price_high - demand.price_high) /
                                        std::max<int64_t>(1, demand.price_high));
    }
    f.transfer_mode = demand.modes == 0 || (demand.modes & offer.modes) != 0 ? 1 : 0;
    f.city = demand.city == offer.city ? 1 : 0;
    return f;
  };
  auto factors_of = [&](uint32_t slot) {
    const Hot& c = candidates.hot[slot];
    const uint32_t* c_ipc = candidate_ipc(slot, spill);
    const size_t c_count = c_ipc == c.ipc ? c.ipc_count : spill.size();
    return probe_is_demand ? factors(probe.hot, probe.ipc.data(), probe.ipc.size(), c, c_ipc,
                                     c_count, text[slot])
                           : factors(c, c_ipc, c_count, probe.hot, probe.ipc.data(),
                                     probe.ipc.size(), text[slot]);
  };
  auto score_of = [&](const Factors& f) {
    return (w.ipc * f.ipc + w.fields * f.fields + w.text * f.text + w.readiness * f.readiness +
            w.price * f.price + w.transfer_mode * f.transfer_mode + w.city * f.city) /
           total_weight;
  };
  // Top `limit` by score (ties: the lower slot, i.e. the earlier listing), with a min-heap.
  auto worse = [](const Scored& a, const Scored& b) {
    return a.score != b.score ? a.score > b.score : a.slot < b.slot;
  };
  std::priority_queue<Scored, std::vector<Scored>, decltype(worse)> top(worse);
  for (uint32_t s = 0; s < candidates.hot.size(); ++s) {
    const Hot& c = candidates.hot[s];
    if (!Visible(c) || c.owner == probe.hot.owner) continue;
    double score = score_of(factors_of(s));
    if (static_cast<int>(top.size()) < limit) {
      top.push({s, score});
    } else if (score > top.top().score) {
      top.pop();
      top.push({s, score});
    }
  }
  std::vector<Scored> ranked;
  while (!top.empty()) {
    ranked.push_back(top.top());
    top.pop();
  }
  std::reverse(ranked.begin(), ranked.end());

  std::vector<v1::Match> out;
  for (const Scored& r : ranked) {
    const Hot& c = candidates.hot[r.slot];
    const Doc& doc = candidates.docs[r.slot];
    const Hot& demand = probe_is_demand ? probe.hot : c;
    const Hot& offer = probe_is_demand ? c : probe.hot;
    const std::vector<std::string>& demand_codes = probe_is_demand ? probe.ipc_text : doc.ipc_text;
    const std::vector<std::string>& offer_codes = probe_is_demand ? doc.ipc_text : probe.ipc_text;
    Factors f = factors_of(r.slot);
    v1::Match m;
    m.set_id(doc.id);
    m.set_score(r.score);
    if (probe_is_demand) {
      v1::Offer o;
      o.ParseFromString(doc.record);
      m.set_title(o.title());
    } else {
      v1::Demand d;
      d.ParseFromString(doc.record);
      m.set_title(d.title());
    }
    auto add = [&](const char* name, double value, double weight, std::string reason) {
      v1::MatchFactor* factor = m.add_factors();
      factor->set_name(name);
      factor->set_value(value);
      factor->set_weight(weight);
      factor->set_reason(std::move(reason));
    };
    // IPC: the closest pair explains the value.
    std::string ipc_reason =
        demand_codes.empty() ? "the demand gives no IPC code" : "no IPC overlap";
    double best = -1;
    for (const std::string& a : demand_codes) {
      for (const std::string& b : offer_codes) {
        IpcCode ca = *ParseIpc(a), cb = *ParseIpc(b);
        if (IpcCloseness(ca, cb) > best) {
          best = IpcCloseness(ca, cb);
          ipc_reason = IpcClosenessReason(ca, cb);
        }
      }
    }
    add("ipc", f.ipc, w.ipc, ipc_reason);
    std::vector<std::string> shared;
    for (int i = 0; i < kFieldCount; ++i) {
      if ((demand.fields & offer.fields) & (FieldMask{1} << i)) shared.push_back(FieldName(i));
    }
    add("fields", f.fields, w.fields,
        shared.empty() ? "no shared industry field"
                       : absl::StrCat("shared fields: ", absl::StrJoin(shared, ", ")));
    add("text", f.text, w.text,
        text[r.slot] > 0 ? absl::StrFormat("keyword relevance %.2f of the best candidate's", f.text)
                         : "no shared keywords");
    add("readiness", f.readiness, w.readiness,
        f.readiness == 1
            ? absl::StrCat("readiness ", offer.readiness, " meets the minimum ", demand.readiness)
            : absl::StrCat("readiness ", offer.readiness, " below the minimum ", demand.readiness));
    const std::string currency =
        demand.currency < names_.size() && demand.price_high >= 0 ? names_[demand.currency] : "";
    std::string price_reason;
    if (demand.price_high < 0) {
      price_reason = "the demand states no budget";
    } else if (offer.price_high < 0) {
      price_reason = offer.negotiable ? "price negotiable" : "no price given";
    } else if (offer.currency != demand.currency) {
      price_reason = "price and budget in different currencies";
    } else if (f.price == 1) {
      price_reason = absl::StrCat("price ", Money(offer.price_high, currency),
                                  " within the budget up to ", Money(demand.price_high, currency));
    } else {
      price_reason = absl::StrCat("price ", Money(offer.price_high, currency),
                                  " above the budget of ", Money(demand.price_high, currency));
    }
    add("price", f.price, w.price, price_reason);
    add("transfer_mode", f.transfer_mode, w.transfer_mode,
        f.transfer_mode == 1 ? (demand.modes == 0 ? "the demand accepts any transfer mode"
                                                  : "a transfer mode both accept")
                             : "no transfer mode in common");
    add("city", f.city, w.city, f.city == 1 ? "same pilot city" : "different pilot cities");
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace techtrade::listings
