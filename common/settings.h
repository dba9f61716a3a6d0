// The settings a service declares beside the common ones (common/config.h): each named, typed,
// with its default and bounds, in the service's ServiceDefinition. RunService reads them all at
// start-up and refuses to start on any bad value, listing every one.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace techtrade {

struct SettingSpec {
  enum class Type { kString, kInt };
  std::string name;  // the environment variable, TECHTRADE_...
  Type type = Type::kString;
  std::string default_value;                          // as text; unused when required
  bool required = false;                              // must be given, non-empty
  int64_t min = std::numeric_limits<int64_t>::min();  // kInt only
  int64_t max = std::numeric_limits<int64_t>::max();
  // More than the type can say (a format, a vocabulary); the value as given or defaulted.
  std::function<absl::Status(absl::string_view)> check;
  std::string help;  // one line, for operators
};

// A string setting with a default.
SettingSpec StringSetting(std::string name, std::string default_value, std::string help);
// A string setting that must be given.
SettingSpec RequiredSetting(std::string name, std::string help);
// An integer setting within [min, max].
SettingSpec IntegerSetting(std::string name, int64_t default_value, int64_t min, int64_t max,
                           std::string help);

class Settings {
 public:
  // Where a value comes from: the environment by default; tests pass a map.
  using Lookup = std::function<std::optional<std::string>(absl::string_view name)>;
  static std::optional<std::string> FromEnvironment(absl::string_view name);

  // Reads every spec; INVALID_ARGUMENT listing each bad value ("NAME: problem; NAME: problem").
  static absl::StatusOr<Settings> Load(std::span<const SettingSpec> specs,
                                       const Lookup& lookup = FromEnvironment);

  // The value of a declared setting; asking for one not declared is a programming error and
  // aborts, so that a typo cannot silently read a default.
  const std::string& String(absl::string_view name) const;
  int64_t Int(absl::string_view name) const;

 private:
  const std::string& Value(absl::string_view name) const;
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace techtrade
