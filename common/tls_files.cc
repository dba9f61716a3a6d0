#include "common/tls_files.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace techtrade {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

std::mutex process_tls_mutex;
std::optional<TlsFiles> process_tls;  // guarded by process_tls_mutex

struct BioCloser {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Closer {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyCloser {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct StoreCloser {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct StoreContextCloser {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};

absl::Status FileError(absl::string_view setting, const std::string& path,
                       absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(setting, ": ", path, ": ", problem));
}

std::unique_ptr<BIO, BioCloser> OpenFile(const std::string& path) {
  return std::unique_ptr<BIO, BioCloser>(BIO_new_file(path.c_str(), "r"));
}

}  // namespace

TlsFiles TlsFilesFromEnvironment() {
  TlsFiles files{.ca = Env("TECHTRADE_TLS_CA"),
                 .cert = Env("TECHTRADE_TLS_CERT"),
                 .key = Env("TECHTRADE_TLS_KEY")};
  int seconds = 0;
  if (absl::SimpleAtoi(Env("TECHTRADE_TLS_REFRESH_SECONDS"), &seconds) && seconds > 0) {
    files.refresh = absl::Seconds(seconds);
  }
  return files;
}

TlsFiles ProcessTls() {
  std::lock_guard lock(process_tls_mutex);
  if (!process_tls.has_value()) process_tls = TlsFilesFromEnvironment();
  return *process_tls;
}

void SetProcessTls(TlsFiles files) {
  std::lock_guard lock(process_tls_mutex);
  process_tls = std::move(files);
}

absl::Status CheckTlsFiles(const TlsFiles& files) {
  if (!files.enabled()) return absl::OkStatus();
  if (files.cert.empty()) {
    return absl::InvalidArgumentError("TECHTRADE_TLS_CERT: required with TECHTRADE_TLS_CA");
  }
  if (files.key.empty()) {
    return absl::InvalidArgumentError("TECHTRADE_TLS_KEY: required with TECHTRADE_TLS_CA");
  }
  std::unique_ptr<X509_STORE, StoreCloser> store(X509_STORE_new());
  {
    auto bio = OpenFile(files.ca);
    if (bio == nullptr) return FileError("TECHTRADE_TLS_CA", files.ca, "cannot be read");
    int loaded = 0;
    while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(store.get(), ca);
      X509_free(ca);
      ++loaded;
    }
    if (loaded == 0) return FileError("TECHTRADE_TLS_CA", files.ca, "holds no PEM certificate");
  }
  std::unique_ptr<X509, X509Closer> cert;
  {
    auto bio = OpenFile(files.cert);
    if (bio == nullptr) return FileError("TECHTRADE_TLS_CERT", files.cert, "cannot be read");
    cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr)
      return FileError("TECHTRADE_TLS_CERT", files.cert, "holds no PEM certificate");
  }
  {
    auto bio = OpenFile(files.key);
    if (bio == nullptr) return FileError("TECHTRADE_TLS_KEY", files.key, "cannot be read");
    std::unique_ptr<EVP_PKEY, KeyCloser> key(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (key == nullptr)
      return FileError("TECHTRADE_TLS_KEY", files.key, "holds no PEM private key");
    if (X509_check_private_key(cert.get(), key.get()) != 1) {
      return FileError("TECHTRADE_TLS_KEY", files.key,
                       absl::StrCat("does not belong to the certificate in ", files.cert));
    }
  }
  std::unique_ptr<X509_STORE_CTX, StoreContextCloser> context(X509_STORE_CTX_new());
  X509_STORE_CTX_init(context.get(), store.get(), cert.get(), nullptr);
  if (X509_verify_cert(context.get()) != 1) {
    return FileError(
        "TECHTRADE_TLS_CERT", files.cert,
        absl::StrCat("not valid under the CA in ", files.ca, ": ",
                     X509_verify_cert_error_string(X509_STORE_CTX_get_error(context.get()))));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> CertificateNotAfter(absl::string_view pem) {
  std::unique_ptr<BIO, BioCloser> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<X509, X509Closer> cert(
      bio == nullptr ? nullptr : PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) return absl::InvalidArgumentError("no PEM certificate");
  std::tm not_after{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &not_after) != 1) {
    return absl::InvalidArgumentError("the certificate's notAfter is not a time");
  }
  return absl::FromTimeT(timegm(&not_after));
}

absl::StatusOr<absl::Time> CertificateFileNotAfter(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot be read"));
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  absl::StatusOr<absl::Time> not_after = CertificateNotAfter(pem);
  if (!not_after.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", not_after.status().message()));
  }
  return not_after;
}

}  // namespace techtrade
