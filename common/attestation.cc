#include "common/attestation.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/envelope.h"
#include "common/status.h"
#include "google/protobuf/util/time_util.h"

namespace techtrade {
namespace {

using transactions::v1::DealAttestation;

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// Reads a PEM key with `read` (PEM_read_bio_PrivateKey or PEM_read_bio_PUBKEY); it must be
// Ed25519. Returns it with its key id.
template <class Read>
absl::StatusOr<std::pair<Pkey, std::string>> ReadEd25519(absl::string_view pem, Read read,
                                                         absl::string_view what) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  Pkey key(bio != nullptr ? read(bio.get()) : nullptr);
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": not a PEM key"));
  }
  if (EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": not an Ed25519 key"));
  }
  unsigned char raw[32];
  size_t raw_len = sizeof(raw);
  if (EVP_PKEY_get_raw_public_key(key.get(), raw, &raw_len) != 1 || raw_len != sizeof(raw)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": no Ed25519 public key"));
  }
  std::string id = AttestationKeyId(absl::string_view(reinterpret_cast<char*>(raw), raw_len));
  return std::make_pair(std::move(key), std::move(id));
}

std::string Position(size_t index, const common::v1::EventEnvelope* event) {
  if (event == nullptr) return absl::StrCat("event ", index + 1);
  return absl::StrCat("event ", index + 1, " (sequence ", event->sequence(), ")");
}

absl::Status At(std::string position, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(position, ": ", problem));
}

}  // namespace

std::string AttestationSigningBytes(const DealAttestation& a) {
  return absl::StrCat("techtrade.deal-attestation.v1\n", "deal_id=", a.deal_id(), "\n",
                      "first_sequence=", a.first_sequence(), "\n", "sequence=", a.sequence(), "\n",
                      "head_hash=", absl::BytesToHexString(a.head_hash()), "\n",
                      "attested_at=", google::protobuf::util::TimeUtil::ToString(a.attested_at()),
                      "\n", "key_id=", a.key_id(), "\n");
}

std::string AttestationKeyId(absl::string_view raw_public_key) {
  return absl::BytesToHexString(EnvelopeHash(raw_public_key)).substr(0, 16);
}

struct AttestationSigner::Key {
  Pkey pkey;
};

AttestationSigner::AttestationSigner(std::unique_ptr<Key> key, std::string key_id)
    : key_(std::move(key)), key_id_(std::move(key_id)) {}
AttestationSigner::~AttestationSigner() = default;

absl::StatusOr<std::unique_ptr<AttestationSigner>> AttestationSigner::FromPem(
    absl::string_view pem) {
  TT_ASSIGN_OR_RETURN(
      auto read,
      ReadEd25519(
          pem, [](BIO* bio) { return PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr); },
          "attestation key"));
  auto key = std::make_unique<Key>();
  key->pkey = std::move(read.first);
  return std::unique_ptr<AttestationSigner>(
      new AttestationSigner(std::move(key), std::move(read.second)));
}

absl::Status AttestationSigner::Sign(DealAttestation& attestation) const {
  attestation.set_key_id(key_id_);
  attestation.clear_signature();
  const std::string message = AttestationSigningBytes(attestation);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char signature[64];
  size_t length = sizeof(signature);
  // Ed25519 is one-shot: no digest, the whole message in one call.
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), signature, &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return absl::InternalError("attestation: signing failed");
  }
  attestation.set_signature(std::string(reinterpret_cast<char*>(signature), length));
  return absl::OkStatus();
}

struct AttestationVerifier::Key {
  Pkey pkey;
};

AttestationVerifier::AttestationVerifier(std::unique_ptr<Key> key, std::string key_id)
    : key_(std::move(key)), key_id_(std::move(key_id)) {}
AttestationVerifier::~AttestationVerifier() = default;

absl::StatusOr<std::unique_ptr<AttestationVerifier>> AttestationVerifier::FromPem(
    absl::string_view pem) {
  TT_ASSIGN_OR_RETURN(
      auto read,
      ReadEd25519(
          pem, [](BIO* bio) { return PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr); },
          "public key"));
  auto key = std::make_unique<Key>();
  key->pkey = std::move(read.first);
  return std::unique_ptr<AttestationVerifier>(
      new AttestationVerifier(std::move(key), std::move(read.second)));
}

absl::Status AttestationVerifier::CheckSignature(const DealAttestation& attestation) const {
  if (attestation.key_id() != key_id_) {
    return absl::InvalidArgumentError(absl::StrCat("attestation: signed with key '",
                                                   attestation.key_id(), "', not the given key '",
                                                   key_id_, "'"));
  }
  const std::string message = AttestationSigningBytes(attestation);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  const std::string& signature = attestation.signature();
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey.get()) != 1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("attestation: the signature does not verify with key '", key_id_, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<StreamVerification> VerifyDealStream(std::span<const std::string> envelopes,
                                                    const DealAttestation& attestation,
                                                    const AttestationVerifier& key) {
  TT_RETURN_IF_ERROR(key.CheckSignature(attestation));
  const int64_t first = attestation.first_sequence(), head = attestation.sequence();
  if (first < 1 || head < first) {
    return absl::InvalidArgumentError("attestation: sequences out of range");
  }
  StreamVerification result;
  int64_t expected = first;
  std::string previous_hash;                           // of the last covered event
  absl::flat_hash_map<std::string, std::string> seen;  // event id → hash of its bytes
  for (size_t i = 0; i < envelopes.size(); ++i) {
    absl::StatusOr<common::v1::EventEnvelope> event = DecodeEnvelope(envelopes[i]);
    if (!event.ok()) return At(Position(i, nullptr), event.status().message());
    const std::string position = Position(i, &*event);
    if (event->aggregate_type() != "deal" || event->aggregate_id() != attestation.deal_id()) {
      return At(position, absl::StrCat("of ", event->aggregate_type(), " ", event->aggregate_id(),
                                       ", not of deal ", attestation.deal_id()));
    }
    const std::string hash = EnvelopeHash(envelopes[i]);
    if (auto [it, first_time] = seen.try_emplace(event->event_id(), hash); !first_time) {
      if (it->second != hash) {
        return At(position, absl::StrCat("event_id ", event->event_id(),
                                         " was read before with other content: altered"));
      }
      ++result.redeliveries;
      continue;
    }
    if (expected > head) {
      ++result.after_head;  // past the signed head: chained later, not covered
      continue;
    }
    if (expected == first && event->sequence() < first) {
      ++result.before_chain;
      continue;
    }
    if (event->sequence() != expected) {
      return At(position, absl::StrCat("expected sequence ", expected,
                                       ": an event is missing or out of order"));
    }
    if (expected == first) {
      if (!event->previous_event_hash().empty()) {
        return At(position, "the chain's first event names a previous event");
      }
    } else if (event->previous_event_hash() != previous_hash) {
      return At(absl::StrCat("event ", i, " (sequence ", expected - 1, ")"),
                absl::StrCat("does not hash to the previous_event_hash of ", position,
                             ": one of the two was altered"));
    }
    previous_hash = hash;
    if (expected == head && previous_hash != attestation.head_hash()) {
      return At(position, "does not hash to the attested head_hash: altered");
    }
    ++result.covered;
    ++expected;
  }
  if (expected <= head) {
    return At(
        absl::StrCat("event ", envelopes.size() + 1, " (sequence ", expected, ")"),
        absl::StrCat("missing: the stream ends before the attested head (sequence ", head, ")"));
  }
  return result;
}

}  // namespace techtrade
