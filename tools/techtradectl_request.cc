#include "tools/techtradectl_request.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <fstream>
#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/ids.h"
#include "common/money.h"
#include "tools/techtradectl_commands.h"

namespace techtrade::ctl {
namespace {

namespace pb = google::protobuf;
using google::protobuf::util::TimeUtil;

}  // namespace

absl::Status ParseMoney(const std::string& text, pb::Message* money) {
  std::vector<std::string> parts = absl::StrSplit(text, ' ', absl::SkipEmpty());
  const pb::Reflection* r = money->GetReflection();
  const pb::Descriptor* d = money->GetDescriptor();
  int64_t minor = 0;
  if (parts.size() == 2) {
    // The code is the part made of letters: "80000.00 CNY" as typed, "CNY 80,000.00" as printed.
    const bool code_first = absl::ascii_isalpha(parts[0][0]);
    const std::string& currency = code_first ? parts[0] : parts[1];
    const std::string& amount = code_first ? parts[1] : parts[0];
    absl::StatusOr<int64_t> parsed = ParseAmount(currency, amount);
    if (!parsed.ok())
      return absl::InvalidArgumentError(absl::StrCat("'", text, "': ", parsed.status().message()));
    minor = *parsed;
    r->SetString(money, d->FindFieldByName("currency"), currency);
  } else if (parts.size() != 1 || !absl::SimpleAtoi(parts[0], &minor)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "': money as \"80000.00 CNY\", \"CNY 80,000.00\" or minor units"));
  }
  r->SetInt64(money, d->FindFieldByName("amount_minor"), minor);
  return absl::OkStatus();
}

std::optional<std::string> SetField(pb::Message* msg, const std::string& path,
                                    const std::string& value) {
  const size_t dot = path.find('.');
  const pb::Descriptor* d = msg->GetDescriptor();
  const pb::Reflection* r = msg->GetReflection();
  const pb::FieldDescriptor* f = d->FindFieldByName(path.substr(0, dot));
  if (f == nullptr) {
    return absl::StrCat("no field '", path.substr(0, dot), "' in ", d->full_name());
  }
  if (dot != std::string::npos) {
    if (f->message_type() == nullptr || f->is_repeated()) {
      return absl::StrCat("'", f->name(), "' has no sub-fields");
    }
    return SetField(r->MutableMessage(msg, f), path.substr(dot + 1), value);
  }
  const bool rep = f->is_repeated();
  auto bad = [&](absl::string_view what) {
    return std::optional<std::string>(absl::StrCat("--", path, ": ", what));
  };
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      rep ? r->AddString(msg, f, value) : r->SetString(msg, f, value);
      return std::nullopt;
    case pb::FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("an integer");
      rep ? r->AddInt32(msg, f, v) : r->SetInt32(msg, f, v);
      return std::nullopt;
    }
    case pb::FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("an integer");
      rep ? r->AddInt64(msg, f, v) : r->SetInt64(msg, f, v);
      return std::nullopt;
    }
    case pb::FieldDescriptor::CPPTYPE_UINT32:
    case pb::FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("a non-negative integer");
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_UINT32) {
        rep ? r->AddUInt32(msg, f, static_cast<uint32_t>(v))
            : r->SetUInt32(msg, f, static_cast<uint32_t>(v));
      } else {
        rep ? r->AddUInt64(msg, f, v) : r->SetUInt64(msg, f, v);
      }
      return std::nullopt;
    }
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
    case pb::FieldDescriptor::CPPTYPE_FLOAT: {
      double v;
      if (!absl::SimpleAtod(value, &v)) return bad("a number");
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_DOUBLE) {
        rep ? r->AddDouble(msg, f, v) : r->SetDouble(msg, f, v);
      } else {
        rep ? r->AddFloat(msg, f, static_cast<float>(v))
            : r->SetFloat(msg, f, static_cast<float>(v));
      }
      return std::nullopt;
    }
    case pb::FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (!absl::SimpleAtob(value, &v)) return bad("true or false");
      rep ? r->AddBool(msg, f, v) : r->SetBool(msg, f, v);
      return std::nullopt;
    }
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      const pb::EnumDescriptor* e = f->enum_type();
      const pb::EnumValueDescriptor* v = e->FindValueByName(value);
      // Accept the suffix: --role CITY_SYSTEM for API_CLIENT_ROLE_CITY_SYSTEM.
      for (int i = 0; v == nullptr && i < e->value_count(); ++i) {
        if (absl::EndsWith(e->value(i)->name(), absl::StrCat("_", absl::AsciiStrToUpper(value)))) {
          v = e->value(i);
        }
      }
      if (v == nullptr) return bad(TypeName(f));
      rep ? r->AddEnum(msg, f, v) : r->SetEnum(msg, f, v);
      return std::nullopt;
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
      pb::Message* sub = rep ? r->AddMessage(msg, f) : r->MutableMessage(msg, f);
      const std::string& t = f->message_type()->full_name();
      if (t == "google.protobuf.Timestamp") {
        pb::Timestamp ts;
        if (!TimeUtil::FromString(value, &ts)) return bad("an RFC 3339 time");
        sub->CopyFrom(ts);
        return std::nullopt;
      }
      if (t == "techtrade.common.v1.Money" && !absl::StartsWith(value, "{")) {
        if (absl::Status s = ParseMoney(value, sub); !s.ok()) return bad(s.message());
        return std::nullopt;
      }
      pb::util::JsonParseOptions options;
      options.ignore_unknown_fields = false;
      if (!pb::util::JsonStringToMessage(value, sub, options).ok()) {
        return bad(absl::StrCat("a JSON object of ", f->message_type()->full_name()));
      }
      return std::nullopt;
    }
  }
  return bad("unsupported type");
}

std::string DeriveRequestId(const std::string& method, const pb::Message& request) {
  std::unique_ptr<pb::Message> copy(request.New());
  copy->CopyFrom(request);
  if (const pb::FieldDescriptor* rid = copy->GetDescriptor()->FindFieldByName("request_id")) {
    copy->GetReflection()->ClearField(copy.get(), rid);
  }
  std::string data = method + "\n";
  {
    pb::io::StringOutputStream stream(&data);
    pb::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    copy->SerializeToCodedStream(&out);
  }
  return "ctl-" + Sha256Hex(data).substr(0, 32);
}

std::map<std::string, std::string> ReadEnvFile(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const size_t eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')) {
      value = value.substr(1, value.size() - 2);
    }
    out[line.substr(0, eq)] = value;
  }
  return out;
}

}  // namespace techtrade::ctl
