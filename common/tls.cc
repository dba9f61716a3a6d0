#include "common/tls.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <algorithm>
#include <vector>

namespace techtrade {
namespace {

namespace gx = grpc::experimental;

// Without a certificate, a client that only verifies its servers.
std::shared_ptr<gx::FileWatcherCertificateProvider> ProviderFor(const TlsFiles& files) {
  const auto refresh =
      static_cast<unsigned>(std::max<int64_t>(1, absl::ToInt64Seconds(files.refresh)));
  if (files.cert.empty()) {
    return std::make_shared<gx::FileWatcherCertificateProvider>(files.ca, refresh);
  }
  return std::make_shared<gx::FileWatcherCertificateProvider>(files.key, files.cert, files.ca,
                                                              refresh);
}

}  // namespace

std::shared_ptr<grpc::ServerCredentials> ServerCredentialsFor(const TlsFiles& files) {
  if (!files.enabled()) return grpc::InsecureServerCredentials();
  gx::TlsServerCredentialsOptions options(ProviderFor(files));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  return gx::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(const TlsFiles& files) {
  if (!files.enabled()) return grpc::InsecureChannelCredentials();
  gx::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(ProviderFor(files));
  options.watch_root_certs();
  if (!files.cert.empty()) options.watch_identity_key_cert_pairs();
  return gx::TlsCredentials(options);
}

std::string PeerCommonName(const grpc::ServerContext& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return std::string();
  std::vector<grpc::string_ref> names = auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
  if (names.empty()) return std::string();
  return std::string(names.front().data(), names.front().size());
}

}  // namespace techtrade
