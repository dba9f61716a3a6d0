// How one service calls another.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace techtrade {

// The channel to another techtrade service at `address` (host:port, or a gRPC target such as
// dns:///registry-pods:50051). Round robin over every address the name resolves to: behind a
// headless Kubernetes Service (k8s/) that is every ready replica, so a caller's calls spread over
// them instead of all riding its first connection.
std::shared_ptr<grpc::Channel> ServiceChannel(const std::string& address);

}  // namespace techtrade
