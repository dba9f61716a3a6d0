// The read model's matchmaking: ranked offers for a demand and demands for an offer, each with
// the factors that explain its score.
#include <algorithm>
#include <cmath>
#include <queue>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/money.h"
#include "services/listings/domain/listing_keys.h"
#include "services/listings/domain/read_model.h"
#include "services/listings/domain/text.h"

namespace techtrade::listings {
namespace {

using internal::MaskOfFields;
using internal::MaskOfModes;
using internal::PackInto;
using internal::PackIpc;
using internal::ParseCodes;

double PackedCloseness(uint32_t a, uint32_t b) {
  if ((a >> 26) != (b >> 26)) return 0;
  if ((a >> 19) != (b >> 19)) return 0.25;
  if ((a >> 14) != (b >> 14)) return 0.5;
  if (a == b && (a & 0x3FFF) != 0) return 1;
  return 0.75;
}

std::string Money(int64_t minor, absl::string_view currency) {
  return FormatMoney(currency, minor);
}

int Popcount(uint32_t x) { return __builtin_popcount(x); }

// The title of a stored Offer (or Demand) record.
std::string TitleOf(const std::string& record, bool offer) {
  if (offer) {
    v1::Offer o;
    o.ParseFromString(record);
    return o.title();
  }
  v1::Demand d;
  d.ParseFromString(record);
  return d.title();
}

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

ReadModel::MatchFactors ReadModel::FactorsOf(const MatchSide& demand, const MatchSide& offer,
                                             float text_score, float max_text) {
  MatchFactors f;
  for (size_t i = 0; i < demand.ipc_count; ++i) {
    for (size_t j = 0; j < offer.ipc_count; ++j) {
      f.ipc = std::max(f.ipc, PackedCloseness(demand.ipc[i], offer.ipc[j]));
    }
  }
  if (demand.hot.fields != 0) {
    f.fields = static_cast<double>(Popcount(demand.hot.fields & offer.hot.fields)) /
               Popcount(demand.hot.fields);
  }
  f.text = max_text > 0 ? text_score / max_text : 0;
  f.readiness = offer.hot.readiness >= demand.hot.readiness
                    ? 1.0
                    : std::max(0.0, 1.0 - 0.3 * (demand.hot.readiness - offer.hot.readiness));
  if (demand.hot.price_high < 0) {
    f.price = 1;
  } else if (offer.hot.price_high < 0) {
    f.price = offer.hot.negotiable ? 0.5 : 0.3;
  } else if (offer.hot.currency != demand.hot.currency) {
    f.price = 0.3;
  } else if (offer.hot.price_high <= demand.hot.price_high) {
    f.price = 1;
  } else {
    f.price =
        std::max(0.0, 1.0 - static_cast<double>(offer.hot.price_high - demand.hot.price_high) /
                                std::max<int64_t>(1, demand.hot.price_high));
  }
  f.transfer_mode = demand.hot.modes == 0 || (demand.hot.modes & offer.hot.modes) != 0 ? 1 : 0;
  f.city = demand.hot.city == offer.hot.city ? 1 : 0;
  return f;
}

void ReadModel::Explain(const Hot& demand, const Hot& offer,
                        const std::vector<std::string>& demand_codes,
                        const std::vector<std::string>& offer_codes, const MatchFactors& f,
                        float text_score, v1::Match& m) const {
  const MatchWeights& w = weights_;
  auto add = [&](const char* name, double value, double weight, std::string reason) {
    v1::MatchFactor* factor = m.add_factors();
    factor->set_name(name);
    factor->set_value(value);
    factor->set_weight(weight);
    factor->set_reason(std::move(reason));
  };
  // IPC: the closest pair explains the value.
  std::string ipc_reason = demand_codes.empty() ? "the demand gives no IPC code" : "no IPC overlap";
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
      text_score > 0 ? absl::StrFormat("keyword relevance %.2f of the best candidate's", f.text)
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
  auto factors_of = [&](uint32_t slot) {
    const Hot& c = candidates.hot[slot];
    const uint32_t* c_ipc = candidate_ipc(slot, spill);
    const MatchSide candidate{c, c_ipc, c_ipc == c.ipc ? c.ipc_count : spill.size()};
    const MatchSide probed{probe.hot, probe.ipc.data(), probe.ipc.size()};
    return probe_is_demand ? FactorsOf(probed, candidate, text[slot], max_text)
                           : FactorsOf(candidate, probed, text[slot], max_text);
  };
  auto score_of = [&](const MatchFactors& f) {
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
    const MatchFactors f = factors_of(r.slot);
    v1::Match m;
    m.set_id(doc.id);
    m.set_score(r.score);
    m.set_title(TitleOf(doc.record, /*offer=*/probe_is_demand));
    Explain(demand, offer, demand_codes, offer_codes, f, text[r.slot], m);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace techtrade::listings
