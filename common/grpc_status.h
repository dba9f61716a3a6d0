// The edge of the error model: absl::Status (common/status.h) to and from the gRPC status, in one
// place for the server (RpcRunner) and for the clients of other techtrade services.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/status.h"

namespace techtrade {

// Maps an absl::Status onto the gRPC status with the same code and message (the codes coincide),
// the message bounded by kMaxStatusMessageBytes.
grpc::Status ToGrpcStatus(const absl::Status& status);
// The converse, for answers of another techtrade service: its code and message, except that a
// service that cannot be reached (or answered too late) is UNAVAILABLE naming `peer`.
absl::Status StatusFromGrpc(const grpc::Status& status, absl::string_view peer);

}  // namespace techtrade
