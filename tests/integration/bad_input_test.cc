// Every field of every request of every service, sent the invalid values of its type, against
// the four real services: each must be INVALID_ARGUMENT naming the field's path, and nothing may
// be stored or published. The requests, their fields and what each accepts come from the protobuf
// descriptors and the rules declared in the protos (proto/techtrade/common/v1/field_rules.proto),
// so a field or method added later is covered without editing this test.
#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/field_rules.h"
#include "common/ids.h"
#include "common/money.h"
#include "google/protobuf/util/time_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "techtrade/audit/v1/audit.pb.h"
#include "techtrade/ops/v1/dead_letters.pb.h"
#include "tests/support/platform_fixture.h"

namespace techtrade::testing {
namespace {

namespace pb = google::protobuf;
using techtrade::common::v1::FieldRules;

// One step from a message to a field of it (item `index` when repeated).
struct Step {
  const pb::FieldDescriptor* field;
  int index;
};

// A bad value for one field, and how to put it in a valid request.
struct BadValue {
  std::string what;
  std::function<void(pb::Message* parent, const pb::FieldDescriptor* field)> apply;
};

pb::Message* Parent(pb::Message* root, const std::vector<Step>& steps) {
  pb::Message* m = root;
  for (size_t i = 0; i + 1 < steps.size(); ++i) {
    const Step& s = steps[i];
    m = s.field->is_repeated() ? m->GetReflection()->MutableRepeatedMessage(m, s.field, s.index)
                               : m->GetReflection()->MutableMessage(m, s.field);
  }
  return m;
}

std::string PathOf(const std::vector<Step>& steps) {
  std::string path;
  for (const Step& s : steps) {
    absl::StrAppend(&path, path.empty() ? "" : ".", s.field->name());
    if (s.field->is_repeated()) absl::StrAppend(&path, "[", s.index, "]");
  }
  return path;
}

bool IsTimestamp(const pb::FieldDescriptor* f) {
  return f->message_type() != nullptr &&
         f->message_type()->full_name() == "google.protobuf.Timestamp";
}
bool IsMoney(const pb::FieldDescriptor* f) {
  return f->message_type() != nullptr &&
         f->message_type()->full_name() == "techtrade.common.v1.Money";
}

std::string ValidText(const FieldRules& rules) {
  using techtrade::common::v1::StringFormat;
  switch (rules.format()) {
    case techtrade::common::v1::STRING_FORMAT_UUID:
      return NewUuid();
    case techtrade::common::v1::STRING_FORMAT_SLUG:
      return "wuhan-east-lake";
    case techtrade::common::v1::STRING_FORMAT_CREDIT_CODE:
      return "91350100M000100Y43";
    case techtrade::common::v1::STRING_FORMAT_CURRENCY:
      return "CNY";
    case techtrade::common::v1::STRING_FORMAT_TOKEN:
      return "bad-input-" + NewUuid();
    case techtrade::common::v1::STRING_FORMAT_EMAIL:
      return "office@example.cn";
    case techtrade::common::v1::STRING_FORMAT_DIVISION_CODE:
      return "420100";
    case techtrade::common::v1::STRING_FORMAT_REGISTRATION_NUMBER:
      return "2026420100000123";
    case techtrade::common::v1::STRING_FORMAT_OPAQUE:
      // Unless required, none: a made-up token is refused by the service, not by its rules.
      return rules.required() ? "tt_0123456789abcdef_0123" : "";
    default:
      return std::string(std::max<uint32_t>(rules.min_chars(), 1), 'x');
  }
}

void SetValid(pb::Message* m, const pb::FieldDescriptor* f, const FieldRules& rules);

// A request whose every field holds a value its rules accept.
void FillValid(pb::Message* m) {
  const pb::Descriptor* type = m->GetDescriptor();
  for (int i = 0; i < type->field_count(); ++i) {
    SetValid(m, type->field(i), EffectiveRules(type->field(i)));
  }
}

int64_t ValidInteger(const FieldRules& rules) {
  int64_t v = rules.required() ? 1 : 0;
  if (rules.has_min()) v = std::max(v, rules.min());
  if (rules.has_max()) v = std::min(v, rules.max());
  return v;
}

void SetValid(pb::Message* m, const pb::FieldDescriptor* f, const FieldRules& rules) {
  const pb::Reflection* r = m->GetReflection();
  if (f->containing_oneof() != nullptr && f->index_in_oneof() > 0) return;  // one member only
  if (f->is_repeated()) {
    r->ClearField(m, f);
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING:
        r->AddString(m, f, ValidText(rules).empty() ? "x" : ValidText(rules));
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        r->AddEnumValue(m, f, f->enum_type()->value(f->enum_type()->value_count() - 1)->number());
        break;
      case pb::FieldDescriptor::CPPTYPE_INT32:
        r->AddInt32(m, f, static_cast<int32_t>(ValidInteger(rules)));
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        r->AddInt64(m, f, ValidInteger(rules));
        break;
      case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
        pb::Message* item = r->AddMessage(m, f);
        if (IsMoney(f)) {
          auto* money = static_cast<techtrade::common::v1::Money*>(item);
          money->set_currency("CNY");
          money->set_amount_minor(std::max<int64_t>(rules.has_min() ? rules.min() : 1, 1));
        } else {
          FillValid(item);
        }
        break;
      }
      default:
        break;
    }
    return;
  }
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      r->SetString(m, f, ValidText(rules));
      break;
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      r->SetEnumValue(m, f, f->enum_type()->value(f->enum_type()->value_count() - 1)->number());
      break;
    case pb::FieldDescriptor::CPPTYPE_INT32:
      r->SetInt32(m, f, static_cast<int32_t>(ValidInteger(rules)));
      break;
    case pb::FieldDescriptor::CPPTYPE_INT64:
      r->SetInt64(m, f, ValidInteger(rules));
      break;
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
      pb::Message* sub = r->MutableMessage(m, f);
      if (IsTimestamp(f)) {
        *static_cast<pb::Timestamp*>(sub) =
            pb::util::TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(absl::Now()) - 86400);
      } else if (IsMoney(f)) {
        auto* money = static_cast<techtrade::common::v1::Money*>(sub);
        money->set_currency("CNY");
        money->set_amount_minor(std::max<int64_t>(rules.has_min() ? rules.min() : 1, 1));
      } else {
        FillValid(sub);
      }
      break;
    }
    default:
      break;
  }
}

// The invalid values of a field of this type with these rules.
std::vector<BadValue> BadValuesFor(const pb::FieldDescriptor* f) {
  const FieldRules rules = EffectiveRules(f);
  std::vector<BadValue> out;
  auto text = [&](std::string what, std::string value) {
    out.push_back({what, [value](pb::Message* m, const pb::FieldDescriptor* field) {
                     if (field->is_repeated()) {
                       m->GetReflection()->SetRepeatedString(m, field, 0, value);
                     } else {
                       m->GetReflection()->SetString(m, field, value);
                     }
                   }});
  };
  if (f->is_repeated()) {
    out.push_back({absl::StrCat(rules.max_items() + 1, " items"),
                   [n = rules.max_items()](pb::Message* m, const pb::FieldDescriptor* field) {
                     const pb::Reflection* r = m->GetReflection();
                     while (static_cast<uint32_t>(r->FieldSize(*m, field)) <= n) {
                       if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
                         r->AddMessage(m, field)->CopyFrom(r->GetRepeatedMessage(*m, field, 0));
                       } else if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
                         r->AddString(m, field, r->GetRepeatedString(*m, field, 0));
                       } else if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_ENUM) {
                         r->AddEnumValue(m, field, r->GetRepeatedEnumValue(*m, field, 0));
                       } else if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_INT32) {
                         r->AddInt32(m, field, r->GetRepeatedInt32(*m, field, 0));
                       } else if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_INT64) {
                         r->AddInt64(m, field, r->GetRepeatedInt64(*m, field, 0));
                       }
                     }
                   }});
    if (rules.required()) {
      out.push_back({"no items", [](pb::Message* m, const pb::FieldDescriptor* field) {
                       m->GetReflection()->ClearField(m, field);
                     }});
    }
  } else if (rules.required() && f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
    // (An `optional` scalar may be left out; required holds for its value when given.)
    out.push_back({"unset", [](pb::Message* m, const pb::FieldDescriptor* field) {
                     m->GetReflection()->ClearField(m, field);
                   }});
  }
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      text("invalid UTF-8", "ok\xC3\x28");
      text("a NUL byte", std::string("a\0b", 3));
      text("a control character", "bell\a");
      text("a right-to-left override",
           "abc\xE2\x80\xAE"
           "fdp.exe");
      text(absl::StrCat(rules.max_chars() + 1, " characters"),
           std::string(rules.max_chars() + 1, 'x'));
      if (rules.required() && !f->is_repeated()) {
        text("empty", "");
        text("white space only", " \xE3\x80\x80");
        text("invisible characters only", "\xE2\x80\xAF\xEF\xBB\xBF\xE2\x80\x8B");
      }
      if (rules.format() != techtrade::common::v1::STRING_FORMAT_UNSPECIFIED &&
          rules.format() != techtrade::common::v1::STRING_FORMAT_OPAQUE) {
        text("a malformed value", "bad value!");
      }
      if (f->name() == "page_token") {
        // Without filters, so that the token is what the list refuses.
        out.push_back({"a forged page token", [](pb::Message* m, const pb::FieldDescriptor* field) {
                         const pb::Descriptor* type = m->GetDescriptor();
                         for (int i = 0; i < type->field_count(); ++i) {
                           if (!EffectiveRules(type->field(i)).required()) {
                             m->GetReflection()->ClearField(m, type->field(i));
                           }
                         }
                         m->GetReflection()->SetString(m, field, "cDI6MTAwOmZvcmdlZA");
                       }});
      }
      break;
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      for (int number : {1000, -1}) {
        out.push_back({absl::StrCat("unknown enum number ", number),
                       [number](pb::Message* m, const pb::FieldDescriptor* field) {
                         if (field->is_repeated()) {
                           m->GetReflection()->SetRepeatedEnumValue(m, field, 0, number);
                         } else {
                           m->GetReflection()->SetEnumValue(m, field, number);
                         }
                       }});
      }
      if (rules.required() && !f->is_repeated()) {
        out.push_back({"UNSPECIFIED", [](pb::Message* m, const pb::FieldDescriptor* field) {
                         m->GetReflection()->SetEnumValue(m, field, 0);
                       }});
      }
      break;
    case pb::FieldDescriptor::CPPTYPE_INT32:
    case pb::FieldDescriptor::CPPTYPE_INT64: {
      const bool is32 = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_INT32;
      const int64_t lowest =
          is32 ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int64_t>::min();
      const int64_t highest =
          is32 ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int64_t>::max();
      std::vector<std::pair<std::string, int64_t>> values;
      if (rules.has_min() && rules.min() > lowest) {
        values.push_back({"one below the minimum", rules.min() - 1});
        values.push_back({"the lowest integer", lowest});
      }
      if (rules.has_max() && rules.max() < highest) {
        values.push_back({"one above the maximum", rules.max() + 1});
        values.push_back({"the highest integer", highest});
      }
      if (rules.required() && !(rules.has_min() && rules.min() > 0)) values.push_back({"zero", 0});
      for (const auto& [what, value] : values) {
        out.push_back({what, [value = value, is32](pb::Message* m, const pb::FieldDescriptor* fd) {
                         const pb::Reflection* r = m->GetReflection();
                         if (fd->is_repeated()) {
                           is32 ? r->SetRepeatedInt32(m, fd, 0, static_cast<int32_t>(value))
                                : r->SetRepeatedInt64(m, fd, 0, value);
                         } else {
                           is32 ? r->SetInt32(m, fd, static_cast<int32_t>(value))
                                : r->SetInt64(m, fd, value);
                         }
                       }});
      }
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
      auto sub = [](pb::Message* m, const pb::FieldDescriptor* field) {
        return field->is_repeated() ? m->GetReflection()->MutableRepeatedMessage(m, field, 0)
                                    : m->GetReflection()->MutableMessage(m, field);
      };
      if (IsTimestamp(f)) {
        const std::pair<int64_t, int32_t> bad[] = {{0, -1},
                                                   {0, 1'000'000'000},
                                                   {-62135596801, 0},  // before 0001-01-01
                                                   {253402300800, 0},  // 10000-01-01
                                                   {std::numeric_limits<int64_t>::max(), 0}};
        for (const auto& [seconds, nanos] : bad) {
          out.push_back({absl::StrCat("timestamp ", seconds, "s ", nanos, "ns"),
                         [=](pb::Message* m, const pb::FieldDescriptor* field) {
                           auto* ts = static_cast<pb::Timestamp*>(sub(m, field));
                           ts->set_seconds(seconds);
                           ts->set_nanos(nanos);
                         }});
        }
      } else if (IsMoney(f)) {
        for (const char* currency : {"ZZZ", "cny", "", "XAU"}) {
          out.push_back(
              {absl::StrCat("currency '", currency, "'"),
               [=](pb::Message* m, const pb::FieldDescriptor* field) {
                 static_cast<techtrade::common::v1::Money*>(sub(m, field))->set_currency(currency);
               }});
        }
        const int64_t min = rules.has_min() ? rules.min() : 0;
        for (int64_t amount : {min - 1, kMaxAmountMinor + 1, std::numeric_limits<int64_t>::max(),
                               std::numeric_limits<int64_t>::min()}) {
          out.push_back({absl::StrCat("amount ", amount),
                         [=](pb::Message* m, const pb::FieldDescriptor* field) {
                           static_cast<techtrade::common::v1::Money*>(sub(m, field))
                               ->set_amount_minor(amount);
                         }});
        }
      }
      break;
    }
    default:
      break;
  }
  return out;
}

// Every field reachable from `type`, nested and repeated (first item) included; Timestamp and
// Money are values of their own, not walked into.
void CollectFields(const pb::Descriptor* type, std::vector<Step> prefix,
                   std::vector<std::vector<Step>>& out) {
  for (int i = 0; i < type->field_count(); ++i) {
    const pb::FieldDescriptor* f = type->field(i);
    std::vector<Step> steps = prefix;
    steps.push_back({f, 0});
    out.push_back(steps);
    if (f->message_type() != nullptr && !IsTimestamp(f) && !IsMoney(f) && prefix.size() < 6) {
      CollectFields(f->message_type(), steps, out);
    }
  }
}

// Whether an INVALID_ARGUMENT message names `path`: it starts with it, or with the list the
// path's last item is in ("a[0].b: at most 20 items" for a[0].b[0]); or, for a request that
// could not be parsed (the only answer that cannot say which item), it names the path without
// indices among the places the field's type occurs ("a.b or c.b: not valid UTF-8").
bool NamesField(const std::string& message, const std::string& path) {
  const std::string list = std::regex_replace(path, std::regex(R"(\[\d+\]$)"), "");
  for (const std::string& named : {path, list}) {
    if (absl::StartsWith(message, named) && message.size() > named.size() &&
        absl::string_view(":.[").find(message[named.size()]) != absl::string_view::npos) {
      return true;
    }
  }
  const std::string bare = std::regex_replace(path, std::regex(R"(\[\d+\])"), "");
  const size_t colon = message.find(": ");
  if (colon == std::string::npos) return false;
  for (absl::string_view alternative : absl::StrSplit(message.substr(0, colon), " or ")) {
    if (alternative == bare) return true;
  }
  return false;
}

class BadInputTest : public PlatformFixture {
 protected:
  BadInputTest() : PlatformFixture("badinput") {}

  // Rows in every table of every service's database: requests refused at the boundary add none
  // (no record, no idempotency entry, no outbox row, so no event).
  int64_t RowsEverywhere() {
    const std::string sql =
        "SELECT coalesce(sum((xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c "
        "FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text::bigint), 0) FROM "
        "information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'";
    int64_t rows = fund_db_->QueryInt(sql);
    for (const auto& db : dbs_) rows += db->QueryInt(sql);
    return rows;
  }

  // The outbox's position sequence in every service's database: a refused request writes no
  // event, even one the relay has published and deleted since.
  int64_t OutboxHighWater() {
    const std::string sql =
        "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM outbox_position_seq";
    int64_t total = fund_db_->QueryInt(sql);
    for (const auto& db : dbs_) total += db->QueryInt(sql);
    return total;
  }

  // Waits until the consumers have applied what set-up published.
  int64_t SettledRows() {
    int64_t before = RowsEverywhere();
    for (int i = 0; i < 40; ++i) {
      absl::SleepFor(absl::Milliseconds(500));
      const int64_t now = RowsEverywhere();
      if (now == before) return now;
      before = now;
    }
    return before;
  }

  grpc::Status Call(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                    const std::string& bytes, const std::string& key) {
    grpc::GenericStub stub(channel);
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1), response;
    auto context = AuthedContext(key);
    std::promise<grpc::Status> done;
    stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request, &response,
                   [&](grpc::Status s) { done.set_value(std::move(s)); });
    return done.get_future().get();
  }
};

TEST_F(BadInputTest, EveryFieldOfEveryRequestRefusesItsInvalidValuesAndNothingChanges) {
  // Links the descriptors of the service files no fixture otherwise uses.
  techtrade::ops::v1::DeadLetter::descriptor();
  techtrade::audit::v1::AuditRecord::descriptor();
  const pb::DescriptorPool* pool = pb::DescriptorPool::generated_pool();
  // The services each process serves; the dead-letter operator service is served by every
  // service that consumes, and the audit service by every service: each checked on one of them.
  const std::vector<std::pair<std::string, std::shared_ptr<grpc::Channel>>> services = {
      {"techtrade.registry.v1.RegistryService", registry_->channel()},
      {"techtrade.listings.v1.ListingsService", listings_->channel()},
      {"techtrade.transactions.v1.TransactionsService", transactions_->channel()},
      {"techtrade.fund.v1.FundService", fund_process_->channel()},
      {"techtrade.ops.v1.DeadLetterService", fund_process_->channel()},
      {"techtrade.audit.v1.AuditService", fund_process_->channel()}};
  std::set<std::string> files;
  for (const auto& [name, channel] : services) {
    const pb::ServiceDescriptor* service = pool->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    files.insert(service->file()->name());
  }
  // A service added to one of these files must be added above.
  int services_in_files = 0;
  for (const std::string& file : files)
    services_in_files += pool->FindFileByName(file)->service_count();
  ASSERT_EQ(services_in_files, static_cast<int>(services.size()));

  const int64_t rows_before = SettledRows();
  const int64_t outbox_before = OutboxHighWater();
  int methods = 0, fields = 0, cases = 0;
  std::vector<std::string> failures;
  for (const auto& [name, channel] : services) {
    const pb::ServiceDescriptor* service = pool->FindServiceByName(name);
    for (int i = 0; i < service->method_count(); ++i) {
      const pb::MethodDescriptor* method = service->method(i);
      ++methods;
      std::unique_ptr<pb::Message> valid(
          pb::MessageFactory::generated_factory()->GetPrototype(method->input_type())->New());
      FillValid(valid.get());
      ASSERT_TRUE(CheckFieldRules(*valid).ok())
          << method->full_name() << ": " << CheckFieldRules(*valid) << "\n"
          << valid->DebugString();
      std::vector<std::vector<Step>> paths;
      CollectFields(method->input_type(), {}, paths);
      for (const std::vector<Step>& steps : paths) {
        ++fields;
        const std::string path = PathOf(steps);
        for (const BadValue& bad : BadValuesFor(steps.back().field)) {
          ++cases;
          std::unique_ptr<pb::Message> request(valid->New());
          request->CopyFrom(*valid);
          bad.apply(Parent(request.get(), steps), steps.back().field);
          std::string bytes;
          request->SerializeToString(&bytes);  // logs, but keeps, invalid UTF-8
          const grpc::Status s =
              Call(channel, absl::StrCat("/", service->full_name(), "/", method->name()), bytes,
                   operator_key_);
          if (s.error_code() != grpc::StatusCode::INVALID_ARGUMENT ||
              !NamesField(s.error_message(), path)) {
            failures.push_back(absl::StrCat(method->full_name(), " ", path, " = ", bad.what,
                                            ": code ", s.error_code(), " \"",
                                            s.error_message().substr(0, 200), "\""));
          }
        }
      }
    }
  }
  std::cout << "bad-input coverage: " << services.size() << " services, " << methods << " methods, "
            << fields << " request fields, " << cases << " invalid cases\n";
  EXPECT_THAT(failures, ::testing::IsEmpty());
  EXPECT_GE(fields, 250);  // a floor: the walk must not silently skip fields
  EXPECT_EQ(SettledRows(), rows_before) << "a refused request stored something";
  EXPECT_EQ(OutboxHighWater(), outbox_before) << "a refused request wrote an event";
}

TEST_F(BadInputTest, AnUnparsableRequestIsInvalidArgumentNamingTheFieldEvenWithoutAKey) {
  reg::RegisterOrganizationRequest r;
  r.set_request_id("utf8");
  r.set_name("bad \xC3\x28 name");
  std::string bytes;
  r.SerializeToString(&bytes);
  grpc::Status s = Call(registry_->channel(),
                        "/techtrade.registry.v1.RegistryService/RegisterOrganization", bytes, "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "name: not valid UTF-8");
  // Bytes that are no protobuf at all.
  s = Call(registry_->channel(), "/techtrade.registry.v1.RegistryService/RegisterOrganization",
           std::string("\xFF\xFF\xFF\xFF", 4), operator_key_);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("request: "));
}

TEST_F(BadInputTest, AHugeRejectedValueIsRefusedNamingTheFieldInAShortMessage) {
  reg::RegisterOrganizationRequest r;
  r.set_request_id("huge");
  r.set_credit_code(std::string(64 * 1024, '9'));
  reg::Organization org;
  grpc::Status s =
      registry_stub_->RegisterOrganization(AuthedContext(operator_key_).get(), r, &org);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("credit_code: "));
  EXPECT_LE(s.error_message().size(), 1100u);
}

TEST_F(BadInputTest, HealthAnswersForEachServiceByName) {
  for (const auto& [name, channel] :
       std::vector<std::pair<std::string, std::shared_ptr<grpc::Channel>>>{
           {"techtrade.registry.v1.RegistryService", registry_->channel()},
           {"techtrade.listings.v1.ListingsService", listings_->channel()},
           {"techtrade.transactions.v1.TransactionsService", transactions_->channel()},
           {"techtrade.fund.v1.FundService", fund_process_->channel()},
           {"", fund_process_->channel()}}) {
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(name);
    grpc::health::v1::HealthCheckResponse response;
    grpc::ClientContext context;
    grpc::Status s = health->Check(&context, request, &response);
    EXPECT_TRUE(s.ok()) << name << ": " << s.error_message();
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING) << name;
  }
}

TEST_F(BadInputTest, AKeyWithoutTheBearerWordIsToldSoNotReportedMissing) {
  reg::GetPilotCityRequest r;
  r.set_id("shenzhen");
  reg::PilotCity city;
  grpc::ClientContext context;
  context.AddMetadata("authorization", operator_key_);
  grpc::Status s = registry_stub_->GetPilotCity(&context, r, &city);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("expected 'Bearer <api key>'"));
}

}  // namespace
}  // namespace techtrade::testing
