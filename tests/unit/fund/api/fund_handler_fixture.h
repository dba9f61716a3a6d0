// What the fund's handler tests share: FundServiceImpl served in this process on an in-memory
// store (tests/support/fake_fund_store.h) and registry, with keys for an operator, Wuhan's and
// Hefei's city systems and a finance partner, and a signed Wuhan deal the fund has projected.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/command.h"
#include "services/fund/api/fund_service.h"
#include "services/fund/api/suspension.h"
#include "tests/support/fake_directories.h"
#include "tests/support/fake_fund_store.h"
#include "tests/support/fake_transactor.h"
#include "tests/support/in_process.h"
#include "tests/unit/fund/fund_test_data.h"

namespace techtrade::fund::test {

using ::techtrade::testing::CallAs;
using ::techtrade::testing::EmittedEvent;
using ::testing::HasSubstr;
using ::testing::StartsWith;

inline constexpr char kDealId[] = "0b7e8c1a-3d2f-4a5b-9c6d-7e8f9a0b1c2d";
inline constexpr char kBuyerId[] = "1c8f9d2b-4e3a-4b6c-8d7e-8f9a0b1c2d3e";
inline constexpr char kUnknownId[] = "2d9a0e3c-5f4b-4c7d-9e8f-9a0b1c2d3e4f";

// The fixture's deal (MakeDeal) with ids the API accepts, at `version`.
inline tv1::Deal HandlerDeal(int64_t price = 500'000 * kYuan, int64_t version = 5) {
  tv1::Deal d = MakeDeal(price);
  d.set_id(kDealId);
  d.mutable_buyer()->set_organization_id(kBuyerId);
  d.set_version(version);
  *d.mutable_create_time() = At("2026-02-01T02:00:00Z");
  return d;
}

// The deal event that carries `deal` (every transactions event has the deal as its field 1).
inline techtrade::common::v1::EventEnvelope DealEvent(const tv1::Deal& deal) {
  tv1::ContractSigned carrier;
  *carrier.mutable_deal() = deal;
  techtrade::common::v1::EventEnvelope envelope;
  envelope.set_event_type("techtrade.transactions.v1.ContractSigned");
  envelope.set_aggregate_id(deal.id());
  envelope.set_sequence(deal.version());
  envelope.set_causation_request_id("deal-request");
  envelope.mutable_payload()->PackFrom(carrier);
  return envelope;
}

// The event's payload as `Event`.
template <class Event>
Event Payload(const EmittedEvent& emitted) {
  Event event;
  EXPECT_EQ(emitted.type, Event::descriptor()->full_name());
  EXPECT_TRUE(event.ParseFromString(emitted.payload));
  return event;
}

class FundHandlerTest : public ::testing::Test {
 protected:
  using Transactor =
      ::techtrade::testing::FakeTransactor<FundStore, ::techtrade::testing::FakeFundStore>;

  void SetUp() override {
    service_ = std::make_unique<FundServiceImpl>(transactor_, server_.runner(), directory_);
    server_.Start({service_.get()});
    stub_ = v1::FundService::NewStub(server_.channel());
    operator_ = server_.keys().Add(::techtrade::testing::OperatorPrincipal());
    wuhan_ = server_.keys().Add(::techtrade::testing::CitySystemPrincipal("wuhan"));
    hefei_ = server_.keys().Add(::techtrade::testing::CitySystemPrincipal("hefei"));
    partner_ = server_.keys().Add(::techtrade::testing::PartnerPrincipal());
    reg::PilotCity wuhan;
    wuhan.set_id("wuhan");
    directory_.PutCity(wuhan);
    reg::Organization buyer;
    buyer.set_id(kBuyerId);
    buyer.set_city_id("wuhan");
    buyer.set_status(reg::ORGANIZATION_STATUS_VERIFIED);
    directory_.Put(buyer);
    store().PutDeal(HandlerDeal());
  }

  ::techtrade::testing::FakeFundStore& store() { return transactor_.state(); }

  // The registry's suspension (or reinstatement) of `org` as the fund's consumer applies it.
  absl::Status Standing(const std::string& org, bool suspended, int64_t sequence) {
    techtrade::common::v1::EventEnvelope event;
    event.set_aggregate_id(org);
    event.set_sequence(sequence);
    if (suspended) {
      event.mutable_payload()->PackFrom(reg::OrganizationSuspended());
    } else {
      event.mutable_payload()->PackFrom(reg::OrganizationReinstated());
    }
    return transactor_.Run(
        [&](FundStore& store, UnitOfWork& work) { return ApplyRegistryEvent(store, work, event); });
  }
  std::vector<EmittedEvent> events() const { return transactor_.events(); }

  grpc::Status CreateProgramme(const std::string& key, const v1::CreateProgrammeRequest& request,
                               v1::Programme* out) {
    return stub_->CreateProgramme(CallAs(key).get(), request, out);
  }
  // A programme created by the operator (MakeRequest with `request_id`).
  v1::Programme Programme(const std::string& request_id = "create-1") {
    v1::CreateProgrammeRequest request = MakeRequest();
    request.set_request_id(request_id);
    v1::Programme p;
    EXPECT_TRUE(CreateProgramme(operator_, request, &p).ok());
    return p;
  }
  v1::SubmitApplicationRequest SubmitRequest(const std::string& programme_id,
                                             const std::string& request_id = "submit-1") {
    v1::SubmitApplicationRequest request;
    request.set_request_id(request_id);
    request.set_programme_id(programme_id);
    request.set_deal_id(kDealId);
    return request;
  }
  grpc::Status Submit(const std::string& key, const v1::SubmitApplicationRequest& request,
                      v1::Application* out) {
    return stub_->SubmitApplication(CallAs(key).get(), request, out);
  }
  v1::DecideApplicationRequest DecideRequest(const v1::Application& a,
                                             const std::string& request_id = "decide-1") {
    v1::DecideApplicationRequest request;
    request.set_request_id(request_id);
    request.set_id(a.id());
    request.set_expected_version(a.version());
    request.set_reason("within the budget");
    return request;
  }

  Transactor transactor_;
  ::techtrade::testing::FakeOrganizationDirectory directory_;
  // Declared before the server, so the server stops before the handlers go.
  std::unique_ptr<FundServiceImpl> service_;
  ::techtrade::testing::InProcessServer server_{"fund"};
  std::unique_ptr<v1::FundService::Stub> stub_;
  std::string operator_, wuhan_, hefei_, partner_;
};

}  // namespace techtrade::fund::test
