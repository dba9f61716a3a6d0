// The request message types of every techtrade service, and how a fuzz input names one: its first
// two bytes are a tag, and the type is the one whose tag (a hash of its full name) is the first at
// or after it. A seed keeps naming its type when services gain methods, and every tag names some
// type, so that no mutation of the tag is wasted.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor_database.h"

namespace techtrade::fuzz {

// FNV-1a, folded to 16 bits.
inline uint16_t TagOf(absl::string_view full_name) {
  uint32_t h = 2166136261u;
  for (char c : full_name) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return static_cast<uint16_t>(h ^ (h >> 16));
}

// (tag, type) of the input type of every method of every service in a techtrade/*.proto linked
// into the program (the harness links all generated messages), sorted by tag.
inline const std::vector<std::pair<uint16_t, const google::protobuf::Descriptor*>>& RequestTypes() {
  static const auto* types = [] {
    namespace pb = google::protobuf;
    auto* out = new std::vector<std::pair<uint16_t, const pb::Descriptor*>>();
    std::vector<std::string> files;
    pb::DescriptorPool::internal_generated_database()->FindAllFileNames(&files);
    for (const std::string& name : files) {
      if (!absl::StartsWith(name, "techtrade/")) continue;
      const pb::FileDescriptor* file = pb::DescriptorPool::generated_pool()->FindFileByName(name);
      for (int s = 0; file != nullptr && s < file->service_count(); ++s) {
        for (int m = 0; m < file->service(s)->method_count(); ++m) {
          const pb::Descriptor* type = file->service(s)->method(m)->input_type();
          if (std::none_of(out->begin(), out->end(), [&](auto& t) { return t.second == type; })) {
            out->emplace_back(TagOf(type->full_name()), type);
          }
        }
      }
    }
    std::sort(out->begin(), out->end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second->full_name() < b.second->full_name();
    });
    return out;
  }();
  return *types;
}

inline const google::protobuf::Descriptor* RequestTypeFor(uint16_t tag) {
  const auto& types = RequestTypes();
  if (types.empty()) return nullptr;
  auto it = std::lower_bound(types.begin(), types.end(), tag,
                             [](const auto& t, uint16_t v) { return t.first < v; });
  return it == types.end() ? types.front().second : it->second;
}

}  // namespace techtrade::fuzz
