// Where a process finds its TLS certificate, key and CA (common/tls.h makes gRPC credentials of
// them), and the start-up check that they are usable.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace techtrade {

struct TlsFiles {
  std::string ca;    // PEM: the CA whose certificates this process trusts in its peers
  std::string cert;  // PEM: this process's certificate chain (served, and presented as a client)
  std::string key;   // PEM: its private key
  // How often the files are looked at again. A new certificate reaches new connections only;
  // servers age their connections (GrpcServer::Options::max_connection_age) so that it reaches
  // every client.
  absl::Duration refresh = absl::Seconds(10);

  bool enabled() const { return !ca.empty(); }
};

// From TECHTRADE_TLS_CA, TECHTRADE_TLS_CERT, TECHTRADE_TLS_KEY and
// TECHTRADE_TLS_REFRESH_SECONDS: what tools and tests use.
TlsFiles TlsFilesFromEnvironment();

// The TLS files of this process: set by the service bootstrap from its configuration, else
// TlsFilesFromEnvironment().
TlsFiles ProcessTls();
void SetProcessTls(TlsFiles files);

// INVALID_ARGUMENT naming the setting and file when one is unreadable or not PEM, the key does
// not belong to the certificate, or the certificate is not valid under the CA; checked at
// start-up, because gRPC itself would only fail every handshake. OK when TLS is off.
absl::Status CheckTlsFiles(const TlsFiles& files);

// When the first certificate of the PEM text `pem` expires (its notAfter): a chain's leaf, a CA
// file's first CA. INVALID_ARGUMENT when `pem` holds no certificate.
absl::StatusOr<absl::Time> CertificateNotAfter(absl::string_view pem);
// The same for the file at `path`; NOT_FOUND when it cannot be read.
absl::StatusOr<absl::Time> CertificateFileNotAfter(const std::string& path);

}  // namespace techtrade
