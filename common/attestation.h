// Signed deal attestation (交易鉴证; docs/partners.md, "Verifying a deal's stream"): the platform
// signs a deal's event-chain head with its Ed25519 attestation key, and anyone holding the public
// key checks a deal's events, as raw envelope bytes in stream order, against it offline. Pure: the
// keys come in as PEM text, the events as bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade {

// The bytes an attestation's signature covers, one "name=value" line per field after a
// domain-separating first line, each line ending in "\n":
//   techtrade.deal-attestation.v1
//   deal_id=<deal id>
//   first_sequence=<decimal>
//   sequence=<decimal>
//   head_hash=<64 lowercase hex digits>
//   attested_at=<RFC 3339, UTC, as protobuf's JSON mapping prints it>
//   key_id=<key id>
std::string AttestationSigningBytes(const transactions::v1::DealAttestation& attestation);

// The first 16 lowercase hex digits of SHA-256 of an Ed25519 raw 32-byte public key.
std::string AttestationKeyId(absl::string_view raw_public_key);

// The platform's signing key.
class AttestationSigner {
 public:
  // From a PKCS#8 PEM Ed25519 private key (openssl genpkey -algorithm ed25519).
  static absl::StatusOr<std::unique_ptr<AttestationSigner>> FromPem(absl::string_view pem);
  ~AttestationSigner();

  const std::string& key_id() const { return key_id_; }
  // Fills key_id and signature of `attestation` (its other fields set).
  absl::Status Sign(transactions::v1::DealAttestation& attestation) const;

 private:
  struct Key;
  AttestationSigner(std::unique_ptr<Key> key, std::string key_id);
  std::unique_ptr<Key> key_;
  std::string key_id_;
};

// The public key a verifier holds.
class AttestationVerifier {
 public:
  // From an SPKI PEM Ed25519 public key (openssl pkey -pubout).
  static absl::StatusOr<std::unique_ptr<AttestationVerifier>> FromPem(absl::string_view pem);
  ~AttestationVerifier();

  const std::string& key_id() const { return key_id_; }
  // OK if `attestation` names this key and its signature verifies; else INVALID_ARGUMENT
  // starting "attestation: ".
  absl::Status CheckSignature(const transactions::v1::DealAttestation& attestation) const;

 private:
  struct Key;
  AttestationVerifier(std::unique_ptr<Key> key, std::string key_id);
  std::unique_ptr<Key> key_;
  std::string key_id_;
};

struct StreamVerification {
  int64_t covered = 0;       // events from first_sequence to the head, all verified
  int64_t before_chain = 0;  // earlier events of a deal opened before events were chained
  int64_t after_head = 0;    // later events, not covered by this attestation
  // Copies of an event already read (the same event id and the same bytes): delivery is at least
  // once, so a stream may hold them, and they are skipped.
  int64_t redeliveries = 0;
};

// Checks one deal's events — `envelopes`, the raw Kafka values in stream order — against
// `attestation` and the platform's public key: the signature; each event decodes, is of the
// attested deal (a redelivered copy, byte for byte, is skipped; the same event id with other bytes
// fails), and sequences run first_sequence, first_sequence + 1, … without gaps; each
// event's previous_event_hash is the SHA-256 of the previous event's bytes (empty on the chain's
// first); the event at the attested sequence hashes to head_hash. Any altered, missing or
// reordered event fails with INVALID_ARGUMENT naming its position in `envelopes`, from 1:
// "event 3 (sequence 3): …". Events before first_sequence (a deal opened before events were
// chained) and after the head are counted, not verified.
absl::StatusOr<StreamVerification> VerifyDealStream(
    std::span<const std::string> envelopes, const transactions::v1::DealAttestation& attestation,
    const AttestationVerifier& key);

}  // namespace techtrade
