#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace techtrade::log {
namespace {

std::mutex g_mutex;
std::string g_service = "techtrade";  // guarded by g_mutex
std::atomic<Level> g_level{Level::kInfo};

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void SetService(absl::string_view service) {
  std::lock_guard lock(g_mutex);
  g_service = std::string(service);
}

void SetLevel(Level level) { g_level = level; }

bool SetLevel(absl::string_view level) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (level == LevelName(l)) {
      g_level = l;
      return true;
    }
  }
  return false;
}

void Write(Level level, absl::string_view message, const nlohmann::json& fields) {
  if (level < g_level.load(std::memory_order_relaxed)) return;
  nlohmann::json line = {
      {"ts", absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone())},
      {"level", LevelName(level)},
      {"msg", message},
  };
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) line[key] = value;
  }
  std::lock_guard lock(g_mutex);
  line["service"] = g_service;
  // Invalid UTF-8 in a field must not throw out of a log call.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.push_back('\n');
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace techtrade::log
