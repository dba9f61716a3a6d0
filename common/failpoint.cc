#include "common/failpoint.h"

#include <signal.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace techtrade::failpoint {
namespace {

constexpr absl::string_view kFailpoints[] = {
    "db.after_commit",    "db.group_commit.mid_batch", "outbox.after_ack",
    "inbox.after_commit", "inbox.skip_claim",          "outbox.drop",
    "inbox.apply",        "outbox.producer_fatal",
};

enum class Action { kCrash, kError, kStall };

struct Point {
  Action action = Action::kError;
  int64_t stall_ms = 0;
  double probability = 1.0;
};

std::mutex g_mutex;
absl::flat_hash_map<std::string, Point>& Points() {
  static auto* points = new absl::flat_hash_map<std::string, Point>();
  return *points;
}

absl::Status ParseEntry(absl::string_view entry, std::string* name, Point* point) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("TECHTRADE_FAILPOINTS: '", entry, "': ", why));
  };
  std::pair<absl::string_view, absl::string_view> kv =
      absl::StrSplit(entry, absl::MaxSplits('=', 1));
  absl::string_view key = absl::StripAsciiWhitespace(kv.first);
  absl::string_view rest = absl::StripAsciiWhitespace(kv.second);
  bool known = false;
  for (absl::string_view p : kFailpoints) known = known || p == key;
  if (!known) return bad("unknown failpoint");
  *name = std::string(key);
  std::pair<absl::string_view, absl::string_view> ap =
      absl::StrSplit(rest, absl::MaxSplits('@', 1));
  absl::string_view action = ap.first;
  if (!ap.second.empty()) {
    if (!absl::SimpleAtod(ap.second, &point->probability) || !(point->probability > 0) ||
        point->probability > 1) {
      return bad("probability must be a number in (0, 1]");
    }
  } else if (absl::StrContains(rest, '@')) {
    return bad("probability missing after '@'");
  }
  if (action == "crash") {
    point->action = Action::kCrash;
  } else if (action == "error") {
    point->action = Action::kError;
  } else if (absl::ConsumePrefix(&action, "stall(") && absl::ConsumeSuffix(&action, ")")) {
    point->action = Action::kStall;
    if (!absl::SimpleAtoi(action, &point->stall_ms) || point->stall_ms < 0) {
      return bad("stall takes milliseconds, e.g. stall(2000)");
    }
  } else {
    return bad("action must be crash, error or stall(ms)");
  }
  return absl::OkStatus();
}

}  // namespace

namespace internal {

std::atomic<bool> g_armed{false};

absl::Status Evaluate(absl::string_view name) {
  Point point;
  {
    std::lock_guard lock(g_mutex);
    auto it = Points().find(name);
    if (it == Points().end()) return absl::OkStatus();
    point = it->second;
  }
  thread_local absl::BitGen random;
  if (point.probability < 1 && !absl::Bernoulli(random, point.probability)) {
    return absl::OkStatus();
  }
  switch (point.action) {
    case Action::kCrash:
      log::Warn("failpoint: crash", {{"failpoint", name}});
      raise(SIGKILL);
      std::abort();  // not reached
    case Action::kStall:
      log::Warn("failpoint: stall", {{"failpoint", name}, {"ms", point.stall_ms}});
      absl::SleepFor(absl::Milliseconds(point.stall_ms));
      return absl::OkStatus();
    case Action::kError:
      break;
  }
  log::Warn("failpoint: error", {{"failpoint", name}});
  return absl::UnavailableError(absl::StrCat("failpoint ", name));
}

}  // namespace internal

absl::Status Configure(absl::string_view spec) {
  absl::flat_hash_map<std::string, Point> points;
  for (absl::string_view entry : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
    std::string name;
    Point point;
    if (absl::Status s = ParseEntry(entry, &name, &point); !s.ok()) return s;
    points[name] = point;
  }
  std::lock_guard lock(g_mutex);
  Points() = std::move(points);
  internal::g_armed.store(!Points().empty(), std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::Status ConfigureFromEnvironment() {
  const char* spec = std::getenv("TECHTRADE_FAILPOINTS");
  if (spec == nullptr || *spec == '\0') return absl::OkStatus();
  absl::Status s = Configure(spec);
  if (s.ok()) log::Warn("failpoints armed", {{"failpoints", spec}});
  return s;
}

}  // namespace techtrade::failpoint
