// Every request validator: the input's first two bytes pick a request message type of any
// service (request_types.h), the rest is parsed as that message, as the gRPC server parses it;
// then the checks a request meets before its handler runs (the proto's field rules, in
// RpcRunner) and, when they pass, the service's own validators and normalizers for that type,
// and the paging of List calls.
// Besides not crashing: a rejection is INVALID_ARGUMENT (or FAILED_PRECONDITION from a
// transition) with a message "field: problem" of bounded length.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "common/field_rules.h"
#include "common/paging.h"
#include "google/protobuf/message.h"
#include "google/protobuf/stubs/logging.h"
#include "services/fund/domain/fund_rules.h"
#include "services/fund/domain/programme_transition.h"
#include "services/listings/domain/read_model.h"
#include "services/listings/domain/rules.h"
#include "services/registry/domain/rules.h"
#include "services/transactions/domain/deal_rules.h"
#include "services/transactions/domain/escrow.h"
#include "tests/fuzz/listing_samples.h"
#include "tests/fuzz/request_types.h"

namespace {

namespace pb = google::protobuf;
namespace reg = techtrade::registry;
namespace lst = techtrade::listings;
namespace txn = techtrade::transactions;
namespace fnd = techtrade::fund;

// A fixed clock: a crash must reproduce from its input alone.
const absl::Time kNow = absl::FromUnixSeconds(1'780'000'000);

// The longest rejection message: the field rules never repeat a value; a service's own message
// may quote one (an IPC code, a credit code character), bounded by the field's own length rules.
constexpr size_t kMaxMessage = 1024;

[[noreturn]] void Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "request_validation_fuzzer: %s: %s\n", what.c_str(),
               status.ToString().c_str());
  std::abort();
}

void CheckRejection(const std::string& what, const absl::Status& status) {
  if (status.ok()) return;
  const bool expected_code = status.code() == absl::StatusCode::kInvalidArgument ||
                             status.code() == absl::StatusCode::kFailedPrecondition;
  if (!expected_code) Fail(what + " answered with an unexpected code", status);
  const size_t colon = status.message().find(": ");
  if (colon == 0 || colon == absl::string_view::npos) {
    Fail(what + " does not name the field (\"field: problem\")", status);
  }
  if (status.message().size() > kMaxMessage) Fail(what + " answered a message too long", status);
}

using Validator = std::function<void(const pb::Message&)>;

// What a service runs on a request of type T once the field rules passed.
template <class T>
std::pair<std::string, Validator> For(std::function<void(const T&)> run) {
  return {T::descriptor()->full_name(),
          [run](const pb::Message& m) { run(static_cast<const T&>(m)); }};
}

// The field rules of every request type are fuzzed without an edit; a service's own validator of
// a request type needs its entry here.
const absl::flat_hash_map<std::string, Validator>& ServiceValidators() {
  static const auto* validators = new absl::flat_hash_map<std::string, Validator>{
      For<reg::v1::CreatePilotCityRequest>([](const auto& r) {
        CheckRejection("ValidateCreatePilotCity", reg::ValidateCreatePilotCity(r));
      }),
      For<reg::v1::GetPilotCityRequest>([](const auto& r) {
        CheckRejection("ValidateCityId", reg::ValidateCityId("id", r.id()));
      }),
      For<reg::v1::RegisterOrganizationRequest>([](const auto& r) {
        CheckRejection("ValidateRegisterOrganization", reg::ValidateRegisterOrganization(r));
      }),
      For<reg::v1::UpdateOrganizationRequest>([](const auto& r) {
        CheckRejection("ValidateUpdateOrganization", reg::ValidateUpdateOrganization(r));
      }),
      For<reg::v1::SuspendOrganizationRequest>([](const auto& r) {
        CheckRejection("ValidateSuspendOrganization", reg::ValidateSuspendOrganization(r));
      }),
      For<reg::v1::IssueApiKeyRequest>([](const auto& r) {
        CheckRejection("ValidateIssueApiKey", reg::ValidateIssueApiKey(r));
      }),
      For<lst::v1::CreateOfferRequest>([](const auto& r) {
        absl::Status s = lst::ValidateOfferDraft(r.offer(), "offer.");
        CheckRejection("ValidateOfferDraft", s);
        if (s.ok()) (void)lst::NormalizeOfferDraft(r.offer());
      }),
      For<lst::v1::UpdateOfferRequest>([](const auto& r) {
        absl::Status s = lst::ValidateOfferDraft(r.offer(), "offer.");
        CheckRejection("ValidateOfferDraft", s);
        if (s.ok()) (void)lst::NormalizeOfferDraft(r.offer());
      }),
      For<lst::v1::CreateDemandRequest>([](const auto& r) {
        absl::Status s = lst::ValidateDemandDraft(r.demand(), "demand.", kNow);
        CheckRejection("ValidateDemandDraft", s);
        if (s.ok()) (void)lst::NormalizeDemandDraft(r.demand());
      }),
      For<lst::v1::UpdateDemandRequest>([](const auto& r) {
        absl::Status s = lst::ValidateDemandDraft(r.demand(), "demand.", kNow);
        CheckRejection("ValidateDemandDraft", s);
        if (s.ok()) (void)lst::NormalizeDemandDraft(r.demand());
      }),
      For<lst::v1::SearchRequest>([](const auto& r) {
        CheckRejection("ReadModel::Search", techtrade::fuzz::SampleModel().Search(r).status());
      }),
      For<txn::v1::OpenDealRequest>(
          [](const auto& r) { CheckRejection("ValidateOpenDeal", txn::ValidateOpenDeal(r)); }),
      For<txn::v1::ProposeTermsRequest>(
          [](const auto& r) { CheckRejection("ValidateTerms", txn::ValidateTerms(r)); }),
      For<txn::v1::SignContractRequest>([](const auto& r) {
        absl::Status s = txn::ValidateSignContract(r, kNow);
        CheckRejection("ValidateSignContract", s);
        if (s.ok()) (void)txn::Signers(r);
      }),
      For<txn::v1::RecordPaymentRequest>(
          [](const auto& r) { CheckRejection("ValidatePayment", txn::ValidatePayment(r)); }),
      For<txn::v1::RecordMilestoneFundingRequest>([](const auto& r) {
        CheckRejection("ValidateMilestoneFunding", txn::ValidateMilestoneFunding(r));
      }),
      For<fnd::v1::CreateProgrammeRequest>([](const auto& r) {
        absl::Status s = fnd::ValidateCreateProgramme(r);
        CheckRejection("ValidateCreateProgramme", s);
        if (s.ok()) (void)fnd::CreateProgramme(r, "40000000-0000-4000-8000-000000000000", kNow);
      }),
  };
  return *validators;
}

// Every List call: its page size resolved, its page token decoded, and a token handed out for the
// request taken back by the same list.
void CheckPaging(const pb::Message& request) {
  const pb::Descriptor* type = request.GetDescriptor();
  const pb::FieldDescriptor* size = type->FindFieldByName("page_size");
  if (size != nullptr && size->cpp_type() == pb::FieldDescriptor::CPPTYPE_INT32) {
    CheckRejection(
        "ResolvePageSize",
        techtrade::ResolvePageSize(request.GetReflection()->GetInt32(request, size)).status());
  }
  const pb::FieldDescriptor* token = type->FindFieldByName("page_token");
  if (token == nullptr || token->cpp_type() != pb::FieldDescriptor::CPPTYPE_STRING) return;
  const std::string list = type->name();
  CheckRejection("DecodePageToken", techtrade::DecodePageToken(list, request).status());
  std::unique_ptr<pb::Message> next(request.New());
  next->CopyFrom(request);
  next->GetReflection()->SetString(next.get(), token,
                                   techtrade::EncodePageToken(list, request, 42));
  absl::StatusOr<int64_t> after = techtrade::DecodePageToken(list, *next);
  if (!after.ok() || *after != 42) Fail("a page token handed out is refused", after.status());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Invalid UTF-8 in a string field makes protobuf log while parsing: noise here.
  pb::SetLogHandler(nullptr);
  if (techtrade::fuzz::RequestTypes().empty()) {
    std::fprintf(stderr, "request_validation_fuzzer: no request types linked\n");
    std::abort();
  }
  (void)ServiceValidators();
  (void)techtrade::fuzz::SampleModel();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const pb::Descriptor* type =
      techtrade::fuzz::RequestTypeFor(static_cast<uint16_t>(data[0] << 8 | data[1]));
  std::unique_ptr<pb::Message> request(
      pb::MessageFactory::generated_factory()->GetPrototype(type)->New());
  // A request that does not parse never reaches a validator (common/request_parsing.h).
  if (!request->ParseFromArray(data + 2, static_cast<int>(size - 2))) return 0;
  const absl::Status rules = techtrade::CheckFieldRules(*request);
  CheckRejection(std::string("CheckFieldRules on ") + type->full_name(), rules);
  if (!rules.ok()) return 0;
  CheckPaging(*request);
  const auto& validators = ServiceValidators();
  if (auto it = validators.find(type->full_name()); it != validators.end()) it->second(*request);
  return 0;
}
