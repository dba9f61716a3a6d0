#include "common/field_rules.h"

#include <cmath>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/money.h"
#include "common/status.h"
#include "common/validation.h"
#include "google/protobuf/reflection.h"

namespace techtrade {
namespace {

namespace pb = google::protobuf;
using techtrade::common::v1::FieldRules;
using techtrade::common::v1::StringFormat;

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range google.protobuf.Timestamp documents.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

// Decodes one UTF-8 sequence at `pos`; nullopt when it is malformed, overlong or a surrogate.
std::optional<char32_t> NextCodePoint(absl::string_view s, size_t& pos) {
  const unsigned char lead = s[pos];
  int length;
  char32_t cp;
  if (lead < 0x80) {
    ++pos;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2;
    cp = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    cp = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    cp = lead & 0x07;
  } else {
    return std::nullopt;
  }
  if (pos + length > s.size()) return std::nullopt;
  for (int i = 1; i < length; ++i) {
    const unsigned char next = s[pos + i];
    if ((next & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (next & 0x3F);
  }
  static constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kSmallest[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return std::nullopt;
  }
  pos += length;
  return cp;
}

bool IsBidiControl(char32_t cp) {
  return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

// Unicode White_Space and the characters that print as nothing (zero-width spaces and joiners,
// word joiner, byte-order mark): a value made only of these is empty to a reader.
bool IsBlank(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == ' ' || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         cp == 0x180E || (cp >= 0x2000 && cp <= 0x200D) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x2060 || cp == 0x3000 || cp == 0xFEFF;
}

bool AllOf(absl::string_view s, bool (*ok)(char)) {
  for (char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}

std::string FormatProblem(absl::string_view s, StringFormat format) {
  switch (format) {
    case techtrade::common::v1::STRING_FORMAT_UUID: {
      absl::Status uuid = CheckUuid("", s);
      return uuid.ok() ? "" : "not a valid id (a lowercase UUID)";
    }
    case techtrade::common::v1::STRING_FORMAT_SLUG: {
      bool ok =
          s.size() >= 2 && s.size() <= 40 && absl::ascii_islower(s[0]) && AllOf(s, [](char c) {
            return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-';
          });
      return ok ? "" : "2-40 characters of a-z, 0-9 and '-', starting with a letter";
    }
    case techtrade::common::v1::STRING_FORMAT_CREDIT_CODE: {
      bool ok = s.size() == 18 && AllOf(s, [](char c) {
                  return absl::ascii_isdigit(c) || (absl::ascii_isupper(c) && c != 'I' &&
                                                    c != 'O' && c != 'S' && c != 'V' && c != 'Z');
                });
      return ok ? ""
                : "18 characters of 0-9 and A-Z without I, O, S, V, Z (a Unified Social Credit "
                  "Code)";
    }
    case techtrade::common::v1::STRING_FORMAT_CURRENCY:
      return FindCurrency(s) ? "" : "not an active ISO 4217 currency code, e.g. CNY";
    case techtrade::common::v1::STRING_FORMAT_TOKEN: {
      bool ok = s.size() <= 64 && AllOf(s, [](char c) { return c > 0x20 && c < 0x7f; });
      return ok ? "" : "1-64 printable ASCII characters without spaces";
    }
    case techtrade::common::v1::STRING_FORMAT_EMAIL:
      return CheckEmail("", s).ok() ? "" : "not an e-mail address";
    case techtrade::common::v1::STRING_FORMAT_DIVISION_CODE:
      return s.size() == 6 && AllOf(s, [](char c) { return absl::ascii_isdigit(c); })
                 ? ""
                 : "six digits (GB/T 2260)";
    case techtrade::common::v1::STRING_FORMAT_REGISTRATION_NUMBER: {
      bool ok = s.size() >= 6 && s.size() <= 40 &&
                AllOf(s, [](char c) { return absl::ascii_isalnum(c) || c == '-'; });
      return ok ? "" : "6-40 letters, digits or '-'";
    }
    case techtrade::common::v1::STRING_FORMAT_OPAQUE: {
      bool ok = AllOf(s, [](char c) { return c > 0x20 && c < 0x7f; });
      return ok ? "" : "not one the service handed out";
    }
    default:
      return "";
  }
}

class Walker {
 public:
  absl::Status Message(const pb::Message& message, const std::string& prefix) {
    const pb::Descriptor* type = message.GetDescriptor();
    const pb::Reflection* reflection = message.GetReflection();
    for (int i = 0; i < type->field_count(); ++i) {
      const pb::FieldDescriptor* field = type->field(i);
      const FieldRules rules = EffectiveRules(field);
      const std::string path = absl::StrCat(prefix, field->name());
      if (field->is_repeated()) {
        const int size = reflection->FieldSize(message, field);
        if (rules.required() && size == 0) return FieldError(path, "required");
        if (static_cast<uint32_t>(size) > rules.max_items()) {
          return FieldError(path, absl::StrCat("at most ", rules.max_items(), " items"));
        }
        for (int j = 0; j < size; ++j) {
          TT_RETURN_IF_ERROR(Value(message, field, j, rules, absl::StrCat(path, "[", j, "]")));
        }
        continue;
      }
      if (field->has_presence() && !reflection->HasField(message, field)) {
        // An `optional` scalar may be left out; when given, its rules hold.
        const bool message_field = field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE;
        if (rules.required() && message_field) return FieldError(path, "required");
        continue;
      }
      TT_RETURN_IF_ERROR(Value(message, field, -1, rules, path));
    }
    return absl::OkStatus();
  }

 private:
  // One value of `field`: the field itself, or item `index` of a repeated field.
  absl::Status Value(const pb::Message& m, const pb::FieldDescriptor* field, int index,
                     const FieldRules& rules, const std::string& path) {
    const pb::Reflection* r = m.GetReflection();
    const bool item = index >= 0;
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING: {
        std::string scratch;
        const std::string& text = item ? r->GetRepeatedStringReference(m, field, index, &scratch)
                                       : r->GetStringReference(m, field, &scratch);
        if (field->type() == pb::FieldDescriptor::TYPE_BYTES) return absl::OkStatus();
        if (std::string problem = TextProblem(text, rules); !problem.empty()) {
          return FieldError(path, problem);
        }
        return absl::OkStatus();
      }
      case pb::FieldDescriptor::CPPTYPE_ENUM: {
        const int number =
            item ? r->GetRepeatedEnumValue(m, field, index) : r->GetEnumValue(m, field);
        if (field->enum_type()->FindValueByNumber(number) == nullptr) {
          return FieldError(
              path, absl::StrCat("unknown value ", number, " of ", field->enum_type()->name()));
        }
        if (rules.required() && number == 0) return FieldError(path, "required");
        return absl::OkStatus();
      }
      case pb::FieldDescriptor::CPPTYPE_INT32:
        return Integer(item ? r->GetRepeatedInt32(m, field, index) : r->GetInt32(m, field), rules,
                       path);
      case pb::FieldDescriptor::CPPTYPE_INT64:
        return Integer(item ? r->GetRepeatedInt64(m, field, index) : r->GetInt64(m, field), rules,
                       path);
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        return Integer(item ? r->GetRepeatedUInt32(m, field, index) : r->GetUInt32(m, field), rules,
                       path);
      case pb::FieldDescriptor::CPPTYPE_UINT64: {
        const uint64_t v = item ? r->GetRepeatedUInt64(m, field, index) : r->GetUInt64(m, field);
        if (v > static_cast<uint64_t>(INT64_MAX)) return FieldError(path, "out of range");
        return Integer(static_cast<int64_t>(v), rules, path);
      }
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      case pb::FieldDescriptor::CPPTYPE_FLOAT: {
        const double v =
            field->cpp_type() == pb::FieldDescriptor::CPPTYPE_DOUBLE
                ? (item ? r->GetRepeatedDouble(m, field, index) : r->GetDouble(m, field))
                : (item ? r->GetRepeatedFloat(m, field, index) : r->GetFloat(m, field));
        if (!std::isfinite(v)) return FieldError(path, "must be a finite number");
        return absl::OkStatus();
      }
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        return absl::OkStatus();
      case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
        const pb::Message& sub =
            item ? r->GetRepeatedMessage(m, field, index) : r->GetMessage(m, field);
        const std::string& type = field->message_type()->full_name();
        if (type == "google.protobuf.Timestamp") return Timestamp(sub, path);
        if (type == "techtrade.common.v1.Money") {
          return Money(static_cast<const techtrade::common::v1::Money&>(sub), rules, path);
        }
        return Message(sub, absl::StrCat(path, "."));
      }
    }
    return absl::OkStatus();
  }

  static absl::Status Integer(int64_t v, const FieldRules& rules, const std::string& path) {
    if (rules.required() && v == 0) return FieldError(path, "required");
    if (rules.has_min() && v < rules.min()) {
      return FieldError(path, absl::StrCat("at least ", rules.min(), RangeHint(rules)));
    }
    if (rules.has_max() && v > rules.max()) {
      return FieldError(path, absl::StrCat("at most ", rules.max(), RangeHint(rules)));
    }
    return absl::OkStatus();
  }

  static std::string RangeHint(const FieldRules& rules) {
    if (rules.has_min() && rules.has_max()) {
      return absl::StrCat(" (", rules.min(), "–", rules.max(), ")");
    }
    return "";
  }

  static absl::Status Timestamp(const pb::Message& ts, const std::string& path) {
    const pb::Descriptor* d = ts.GetDescriptor();
    const int64_t seconds = ts.GetReflection()->GetInt64(ts, d->FindFieldByName("seconds"));
    const int32_t nanos = ts.GetReflection()->GetInt32(ts, d->FindFieldByName("nanos"));
    if (nanos < 0 || nanos > 999'999'999) {
      return FieldError(absl::StrCat(path, ".nanos"), "0 to 999999999");
    }
    if (seconds < kMinTimestampSeconds || seconds > kMaxTimestampSeconds) {
      return FieldError(absl::StrCat(path, ".seconds"),
                        "outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z");
    }
    return absl::OkStatus();
  }

  static absl::Status Money(const techtrade::common::v1::Money& money, const FieldRules& rules,
                            const std::string& path) {
    if (!FindCurrency(money.currency())) {
      return FieldError(
          absl::StrCat(path, ".currency"),
          money.currency().empty() ? "required" : "not an active ISO 4217 currency code, e.g. CNY");
    }
    const int64_t min = rules.has_min() ? rules.min() : 0;
    const int64_t max = rules.has_max() ? std::min(rules.max(), kMaxAmountMinor) : kMaxAmountMinor;
    if (money.amount_minor() < min) {
      return FieldError(absl::StrCat(path, ".amount_minor"), min == 1
                                                                 ? std::string("must be positive")
                                                                 : absl::StrCat("at least ", min));
    }
    if (money.amount_minor() > max) {
      return FieldError(absl::StrCat(path, ".amount_minor"),
                        absl::StrCat("at most ", max, " minor units"));
    }
    return absl::OkStatus();
  }
};

}  // namespace

FieldRules EffectiveRules(const pb::FieldDescriptor* field) {
  FieldRules rules = field->options().GetExtension(techtrade::common::v1::rules);
  if (rules.max_chars() == 0) rules.set_max_chars(kDefaultMaxChars);
  if (rules.max_items() == 0) rules.set_max_items(kDefaultMaxItems);
  return rules;
}

std::string TextProblem(absl::string_view text, const FieldRules& rules) {
  size_t chars = 0;
  bool blank = true;
  for (size_t pos = 0; pos < text.size();) {
    std::optional<char32_t> cp = NextCodePoint(text, pos);
    if (!cp) return "not valid UTF-8";
    const bool line_break = *cp == '\n' || *cp == '\t' || *cp == '\r';
    if ((*cp < 0x20 && !(rules.multiline() && line_break)) || (*cp >= 0x7F && *cp <= 0x9F)) {
      return "control characters are not allowed";
    }
    if (IsBidiControl(*cp)) return "bidirectional control characters are not allowed";
    blank = blank && IsBlank(*cp);
    ++chars;
  }
  if (text.empty()) return rules.required() ? "required" : "";
  if (blank) return rules.required() ? "required" : "white space alone is not a value";
  if (chars < rules.min_chars()) return absl::StrCat("at least ", rules.min_chars(), " characters");
  if (chars > rules.max_chars()) {
    return absl::StrCat("at most ", rules.max_chars(), " characters, got ", chars);
  }
  return FormatProblem(text, rules.format());
}

absl::Status CheckFieldRules(const pb::Message& message, absl::string_view path_prefix) {
  return Walker().Message(message, std::string(path_prefix));
}

}  // namespace techtrade
