// Structured logs: one JSON object per line on stderr, with time, level, service and fields.
#pragma once

#include <nlohmann/json.hpp>

#include "absl/strings/string_view.h"

namespace techtrade::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetService(absl::string_view service);
void SetLevel(Level level);
// "debug", "info", "warn" or "error"; anything else leaves the level unchanged and returns false.
bool SetLevel(absl::string_view level);

void Write(Level level, absl::string_view message, const nlohmann::json& fields = {});

inline void Debug(absl::string_view m, const nlohmann::json& f = {}) { Write(Level::kDebug, m, f); }
inline void Info(absl::string_view m, const nlohmann::json& f = {}) { Write(Level::kInfo, m, f); }
inline void Warn(absl::string_view m, const nlohmann::json& f = {}) { Write(Level::kWarn, m, f); }
inline void Error(absl::string_view m, const nlohmann::json& f = {}) { Write(Level::kError, m, f); }

}  // namespace techtrade::log
