#include "common/settings.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace techtrade {

SettingSpec StringSetting(std::string name, std::string default_value, std::string help) {
  SettingSpec spec;
  spec.name = std::move(name);
  spec.default_value = std::move(default_value);
  spec.help = std::move(help);
  return spec;
}

SettingSpec RequiredSetting(std::string name, std::string help) {
  SettingSpec spec;
  spec.name = std::move(name);
  spec.required = true;
  spec.help = std::move(help);
  return spec;
}

SettingSpec IntegerSetting(std::string name, int64_t default_value, int64_t min, int64_t max,
                           std::string help) {
  SettingSpec spec;
  spec.name = std::move(name);
  spec.type = SettingSpec::Type::kInt;
  spec.default_value = absl::StrCat(default_value);
  spec.min = min;
  spec.max = max;
  spec.help = std::move(help);
  return spec;
}

std::optional<std::string> Settings::FromEnvironment(absl::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

namespace {

// What is wrong with `value` for `spec`, or OK.
absl::Status Problem(const SettingSpec& spec, const std::string& value) {
  if (spec.type == SettingSpec::Type::kInt) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(value, &n)) {
      return absl::InvalidArgumentError(absl::StrCat("not an integer: '", value, "'"));
    }
    if (n < spec.min || n > spec.max) {
      return absl::InvalidArgumentError(absl::StrCat(n, " is outside ", spec.min, "..", spec.max));
    }
  }
  if (spec.check) return spec.check(value);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Settings> Settings::Load(std::span<const SettingSpec> specs, const Lookup& lookup) {
  Settings settings;
  std::vector<std::string> problems;
  for (const SettingSpec& spec : specs) {
    std::optional<std::string> given = lookup(spec.name);
    if (!given && spec.required) {
      problems.push_back(absl::StrCat(spec.name, ": required (", spec.help, ")"));
      continue;
    }
    std::string value = given ? *std::move(given) : spec.default_value;
    if (absl::Status s = Problem(spec, value); !s.ok()) {
      problems.push_back(absl::StrCat(spec.name, ": ", s.message()));
      continue;
    }
    settings.values_[spec.name] = std::move(value);
  }
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  return settings;
}

const std::string& Settings::Value(absl::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    std::fprintf(stderr, "setting %.*s read but never declared\n", static_cast<int>(name.size()),
                 name.data());
    std::abort();
  }
  return it->second;
}

const std::string& Settings::String(absl::string_view name) const { return Value(name); }

int64_t Settings::Int(absl::string_view name) const {
  int64_t n = 0;
  (void)absl::SimpleAtoi(Value(name), &n);  // checked by Load
  return n;
}

}  // namespace techtrade
