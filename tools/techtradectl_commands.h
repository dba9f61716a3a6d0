// techtradectl's commands: each names one RPC and says what it does; the usage and help texts
// built from them and from the request messages' descriptors; the exit codes.
#pragma once

#include <google/protobuf/descriptor.h>
#include <grpcpp/support/status.h>

#include <string>
#include <vector>

namespace techtrade::ctl {

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
  // The call succeeded but its answer could not be printed (e.g. an invalid timestamp in it);
  // re-running the same command is safe (it is the same request, see DeriveRequestId).
  kUnprintable = 9,
};

struct Command {
  std::vector<std::string> words;  // e.g. {"org", "register"}
  // "registry", "listings", "transactions", "fund"; empty: the one named by --service (the
  // operators' services that every consuming service serves).
  std::string service;
  std::string method;  // fully qualified service + method
  std::string help;
};

const std::vector<Command>& Commands();
// The services that serve the commands without a service of their own (--service).
const std::vector<std::string>& DeadLetterServices();

// The method's descriptor from the linked-in generated code, or nullptr.
const google::protobuf::MethodDescriptor* FindMethod(const std::string& full);

std::string Usage();
// What a field flag takes, for help texts and errors ("one of …", "time, RFC 3339 …").
std::string TypeName(const google::protobuf::FieldDescriptor* f);
std::string CommandHelp(const Command& c, const google::protobuf::MethodDescriptor* m);

int ExitFor(grpc::StatusCode code);

}  // namespace techtrade::ctl
