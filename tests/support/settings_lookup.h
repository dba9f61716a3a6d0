// Settings::Lookup from a fixed map, for tests of declared settings (common/settings.h).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "common/settings.h"

namespace techtrade::testing {

inline Settings::Lookup LookupFrom(std::map<std::string, std::string> values) {
  return [values = std::move(values)](absl::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace techtrade::testing
