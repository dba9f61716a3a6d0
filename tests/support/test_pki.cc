#include "tests/support/test_pki.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>

#include "absl/strings/str_cat.h"

namespace techtrade::testing {
namespace {

struct KeyCloser {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Closer {
  void operator()(X509* x) const { X509_free(x); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyCloser>;
using Cert = std::unique_ptr<X509, X509Closer>;

void Check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("test pki: " + what);
}

Key NewKey() {
  Key key(EVP_EC_gen("P-256"));
  Check(key != nullptr, "EC key generation");
  return key;
}

Key ReadKey(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  Check(f != nullptr, "cannot open " + path);
  Key key(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  Check(key != nullptr, "no private key in " + path);
  return key;
}

Cert ReadCert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  Check(f != nullptr, "cannot open " + path);
  Cert cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  Check(cert != nullptr, "no certificate in " + path);
  return cert;
}

void Write(const std::string& path, const std::function<int(FILE*)>& write) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  Check(f != nullptr, "cannot write " + tmp);
  chmod(tmp.c_str(), 0600);
  const bool ok = write(f) == 1;
  std::fclose(f);
  Check(ok, "writing " + path);
  Check(std::rename(tmp.c_str(), path.c_str()) == 0, "renaming to " + path);
}

void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  Check(ext != nullptr, "extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate of `subject_key` named `common_name`, signed by `issuer_key` (self-signed when
// `issuer` is null).
Cert Sign(EVP_PKEY* subject_key, const std::string& common_name, X509* issuer, EVP_PKEY* issuer_key,
          absl::Duration from, absl::Duration until, bool ca) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), absl::ToInt64Seconds(from));
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), absl::ToInt64Seconds(until));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("techtrade-test"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(cert.get(), subject_key);
  X509* issuer_cert = issuer != nullptr ? issuer : cert.get();
  if (ca) {
    AddExtension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(cert.get(), issuer_cert, NID_key_usage,
                 "critical,digitalSignature,keyEncipherment");
    AddExtension(cert.get(), issuer_cert, NID_ext_key_usage, "serverAuth,clientAuth");
    AddExtension(cert.get(), issuer_cert, NID_subject_alt_name,
                 absl::StrCat("DNS:localhost,IP:127.0.0.1,DNS:", common_name));
  }
  Check(X509_sign(cert.get(), issuer_key, EVP_sha256()) > 0, "signing " + common_name);
  return cert;
}

CertificateFiles WriteFiles(const std::string& dir, const std::string& stem, EVP_PKEY* key,
                            X509* cert) {
  CertificateFiles files{.cert = absl::StrCat(dir, "/", stem, ".crt"),
                         .key = absl::StrCat(dir, "/", stem, ".key")};
  Write(files.key, [&](FILE* f) {
    return PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
  Write(files.cert, [&](FILE* f) { return PEM_write_X509(f, cert); });
  return files;
}

}  // namespace

std::string StackPkiDir() {
  const char* ca = std::getenv("TECHTRADE_TLS_CA");
  Check(ca != nullptr && *ca != '\0', "TECHTRADE_TLS_CA is not set (source the stack's env file)");
  const std::string cert(ca);
  return cert.substr(0, cert.rfind('/'));
}

CertificateFiles StackCertificate(const std::string& name) {
  const std::string dir = StackPkiDir();
  return CertificateFiles{.cert = absl::StrCat(dir, "/", name, ".crt"),
                          .key = absl::StrCat(dir, "/", name, ".key")};
}

CertificateAuthority CertificateAuthority::OfStack() {
  return CertificateAuthority{
      {.cert = std::getenv("TECHTRADE_TLS_CA"), .key = absl::StrCat(StackPkiDir(), "/ca.key")}};
}

CertificateAuthority CertificateAuthority::SelfSigned(const std::string& name,
                                                      const std::string& dir) {
  Key key = NewKey();
  Cert cert = Sign(key.get(), name, nullptr, key.get(), absl::Minutes(-5), absl::Hours(24 * 30),
                   /*ca=*/true);
  return CertificateAuthority{WriteFiles(dir, name, key.get(), cert.get())};
}

CertificateFiles CertificateAuthority::Issue(const std::string& common_name, const std::string& dir,
                                             const std::string& file_stem, absl::Duration from,
                                             absl::Duration until) const {
  Key ca_key = ReadKey(files.key);
  Cert ca_cert = ReadCert(files.cert);
  Key key = NewKey();
  Cert cert = Sign(key.get(), common_name, ca_cert.get(), ca_key.get(), from, until, false);
  return WriteFiles(dir, file_stem, key.get(), cert.get());
}

SecretDir::SecretDir(const std::string& root) : root_(root) {
  std::filesystem::create_directories(root_);
  for (const char* name : {"tls.crt", "tls.key", "ca.crt"}) {
    std::filesystem::create_symlink(absl::StrCat("..data/", name), absl::StrCat(root_, "/", name));
  }
}

void SecretDir::Publish(const CertificateFiles& files, const std::string& ca) {
  const std::string generation = absl::StrCat("..gen", ++generations_);
  const std::string dir = absl::StrCat(root_, "/", generation);
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(files.cert, dir + "/tls.crt");
  std::filesystem::copy_file(files.key, dir + "/tls.key");
  std::filesystem::copy_file(ca, dir + "/ca.crt");
  const std::string next = root_ + "/..data_next";
  std::filesystem::create_symlink(generation, next);
  std::filesystem::rename(next, root_ + "/..data");
}

}  // namespace techtrade::testing
