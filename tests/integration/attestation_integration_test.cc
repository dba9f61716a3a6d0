// Signed deal attestation (交易鉴证) end to end: a deal taken through several steps, its whole
// stream read as raw Kafka values from its finance partner's topic, the platform's signed head
// from GetDealAttestation, and the offline check with the stack's public key
// (TECHTRADE_ATTESTATION_PUBLIC_KEY): the stream verifies, and one flipped byte, one dropped
// event or two swapped events each fail naming the position. Then the same through the
// techtrade-verify-deal tool, as a partner runs it.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/attestation.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/topics.h"
#include "tests/support/deal_fixture.h"
#include "tests/support/tool_runner.h"

namespace techtrade::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class AttestationIntegrationTest : public DealFixture {
 protected:
  AttestationIntegrationTest() : DealFixture("attest_it_") {}

  // The raw values of `deal_id`'s events on `topic` (from its beginning, in order), read until
  // there are `want` of them or `timeout` passes.
  std::vector<std::string> RawDealEvents(const std::string& topic, const std::string& deal_id,
                                         size_t want, absl::Duration timeout) {
    std::vector<std::string> values;
    const absl::Time deadline = absl::Now() + timeout;
    // The relay creates a partner's topic when it first publishes to it.
    while (!KafkaConsumer::EndOffsets(stack_.kafka_brokers, topic, absl::Seconds(2)).ok()) {
      if (absl::Now() > deadline) return values;
      absl::SleepFor(absl::Milliseconds(200));
    }
    auto consumer = KafkaConsumer::CreateTail(stack_.kafka_brokers, topic, {});
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    if (!consumer.ok()) return values;
    while (values.size() < want && absl::Now() < deadline) {
      std::unique_ptr<RdKafka::Message> m = (*consumer)->Poll(absl::Milliseconds(200));
      if (m == nullptr || m->key() == nullptr || *m->key() != deal_id) continue;
      values.emplace_back(static_cast<const char*>(m->payload()), m->len());
    }
    return values;
  }

  static std::string PublicKeyPem() {
    const char* path = std::getenv("TECHTRADE_ATTESTATION_PUBLIC_KEY");
    EXPECT_NE(path, nullptr) << "the stack's env file sets TECHTRADE_ATTESTATION_PUBLIC_KEY";
    return path == nullptr ? "" : SlurpFile(path);
  }

  // A deal through open, two offers of terms, two acceptances and two signatures, its
  // attestation and its stream; fails the test if any is missing.
  void DealWithStream() {
    deal_ = Signed();
    ASSERT_GE(deal_.version(), 5);
    tv1::GetDealAttestationRequest r;
    r.set_deal_id(deal_.id());
    grpc::Status s = stub_->GetDealAttestation(AuthedContext(partner_key_).get(), r, &attestation_);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(attestation_.sequence(), deal_.version());
    ASSERT_EQ(attestation_.first_sequence(), 1);
    stream_ = RawDealEvents(PartnerDealsTopic(partner_id_), deal_.id(),
                            static_cast<size_t>(deal_.version()), absl::Seconds(30));
    ASSERT_EQ(stream_.size(), static_cast<size_t>(deal_.version()));
    auto verifier = AttestationVerifier::FromPem(PublicKeyPem());
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    verifier_ = *std::move(verifier);
  }

  // `envelope` with one byte of its event id changed: still a well-formed envelope, so only the
  // hash chain can tell.
  static std::string FlipOneByte(std::string envelope) {
    common::v1::EventEnvelope e;
    EXPECT_TRUE(e.ParseFromString(envelope));
    size_t at = envelope.find(e.event_id());
    EXPECT_NE(at, std::string::npos);
    envelope[at] ^= 0x01;
    return envelope;
  }

  std::string WriteTemp(const std::string& name, const std::string& content) {
    const std::string path =
        absl::StrCat(::testing::TempDir(), "/attest-", getpid(), "-", RandomHex(4), "-", name);
    std::ofstream(path) << content;
    temp_files_.push_back(path);
    return path;
  }

  void TearDown() override {
    for (const std::string& path : temp_files_) unlink(path.c_str());
    DealFixture::TearDown();
  }

  tv1::Deal deal_;
  tv1::DealAttestation attestation_;
  std::vector<std::string> stream_;
  std::unique_ptr<AttestationVerifier> verifier_;
  std::vector<std::string> temp_files_;
};

TEST_F(AttestationIntegrationTest, PartnersStreamVerifiesAndAnyTamperingNamesThePosition) {
  ASSERT_NO_FATAL_FAILURE(DealWithStream());

  absl::StatusOr<StreamVerification> ok = VerifyDealStream(stream_, attestation_, *verifier_);
  ASSERT_TRUE(ok.ok()) << ok.status();
  const int64_t n = deal_.version();
  EXPECT_EQ(ok->covered, n);
  EXPECT_EQ(ok->before_chain, 0);
  EXPECT_EQ(ok->after_head, 0);

  std::vector<std::string> flipped = stream_;
  flipped[2] = FlipOneByte(flipped[2]);
  absl::StatusOr<StreamVerification> bad = VerifyDealStream(flipped, attestation_, *verifier_);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), StartsWith("event 3 (sequence 3): "));

  std::vector<std::string> head_flipped = stream_;
  head_flipped.back() = FlipOneByte(head_flipped.back());
  bad = VerifyDealStream(head_flipped, attestation_, *verifier_);
  EXPECT_THAT(std::string(bad.status().message()),
              StartsWith(absl::StrCat("event ", n, " (sequence ", n, "): ")));
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("head_hash"));

  std::vector<std::string> dropped = stream_;
  dropped.erase(dropped.begin() + 3);
  bad = VerifyDealStream(dropped, attestation_, *verifier_);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()),
              StartsWith("event 4 (sequence 5): expected sequence 4"));

  std::vector<std::string> swapped = stream_;
  std::swap(swapped[1], swapped[2]);
  bad = VerifyDealStream(swapped, attestation_, *verifier_);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()),
              StartsWith("event 2 (sequence 3): expected sequence 2"));

  std::vector<std::string> truncated(stream_.begin(), stream_.end() - 1);
  bad = VerifyDealStream(truncated, attestation_, *verifier_);
  EXPECT_THAT(std::string(bad.status().message()),
              StartsWith(absl::StrCat("event ", n, " (sequence ", n, "): missing")));

  // A forged head: the signature no longer covers what the attestation says.
  tv1::DealAttestation forged = attestation_;
  forged.set_sequence(n - 1);
  bad = VerifyDealStream(stream_, forged, *verifier_);
  EXPECT_THAT(std::string(bad.status().message()),
              StartsWith("attestation: the signature does not verify"));
}

TEST_F(AttestationIntegrationTest, VerifierToolChecksTheTopicAndASavedCopy) {
  ASSERT_NO_FATAL_FAILURE(DealWithStream());
  google::protobuf::util::JsonPrintOptions json_options;
  json_options.add_whitespace = true;
  json_options.preserve_proto_field_names = true;
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(attestation_, &json, json_options).ok());
  const std::string attestation = WriteTemp("attestation.json", json);
  const std::string dump = WriteTemp("events.b64", "");
  const std::string head_hex = absl::BytesToHexString(attestation_.head_hash());
  const int64_t n = deal_.version();
  const std::string ok = absl::StrCat("OK: ", n, " events, sequence 1..", n);

  // From the partner's topic, keeping a copy.
  ToolResult r = RunTool("techtrade-verify-deal", {"--attestation", attestation, "--topic",
                                                   PartnerDealsTopic(partner_id_), "--dump", dump});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, absl::StrCat(ok, ", head ", head_hex, "\n")) << r.err;

  // The saved copy verifies offline.
  r = RunTool("techtrade-verify-deal", {"--attestation", attestation, "--events", dump});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, StartsWith(ok));

  // The copy with one byte of its third event changed does not.
  std::vector<std::string> lines = absl::StrSplit(SlurpFile(dump), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), static_cast<size_t>(n));
  std::string third;
  ASSERT_TRUE(absl::Base64Unescape(lines[2], &third));
  lines[2] = absl::Base64Escape(FlipOneByte(third));
  const std::string tampered = WriteTemp("tampered.b64", absl::StrJoin(lines, "\n") + "\n");
  r = RunTool("techtrade-verify-deal", {"--attestation", attestation, "--events", tampered});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, StartsWith("FAILED: event 3 (sequence 3): "));

  // No events file: a usage or I/O error, not a verdict.
  r = RunTool("techtrade-verify-deal",
              {"--attestation", attestation, "--events", dump + ".missing"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
}

}  // namespace
}  // namespace techtrade::testing
