// Certificates made on the spot for tests of what TLS refuses: an expired one, one of a CA nobody
// trusts, a partner's, a rotated server's. Made with OpenSSL's API (EC P-256, like
// deploy/local/lib/pki.sh), written as PEM files.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "common/tls_files.h"

namespace techtrade::testing {

struct CertificateFiles {
  std::string cert;  // PEM certificate
  std::string key;   // PEM private key (PKCS#8), mode 600
};

// The local stack's PKI directory (deploy/local/lib/pki.sh), where its TECHTRADE_TLS_CA is; fails
// the run when the stack's env file was not sourced.
std::string StackPkiDir();
// The stack's certificate for `name` in that directory: a service's, dev's, admin's or an
// onboarded partner's (<name>.crt and <name>.key).
CertificateFiles StackCertificate(const std::string& name);

struct CertificateAuthority {
  CertificateFiles files;

  // The local stack's CA: the TECHTRADE_TLS_CA of the environment and the ca.key beside it.
  static CertificateAuthority OfStack();
  // A new self-signed CA named `name`, written into `dir`.
  static CertificateAuthority SelfSigned(const std::string& name, const std::string& dir);

  // A certificate for `common_name` (server and client use; SANs localhost, 127.0.0.1 and the
  // name), valid from now + `from` to now + `until`, written as `dir`/`file_stem`.{crt,key}.
  CertificateFiles Issue(const std::string& common_name, const std::string& dir,
                         const std::string& file_stem, absl::Duration from = absl::Minutes(-5),
                         absl::Duration until = absl::Hours(24)) const;
};

// A directory laid out as the kubelet mounts a Secret: tls.crt, tls.key and ca.crt are links
// into ..data, itself a link to the current generation, swapped in one rename.
class SecretDir {
 public:
  explicit SecretDir(const std::string& root);
  // Makes a new generation holding `files` and the CA file `ca`, and swaps it in atomically.
  void Publish(const CertificateFiles& files, const std::string& ca);
  std::string ca() const { return root_ + "/ca.crt"; }
  std::string cert() const { return root_ + "/tls.crt"; }
  std::string key() const { return root_ + "/tls.key"; }
  TlsFiles Files(absl::Duration refresh) const {
    return {.ca = ca(), .cert = cert(), .key = key(), .refresh = refresh};
  }

 private:
  std::string root_;
  int generations_ = 0;
};

}  // namespace techtrade::testing
