// Technology-contract registration on the real stack (docs/deals.md, "Contract registration"):
// registration bodies are API clients of their city; the seller's city system submits, the body
// refuses, a corrected contract is submitted and registered, a number is registered once, and a
// deal whose deadline passes unregistered is flagged by the sweep, once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "google/protobuf/util/time_util.h"
#include "tests/support/deal_fixture.h"
#include "tests/support/harness.h"
#include "tests/support/polling.h"

namespace techtrade::testing {
namespace {

namespace v1 = techtrade::transactions::v1;
using google::protobuf::util::TimeUtil;
using Stub = v1::TransactionsService::Stub;
using ::testing::ElementsAre;
using ::testing::StartsWith;

class ContractRegistrationTest : public DealFixture {
 protected:
  ContractRegistrationTest() : DealFixture("contract_reg_it_") {}

  v1::SubmitContractRegistrationRequest Submission(const v1::Deal& d, int64_t value,
                                                   const std::string& documents) {
    v1::SubmitContractRegistrationRequest r;
    r.set_request_id("submit-" + NewUuid());
    r.set_deal_id(d.id());
    r.set_expected_version(d.version());
    r.set_category(v1::CONTRACT_CATEGORY_LICENCE);
    r.mutable_declared_value()->set_currency("CNY");
    r.mutable_declared_value()->set_amount_minor(value);
    r.set_document_reference(documents);
    return r;
  }

  v1::RegisterContractRequest Registration(const v1::Deal& d, const std::string& number,
                                           int64_t value) {
    v1::RegisterContractRequest r;
    r.set_request_id("register-" + NewUuid());
    r.set_deal_id(d.id());
    r.set_expected_version(d.version());
    r.set_registration_number(number);
    r.set_category(v1::CONTRACT_CATEGORY_LICENCE);
    r.mutable_registered_value()->set_currency("CNY");
    r.mutable_registered_value()->set_amount_minor(value);
    return r;
  }
};

TEST_F(ContractRegistrationTest, ARefusedContractIsCorrectedThenRegisteredItsNumberOnce) {
  // A registration body is a city's client: without a city it is refused.
  reg::IssueApiKeyRequest cityless;
  cityless.set_request_id("key-" + NewUuid());
  cityless.set_name("registration body");
  cityless.set_role(reg::API_CLIENT_ROLE_REGISTRATION_BODY);
  reg::IssueApiKeyResponse issued;
  grpc::Status s =
      registry_stub_->IssueApiKey(AuthedContext(operator_key_).get(), cityless, &issued);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("city_id"));
  const std::string wuhan_body = Key(reg::API_CLIENT_ROLE_REGISTRATION_BODY, "wuhan-east-lake");
  const std::string shenzhen_body = Key(reg::API_CLIENT_ROLE_REGISTRATION_BODY, "shenzhen");

  TopicReader reader(stack_.kafka_brokers, kDealTopic);
  v1::Deal d = Signed();  // seller in Wuhan, 80 000.00
  // The city's default deadline, from the registry: 30 days after signing.
  EXPECT_EQ(d.registration().city_id(), "wuhan-east-lake");
  EXPECT_EQ(TimeUtil::TimestampToSeconds(d.registration().deadline()) -
                TimeUtil::TimestampToSeconds(d.contract().signing_time()),
            30 * 86400);
  const int64_t signed_version = d.version();

  d = Must(&Stub::SubmitContractRegistration, Submission(d, 80'000'00, "WH-2026-77"), wuhan_key_);
  // The buyer's city's body does not decide a Wuhan seller's contract.
  v1::Deal out;
  s = stub_->RegisterContract(AuthedContext(shenzhen_body).get(),
                              Registration(d, "4201012026000077", 80'000'00), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::RefuseContractRegistrationRequest refuse;
  refuse.set_request_id("refuse-" + NewUuid());
  refuse.set_deal_id(d.id());
  refuse.set_expected_version(d.version());
  refuse.set_reason("the licence's territory is missing from the contract");
  d = Must(&Stub::RefuseContractRegistration, refuse, wuhan_body);
  EXPECT_EQ(d.registration().state(), v1::REGISTRATION_STATE_REFUSED);

  // Corrected: resubmitted with new documents and a lower declared value.
  d = Must(&Stub::SubmitContractRegistration, Submission(d, 70'000'00, "WH-2026-77b"), wuhan_key_);
  EXPECT_EQ(d.registration().submissions(), 2);
  // Above the contract price: named, nothing changes.
  s = stub_->RegisterContract(AuthedContext(wuhan_body).get(),
                              Registration(d, "4201012026000077", 80'000'01), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("registered_value"));
  d = Must(&Stub::RegisterContract, Registration(d, "4201012026000077", 65'000'00), wuhan_body);
  EXPECT_EQ(d.registration().state(), v1::REGISTRATION_STATE_REGISTERED);
  EXPECT_EQ(d.registration().registered_value().amount_minor(), 65'000'00);
  EXPECT_EQ(d.registration().decided_by(), KeyId(wuhan_body));

  std::vector<std::string> types = EventTypes(reader, d, d.version());
  ASSERT_GE(types.size(), static_cast<size_t>(signed_version));
  EXPECT_THAT(std::vector<std::string>(types.begin() + signed_version, types.end()),
              ElementsAre("ContractRegistrationSubmitted", "ContractRegistrationRefused",
                          "ContractRegistrationSubmitted", "ContractRegistered"));

  // Another contract may not carry the same registration number.
  v1::Deal other = Signed();
  other = Must(&Stub::SubmitContractRegistration, Submission(other, 80'000'00, "WH-2026-78"),
               wuhan_key_);
  s = stub_->RegisterContract(AuthedContext(wuhan_body).get(),
                              Registration(other, "4201012026000077", 80'000'00), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), StartsWith("registration_number"));
  v1::GetDealRequest get;
  get.set_id(other.id());
  ASSERT_TRUE(stub_->GetDeal(AuthedContext(wuhan_body).get(), get, &out).ok());
  EXPECT_EQ(out.registration().state(), v1::REGISTRATION_STATE_SUBMITTED);
  EXPECT_EQ(out.version(), other.version());
}

// The sweep reads the database's due dates: the test moves one deal's deadline into the past
// (its record and its due column, as if the days had gone by), and a replica that sweeps every
// second flags it once.
TEST_F(ContractRegistrationTest, ADealPastItsDeadlineIsFlaggedOverdueOnce) {
  envs_["transactions"]["TECHTRADE_REGISTRATION_SWEEP_SECONDS"] = "1";
  ASSERT_TRUE(KillAndRestart("transactions"));
  stub_ = v1::TransactionsService::NewStub(transactions_->channel());
  TopicReader reader(stack_.kafka_brokers, kDealTopic);
  const v1::Deal late = Signed();
  const v1::Deal in_time = Signed();
  {
    pqxx::connection conn(dbs_[2]->url());
    pqxx::work tx(conn);
    pqxx::row row = tx.exec_params1("SELECT record FROM deals WHERE id = $1::uuid", late.id());
    pqxx::binarystring bytes(row[0]);
    v1::Deal record;
    ASSERT_TRUE(record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
    const int64_t past = TimeUtil::TimestampToSeconds(TimeUtil::GetCurrentTime()) - 60;
    *record.mutable_registration()->mutable_deadline() = TimeUtil::SecondsToTimestamp(past);
    const std::string serialized = record.SerializeAsString();
    tx.exec_params(
        "UPDATE deals SET record = $1, registration_due = to_timestamp($2) WHERE id = $3::uuid",
        pqxx::binarystring(serialized.data(), serialized.size()), past, late.id());
    tx.commit();
  }
  ASSERT_TRUE(
      reader.ReadUntilPayload<v1::ContractRegistrationOverdue>(late.id(), absl::Seconds(20)));
  reader.ReadUntil([](auto&) { return false; }, absl::Seconds(3));  // another sweep or two
  int flags = 0;
  for (const auto& e : reader.ForAggregate(late.id())) {
    if (e.envelope.payload().Is<v1::ContractRegistrationOverdue>()) {
      ++flags;
      EXPECT_EQ(e.envelope.actor().role(), "system");
    }
  }
  EXPECT_EQ(flags, 1);
  for (const auto& e : reader.ForAggregate(in_time.id())) {
    EXPECT_FALSE(e.envelope.payload().Is<v1::ContractRegistrationOverdue>());
  }
  v1::GetDealRequest get;
  get.set_id(late.id());
  v1::Deal read;
  ASSERT_TRUE(stub_->GetDeal(AuthedContext(operator_key_).get(), get, &read).ok());
  EXPECT_TRUE(read.registration().overdue());
  EXPECT_EQ(read.version(), late.version() + 1);
  EXPECT_EQ(dbs_[2]->QueryInt(absl::StrCat(
                "SELECT count(*) FROM deals WHERE registration_due IS NOT NULL AND id = '",
                late.id(), "'")),
            0);
  // A late registration still registers; the flag stays.
  read = Must(&Stub::SubmitContractRegistration, Submission(read, 1'000'00, "WH-LATE"), wuhan_key_);
  EXPECT_TRUE(read.registration().overdue());
}

}  // namespace
}  // namespace techtrade::testing
