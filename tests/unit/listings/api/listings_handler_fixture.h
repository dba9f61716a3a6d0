// The fixture of the listings' in-process handler tests: ListingsServiceImpl served in this
// process on an in-memory store, with a registry directory and callers from tables.
#pragma once

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/ids.h"
#include "services/listings/api/listings_service.h"
#include "tests/support/fake_directories.h"
#include "tests/support/fake_listings_store.h"
#include "tests/support/fake_transactor.h"
#include "tests/support/in_process.h"

namespace techtrade::testing {

namespace lv1 = techtrade::listings::v1;
namespace reg = techtrade::registry::v1;

using ListingsTransactor = FakeTransactor<listings::store::ListingsStore, FakeListingsStore>;

inline constexpr char kWuhan[] = "wuhan-east-lake";
inline constexpr char kShenzhen[] = "shenzhen";

class ListingsHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    owner_ = AddOrganization(kWuhan, reg::ORGANIZATION_STATUS_VERIFIED);
    service_ = std::make_unique<listings::ListingsServiceImpl>(
        transactor_, server_.cache(), server_.runner(), directory_, model_);
    server_.Start({service_.get()});
    stub_ = lv1::ListingsService::NewStub(server_.channel());
    operator_key_ = server_.keys().Add(OperatorPrincipal());
    wuhan_key_ = server_.keys().Add(CitySystemPrincipal(kWuhan));
    shenzhen_key_ = server_.keys().Add(CitySystemPrincipal(kShenzhen));
    partner_key_ = server_.keys().Add(PartnerPrincipal());
  }

  // A new organisation in the registry directory; its id.
  std::string AddOrganization(const std::string& city, reg::OrganizationStatus status) {
    reg::Organization org;
    org.set_id(NewUuid());
    org.set_city_id(city);
    org.set_status(status);
    directory_.Put(org);
    return org.id();
  }
  void SetOrganizationStatus(const std::string& id, reg::OrganizationStatus status) {
    reg::Organization org = *directory_.GetOrganization(id, "");
    org.set_status(status);
    directory_.Put(org);
  }

  static lv1::OfferDraft GoodOffer() {
    lv1::OfferDraft d;
    d.set_title("SiC MOSFET gate oxide process");
    d.add_ipc_codes("H01L 29/16");
    d.add_fields("integrated-circuits");
    d.set_readiness_level(5);
    d.add_ip_assets("CN202110123456.7");
    d.add_transfer_modes(lv1::TRANSFER_MODE_ASSIGNMENT);
    d.mutable_asking_price()->set_currency("CNY");
    d.mutable_asking_price()->set_amount_minor(100);
    return d;
  }
  static lv1::DemandDraft GoodDemand() {
    lv1::DemandDraft d;
    d.set_title("需要碳化硅器件栅氧工艺");
    d.set_problem("新能源汽车电驱需要高可靠性碳化硅功率器件");
    d.add_ipc_codes("H01L 29/16");
    d.add_fields("integrated-circuits");
    d.set_min_readiness_level(4);
    *d.mutable_deadline() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
        absl::ToUnixMicros(absl::Now() + absl::Hours(24 * 90)));
    return d;
  }

  lv1::CreateOfferRequest CreateOfferRequest(const std::string& request_id) {
    lv1::CreateOfferRequest r;
    r.set_request_id(request_id);
    r.set_owner_org_id(owner_);
    *r.mutable_offer() = GoodOffer();
    return r;
  }
  lv1::ChangeListingRequest ChangeRequest(const std::string& request_id, const std::string& id,
                                          int64_t expected_version) {
    lv1::ChangeListingRequest r;
    r.set_request_id(request_id);
    r.set_id(id);
    r.set_expected_version(expected_version);
    return r;
  }

  grpc::Status CreateOffer(const std::string& key, const lv1::CreateOfferRequest& request,
                           lv1::Offer* offer) {
    return stub_->CreateOffer(CallAs(key).get(), request, offer);
  }
  // A draft of owner_ created by the Wuhan system; fails the test if it cannot.
  lv1::Offer NewOffer() {
    lv1::Offer offer;
    grpc::Status s = CreateOffer(wuhan_key_, CreateOfferRequest(NewUuid()), &offer);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return offer;
  }
  lv1::Offer PublishedOffer() {
    lv1::Offer offer = NewOffer();
    lv1::Offer published;
    grpc::Status s = stub_->PublishOffer(CallAs(wuhan_key_).get(),
                                         ChangeRequest(NewUuid(), offer.id(), 1), &published);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return published;
  }

  // A published demand of owner_, by the Wuhan system.
  lv1::Demand PublishedDemand() {
    lv1::CreateDemandRequest r;
    r.set_request_id(NewUuid());
    r.set_seeker_org_id(owner_);
    *r.mutable_demand() = GoodDemand();
    lv1::Demand draft, published;
    grpc::Status s = stub_->CreateDemand(CallAs(wuhan_key_).get(), r, &draft);
    EXPECT_TRUE(s.ok()) << s.error_message();
    s = stub_->PublishDemand(CallAs(wuhan_key_).get(), ChangeRequest(NewUuid(), draft.id(), 1),
                             &published);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return published;
  }

  // The stored offer or demand, as the store holds it now.
  std::optional<lv1::Offer> StoredOffer(const std::string& id) {
    return transactor_.state().offer(id);
  }
  std::optional<lv1::Demand> StoredDemand(const std::string& id) {
    return transactor_.state().demand(id);
  }

  ListingsTransactor transactor_;
  FakeOrganizationDirectory directory_;
  listings::ReadModel model_;
  std::unique_ptr<listings::ListingsServiceImpl> service_;
  InProcessServer server_{"listings"};  // declared last: stops serving before the rest goes
  std::unique_ptr<lv1::ListingsService::Stub> stub_;
  std::string owner_;
  std::string operator_key_, wuhan_key_, shenzhen_key_, partner_key_;
};

// Whether `status` is INVALID_ARGUMENT about `field` ("field: problem").
MATCHER_P(InvalidField, field, "") {
  return arg.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
         arg.error_message().rfind(std::string(field) + ":", 0) == 0;
}

MATCHER_P(EqualsProto, expected, "") {
  return google::protobuf::util::MessageDifferencer::Equals(arg, expected);
}

}  // namespace techtrade::testing
