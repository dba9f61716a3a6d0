// techtradectl: the operator's command line over every RPC of the four services.
//
// Commands map onto RPCs (`techtradectl org register` → RegistryService.RegisterOrganization).
// Request fields come from flags named after the fields (`--name`, nested
// `--rules.per_deal_cap_minor`, repeated by repeating the flag), built through protobuf reflection,
// so every field of every request is reachable and `--help` on a command lists them. The call
// itself is a generic gRPC call by method name.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/ids.h"
#include "techtrade/fund/v1/fund.pb.h"
#include "techtrade/listings/v1/listings.pb.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace {

namespace pb = google::protobuf;
using google::protobuf::util::TimeUtil;

// Exit codes: what failed, for scripts.
enum Exit {
  kOk = 0,
  kOther = 1,
  kUsage = 2,
  kInvalid = 3,       // INVALID_ARGUMENT, OUT_OF_RANGE
  kNotFound = 4,      // NOT_FOUND
  kExists = 5,        // ALREADY_EXISTS
  kPrecondition = 6,  // FAILED_PRECONDITION, ABORTED (stale version)
  kDenied = 7,        // UNAUTHENTICATED, PERMISSION_DENIED
  kUnavailable = 8,   // UNAVAILABLE, DEADLINE_EXCEEDED
};

struct Command {
  std::vector<std::string> words;  // e.g. {"org", "register"}
  std::string service;             // "registry", "listings", "transactions", "fund"
  std::string method;              // fully qualified service + method
  std::string help;
};

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      // registry
      {{"city", "create"},
       "registry",
       "techtrade.registry.v1.RegistryService/CreatePilotCity",
       "Create a pilot city or park (operators)."},
      {{"city", "get"},
       "registry",
       "techtrade.registry.v1.RegistryService/GetPilotCity",
       "Show a pilot city."},
      {{"city", "list"},
       "registry",
       "techtrade.registry.v1.RegistryService/ListPilotCities",
       "List pilot cities."},
      {{"org", "register"},
       "registry",
       "techtrade.registry.v1.RegistryService/RegisterOrganization",
       "Register an organisation (credit code checked; starts PENDING)."},
      {{"org", "get"},
       "registry",
       "techtrade.registry.v1.RegistryService/GetOrganization",
       "Show an organisation."},
      {{"org", "list"},
       "registry",
       "techtrade.registry.v1.RegistryService/ListOrganizations",
       "List organisations, filtered by city, kind, status."},
      {{"org", "update"},
       "registry",
       "techtrade.registry.v1.RegistryService/UpdateOrganization",
       "Change an organisation's details (needs --expected_version)."},
      {{"org", "verify"},
       "registry",
       "techtrade.registry.v1.RegistryService/VerifyOrganization",
       "PENDING → VERIFIED (needs --expected_version)."},
      {{"org", "suspend"},
       "registry",
       "techtrade.registry.v1.RegistryService/SuspendOrganization",
       "VERIFIED → SUSPENDED; hides its listings (needs --expected_version, --reason)."},
      {{"org", "reinstate"},
       "registry",
       "techtrade.registry.v1.RegistryService/ReinstateOrganization",
       "SUSPENDED → VERIFIED (needs --expected_version)."},
      {{"key", "issue"},
       "registry",
       "techtrade.registry.v1.RegistryService/IssueApiKey",
       "Issue an API key for a city system, partner or operator; the secret is shown once."},
      {{"key", "revoke"},
       "registry",
       "techtrade.registry.v1.RegistryService/RevokeApiKey",
       "Revoke an API client's key."},
      {{"key", "get"},
       "registry",
       "techtrade.registry.v1.RegistryService/GetApiClient",
       "Show an API client (never its secret)."},
      {{"key", "list"},
       "registry",
       "techtrade.registry.v1.RegistryService/ListApiClients",
       "List API clients."},
      {{"key", "authenticate"},
       "registry",
       "techtrade.registry.v1.RegistryService/Authenticate",
       "Resolve an API key (--api_key) to its principal: role and pilot city."},
      // listings
      {{"offer", "create"},
       "listings",
       "techtrade.listings.v1.ListingsService/CreateOffer",
       "Create a technology offer as a draft (fields under --offer.*)."},
      {{"offer", "update"},
       "listings",
       "techtrade.listings.v1.ListingsService/UpdateOffer",
       "Replace an offer's draft fields (needs --expected_version)."},
      {{"offer", "publish"},
       "listings",
       "techtrade.listings.v1.ListingsService/PublishOffer",
       "Publish an offer (its owner must be VERIFIED)."},
      {{"offer", "withdraw"},
       "listings",
       "techtrade.listings.v1.ListingsService/WithdrawOffer",
       "Withdraw an offer."},
      {{"offer", "get"},
       "listings",
       "techtrade.listings.v1.ListingsService/GetOffer",
       "Show an offer."},
      {{"offer", "list"},
       "listings",
       "techtrade.listings.v1.ListingsService/ListOffers",
       "List offers."},
      {{"demand", "create"},
       "listings",
       "techtrade.listings.v1.ListingsService/CreateDemand",
       "Create a technology demand as a draft (fields under --demand.*)."},
      {{"demand", "update"},
       "listings",
       "techtrade.listings.v1.ListingsService/UpdateDemand",
       "Replace a demand's draft fields (needs --expected_version)."},
      {{"demand", "publish"},
       "listings",
       "techtrade.listings.v1.ListingsService/PublishDemand",
       "Publish a demand."},
      {{"demand", "withdraw"},
       "listings",
       "techtrade.listings.v1.ListingsService/WithdrawDemand",
       "Withdraw a demand."},
      {{"demand", "get"},
       "listings",
       "techtrade.listings.v1.ListingsService/GetDemand",
       "Show a demand."},
      {{"demand", "list"},
       "listings",
       "techtrade.listings.v1.ListingsService/ListDemands",
       "List demands."},
      {{"search"},
       "listings",
       "techtrade.listings.v1.ListingsService/Search",
       "Keyword search over published offers and demands (Chinese and English)."},
      {{"match", "offers"},
       "listings",
       "techtrade.listings.v1.ListingsService/MatchOffersForDemand",
       "Offers that fit a demand (--id), each with its explained factors."},
      {{"match", "demands"},
       "listings",
       "techtrade.listings.v1.ListingsService/MatchDemandsForOffer",
       "Demands an offer (--id) could serve, each with its explained factors."},
      // transactions
      {{"deal", "open"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/OpenDeal",
       "Open a deal on a published listing (buyer, seller, optional broker)."},
      {{"deal", "propose"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/ProposeTerms",
       "Propose terms (price, transfer mode, milestones as JSON: --milestones '{...}')."},
      {{"deal", "accept"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/AcceptTerms",
       "Accept a terms version as buyer or seller."},
      {{"deal", "sign"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/SignContract",
       "Record the signed contract (registration number, signing time)."},
      {{"deal", "deliver"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/DeliverMilestone",
       "The seller delivers a milestone."},
      {{"deal", "accept-milestone"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/AcceptMilestone",
       "The buyer accepts a milestone: payment falls due."},
      {{"deal", "pay"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/RecordPayment",
       "Record a finance partner's payment (once per --payment_reference)."},
      {{"deal", "cancel"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/CancelDeal",
       "Cancel a deal with a reason."},
      {{"deal", "dispute"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/OpenDispute",
       "Open a dispute."},
      {{"deal", "resolve"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/ResolveDispute",
       "Resolve a dispute: resume, or --cancel=true."},
      {{"deal", "get"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/GetDeal",
       "Show a deal."},
      {{"deal", "list"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/ListDeals",
       "List deals by party, city, state, opening date."},
      // fund
      {{"fund", "programme", "create"},
       "fund",
       "techtrade.fund.v1.FundService/CreateProgramme",
       "Define a programme: budget, period, city scope and rules (--rules.*; bands and tranches "
       "as JSON)."},
      {{"fund", "programme", "close"},
       "fund",
       "techtrade.fund.v1.FundService/CloseProgramme",
       "Close a programme to new applications."},
      {{"fund", "programme", "get"},
       "fund",
       "techtrade.fund.v1.FundService/GetProgramme",
       "Show a programme with its balances."},
      {{"fund", "programme", "list"},
       "fund",
       "techtrade.fund.v1.FundService/ListProgrammes",
       "List programmes."},
      {{"fund", "application", "submit"},
       "fund",
       "techtrade.fund.v1.FundService/SubmitApplication",
       "Apply for a subsidy for a signed deal; decided at once below the threshold."},
      {{"fund", "application", "approve"},
       "fund",
       "techtrade.fund.v1.FundService/ApproveApplication",
       "Approve an application waiting for review (reserves the amount)."},
      {{"fund", "application", "reject"},
       "fund",
       "techtrade.fund.v1.FundService/RejectApplication",
       "Reject an application waiting for review (--reason)."},
      {{"fund", "application", "get"},
       "fund",
       "techtrade.fund.v1.FundService/GetApplication",
       "Show an application with its calculation and disbursements."},
      {{"fund", "application", "list"},
       "fund",
       "techtrade.fund.v1.FundService/ListApplications",
       "List applications."},
      {{"fund", "ledger"},
       "fund",
       "techtrade.fund.v1.FundService/ListLedgerEntries",
       "A programme's ledger entries, oldest first."},
      {{"fund", "reconcile"},
       "fund",
       "techtrade.fund.v1.FundService/Reconcile",
       "Recompute every balance from the ledger and compare; exit 6 if it does not balance."},
      {{"fund", "appraisal"},
       "fund",
       "techtrade.fund.v1.FundService/GetAppraisal",
       "Deals signed and completed, contract value, subsidy, leverage for a city and period."},
  };
  return *commands;
}

// The four services' generated descriptors, linked in and found by name.
const pb::MethodDescriptor* FindMethod(const std::string& full) {
  (void)techtrade::registry::v1::Organization::descriptor();
  (void)techtrade::listings::v1::Offer::descriptor();
  (void)techtrade::transactions::v1::Deal::descriptor();
  (void)techtrade::fund::v1::Programme::descriptor();
  const size_t slash = full.find('/');
  const pb::ServiceDescriptor* service =
      pb::DescriptorPool::generated_pool()->FindServiceByName(full.substr(0, slash));
  return service == nullptr ? nullptr : service->FindMethodByName(full.substr(slash + 1));
}

std::string Usage() {
  std::string out =
      "techtradectl — operate techtrade over its gRPC APIs\n\n"
      "usage: techtradectl [global flags] <command> [--field value ...]\n\n"
      "global flags:\n"
      "  --env FILE        read addresses and the key from FILE (default .run/dev/env)\n"
      "  --key KEY         API key (default $TECHTRADE_API_KEY or the env file's)\n"
      "  --registry/--listings/--transactions/--fund HOST:PORT   service addresses\n"
      "  --json            print the response as JSON (field names as in the .proto)\n"
      "  --data JSON       the whole request as JSON; field flags override it\n"
      "  --timeout SECONDS deadline of the call (default 10)\n\n"
      "commands (techtradectl <command> --help lists its fields):\n";
  for (const Command& c : Commands()) {
    std::string words = absl::StrJoin(c.words, " ");
    absl::StrAppend(&out, "  ", words, std::string(words.size() < 26 ? 26 - words.size() : 1, ' '),
                    c.help, "\n");
  }
  absl::StrAppend(&out,
                  "\nexit codes: 0 ok, 2 usage, 3 invalid argument, 4 not found, 5 already "
                  "exists,\n  6 failed precondition or stale version, 7 unauthenticated or "
                  "denied, 8 unavailable, 1 other\n");
  return out;
}

std::string TypeName(const pb::FieldDescriptor* f) {
  if (f->enum_type() != nullptr) {
    std::vector<std::string> names;
    for (int i = 1; i < f->enum_type()->value_count(); ++i) {
      names.push_back(f->enum_type()->value(i)->name());
    }
    return absl::StrCat("one of ", absl::StrJoin(names, ", "));
  }
  if (f->message_type() != nullptr) {
    const std::string& t = f->message_type()->full_name();
    if (t == "google.protobuf.Timestamp") return "time, RFC 3339 (2026-11-23T10:00:00Z)";
    if (t == "techtrade.common.v1.Money") return "money, e.g. \"80000.00 CNY\"";
    return absl::StrCat("JSON object (", f->message_type()->name(), ")");
  }
  return f->type_name();
}

void FieldHelp(const pb::Descriptor* d, const std::string& prefix, int depth, std::string* out) {
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    const std::string name = prefix + f->name();
    const pb::Descriptor* m = f->message_type();
    const bool leaf_message = m != nullptr && (m->full_name() == "google.protobuf.Timestamp" ||
                                               m->full_name() == "techtrade.common.v1.Money");
    if (m != nullptr && !f->is_repeated() && !leaf_message && depth < 2) {
      FieldHelp(m, name + ".", depth + 1, out);
      continue;
    }
    absl::StrAppend(out, "  --", name, f->is_repeated() ? " (repeatable)" : "", "  ", TypeName(f),
                    f->name() == "request_id" ? "; generated when omitted" : "", "\n");
  }
}

std::string CommandHelp(const Command& c, const pb::MethodDescriptor* m) {
  std::string out = absl::StrCat("techtradectl ", absl::StrJoin(c.words, " "), " — ", c.help,
                                 "\n\nRPC: ", m->full_name(), " on the ", c.service,
                                 " service\n\nfields of ", m->input_type()->full_name(), ":\n");
  FieldHelp(m->input_type(), "", 0, &out);
  return out;
}

// "80000.00 CNY" or "8000000" (minor units; then the currency must be set separately).
bool ParseMoney(const std::string& text, pb::Message* money) {
  std::vector<std::string> parts = absl::StrSplit(text, ' ', absl::SkipEmpty());
  if (parts.empty() || parts.size() > 2) return false;
  const pb::Reflection* r = money->GetReflection();
  const pb::Descriptor* d = money->GetDescriptor();
  int64_t minor = 0;
  if (parts.size() == 2) {
    std::vector<std::string> units = absl::StrSplit(parts[0], '.');
    int64_t whole = 0, fraction = 0;
    if (units.size() > 2 || !absl::SimpleAtoi(units[0], &whole)) return false;
    if (units.size() == 2) {
      if (units[1].size() > 2 || !absl::SimpleAtoi(units[1], &fraction)) return false;
      if (units[1].size() == 1) fraction *= 10;
    }
    minor = whole * 100 + (whole < 0 ? -fraction : fraction);
    r->SetString(money, d->FindFieldByName("currency"), parts[1]);
  } else if (!absl::SimpleAtoi(parts[0], &minor)) {
    return false;
  }
  r->SetInt64(money, d->FindFieldByName("amount_minor"), minor);
  return true;
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
      if (t == "techtrade.common.v1.Money" && ParseMoney(value, sub)) return std::nullopt;
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

// Values for table cells: money as "80000.00 CNY", times as RFC 3339, enums by name.
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
        pb::Timestamp ts;
        ts.CopyFrom(sub);
        return TimeUtil::ToString(ts);
      }
      if (t == "techtrade.common.v1.Money") {
        techtrade::common::v1::Money m;
        m.CopyFrom(sub);
        const int64_t a = m.amount_minor() < 0 ? -m.amount_minor() : m.amount_minor();
        return absl::StrCat(m.amount_minor() < 0 ? "-" : "", a / 100, ".", a % 100 < 10 ? "0" : "",
                            a % 100, " ", m.currency());
      }
      return "{…}";
    }
  }
  return "";
}

bool IsLeaf(const pb::FieldDescriptor* f) {
  if (f->is_repeated()) return false;
  if (f->message_type() == nullptr) return true;
  const std::string& t = f->message_type()->full_name();
  return t == "google.protobuf.Timestamp" || t == "techtrade.common.v1.Money";
}

void PrintRows(const pb::Message& msg, const pb::FieldDescriptor* rows, const std::string& indent);

// A record as "field  value" lines, one level of nesting flattened with dots.
void PrintRecord(const pb::Message& msg, const std::string& prefix, int depth) {
  const pb::Reflection* r = msg.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(msg, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    const std::string name = prefix + f->name();
    if (IsLeaf(f)) {
      std::printf("%-34s %s\n", name.c_str(), Cell(msg, f).c_str());
    } else if (!f->is_repeated() && depth < 2) {
      PrintRecord(r->GetMessage(msg, f), name + ".", depth + 1);
    } else if (f->is_repeated() && f->message_type() == nullptr) {
      std::vector<std::string> values;
      for (int i = 0; i < r->FieldSize(msg, f); ++i) {
        values.push_back(f->enum_type() != nullptr ? r->GetRepeatedEnum(msg, f, i)->name()
                         : f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING
                             ? r->GetRepeatedString(msg, f, i)
                             : absl::StrCat("#", i));
      }
      std::printf("%-34s %s\n", name.c_str(), absl::StrJoin(values, ", ").c_str());
    } else {
      std::printf("%s:\n", name.c_str());
      PrintRows(msg, f, "  ");
    }
  }
}

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

// Rows of a repeated message field as a table of their leaf fields.
void PrintRows(const pb::Message& msg, const pb::FieldDescriptor* rows, const std::string& indent) {
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
    std::printf("%s\n", std::string(absl::StripTrailingAsciiWhitespace(out)).c_str());
  };
  std::vector<std::string> header;
  for (const auto* c : columns) header.push_back(absl::AsciiStrToUpper(c->name()));
  line(header);
  for (const auto& row : cells) line(row);
}

// A List/Search/Match/Reconcile response: its one repeated message field as a table, then the
// response's own leaf fields (page token, totals).
bool PrintTable(const pb::Message& msg) {
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
  PrintRows(msg, rows, "");
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f != rows && IsLeaf(f) && !Cell(msg, f).empty()) {
      std::printf("%s: %s\n", f->name().c_str(), Cell(msg, f).c_str());
    }
  }
  return true;
}

int ExitFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return kOk;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return kInvalid;
    case grpc::StatusCode::NOT_FOUND:
      return kNotFound;
    case grpc::StatusCode::ALREADY_EXISTS:
      return kExists;
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
      return kPrecondition;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return kDenied;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kUnavailable;
    default:
      return kOther;
  }
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

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::map<std::string, std::string> global;
  std::vector<std::string> words;
  std::vector<std::pair<std::string, std::string>> fields;
  bool json = false, help = false;
  static const char* kGlobal[] = {"env",          "key",  "registry", "listings",
                                  "transactions", "fund", "data",     "timeout"};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h" || a == "help") {
      help = true;
    } else if (a == "--json") {
      json = true;
    } else if (absl::StartsWith(a, "--")) {
      std::string name = a.substr(2), value;
      if (const size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        std::fprintf(stderr, "techtradectl: --%s needs a value\n", name.c_str());
        return kUsage;
      }
      bool is_global = false;
      for (const char* g : kGlobal) is_global |= name == g;
      if (is_global) {
        global[name] = value;
      } else {
        fields.emplace_back(name, value);
      }
    } else {
      words.push_back(a);
    }
  }

  const Command* command = nullptr;
  for (const Command& c : Commands()) {
    if (c.words == words) command = &c;
  }
  if (command == nullptr) {
    if (!words.empty()) {
      std::fprintf(stderr, "techtradectl: unknown command '%s'\n\n",
                   absl::StrJoin(words, " ").c_str());
    }
    std::fputs(Usage().c_str(), words.empty() && help ? stdout : stderr);
    return words.empty() && help ? kOk : kUsage;
  }
  const pb::MethodDescriptor* method = FindMethod(command->method);
  if (method == nullptr) {
    std::fprintf(stderr, "techtradectl: %s is not linked in\n", command->method.c_str());
    return kOther;
  }
  if (help) {
    std::fputs(CommandHelp(*command, method).c_str(), stdout);
    return kOk;
  }

  // Addresses and key: flags, then the environment, then the env file of `make up`.
  const std::string env_path = global.count("env") ? global["env"] : ".run/dev/env";
  const std::map<std::string, std::string> env_file = ReadEnvFile(env_path);
  auto setting = [&](const std::string& flag, const std::string& var) -> std::string {
    if (global.count(flag)) return global[flag];
    if (const char* v = std::getenv(var.c_str()); v != nullptr && *v != '\0') return v;
    auto it = env_file.find(var);
    return it == env_file.end() ? "" : it->second;
  };
  std::string upper = absl::AsciiStrToUpper(command->service);
  const std::string address = setting(command->service, "TECHTRADE_" + upper + "_ADDR");
  const std::string key = setting("key", "TECHTRADE_API_KEY");
  if (address.empty()) {
    std::fprintf(stderr,
                 "techtradectl: no address for the %s service: pass --%s HOST:PORT, set "
                 "TECHTRADE_%s_ADDR, or start the platform (make up) so that %s exists\n",
                 command->service.c_str(), command->service.c_str(), upper.c_str(),
                 env_path.c_str());
    return kUsage;
  }

  pb::DynamicMessageFactory factory(pb::DescriptorPool::generated_pool());
  std::unique_ptr<pb::Message> request(factory.GetPrototype(method->input_type())->New());
  std::unique_ptr<pb::Message> response(factory.GetPrototype(method->output_type())->New());
  if (global.count("data")) {
    if (auto s = pb::util::JsonStringToMessage(global["data"], request.get()); !s.ok()) {
      std::fprintf(stderr, "techtradectl: --data: %s\n", std::string(s.message()).c_str());
      return kUsage;
    }
  }
  for (const auto& [name, value] : fields) {
    if (std::optional<std::string> error = SetField(request.get(), name, value)) {
      std::fprintf(stderr, "techtradectl: %s (see techtradectl %s --help)\n", error->c_str(),
                   absl::StrJoin(words, " ").c_str());
      return kUsage;
    }
  }
  if (const pb::FieldDescriptor* rid = method->input_type()->FindFieldByName("request_id");
      rid != nullptr && request->GetReflection()->GetString(*request, rid).empty()) {
    const std::string generated = techtrade::NewUuid();
    request->GetReflection()->SetString(request.get(), rid, generated);
    // Printed so that the operator can retry the very same request after a timeout.
    std::fprintf(stderr, "request_id: %s\n", generated.c_str());
  }

  int timeout_s = 10;
  if (global.count("timeout") && !absl::SimpleAtoi(global["timeout"], &timeout_s)) {
    std::fprintf(stderr, "techtradectl: --timeout: seconds\n");
    return kUsage;
  }
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_s));
  if (!key.empty()) context.AddMetadata("authorization", "Bearer " + key);
  std::string serialized;
  request->SerializeToString(&serialized);
  grpc::Slice slice(serialized);
  grpc::ByteBuffer send(&slice, 1), received;
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&context, absl::StrCat("/", command->method), grpc::StubOptions(), &send,
                 &received, [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mutex);
                   status = std::move(s);
                   done = true;
                   done_cv.notify_one();
                 });
  {
    std::unique_lock<std::mutex> lock(mutex);
    done_cv.wait(lock, [&] { return done; });
  }
  if (!status.ok()) {
    std::fprintf(
        stderr, "techtradectl: %s: %s\n",
        absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())).c_str(),
        status.error_message().c_str());
    return ExitFor(status.error_code());
  }
  std::vector<grpc::Slice> slices;
  (void)received.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  response->ParseFromString(bytes);

  if (json) {
    pb::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.preserve_proto_field_names = true;
    options.always_print_primitive_fields = true;
    std::string out;
    (void)pb::util::MessageToJsonString(*response, &out, options);
    std::fputs(out.c_str(), stdout);
  } else if (!PrintTable(*response)) {
    PrintRecord(*response, "", 0);
  }
  // A ledger that does not balance is a failure a script must see.
  if (method->name() == "Reconcile") {
    const pb::FieldDescriptor* balanced = response->GetDescriptor()->FindFieldByName("balanced");
    if (!response->GetReflection()->GetBool(*response, balanced)) return kPrecondition;
  }
  return kOk;
}
