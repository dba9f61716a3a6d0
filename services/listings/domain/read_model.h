// The listings read model: every listed offer and demand in memory, with an inverted index for
// keyword relevance (BM25 over title and text) and compact attributes for filtering and
// matchmaking. Each replica keeps its own, rebuilt at start-up and kept current from the
// service's event stream, so searches and matches never wait for the database.
//
// Pure: no I/O. Thread-safe: searches share a lock, changes take it exclusively.
#pragma once

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/listings/domain/rules.h"
#include "techtrade/listings/v1/listings.pb.h"

namespace techtrade::listings {

// Weights of the match factors; the score is Σ weight × value / Σ weight. Configured with
// TECHTRADE_MATCH_WEIGHTS, e.g. "ipc=3,text=3,fields=1.5" (unnamed factors keep their default).
struct MatchWeights {
  double ipc = 3;
  double fields = 1.5;
  double text = 3;
  double readiness = 2;
  double price = 2;
  double transfer_mode = 2;
  double city = 0.5;
};
absl::StatusOr<MatchWeights> ParseMatchWeights(absl::string_view spec);

class ReadModel {
 public:
  explicit ReadModel(MatchWeights weights = {}) : weights_(weights) {}

  // Takes the listing as of its version: older or equal versions than the one held are ignored
  // (events may arrive twice or late). Only PUBLISHED listings and offers UNDER_NEGOTIATION are
  // searchable. Returns whether it changed anything.
  bool ApplyOffer(const v1::Offer& offer);
  bool ApplyDemand(const v1::Demand& demand);
  // Hides or shows every listing of an organisation; `sequence` orders the changes (a lower one
  // than already seen is ignored).
  bool SetOrganizationHidden(const std::string& organization_id, bool hidden, int64_t sequence);
  // Takes everything `fresh` holds (listings, versions, hidden organisations) in one step, so that
  // searches see either this model or that one, never one half-loaded; the weights stay.
  void ReplaceWith(ReadModel&& fresh);

  // Validates the request (INVALID_ARGUMENT naming the field) and answers it.
  absl::StatusOr<v1::SearchResponse> Search(const v1::SearchRequest& request) const;
  // The best `limit` published, visible offers for `demand` (which need not be published), the
  // seeker's own offers excluded; and the converse.
  std::vector<v1::Match> MatchOffers(const v1::Demand& demand, int limit) const;
  std::vector<v1::Match> MatchDemands(const v1::Offer& offer, int limit) const;

  // Published listings as held here (visible or not).
  std::optional<v1::Offer> FindOffer(const std::string& id) const;
  std::optional<v1::Demand> FindDemand(const std::string& id) const;
  size_t searchable_offers() const;
  // Up to `limit` ids of published demands whose deadline is at or before `now`, earliest first:
  // the candidates of the expiry sweep, which decides each under the demand's row lock.
  std::vector<std::string> DemandsDueToExpire(absl::Time now, size_t limit) const;
  bool IsHidden(const std::string& organization_id) const;

 private:
  // One listing, split for a fast scan: Hot holds everything a filter or a match factor reads
  // (64 bytes, contiguous), Doc the rest. For a demand, `readiness` is the minimum it accepts and
  // [price_low, price_high] its budget.
  struct Hot {
    int64_t price_low = -1;  // -1: none
    int64_t price_high = -1;
    uint32_t owner = 0;  // interned organisation id
    uint32_t city = 0;   // interned city id
    uint32_t currency = 0;
    FieldMask fields = 0;
    ModeMask modes = 0;
    uint32_t ipc[4] = {};  // packed IPC keys of the first four codes (the rest stay in Doc)
    uint8_t ipc_count = 0;
    uint8_t readiness = 0;
    uint16_t length = 0;  // tokens, for BM25
    bool negotiable = false;
    bool live = false;  // published and current (a replaced slot is dead)
  };
  struct Doc {
    std::string id;
    std::string record;                 // the serialized Offer or Demand, for answers
    std::vector<std::string> ipc_text;  // canonical codes
    int64_t version = 0;
    int64_t publish_us = 0;
    int64_t expire_us = 0;  // a demand's deadline; 0: none
  };
  struct Corpus {
    std::vector<Hot> hot;   // by slot; a changed listing moves to a new slot
    std::vector<Doc> docs;  // by slot
    absl::flat_hash_map<std::string, uint32_t> slot_of;    // id → current slot
    absl::flat_hash_map<std::string, int64_t> version_of;  // id → newest version seen
    // token → postings, each (slot << 6 | min(term frequency, 63)); dead slots are skipped and
    // swept when they make up a quarter of the slots.
    absl::flat_hash_map<std::string, std::vector<uint32_t>> postings;
    size_t live = 0;
    size_t dead = 0;
    uint64_t total_length = 0;
  };
  // A demand or offer being matched (not necessarily in the model).
  struct Probe {
    Hot hot;
    std::vector<uint32_t> ipc;  // packed keys of all its codes
    std::vector<std::string> ipc_text;
    std::vector<std::string> tokens;
  };
  struct Scored {
    uint32_t slot;
    double score;
  };
  // The factors of one candidate, from the demand's side whichever way the match runs.
  struct MatchFactors {
    double ipc = 0, fields = 0, text = 0, readiness = 0, price = 0, transfer_mode = 0, city = 0;
  };
  // One side of a match: its hot fields and its packed IPC keys.
  struct MatchSide {
    const Hot& hot;
    const uint32_t* ipc;
    size_t ipc_count;
  };

  bool Apply(Corpus& corpus, bool searchable, Hot hot, Doc doc, const std::string& text);
  void Compact(Corpus& corpus);
  uint32_t Intern(const std::string& value) const;
  std::optional<uint32_t> Lookup(const std::string& value) const;
  bool Visible(const Hot& hot) const;
  // BM25 of every live slot against the query's tokens (dense, by slot); `skip_common` leaves out
  // terms in more than half of the listings (for ranking, not for matching a keyword).
  std::vector<float> TextScores(const Corpus& corpus, const std::vector<std::string>& tokens,
                                bool skip_common) const;
  std::vector<v1::Match> Match(const Corpus& candidates, const Probe& probe, bool probe_is_demand,
                               int limit) const;
  // `text_score` relative to `max_text`, the best candidate's.
  static MatchFactors FactorsOf(const MatchSide& demand, const MatchSide& offer, float text_score,
                                float max_text);
  // Adds to `m` each factor with its weight and the reason a person can check.
  void Explain(const Hot& demand, const Hot& offer, const std::vector<std::string>& demand_codes,
               const std::vector<std::string>& offer_codes, const MatchFactors& f, float text_score,
               v1::Match& m) const;

  const MatchWeights weights_;
  mutable std::shared_mutex mutex_;
  Corpus offers_;   // guarded by mutex_
  Corpus demands_;  // guarded by mutex_
  // Interned strings (organisation, city and currency ids); guarded by mutex_ (written under the
  // exclusive lock only).
  mutable absl::flat_hash_map<std::string, uint32_t> interned_;
  mutable std::vector<std::string> names_;  // interned id → string
  // organisation → (hidden, sequence); hidden_owner_[interned id] mirrors the flag.
  absl::flat_hash_map<std::string, std::pair<bool, int64_t>> hidden_;
  mutable std::vector<bool> hidden_owner_;
};

}  // namespace techtrade::listings
