// The CJK tokenizer (services/listings/domain/text.h) and what builds search keys from it: the
// read model indexing a listing's title and text, and searching and matching by keywords.
// Besides not crashing: every token is non-empty valid UTF-8, and a listing is found by a search
// for its own title.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/field_rules.h"
#include "services/listings/domain/read_model.h"
#include "services/listings/domain/text.h"
#include "techtrade/listings/v1/listings.pb.h"
#include "tests/fuzz/listing_samples.h"

namespace {

namespace lv1 = techtrade::listings::v1;

[[noreturn]] void Fail(const char* what, const std::string& token) {
  std::fprintf(stderr, "tokenizer_fuzzer: %s (token of %zu bytes)\n", what, token.size());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  techtrade::common::v1::FieldRules any_text;
  any_text.set_max_chars(1u << 30);
  any_text.set_multiline(true);
  for (const std::string& token : techtrade::listings::Tokenize(text)) {
    if (token.empty()) Fail("empty token", token);
    if (!techtrade::TextProblem(token, any_text).empty()) Fail("token not valid UTF-8", token);
  }

  // Only text a request may carry reaches the read model: what the field rules accept.
  lv1::SearchRequest search;
  search.set_kind(lv1::LISTING_KIND_OFFER);
  search.set_query(text);
  if (!techtrade::CheckFieldRules(search).ok()) return 0;
  (void)techtrade::fuzz::SampleModel().Search(search);

  techtrade::listings::ReadModel model;
  techtrade::fuzz::AddSamples(&model);
  lv1::Offer offer = techtrade::fuzz::SampleOffer(7, text, text, "G06N 3/08");
  model.ApplyOffer(offer);
  lv1::Demand demand = techtrade::fuzz::SampleDemand(7, text, text);
  (void)model.MatchOffers(demand, 10);
  (void)model.MatchDemands(offer, 10);
  absl::StatusOr<lv1::SearchResponse> found = model.Search(search);
  if (!found.ok()) Fail("a search the field rules accept is refused", text);
  bool own = false;
  for (const auto& hit : found->hits()) own = own || hit.id() == offer.id();
  if (!own) Fail("a search for a listing's own title does not find it", text);
  return 0;
}
