// A fresh Ed25519 key pair as PEM, for tests of the deal attestation (common/attestation.h).
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>
#include <utility>

namespace techtrade::testing {

struct AttestationKeyPair {
  std::string private_pem;
  std::string public_pem;
};

inline AttestationKeyPair NewAttestationKeyPair() {
  EVP_PKEY* key = nullptr;
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr), &EVP_PKEY_CTX_free);
  EVP_PKEY_keygen_init(ctx.get());
  EVP_PKEY_keygen(ctx.get(), &key);
  auto pem = [&](bool is_private) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    if (is_private) {
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    } else {
      PEM_write_bio_PUBKEY(bio.get(), key);
    }
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(size));
  };
  AttestationKeyPair pair{pem(true), pem(false)};
  EVP_PKEY_free(key);
  return pair;
}

}  // namespace techtrade::testing
