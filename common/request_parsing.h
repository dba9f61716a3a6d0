// Requests that cannot be parsed. gRPC answers a request whose bytes do not parse (in practice:
// a string field holding invalid UTF-8, which proto3 refuses) with INTERNAL and an empty message,
// before any handler runs. The interceptor here turns that into INVALID_ARGUMENT naming the
// field, which protobuf reports through its log while parsing on the same thread.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace techtrade {

// Routes protobuf's own log lines into the JSON log (common/log.h) and remembers, per thread,
// the last string field protobuf found invalid UTF-8 in. Called by InitProcess().
void InstallProtobufLogHandler();

// The paths inside `request_type` at which a field with the fully qualified name `field_name`
// can be found, e.g. "milestones.title" (no indices: the failed parse does not say which item),
// joined with " or " when the type occurs at several places; `field_name` when none.
std::string PathsOfField(const google::protobuf::Descriptor* request_type,
                         absl::string_view field_name);

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewUnparsableRequestInterceptorFactory();

}  // namespace techtrade
