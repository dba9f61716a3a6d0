#include "common/request_parsing.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "google/protobuf/stubs/logging.h"

namespace techtrade {
namespace {

namespace pb = google::protobuf;
namespace exp = grpc::experimental;

// The field named by protobuf's last "String field '<name>' contains invalid UTF-8" on this
// thread; the sync server parses a request and answers a failed parse on one thread.
thread_local std::string last_invalid_utf8_field;

void HandleProtobufLog(pb::LogLevel level, const char* filename, int line,
                       const std::string& message) {
  // Only a request's bad bytes are the caller's fault; invalid UTF-8 this process serializes
  // ("when serializing") is a defect of ours and stays an error below.
  constexpr absl::string_view kPrefix = "String field '";
  if (absl::StartsWith(message, kPrefix) &&
      absl::StrContains(message, "invalid UTF-8 data when parsing")) {
    const size_t end = message.find('\'', kPrefix.size());
    if (end != std::string::npos) {
      last_invalid_utf8_field = message.substr(kPrefix.size(), end - kPrefix.size());
      // A caller's bad input, answered as such: not a server problem.
      log::Debug("request field is not valid UTF-8", {{"field", last_invalid_utf8_field}});
      return;
    }
  }
  const nlohmann::json fields = {{"source", "protobuf"}, {"file", filename}, {"line", line}};
  switch (level) {
    case pb::LOGLEVEL_INFO:
      log::Info(message, fields);
      break;
    case pb::LOGLEVEL_WARNING:
      log::Warn(message, fields);
      break;
    default:
      log::Error(message, fields);
  }
}

void CollectPaths(const pb::Descriptor* type, absl::string_view field_name,
                  const std::string& prefix, int depth, std::vector<std::string>& out) {
  if (depth > 8) return;
  for (int i = 0; i < type->field_count(); ++i) {
    const pb::FieldDescriptor* field = type->field(i);
    const std::string path = absl::StrCat(prefix, field->name());
    if (field->full_name() == field_name) out.push_back(path);
    if (field->message_type() != nullptr) {
      CollectPaths(field->message_type(), field_name, path + ".", depth + 1, out);
    }
  }
}

class UnparsableRequestInterceptor : public exp::Interceptor {
 public:
  explicit UnparsableRequestInterceptor(exp::ServerRpcInfo* info) : info_(info) {
    last_invalid_utf8_field.clear();
  }

  void Intercept(exp::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(exp::InterceptionHookPoints::POST_RECV_MESSAGE)) {
      field_ = std::move(last_invalid_utf8_field);
      last_invalid_utf8_field.clear();
    }
    if (methods->QueryInterceptionHookPoint(exp::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      // The one answer that only a failed parse gives: every INTERNAL of ours has a message.
      if (status.error_code() == grpc::StatusCode::INTERNAL && status.error_message().empty()) {
        if (field_.empty()) field_ = std::move(last_invalid_utf8_field);
        methods->ModifySendStatus(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, Explain()));
      }
    }
    methods->Proceed();
  }

 private:
  std::string Explain() const {
    if (field_.empty()) {
      return "request: not a valid protobuf message of the method's request type";
    }
    return absl::StrCat(PathsOfField(RequestType(), field_), ": not valid UTF-8");
  }

  // "/techtrade.fund.v1.FundService/CreateProgramme" → the request message's descriptor.
  const pb::Descriptor* RequestType() const {
    absl::string_view name = info_->method();
    if (absl::ConsumePrefix(&name, "/")) {
      const size_t slash = name.rfind('/');
      if (slash != absl::string_view::npos) {
        const pb::ServiceDescriptor* service =
            pb::DescriptorPool::generated_pool()->FindServiceByName(
                std::string(name.substr(0, slash)));
        const pb::MethodDescriptor* method =
            service == nullptr ? nullptr
                               : service->FindMethodByName(std::string(name.substr(slash + 1)));
        if (method != nullptr) return method->input_type();
      }
    }
    return nullptr;
  }

  exp::ServerRpcInfo* info_;
  std::string field_;
};

class UnparsableRequestInterceptorFactory : public exp::ServerInterceptorFactoryInterface {
 public:
  exp::Interceptor* CreateServerInterceptor(exp::ServerRpcInfo* info) override {
    return new UnparsableRequestInterceptor(info);
  }
};

}  // namespace

void InstallProtobufLogHandler() { pb::SetLogHandler(&HandleProtobufLog); }

std::string PathsOfField(const pb::Descriptor* request_type, absl::string_view field_name) {
  std::vector<std::string> paths;
  if (request_type != nullptr) CollectPaths(request_type, field_name, "", 0, paths);
  if (paths.empty()) return std::string(field_name);
  return absl::StrJoin(paths, " or ");
}

std::unique_ptr<exp::ServerInterceptorFactoryInterface> NewUnparsableRequestInterceptorFactory() {
  return std::make_unique<UnparsableRequestInterceptorFactory>();
}

}  // namespace techtrade
