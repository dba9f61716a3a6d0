// GetDealAttestation and the deal's hash chain, on the in-memory store: each event of a deal
// carries the hash of the one before, and the attestation signs the last one's; who may read the
// deal may have it, others hear NOT_FOUND; without a key, FAILED_PRECONDITION.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/attestation.h"
#include "common/auth.h"
#include "common/envelope.h"
#include "common/ids.h"
#include "services/transactions/api/transactions_service.h"
#include "tests/support/attestation_keys.h"
#include "tests/support/deal_parties.h"
#include "tests/support/fake_directories.h"
#include "tests/support/fake_transactions_store.h"
#include "tests/support/in_process.h"
#include "tests/support/requests.h"

namespace techtrade::transactions {
namespace {

using ::testing::HasSubstr;
namespace reg = techtrade::registry::v1;
namespace lv1 = techtrade::listings::v1;

class AttestationHandlerTest : public testing::DealPartiesTest {
 protected:
  AttestationHandlerTest()
      : keys_(testing::NewAttestationKeyPair()),
        signer_(*AttestationSigner::FromPem(keys_.private_pem)),
        service_(deals_, server_.cache(), server_.runner(), registry_, listings_, signer_.get()),
        keyless_(deals_, server_.cache(), server_.runner(), registry_, listings_) {
    operator_key_ = server_.keys().Add(testing::OperatorPrincipal());
    seller_key_ = server_.keys().Add(testing::CitySystemPrincipal("wuhan"));
    other_city_key_ = server_.keys().Add(testing::CitySystemPrincipal("chengdu"));
    partner_key_ = server_.keys().Add(testing::PartnerPrincipal());
    other_partner_key_ = server_.keys().Add(testing::PartnerPrincipal());
    partner_id_ = AddPartner(partner_key_, "Bank of Hubei");
    server_.Start({&service_});
    stub_ = v1::TransactionsService::NewStub(server_.channel());
    keyless_server_.Start({&keyless_});
    keyless_stub_ = v1::TransactionsService::NewStub(keyless_server_.channel());
  }

  // A deal with a few events: opened, terms proposed, cancelled.
  v1::Deal DealWithEvents() {
    v1::OpenDealRequest open = OpenRequestFor(partner_id_);
    v1::Deal deal;
    EXPECT_TRUE(stub_->OpenDeal(testing::CallAs(operator_key_).get(), open, &deal).ok());
    v1::ProposeTermsRequest terms =
        testing::TermsRequest(NewUuid(), deal, v1::PARTY_ROLE_SELLER, 100'000'00);
    grpc::Status s = stub_->ProposeTerms(testing::CallAs(seller_key_).get(), terms, &deal);
    EXPECT_TRUE(s.ok()) << s.error_message();
    v1::CancelDealRequest cancel;
    cancel.set_request_id(NewUuid());
    cancel.set_deal_id(deal.id());
    cancel.set_expected_version(deal.version());
    cancel.set_acting_as(v1::PARTY_ROLE_SELLER);
    cancel.set_reason("no budget this year");
    s = stub_->CancelDeal(testing::CallAs(seller_key_).get(), cancel, &deal);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return deal;
  }

  std::vector<std::string> EnvelopesOf(const std::string& deal_id) {
    std::vector<std::string> out;
    for (const testing::EmittedEvent& e : deals_.events()) {
      if (e.aggregate.id == deal_id) out.push_back(e.envelope);
    }
    return out;
  }

  grpc::Status Attestation(v1::TransactionsService::Stub& stub, const std::string& key,
                           const std::string& deal_id, v1::DealAttestation* out) {
    v1::GetDealAttestationRequest r;
    r.set_deal_id(deal_id);
    return stub.GetDealAttestation(testing::CallAs(key).get(), r, out);
  }

  testing::AttestationKeyPair keys_;
  std::unique_ptr<AttestationSigner> signer_;
  testing::FakeDeals deals_;
  testing::InProcessServer server_{"transactions"};
  testing::InProcessServer keyless_server_{"transactions"};
  TransactionsServiceImpl service_;
  TransactionsServiceImpl keyless_;
  std::unique_ptr<v1::TransactionsService::Stub> stub_, keyless_stub_;
  std::string operator_key_, seller_key_, other_city_key_, partner_key_, other_partner_key_;
  std::string partner_id_;
};

TEST_F(AttestationHandlerTest, EachEventChainsToThePreviousAndTheAttestationSignsTheHead) {
  v1::Deal deal = DealWithEvents();
  std::vector<std::string> envelopes = EnvelopesOf(deal.id());
  ASSERT_EQ(static_cast<int64_t>(envelopes.size()), deal.version());
  ASSERT_GE(envelopes.size(), 3u);
  std::string previous;
  for (size_t i = 0; i < envelopes.size(); ++i) {
    common::v1::EventEnvelope e = *DecodeEnvelope(envelopes[i]);
    EXPECT_EQ(e.sequence(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(e.previous_event_hash(), previous) << "event " << i + 1;
    previous = EnvelopeHash(envelopes[i]);
  }

  v1::DealAttestation attestation;
  grpc::Status s = Attestation(*stub_, partner_key_, deal.id(), &attestation);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(attestation.deal_id(), deal.id());
  EXPECT_EQ(attestation.first_sequence(), 1);
  EXPECT_EQ(attestation.sequence(), deal.version());
  EXPECT_EQ(attestation.head_hash(), previous);
  EXPECT_EQ(attestation.key_id(), signer_->key_id());
  std::unique_ptr<AttestationVerifier> verifier = *AttestationVerifier::FromPem(keys_.public_pem);
  absl::StatusOr<StreamVerification> verified = VerifyDealStream(envelopes, attestation, *verifier);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->covered, deal.version());
}

TEST_F(AttestationHandlerTest, OnlyWhoMayReadTheDealGetsIt) {
  v1::Deal deal = DealWithEvents();
  v1::DealAttestation attestation;
  for (const std::string& key : {operator_key_, seller_key_, partner_key_}) {
    EXPECT_TRUE(Attestation(*stub_, key, deal.id(), &attestation).ok());
  }
  for (const std::string& key : {other_city_key_, other_partner_key_}) {
    grpc::Status s = Attestation(*stub_, key, deal.id(), &attestation);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("deal_id: no deal"));
  }
  grpc::Status s = Attestation(*stub_, operator_key_, NewUuid(), &attestation);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(AttestationHandlerTest, WithoutAKeyItNamesTheSetting) {
  v1::Deal deal = DealWithEvents();
  v1::DealAttestation attestation;
  grpc::Status s = Attestation(*keyless_stub_, operator_key_, deal.id(), &attestation);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("TECHTRADE_ATTESTATION_KEY"));
}

TEST_F(AttestationHandlerTest, ADealFromBeforeTheChainStartsItAtItsNextEvent) {
  v1::Deal deal = DealWithEvents();
  // Reopened by an operator's dispute resolution is not possible once cancelled: start from a
  // fresh deal forgotten by the chain after its first event, as the migration leaves one.
  ASSERT_TRUE(
      stub_->OpenDeal(testing::CallAs(operator_key_).get(), OpenRequestFor(partner_id_), &deal)
          .ok());
  deals_.state().ForgetChain(deal.id());
  v1::DealAttestation attestation;
  EXPECT_EQ(Attestation(*stub_, operator_key_, deal.id(), &attestation).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::ProposeTermsRequest terms =
      testing::TermsRequest(NewUuid(), deal, v1::PARTY_ROLE_SELLER, 100'000'00);
  // A new process (no copy of the deal kept), so the head is read from the store.
  TransactionsServiceImpl fresh(deals_, server_.cache(), server_.runner(), registry_, listings_,
                                signer_.get());
  testing::InProcessServer fresh_server{"transactions"};
  fresh_server.Start({&fresh});
  auto fresh_stub = v1::TransactionsService::NewStub(fresh_server.channel());
  grpc::Status s = fresh_stub->ProposeTerms(testing::CallAs(seller_key_).get(), terms, &deal);
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = Attestation(*fresh_stub, operator_key_, deal.id(), &attestation);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(attestation.first_sequence(), 2);
  std::vector<std::string> envelopes = EnvelopesOf(deal.id());
  std::unique_ptr<AttestationVerifier> verifier = *AttestationVerifier::FromPem(keys_.public_pem);
  absl::StatusOr<StreamVerification> verified = VerifyDealStream(envelopes, attestation, *verifier);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->before_chain, 1);
  EXPECT_EQ(verified->covered, deal.version() - 1);
}

}  // namespace
}  // namespace techtrade::transactions
