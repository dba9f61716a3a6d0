// The registry's handlers served in this process on an in-memory store, with a key for each kind
// of caller: an operator, Wuhan's and Hefei's city systems, a finance partner.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "services/registry/api/registry_service.h"
#include "services/registry/domain/credit_code.h"
#include "tests/support/fake_registry_store.h"
#include "tests/support/fake_transactor.h"
#include "tests/support/in_process.h"

namespace techtrade::registry {

class RegistryHandlerTest : public ::testing::Test {
 protected:
  RegistryHandlerTest()
      : server_(std::make_unique<testing::InProcessServer>("registry")),
        principals_(server_->keys(), kPrincipalMemoTtl),
        service_(transactor_, server_->cache(), server_->runner(), server_->keys(), principals_) {
    server_->Start({&service_});
    stub_ = v1::RegistryService::NewStub(server_->channel());
    operator_key_ = server_->keys().Add(testing::OperatorPrincipal());
    wuhan_key_ = server_->keys().Add(testing::CitySystemPrincipal("wuhan"));
    hefei_key_ = server_->keys().Add(testing::CitySystemPrincipal("hefei"));
    partner_key_ = server_->keys().Add(testing::PartnerPrincipal());
    for (const char* id : {"wuhan", "hefei"}) {
      v1::PilotCity city;
      city.set_id(id);
      city.set_name(id);
      city.set_version(1);
      EXPECT_TRUE(transactor_.state().InsertPilotCity(city).ok());
    }
  }
  // Stops serving before the service goes.
  ~RegistryHandlerTest() override { server_.reset(); }

  // A valid credit code, a different one for each `n` below 100.
  static std::string CreditCode(int n) {
    std::string first17 = absl::StrCat("914201000000000", n / 10, n % 10);
    return first17 + CreditCodeCheckCharacter(first17);
  }

  static v1::RegisterOrganizationRequest Registration(const std::string& request_id,
                                                      const std::string& city_id, int n = 1) {
    v1::RegisterOrganizationRequest r;
    r.set_request_id(request_id);
    r.set_credit_code(CreditCode(n));
    r.set_name(absl::StrCat("Organisation ", n));
    r.set_kind(v1::ORGANIZATION_KIND_ENTERPRISE);
    r.set_city_id(city_id);
    return r;
  }

  grpc::Status Register(const std::string& key, const v1::RegisterOrganizationRequest& r,
                        v1::Organization* org) {
    return stub_->RegisterOrganization(testing::CallAs(key).get(), r, org);
  }

  // An organisation of `city_id` registered by the operator, at version 1.
  v1::Organization Registered(const std::string& city_id = "wuhan", int n = 1) {
    v1::Organization org;
    grpc::Status s =
        Register(operator_key_, Registration(absl::StrCat("seed-", n), city_id, n), &org);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return org;
  }

  template <class Event>
  Event Payload(const testing::EmittedEvent& emitted) {
    Event event;
    EXPECT_TRUE(event.ParseFromString(emitted.payload));
    return event;
  }

  std::unique_ptr<testing::InProcessServer> server_;
  testing::FakeTransactor<RegistryStore, testing::FakeRegistryStore> transactor_;
  MemoizingAuthenticator principals_;
  RegistryServiceImpl service_;
  std::unique_ptr<v1::RegistryService::Stub> stub_;
  std::string operator_key_, wuhan_key_, hefei_key_, partner_key_;
};

}  // namespace techtrade::registry
