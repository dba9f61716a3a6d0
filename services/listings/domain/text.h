// Tokenisation for keyword relevance over Chinese and English. Chinese has no spaces, so a run of
// CJK characters yields its overlapping character bigrams (a lone character yields itself);
// Latin script yields lowercased words with plural endings folded and stop words dropped.
// Full-width letters and digits are folded to ASCII first.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace techtrade::listings {

std::vector<std::string> Tokenize(absl::string_view utf8);

}  // namespace techtrade::listings
