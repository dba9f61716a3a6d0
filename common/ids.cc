#include "common/ids.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "absl/strings/escaping.h"

namespace techtrade {
namespace {

std::string Hex(const unsigned char* data, size_t size) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(data), size));
}

// Cryptographically strong random bytes. OpenSSL's generator costs a few microseconds per call
// whatever the size (its per-thread DRBG is looked up and locked each time), so each thread draws
// 4 KiB at a time and hands the bytes out once each, wiping what it handed out.
void FillRandom(unsigned char* out, size_t size) {
  constexpr size_t kBuffer = 4096;
  thread_local std::array<unsigned char, kBuffer> buffer;
  thread_local size_t used = kBuffer;
  while (size > 0) {
    if (used == kBuffer) {
      if (RAND_bytes(buffer.data(), static_cast<int>(kBuffer)) != 1) {
        throw std::runtime_error("RAND_bytes failed");
      }
      used = 0;
    }
    const size_t n = std::min(size, kBuffer - used);
    std::memcpy(out, buffer.data() + used, n);
    OPENSSL_cleanse(buffer.data() + used, n);
    used += n;
    out += n;
    size -= n;
  }
}

}  // namespace

std::string NewUuid() {
  std::array<unsigned char, 16> b;
  FillRandom(b.data(), b.size());
  b[6] = (b[6] & 0x0f) | 0x40;  // version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
  std::string hex = Hex(b.data(), b.size());
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

std::string RandomHex(int bytes) {
  std::vector<unsigned char> b(static_cast<size_t>(bytes));
  FillRandom(b.data(), b.size());
  return Hex(b.data(), b.size());
}

std::string Sha256Hex(absl::string_view data) {
  // OpenSSL 3's one-shot SHA256() looks the algorithm up in its provider tables on every call,
  // which costs more than hashing a request; fetched once, with a context per thread.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct ContextDeleter {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, ContextDeleter> context(EVP_MD_CTX_new());
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest;
  unsigned int size = 0;
  if (sha256 == nullptr || context == nullptr ||
      EVP_DigestInit_ex2(context.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), digest.data(), &size) != 1 || size != digest.size()) {
    throw std::runtime_error("SHA-256 failed");
  }
  return Hex(digest.data(), digest.size());
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace techtrade
