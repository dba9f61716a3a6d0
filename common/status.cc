#include "common/status.h"

namespace techtrade {

std::string BoundedStatusMessage(absl::string_view message) {
  if (message.size() <= kMaxStatusMessageBytes) return std::string(message);
  size_t end = kMaxStatusMessageBytes;
  // Back up to the start of a UTF-8 sequence, so the cut leaves valid text.
  while (end > 0 && (static_cast<unsigned char>(message[end]) & 0xC0) == 0x80) --end;
  return absl::StrCat(message.substr(0, end), "…");
}

}  // namespace techtrade
