// Transport security of every gRPC server and channel: mutual TLS with certificates re-read when
// their files change, so that a rotated Secret (cert-manager) takes effect without a restart
// (docs/security.md). Without a CA file everything stays plaintext, for tests of what refuses it.
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_context.h>

#include <memory>
#include <string>

#include "common/tls_files.h"

namespace techtrade {

// A server that requires and verifies a client certificate signed by `files.ca`; plaintext when
// TLS is off.
std::shared_ptr<grpc::ServerCredentials> ServerCredentialsFor(const TlsFiles& files);
// A channel that verifies the server's certificate (against `files.ca`, for the host name of the
// target) and presents this process's (none when `files.cert` is empty); plaintext when TLS is
// off.
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(const TlsFiles& files);

// The common name of the calling peer's verified certificate; empty on a plaintext connection.
std::string PeerCommonName(const grpc::ServerContext& context);

}  // namespace techtrade
