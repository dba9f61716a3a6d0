#include "tools/techtradectl_render.h"

#include <google/protobuf/any.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/money.h"
#include "techtrade/common/v1/common.pb.h"

namespace techtrade::ctl {
namespace {

namespace pb = google::protobuf;
using google::protobuf::util::TimeUtil;

// The range google.protobuf.Timestamp documents: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;

bool ValidTime(const pb::Message& timestamp, std::string* problem) {
  pb::Timestamp ts;
  ts.CopyFrom(timestamp);
  if (ts.seconds() >= kMinSeconds && ts.seconds() <= kMaxSeconds && ts.nanos() >= 0 &&
      ts.nanos() < 1'000'000'000) {
    return true;
  }
  *problem = absl::StrCat("not a valid time (seconds=", ts.seconds(), ", nanos=", ts.nanos(), ")");
  return false;
}

// The payload of an Any as its own message type, when that type is linked in.
std::unique_ptr<pb::Message> Unpacked(const pb::Message& any_message) {
  pb::Any any;
  any.CopyFrom(any_message);
  const std::string type = any.type_url().substr(any.type_url().rfind('/') + 1);
  const pb::Descriptor* d = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
  if (d == nullptr) return nullptr;
  std::unique_ptr<pb::Message> m(pb::MessageFactory::generated_factory()->GetPrototype(d)->New());
  if (!m->ParseFromString(any.value())) return nullptr;
  return m;
}

void FindUnprintable(const pb::Message& msg, const std::string& prefix,
                     std::vector<std::string>* out) {
  const std::string& type = msg.GetDescriptor()->full_name();
  if (type == "google.protobuf.Timestamp") {
    if (std::string problem; !ValidTime(msg, &problem)) {
      out->push_back(absl::StrCat(prefix.empty() ? "(response)" : prefix, ": ", problem));
    }
    return;
  }
  if (type == "google.protobuf.Any") {
    if (std::unique_ptr<pb::Message> payload = Unpacked(msg)) {
      FindUnprintable(*payload, prefix, out);
    }
    return;
  }
  const pb::Reflection* r = msg.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(msg, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    if (f->message_type() == nullptr) continue;
    const std::string path = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(msg, f); ++i) {
        FindUnprintable(r->GetRepeatedMessage(msg, f, i), absl::StrCat(path, "[", i, "]"), out);
      }
    } else {
      FindUnprintable(r->GetMessage(msg, f), path, out);
    }
  }
}

bool IsLeaf(const pb::FieldDescriptor* f) {
  if (f->is_repeated()) return false;
  if (f->message_type() == nullptr) return true;
  const std::string& t = f->message_type()->full_name();
  return t == "google.protobuf.Timestamp" || t == "techtrade.common.v1.Money" ||
         t == "google.protobuf.Any";
}

// Renders values and remembers what it could not render.
class Printer {
 public:
  explicit Printer(std::vector<std::string>* errors) : errors_(errors) {}

  // A value for a table cell or a record line: money as "CNY 80,000.00", times as RFC 3339,
  // enums by name, an Any as one line of JSON.
  std::string Cell(const pb::Message& msg, const pb::FieldDescriptor* f) {
    const pb::Reflection* r = msg.GetReflection();
    if (f->is_repeated()) return absl::StrCat("[", r->FieldSize(msg, f), "]");
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING:
        return f->type() == pb::FieldDescriptor::TYPE_BYTES ? "<bytes>" : r->GetString(msg, f);
      case pb::FieldDescriptor::CPPTYPE_INT32:
        return absl::StrCat(r->GetInt32(msg, f));
      case pb::FieldDescriptor::CPPTYPE_INT64:
        return absl::StrCat(r->GetInt64(msg, f));
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        return absl::StrCat(r->GetUInt32(msg, f));
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        return absl::StrCat(r->GetUInt64(msg, f));
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        return absl::StrCat(r->GetDouble(msg, f));
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        return absl::StrCat(r->GetFloat(msg, f));
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        return r->GetBool(msg, f) ? "true" : "false";
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        return r->GetEnum(msg, f)->name();
      case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
        if (!r->HasField(msg, f)) return "";
        const pb::Message& sub = r->GetMessage(msg, f);
        const std::string& t = f->message_type()->full_name();
        if (t == "google.protobuf.Timestamp") {
          // Reported with its full path by Unprintable.
          if (std::string problem; !ValidTime(sub, &problem)) return "<invalid time>";
          pb::Timestamp ts;
          ts.CopyFrom(sub);
          return TimeUtil::ToString(ts);
        }
        if (t == "techtrade.common.v1.Money") {
          techtrade::common::v1::Money m;
          m.CopyFrom(sub);
          return FormatMoney(m);
        }
        if (t == "google.protobuf.Any") {
          std::string json;
          pb::util::JsonPrintOptions options;
          options.preserve_proto_field_names = true;
          if (!pb::util::MessageToJsonString(sub, &json, options).ok()) {
            Fail(absl::StrCat(f->name(), ": the event payload cannot be printed"));
            return "<unprintable>";
          }
          return json;
        }
        return "{…}";
      }
    }
    return "";
  }

  // A record as "field  value" lines, one level of nesting flattened with dots.
  void Record(const pb::Message& msg, const std::string& prefix, int depth) {
    const pb::Reflection* r = msg.GetReflection();
    std::vector<const pb::FieldDescriptor*> fields;
    r->ListFields(msg, &fields);
    for (const pb::FieldDescriptor* f : fields) {
      const std::string name = prefix + f->name();
      if (IsLeaf(f)) {
        Line(absl::StrFormat("%-34s %s", name, Cell(msg, f)));
      } else if (!f->is_repeated() && depth < 2) {
        Record(r->GetMessage(msg, f), name + ".", depth + 1);
      } else if (f->is_repeated() && f->message_type() == nullptr) {
        std::vector<std::string> values;
        for (int i = 0; i < r->FieldSize(msg, f); ++i) {
          values.push_back(f->enum_type() != nullptr ? r->GetRepeatedEnum(msg, f, i)->name()
                           : f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING
                               ? r->GetRepeatedString(msg, f, i)
                               : absl::StrCat("#", i));
        }
        Line(absl::StrFormat("%-34s %s", name, absl::StrJoin(values, ", ")));
      } else {
        Line(name + ":");
        Rows(msg, f, "  ");
      }
    }
  }

  // A List/Search/Match/Reconcile response: its one repeated message field as a table, then the
  // response's own leaf fields (page token, totals). False for any other message.
  bool Table(const pb::Message& msg) {
    const pb::Descriptor* d = msg.GetDescriptor();
    if (!absl::EndsWith(d->name(), "Response")) return false;
    const pb::FieldDescriptor* rows = nullptr;
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      if (f->is_repeated() && f->message_type() != nullptr) {
        if (rows != nullptr) return false;
        rows = f;
      }
    }
    if (rows == nullptr) return false;
    Rows(msg, rows, "");
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      if (f != rows && IsLeaf(f) && !Cell(msg, f).empty()) {
        Line(absl::StrCat(f->name(), ": ", Cell(msg, f)));
      }
    }
    return true;
  }

  std::string Take() { return std::move(out_); }

 private:
  void Line(const std::string& line) { absl::StrAppend(&out_, line, "\n"); }
  void Fail(const std::string& error) {
    if (std::find(errors_->begin(), errors_->end(), error) == errors_->end()) {
      errors_->push_back(error);
    }
  }

  // Rows of a repeated message field as a table of their leaf fields.
  void Rows(const pb::Message& msg, const pb::FieldDescriptor* rows, const std::string& indent);

  std::vector<std::string>* errors_;
  std::string out_;
};

// Terminal columns of UTF-8 text: CJK and other wide characters take two.
size_t DisplayWidth(absl::string_view text) {
  size_t width = 0;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = text[i];
    const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    uint32_t cp = len == 1 ? c : c & (0x3F >> (len - 1));
    for (size_t k = 1; k < len && i + k < text.size(); ++k) cp = (cp << 6) | (text[i + k] & 0x3F);
    width += (cp >= 0x1100 &&
              (cp <= 0x115F || (cp >= 0x2E80 && cp <= 0xA4CF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
               (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
               (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6) || cp >= 0x20000))
                 ? 2
                 : 1;
    i += len;
  }
  return width;
}

// At most `max` columns, cut at a character boundary.
std::string Clip(const std::string& text, size_t max) {
  if (DisplayWidth(text) <= max) return text;
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = text[i];
    const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    std::string next = out + text.substr(i, len);
    if (DisplayWidth(next) > max - 1) break;
    out = std::move(next);
    i += len;
  }
  return out + "…";
}

void Printer::Rows(const pb::Message& msg, const pb::FieldDescriptor* rows,
                   const std::string& indent) {
  const pb::Reflection* r = msg.GetReflection();
  const int n = r->FieldSize(msg, rows);
  // Leaf fields, but not times, nor one that is the same in every row of several (the filter).
  auto same_everywhere = [&](const pb::FieldDescriptor* f) {
    if (n < 2) return false;
    const std::string first = Cell(r->GetRepeatedMessage(msg, rows, 0), f);
    for (int i = 1; i < n; ++i) {
      if (Cell(r->GetRepeatedMessage(msg, rows, i), f) != first) return false;
    }
    return true;
  };
  std::vector<const pb::FieldDescriptor*> columns;
  for (int i = 0; i < rows->message_type()->field_count() && columns.size() < 8; ++i) {
    const pb::FieldDescriptor* f = rows->message_type()->field(i);
    if (IsLeaf(f) && !absl::EndsWith(f->name(), "_time") && !same_everywhere(f)) {
      columns.push_back(f);
    }
  }
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> width;
  for (const auto* c : columns) width.push_back(c->name().size());
  for (int i = 0; i < n; ++i) {
    const pb::Message& row = r->GetRepeatedMessage(msg, rows, i);
    cells.emplace_back();
    for (size_t c = 0; c < columns.size(); ++c) {
      std::string v = Clip(Cell(row, columns[c]), 40);
      width[c] = std::max(width[c], DisplayWidth(v));
      cells.back().push_back(std::move(v));
    }
  }
  auto line = [&](const std::vector<std::string>& values) {
    std::string out = indent;
    for (size_t c = 0; c < values.size(); ++c) {
      absl::StrAppend(&out, values[c], std::string(width[c] + 2 - DisplayWidth(values[c]), ' '));
    }
    Line(std::string(absl::StripTrailingAsciiWhitespace(out)));
  };
  std::vector<std::string> header;
  for (const auto* c : columns) header.push_back(absl::AsciiStrToUpper(c->name()));
  line(header);
  for (const auto& row : cells) line(row);
}

}  // namespace

std::vector<std::string> Unprintable(const pb::Message& msg) {
  std::vector<std::string> out;
  FindUnprintable(msg, "", &out);
  return out;
}

std::string RenderText(const pb::Message& msg, std::vector<std::string>* errors) {
  std::vector<std::string> where = Unprintable(msg);
  errors->insert(errors->end(), where.begin(), where.end());
  Printer printer(errors);
  if (!printer.Table(msg)) printer.Record(msg, "", 0);
  return printer.Take();
}

std::string RenderJson(const pb::Message& msg, std::vector<std::string>* errors) {
  pb::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  if (auto s = pb::util::MessageToJsonString(msg, &out, options); !s.ok()) {
    std::vector<std::string> where = Unprintable(msg);
    if (where.empty()) where.push_back(std::string(s.message()));
    errors->insert(errors->end(), where.begin(), where.end());
    return "";
  }
  return out;
}

}  // namespace techtrade::ctl
