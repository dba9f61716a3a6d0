#include "services/listings/domain/text.h"

#include "absl/container/flat_hash_set.h"

namespace techtrade::listings {
namespace {

// Decodes the code point at `i` and advances past it; malformed bytes come out as U+FFFD.
char32_t NextCodePoint(absl::string_view s, size_t& i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  int extra = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : -1;
  if (extra < 0 || i + extra >= s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = extra == 0 ? c : c & (0x3F >> extra);
  for (int k = 1; k <= extra; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc >> 6) != 0x2) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  i += extra + 1;
  return cp;
}

void AppendUtf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsCjk(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x2A6DF);
}

// Full-width forms of ASCII letters and digits (common in Chinese text) fold to ASCII.
char32_t FoldWidth(char32_t cp) {
  if (cp >= 0xFF10 && cp <= 0xFF19) return cp - 0xFF10 + '0';
  if (cp >= 0xFF21 && cp <= 0xFF3A) return cp - 0xFF21 + 'a';
  if (cp >= 0xFF41 && cp <= 0xFF5A) return cp - 0xFF41 + 'a';
  return cp;
}

bool IsWordChar(char32_t cp) {
  return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
}

const absl::flat_hash_set<std::string>& StopWords() {
  static const auto* words = new absl::flat_hash_set<std::string>{
      "a",     "an",   "and",     "are",     "as",   "at",    "be",    "by",   "for",
      "from",  "has",  "have",    "in",      "into", "is",    "it",    "its",  "of",
      "on",    "or",   "our",     "that",    "the",  "their", "this",  "to",   "was",
      "we",    "were", "which",   "with",    "can",  "using", "based", "used", "need",
      "needs", "seek", "seeking", "looking", "new",  "high"};
  return *words;
}

// Folds the common English plural endings, so that "batteries" meets "battery".
std::string Fold(std::string word) {
  auto ends = [&](absl::string_view suffix) {
    return word.size() >= suffix.size() + 2 &&
           absl::string_view(word).substr(word.size() - suffix.size()) == suffix;
  };
  if (ends("ies")) return word.substr(0, word.size() - 3) + "y";
  if (ends("sses") || ends("xes") || ends("ches") || ends("shes")) {
    return word.substr(0, word.size() - 2);
  }
  if (ends("s") && !ends("ss") && !ends("us") && !ends("is"))
    return word.substr(0, word.size() - 1);
  return word;
}

}  // namespace

std::vector<std::string> Tokenize(absl::string_view utf8) {
  std::vector<std::string> tokens;
  std::string word;
  std::vector<std::string> run;  // the current run of CJK characters, one string each
  auto flush_word = [&] {
    if (!word.empty()) {
      if (!StopWords().contains(word) && (word.size() > 1 || (word[0] >= '0' && word[0] <= '9'))) {
        tokens.push_back(Fold(std::move(word)));
      }
      word.clear();
    }
  };
  auto flush_run = [&] {
    if (run.size() == 1) tokens.push_back(run[0]);
    for (size_t k = 0; k + 1 < run.size(); ++k) tokens.push_back(run[k] + run[k + 1]);
    run.clear();
  };
  for (size_t i = 0; i < utf8.size();) {
    char32_t cp = FoldWidth(NextCodePoint(utf8, i));
    if (IsWordChar(cp)) {
      flush_run();
      word.push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp - 'A' + 'a' : cp));
    } else if (IsCjk(cp)) {
      flush_word();
      std::string ch;
      AppendUtf8(cp, ch);
      run.push_back(std::move(ch));
    } else {
      flush_word();
      flush_run();
    }
  }
  flush_word();
  flush_run();
  return tokens;
}

}  // namespace techtrade::listings
