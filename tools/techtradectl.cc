// techtradectl: the operator's command line over every RPC of the four services, and over the
// dead-letter RPCs every consuming service serves.
//
// Commands map onto RPCs (`techtradectl org register` → RegistryService.RegisterOrganization;
// techtradectl_commands.cc lists them). Request fields come from flags named after the fields
// (`--name`, nested `--rules.per_deal_cap_minor`, repeated by repeating the flag), built through
// protobuf reflection (techtradectl_request.cc), so every field of every request is reachable
// and `--help` on a command lists them. The call itself is a generic gRPC call by method name;
// the answer is printed by techtradectl_render.cc.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
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
#include "absl/time/time.h"
#include "common/channel.h"
#include "common/tls.h"
#include "tools/techtradectl_commands.h"
#include "tools/techtradectl_render.h"
#include "tools/techtradectl_request.h"

namespace {

namespace pb = google::protobuf;
using namespace techtrade::ctl;

struct Arguments {
  std::map<std::string, std::string> global;
  std::vector<std::string> words;
  std::vector<std::pair<std::string, std::string>> fields;
  bool json = false;
  bool help = false;
};

// Splits argv into global flags, command words and field flags; nullopt after a usage error.
std::optional<Arguments> Parse(const std::vector<std::string>& args) {
  static const char* kGlobal[] = {"env",    "key",      "registry", "listings", "transactions",
                                  "fund",   "data",     "timeout",  "service",  "request-id",
                                  "tls-ca", "tls-cert", "tls-key"};
  Arguments out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h" || a == "help") {
      out.help = true;
    } else if (a == "--json") {
      out.json = true;
    } else if (absl::StartsWith(a, "--")) {
      std::string name = a.substr(2), value;
      if (const size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        std::fprintf(stderr, "techtradectl: --%s needs a value\n", name.c_str());
        return std::nullopt;
      }
      bool is_global = false;
      for (const char* g : kGlobal) is_global |= name == g;
      if (is_global) {
        out.global[name] = value;
      } else {
        out.fields.emplace_back(name, value);
      }
    } else {
      out.words.push_back(a);
    }
  }
  return out;
}

// The gRPC call by method name; the answer's bytes in `received`.
grpc::Status Call(const std::string& address, const std::string& key, const std::string& method,
                  const pb::Message& request, int timeout_s, std::string* received) {
  auto channel =
      grpc::CreateChannel(address, techtrade::ChannelCredentialsFor(techtrade::ProcessTls()));
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  techtrade::SetCallCredentials(context, key, absl::Seconds(timeout_s));
  std::string serialized;
  request.SerializeToString(&serialized);
  grpc::Slice slice(serialized);
  grpc::ByteBuffer send(&slice, 1), answer;
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&context, absl::StrCat("/", method), grpc::StubOptions(), &send, &answer,
                 [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mutex);
                   status = std::move(s);
                   done = true;
                   done_cv.notify_one();
                 });
  {
    std::unique_lock<std::mutex> lock(mutex);
    done_cv.wait(lock, [&] { return done; });
  }
  if (!status.ok()) return status;
  std::vector<grpc::Slice> slices;
  (void)answer.Dump(&slices);
  for (const auto& s : slices) received->append(reinterpret_cast<const char*>(s.begin()), s.size());
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<Arguments> parsed = Parse(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.has_value()) return kUsage;
  Arguments& args = *parsed;

  const Command* command = nullptr;
  for (const Command& c : Commands()) {
    if (c.words == args.words) command = &c;
  }
  if (command == nullptr) {
    if (!args.words.empty()) {
      std::fprintf(stderr, "techtradectl: unknown command '%s'\n\n",
                   absl::StrJoin(args.words, " ").c_str());
    }
    const bool asked = args.words.empty() && args.help;
    std::fputs(Usage().c_str(), asked ? stdout : stderr);
    return asked ? kOk : kUsage;
  }
  const pb::MethodDescriptor* method = FindMethod(command->method);
  if (method == nullptr) {
    std::fprintf(stderr, "techtradectl: %s is not linked in\n", command->method.c_str());
    return kOther;
  }
  if (args.help) {
    std::fputs(CommandHelp(*command, method).c_str(), stdout);
    return kOk;
  }
  std::string service = command->service;
  if (service.empty()) {
    service = args.global["service"];
    const auto& allowed = DeadLetterServices();
    if (std::find(allowed.begin(), allowed.end(), service) == allowed.end()) {
      std::fprintf(stderr, "techtradectl: %s needs --service %s\n",
                   absl::StrJoin(command->words, " ").c_str(), absl::StrJoin(allowed, "|").c_str());
      return kUsage;
    }
  }

  // Addresses and key: flags, then the environment, then the env file of `make up`.
  const std::string env_path = args.global.count("env") ? args.global["env"] : ".run/dev/env";
  const std::map<std::string, std::string> env_file = ReadEnvFile(env_path);
  auto setting = [&](const std::string& flag, const std::string& var) -> std::string {
    if (args.global.count(flag)) return args.global[flag];
    if (const char* v = std::getenv(var.c_str()); v != nullptr && *v != '\0') return v;
    auto it = env_file.find(var);
    return it == env_file.end() ? "" : it->second;
  };
  const std::string upper = absl::AsciiStrToUpper(service);
  const std::string address = setting(service, "TECHTRADE_" + upper + "_ADDR");
  const std::string key = setting("key", "TECHTRADE_API_KEY");
  // Mutual TLS when there is a CA: the platform's services accept no other connection.
  techtrade::SetProcessTls({.ca = setting("tls-ca", "TECHTRADE_TLS_CA"),
                            .cert = setting("tls-cert", "TECHTRADE_TLS_CERT"),
                            .key = setting("tls-key", "TECHTRADE_TLS_KEY")});
  if (address.empty()) {
    std::fprintf(stderr,
                 "techtradectl: no address for the %s service: pass --%s HOST:PORT, set "
                 "TECHTRADE_%s_ADDR, or start the platform (make up) so that %s exists\n",
                 service.c_str(), service.c_str(), upper.c_str(), env_path.c_str());
    return kUsage;
  }

  pb::DynamicMessageFactory factory(pb::DescriptorPool::generated_pool());
  std::unique_ptr<pb::Message> request(factory.GetPrototype(method->input_type())->New());
  std::unique_ptr<pb::Message> response(factory.GetPrototype(method->output_type())->New());
  if (args.global.count("data")) {
    if (auto s = pb::util::JsonStringToMessage(args.global["data"], request.get()); !s.ok()) {
      std::fprintf(stderr, "techtradectl: --data: %s\n", std::string(s.message()).c_str());
      return kUsage;
    }
  }
  for (const auto& [name, value] : args.fields) {
    if (std::optional<std::string> error = SetField(request.get(), name, value)) {
      std::fprintf(stderr, "techtradectl: %s (see techtradectl %s --help)\n", error->c_str(),
                   absl::StrJoin(args.words, " ").c_str());
      return kUsage;
    }
  }
  // A mutation's request_id: as given, else derived from the request, so that running the same
  // command again retries it (the service answers as the first time) instead of repeating it.
  std::string request_id;
  if (const pb::FieldDescriptor* rid = method->input_type()->FindFieldByName("request_id")) {
    const pb::Reflection* r = request->GetReflection();
    if (args.global.count("request-id")) {
      r->SetString(request.get(), rid, args.global["request-id"]);
    } else if (r->GetString(*request, rid).empty()) {
      r->SetString(request.get(), rid, DeriveRequestId(command->method, *request));
    }
    request_id = r->GetString(*request, rid);
  } else if (args.global.count("request-id")) {
    std::fprintf(stderr, "techtradectl: --request-id: %s is not a mutation\n",
                 absl::StrJoin(args.words, " ").c_str());
    return kUsage;
  }

  int timeout_s = 10;
  if (args.global.count("timeout") && !absl::SimpleAtoi(args.global["timeout"], &timeout_s)) {
    std::fprintf(stderr, "techtradectl: --timeout: seconds\n");
    return kUsage;
  }
  std::string bytes;
  const grpc::Status status = Call(address, key, command->method, *request, timeout_s, &bytes);
  if (!status.ok()) {
    std::fprintf(
        stderr, "techtradectl: %s: %s\n",
        absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())).c_str(),
        status.error_message().c_str());
    if (!request_id.empty()) {
      // Whether it was done is unknown after a timeout: the same request_id is a safe retry.
      std::fprintf(stderr,
                   "request_id: %s (run the same command again, or pass --request-id %s, to "
                   "retry it safely)\n",
                   request_id.c_str(), request_id.c_str());
    }
    return ExitFor(status.error_code());
  }
  if (!response->ParseFromString(bytes)) {
    std::fprintf(stderr, "techtradectl: the answer is not a %s\n",
                 method->output_type()->full_name().c_str());
    return kUnprintable;
  }

  std::vector<std::string> errors;
  const std::string out =
      args.json ? RenderJson(*response, &errors) : RenderText(*response, &errors);
  std::fputs(out.c_str(), stdout);
  if (!errors.empty()) {
    std::fprintf(stderr, "techtradectl: the %s answered, but its answer cannot be printed:\n",
                 service.c_str());
    for (const std::string& e : errors) std::fprintf(stderr, "  %s\n", e.c_str());
    if (!request_id.empty()) {
      std::fprintf(stderr, "request_id: %s (the call was done; re-running it is safe)\n",
                   request_id.c_str());
    }
    return kUnprintable;
  }
  // A ledger that does not balance is a failure a script must see.
  if (method->name() == "Reconcile") {
    const pb::FieldDescriptor* balanced = response->GetDescriptor()->FindFieldByName("balanced");
    if (!response->GetReflection()->GetBool(*response, balanced)) return kPrecondition;
  }
  return kOk;
}
