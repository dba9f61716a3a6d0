#include "common/trace.h"

#include "absl/strings/str_cat.h"
#include "common/ids.h"

namespace techtrade {
namespace {

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllZeros(absl::string_view s) { return s.find_first_not_of('0') == absl::string_view::npos; }

}  // namespace

bool IsValidTraceparent(absl::string_view t) {
  if (t.size() < 55 || t[2] != '-' || t[35] != '-' || t[52] != '-') return false;
  const absl::string_view version = t.substr(0, 2), trace_id = t.substr(3, 32),
                          parent_id = t.substr(36, 16), flags = t.substr(53, 2);
  if (!IsLowerHex(version) || !IsLowerHex(trace_id) || !IsLowerHex(parent_id) ||
      !IsLowerHex(flags)) {
    return false;
  }
  if (version == "ff" || AllZeros(trace_id) || AllZeros(parent_id)) return false;
  if (version == "00") return t.size() == 55;
  // A later version may append fields, after a '-'.
  return t.size() == 55 || t[55] == '-';
}

std::string NewTraceparent() {
  return absl::StrCat("00-", RandomHex(16), "-", RandomHex(8), "-01");
}

std::string ChildTraceparent(absl::string_view parent) {
  if (!IsValidTraceparent(parent)) return NewTraceparent();
  return absl::StrCat("00-", parent.substr(3, 32), "-", RandomHex(8), "-", parent.substr(53, 2));
}

std::string TraceparentOrNew(absl::string_view traceparent) {
  return IsValidTraceparent(traceparent) ? std::string(traceparent) : NewTraceparent();
}

}  // namespace techtrade
