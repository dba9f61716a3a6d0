// How one service calls another.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/tls.h"

namespace techtrade {

// The channel to another techtrade service at `address` (host:port, or a gRPC target such as
// dns:///registry-pods:50051). Round robin over every address the name resolves to: behind a
// headless Kubernetes Service (k8s/) that is every ready replica, so a caller's calls spread over
// them instead of all riding its first connection.
// Over TLS when the process has TLS files (common/tls.h ProcessTls), presenting its certificate.
std::shared_ptr<grpc::Channel> ServiceChannel(const std::string& address);
// The same with the given TLS files (tests that try other certificates, or none).
std::shared_ptr<grpc::Channel> ServiceChannel(const std::string& address, const TlsFiles& tls);

// The one way an outbound call carries its credential: `api_key` as "authorization: Bearer
// <key>" (what every techtrade service reads first, common/auth.h), and the call's deadline.
void SetCallCredentials(grpc::ClientContext& context, absl::string_view api_key,
                        absl::Duration deadline);

}  // namespace techtrade
