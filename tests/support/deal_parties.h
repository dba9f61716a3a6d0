// The parties a transactions handler test (in_process.h) opens deals between: a verified
// university of wuhan offering a published listing under an exclusive licence, a verified
// enterprise of shenzhen, both in the fake directories the service reads, and the finance
// partners the deals name, registered from their API keys.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/ids.h"
#include "techtrade/transactions/v1/transactions.pb.h"
#include "tests/support/fake_directories.h"
#include "tests/support/fake_transactions_store.h"

namespace techtrade::testing {

class DealPartiesTest : public ::testing::Test {
 protected:
  static constexpr char kSellerCity[] = "wuhan";
  static constexpr char kBuyerCity[] = "shenzhen";

  DealPartiesTest() {
    seller_ = Org(kSellerCity, registry::v1::ORGANIZATION_KIND_UNIVERSITY);
    buyer_ = Org(kBuyerCity, registry::v1::ORGANIZATION_KIND_ENTERPRISE);
    registry_.Put(seller_);
    registry_.Put(buyer_);
    offer_id_ = NewUuid();
    listings_.Put(listings::v1::LISTING_KIND_OFFER, offer_id_,
                  {.owner_org_id = seller_.id(),
                   .city_id = kSellerCity,
                   .open_to_deals = true,
                   .transfer_modes = {listings::v1::TRANSFER_MODE_EXCLUSIVE_LICENSE}});
  }

  static registry::v1::Organization Org(
      const std::string& city, registry::v1::OrganizationKind kind,
      registry::v1::OrganizationStatus status = registry::v1::ORGANIZATION_STATUS_VERIFIED) {
    registry::v1::Organization org;
    org.set_id(NewUuid());
    org.set_name(absl::StrCat("organisation of ", city));
    org.set_city_id(city);
    org.set_kind(kind);
    org.set_status(status);
    return org;
  }

  // Registers the finance partner behind `partner_key` (its client is the key's own id) as
  // active; returns its id.
  std::string AddPartner(const std::string& partner_key, const std::string& name = "") {
    registry::v1::FinancePartner partner;
    partner.set_id(ParseApiKey(partner_key)->key_id);
    partner.set_name(name.empty() ? "bank " + partner.id() : name);
    registry_.PutPartner(partner);
    return partner.id();
  }

  // Opening a deal on the offer, the buyer with the seller, settled by `partner_id`.
  transactions::v1::OpenDealRequest OpenRequestFor(const std::string& partner_id,
                                                   const std::string& request_id = NewUuid()) {
    transactions::v1::OpenDealRequest r;
    r.set_request_id(request_id);
    r.set_listing_id(offer_id_);
    r.set_listing_kind(listings::v1::LISTING_KIND_OFFER);
    r.set_buyer_org_id(buyer_.id());
    r.set_seller_org_id(seller_.id());
    r.set_finance_partner_id(partner_id);
    return r;
  }

  FakeOrganizationDirectory registry_;
  FakeListingDirectory listings_;
  registry::v1::Organization seller_, buyer_;
  std::string offer_id_;
};

}  // namespace techtrade::testing
