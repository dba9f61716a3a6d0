// A certificate's expiry read from its PEM text and file (common/tls_files.h), and the gauge that
// exports it (common/metrics.h), on certificates made here with OpenSSL.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "common/tls_files.h"

namespace techtrade {
namespace {

// A self-signed EC P-256 certificate for `common_name` valid until `not_after`, as PEM.
std::string SelfSignedPem(const std::string& common_name, absl::Time not_after) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  ASN1_TIME_set(X509_getm_notBefore(cert), absl::ToTimeT(not_after - absl::Hours(24 * 90)));
  ASN1_TIME_set(X509_getm_notAfter(cert), absl::ToTimeT(not_after));
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert, name);
  X509_set_pubkey(cert, key);
  X509_sign(cert, key, EVP_sha256());
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(out, cert);
  char* data = nullptr;
  long size = BIO_get_mem_data(out, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(out);
  X509_free(cert);
  EVP_PKEY_free(key);
  return pem;
}

absl::Time At(int year, int month, int day, int hour, int minute, int second) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second),
                         absl::UTCTimeZone());
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/certificate_expiry_test." +
         std::to_string(getpid()) + "." + name;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

TEST(CertificateNotAfterTest, ReadsTheFirstCertificatesNotAfter) {
  const absl::Time leaf = At(2027, 3, 14, 15, 9, 26);
  const absl::Time ca = At(2036, 1, 1, 0, 0, 0);
  // A chain: the leaf first, then its CA.
  absl::StatusOr<absl::Time> not_after =
      CertificateNotAfter(SelfSignedPem("listings", leaf) + SelfSignedPem("techtrade CA", ca));
  ASSERT_TRUE(not_after.ok()) << not_after.status();
  EXPECT_EQ(*not_after, leaf);
  // Beyond 2049 X.509 writes a GeneralizedTime instead of a UTCTime.
  const absl::Time far = At(2051, 6, 30, 12, 0, 0);
  not_after = CertificateNotAfter(SelfSignedPem("far", far));
  ASSERT_TRUE(not_after.ok()) << not_after.status();
  EXPECT_EQ(*not_after, far);
}

TEST(CertificateNotAfterTest, RefusesWhatHoldsNoCertificate) {
  EXPECT_EQ(CertificateNotAfter("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CertificateNotAfter("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CertificateFileNotAfter(TempPath("absent")).status().code(),
            absl::StatusCode::kNotFound);
}

std::map<std::string, double> ExpirySeries(Metrics& metrics) {
  std::map<std::string, double> series;
  for (const prometheus::MetricFamily& family : metrics.registry().Collect()) {
    if (family.name != "techtrade_tls_certificate_expiry_timestamp_seconds") continue;
    for (const prometheus::ClientMetric& m : family.metric) {
      std::map<std::string, std::string> labels;
      for (const prometheus::ClientMetric::Label& l : m.label) labels[l.name] = l.value;
      EXPECT_EQ(labels["service"], "fund");
      series[labels["certificate"]] = m.gauge.value;
    }
  }
  return series;
}

TEST(CertificateExpiryGaugeTest, ShowsTheRotatedFilesDateAtTheNextRefresh) {
  const std::string server = TempPath("tls.crt"), ca = TempPath("ca.crt");
  const absl::Time first = At(2027, 1, 10, 8, 0, 0), renewed = At(2027, 4, 10, 8, 0, 0);
  const absl::Time ca_expiry = At(2036, 1, 1, 0, 0, 0);
  WriteFile(server, SelfSignedPem("fund", first));
  WriteFile(ca, SelfSignedPem("techtrade CA", ca_expiry));
  Metrics metrics("fund");
  CertificateExpiryGauge gauge(metrics, {{"server", server}, {"ca", ca}});
  EXPECT_TRUE(ExpirySeries(metrics).empty());  // nothing until the files were read

  ASSERT_TRUE(gauge.Refresh().ok());
  EXPECT_EQ(ExpirySeries(metrics),
            (std::map<std::string, double>{{"server", absl::ToUnixSeconds(first)},
                                           {"ca", absl::ToUnixSeconds(ca_expiry)}}));

  // cert-manager renewed the Secret; the mounted file changes under the running process.
  WriteFile(server, SelfSignedPem("fund", renewed));
  ASSERT_TRUE(gauge.Refresh().ok());
  EXPECT_EQ(ExpirySeries(metrics)["server"], absl::ToUnixSeconds(renewed));

  // A file caught half-written keeps the last figure, as gRPC keeps the last certificate.
  WriteFile(server, "-----BEGIN CERTIFICATE-----\n");
  absl::Status refreshed = gauge.Refresh();
  EXPECT_FALSE(refreshed.ok());
  EXPECT_NE(refreshed.message().find("server"), absl::string_view::npos) << refreshed;
  EXPECT_EQ(ExpirySeries(metrics)["server"], absl::ToUnixSeconds(renewed));
  EXPECT_EQ(ExpirySeries(metrics)["ca"], absl::ToUnixSeconds(ca_expiry));
  std::remove(server.c_str());
  std::remove(ca.c_str());
}

}  // namespace
}  // namespace techtrade
