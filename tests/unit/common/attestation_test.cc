// The offline verifier of a deal's stream against its signed attestation (common/attestation.h):
// the full stream verifies; any altered, missing or reordered event, a wrong key or a wrong head
// fails, naming the position.
#include "common/attestation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/envelope.h"
#include "common/ids.h"
#include "google/protobuf/util/time_util.h"
#include "tests/support/attestation_keys.h"

namespace techtrade {
namespace {

using ::testing::HasSubstr;
namespace tv1 = techtrade::transactions::v1;

constexpr int kEvents = 6;

class AttestationTest : public ::testing::Test {
 protected:
  AttestationTest() {
    testing::AttestationKeyPair keys = testing::NewAttestationKeyPair();
    signer_ = *AttestationSigner::FromPem(keys.private_pem);
    verifier_ = *AttestationVerifier::FromPem(keys.public_pem);
    deal_id_ = NewUuid();
    std::string previous;
    for (int sequence = 1; sequence <= kEvents; ++sequence) {
      tv1::DealOpened payload;
      payload.mutable_deal()->set_id(deal_id_);
      payload.mutable_deal()->set_version(sequence);
      std::string bytes = BuildEnvelope("transactions",
                                        {.aggregate_type = "deal",
                                         .aggregate_id = deal_id_,
                                         .sequence = sequence,
                                         .payload = &payload,
                                         .previous_event_hash = previous},
                                        1'700'000'000'000'000 + sequence)
                              .SerializeAsString();
      previous = EnvelopeHash(bytes);
      stream_.push_back(std::move(bytes));
    }
    attestation_ = Attest(previous, kEvents);
  }

  tv1::DealAttestation Attest(const std::string& head, int64_t sequence) {
    tv1::DealAttestation a;
    a.set_deal_id(deal_id_);
    a.set_first_sequence(1);
    a.set_sequence(sequence);
    a.set_head_hash(head);
    *a.mutable_attested_at() = google::protobuf::util::TimeUtil::GetCurrentTime();
    EXPECT_TRUE(signer_->Sign(a).ok());
    return a;
  }

  absl::StatusOr<StreamVerification> Verify(const std::vector<std::string>& stream) {
    return VerifyDealStream(stream, attestation_, *verifier_);
  }

  // The position as VerifyDealStream names it: "event 3 (" or "event 3's".
  static std::string At(size_t position) { return absl::StrCat("event ", position, " ("); }

  std::unique_ptr<AttestationSigner> signer_;
  std::unique_ptr<AttestationVerifier> verifier_;
  std::string deal_id_;
  std::vector<std::string> stream_;
  tv1::DealAttestation attestation_;
};

TEST_F(AttestationTest, TheFullStreamVerifies) {
  absl::StatusOr<StreamVerification> result = Verify(stream_);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->covered, kEvents);
  EXPECT_EQ(result->after_head, 0);
  EXPECT_EQ(attestation_.key_id(), verifier_->key_id());
  EXPECT_EQ(attestation_.key_id().size(), 16u);
}

// The relay publishes at least once: after a crash between the broker's acknowledgement and the
// row's delete it sends rows again, so a partner's stream may hold 1..5, 4, 5, 6, 7.
TEST_F(AttestationTest, RedeliveredCopiesAreSkipped) {
  std::vector<std::string> stream(stream_.begin(), stream_.begin() + 5);
  stream.push_back(stream_[3]);
  stream.push_back(stream_[4]);
  stream.insert(stream.end(), stream_.begin() + 5, stream_.end());
  absl::StatusOr<StreamVerification> result = Verify(stream);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->covered, kEvents);
  EXPECT_EQ(result->redeliveries, 2);
}

TEST_F(AttestationTest, TheSameEventIdWithOtherContentFails) {
  common::v1::EventEnvelope copy = *DecodeEnvelope(stream_[2]);
  copy.set_causation_request_id("forged");
  std::vector<std::string> stream = stream_;
  stream.insert(stream.begin() + 4, copy.SerializeAsString());
  absl::StatusOr<StreamVerification> result = Verify(stream);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr(At(5)));
  EXPECT_THAT(result.status().message(), HasSubstr("read before with other content"));
}

TEST_F(AttestationTest, FlippingAnyByteOfAnyEventFailsNamingIt) {
  for (size_t event = 0; event < stream_.size(); ++event) {
    for (size_t byte = 0; byte < stream_[event].size(); ++byte) {
      std::vector<std::string> stream = stream_;
      stream[event][byte] = static_cast<char>(stream[event][byte] ^ 0x01);
      absl::StatusOr<StreamVerification> result = Verify(stream);
      ASSERT_FALSE(result.ok()) << "event " << event + 1 << " byte " << byte;
      EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
      // The altered event, or (for a flip in its link) the one it links to, is named.
      const std::string message(result.status().message());
      EXPECT_TRUE(absl::StrContains(message, absl::StrCat("event ", event + 1, " ")) ||
                  absl::StrContains(message, absl::StrCat("event ", event + 1, ":")) ||
                  absl::StrContains(message, At(event)))
          << "event " << event + 1 << " byte " << byte << ": " << message;
    }
  }
}

TEST_F(AttestationTest, DroppingAnyEventFailsNamingThePosition) {
  for (size_t dropped = 0; dropped < stream_.size(); ++dropped) {
    std::vector<std::string> stream = stream_;
    stream.erase(stream.begin() + static_cast<std::ptrdiff_t>(dropped));
    absl::StatusOr<StreamVerification> result = Verify(stream);
    ASSERT_FALSE(result.ok()) << "dropped " << dropped + 1;
    // The event now at the dropped one's position is out of sequence; past the end, the
    // dropped one itself is missing.
    const bool last = dropped + 1 == stream_.size();
    EXPECT_THAT(
        result.status().message(),
        HasSubstr(absl::StrCat(At(dropped + 1), "sequence ", last ? dropped + 1 : dropped + 2,
                               last ? "): missing" : "): expected sequence")))
        << "dropped " << dropped + 1;
  }
}

TEST_F(AttestationTest, SwappingAnyTwoAdjacentEventsFailsNamingTheFirst) {
  for (size_t first = 0; first + 1 < stream_.size(); ++first) {
    std::vector<std::string> stream = stream_;
    std::swap(stream[first], stream[first + 1]);
    absl::StatusOr<StreamVerification> result = Verify(stream);
    ASSERT_FALSE(result.ok()) << "swapped " << first + 1;
    EXPECT_THAT(result.status().message(),
                HasSubstr(absl::StrCat(At(first + 1), "sequence ", first + 2,
                                       "): expected sequence ", first + 1)));
  }
}

TEST_F(AttestationTest, AnotherKeyFails) {
  std::unique_ptr<AttestationVerifier> other =
      *AttestationVerifier::FromPem(testing::NewAttestationKeyPair().public_pem);
  absl::StatusOr<StreamVerification> result = VerifyDealStream(stream_, attestation_, *other);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("attestation: signed with key"));
  // Claiming the other key's id does not help: the signature does not verify.
  attestation_.set_key_id(other->key_id());
  result = VerifyDealStream(stream_, attestation_, *other);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("signature does not verify"));
}

TEST_F(AttestationTest, AnAlteredAttestationFails) {
  attestation_.set_sequence(kEvents - 1);  // the signature covers the sequence
  absl::StatusOr<StreamVerification> result = Verify(stream_);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("signature does not verify"));
}

TEST_F(AttestationTest, AWrongHeadFailsAtTheHeadEvent) {
  attestation_ = Attest(EnvelopeHash("another event"), kEvents);
  absl::StatusOr<StreamVerification> result = Verify(stream_);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(),
              HasSubstr(absl::StrCat(At(kEvents), "sequence ", kEvents,
                                     "): does not hash to the attested head_hash")));
}

TEST_F(AttestationTest, EventsAfterTheHeadAreCountedNotCovered) {
  attestation_ = Attest(EnvelopeHash(stream_[3]), 4);
  absl::StatusOr<StreamVerification> result = Verify(stream_);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->covered, 4);
  EXPECT_EQ(result->after_head, 2);
}

TEST_F(AttestationTest, AnotherDealsEventIsNamed) {
  std::vector<std::string> stream = stream_;
  common::v1::EventEnvelope other = *DecodeEnvelope(stream[2]);
  other.set_aggregate_id(NewUuid());
  stream[2] = other.SerializeAsString();
  absl::StatusOr<StreamVerification> result = Verify(stream);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr(absl::StrCat(At(3), "sequence 3): of deal ")));
}

TEST(DecodeEnvelopeTest, NamesTheFirstMissingField) {
  EXPECT_THAT(DecodeEnvelope("\xff\xff").status().message(), HasSubstr("envelope: not a"));
  common::v1::EventEnvelope e;
  EXPECT_THAT(DecodeEnvelope(e.SerializeAsString()).status().message(), HasSubstr("event_id"));
  e.set_event_id("x");
  e.set_event_type("t");
  e.set_aggregate_type("deal");
  e.set_aggregate_id("d");
  EXPECT_THAT(DecodeEnvelope(e.SerializeAsString()).status().message(), HasSubstr("sequence"));
  e.set_sequence(1);
  EXPECT_THAT(DecodeEnvelope(e.SerializeAsString()).status().message(), HasSubstr("payload"));
}

TEST(AttestationSigningBytesTest, AreDomainSeparatedAndNameEveryField) {
  tv1::DealAttestation a;
  a.set_deal_id("d");
  a.set_first_sequence(1);
  a.set_sequence(3);
  a.set_head_hash(std::string("\x01\xab", 2));
  *a.mutable_attested_at() = google::protobuf::util::TimeUtil::SecondsToTimestamp(0);
  a.set_key_id("k");
  EXPECT_EQ(AttestationSigningBytes(a),
            "techtrade.deal-attestation.v1\ndeal_id=d\nfirst_sequence=1\nsequence=3\n"
            "head_hash=01ab\nattested_at=1970-01-01T00:00:00Z\nkey_id=k\n");
}

}  // namespace
}  // namespace techtrade
