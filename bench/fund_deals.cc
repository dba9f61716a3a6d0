#include "bench/fund_deals.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/ids.h"
#include "google/protobuf/util/time_util.h"

namespace techtrade::bench {

namespace tv1 = techtrade::transactions::v1;
namespace lv1 = techtrade::listings::v1;
namespace reg = techtrade::registry::v1;
using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp Ts(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

techtrade::common::v1::Money Cny(int64_t minor) {
  techtrade::common::v1::Money m;
  m.set_currency("CNY");
  m.set_amount_minor(minor);
  return m;
}

tv1::Deal SignedDeal(const std::string& buyer_org_id, int buyer_number, absl::Time now) {
  tv1::Deal d;
  d.set_id(NewUuid());
  d.set_listing_id(NewUuid());
  d.set_listing_kind(lv1::LISTING_KIND_OFFER);
  d.set_city_id(kCity);
  tv1::Party* buyer = d.mutable_buyer();
  buyer->set_organization_id(buyer_org_id);
  buyer->set_credit_code(absl::StrFormat("91420100%09dX", buyer_number));
  buyer->set_name(absl::StrCat("Bench buyer ", buyer_number));
  buyer->set_city_id(kCity);
  buyer->set_kind(reg::ORGANIZATION_KIND_ENTERPRISE);
  tv1::Party* seller = d.mutable_seller();
  seller->set_organization_id(NewUuid());
  seller->set_credit_code("914201009999999990");
  seller->set_name("Bench seller");
  seller->set_city_id(kCity);
  seller->set_kind(reg::ORGANIZATION_KIND_UNIVERSITY);
  d.set_state(tv1::DEAL_STATE_SIGNED);
  tv1::Terms* terms = d.add_terms();
  terms->set_version(1);
  terms->set_proposed_by(tv1::PARTY_ROLE_SELLER);
  *terms->mutable_price() = Cny(kContractValue);
  terms->set_transfer_mode(lv1::TRANSFER_MODE_NON_EXCLUSIVE_LICENSE);
  terms->set_licence_scope("bench");
  terms->set_territory("CN");
  *terms->mutable_propose_time() = Ts(now - absl::Hours(30));
  for (int i = 1; i <= 2; ++i) {
    tv1::MilestonePlan* plan = terms->add_milestones();
    plan->set_title(absl::StrCat("milestone ", i));
    *plan->mutable_amount() = Cny(kContractValue / 2);
    *plan->mutable_due_time() = Ts(now + absl::Hours(24 * 30 * i));
    tv1::Milestone* m = d.add_milestones();
    m->set_index(i);
    m->set_title(plan->title());
    *m->mutable_amount() = plan->amount();
    *m->mutable_due_time() = plan->due_time();
    m->set_state(tv1::MILESTONE_STATE_PENDING);
  }
  d.set_buyer_accepted_version(1);
  d.set_seller_accepted_version(1);
  d.set_agreed_terms_version(1);
  d.mutable_contract()->set_registration_number("BENCH-" + d.id().substr(0, 8));
  *d.mutable_contract()->mutable_signing_time() = Ts(now - absl::Hours(1));
  *d.mutable_paid_total() = Cny(0);
  d.set_version(5);  // opened, proposed, accepted twice, signed
  *d.mutable_create_time() = Ts(now - absl::Hours(48));
  *d.mutable_update_time() = d.contract().signing_time();
  return d;
}

tv1::Deal RegisteredDeal(const std::string& seller_org_id, const std::string& body_org_id,
                         absl::Time now) {
  tv1::Deal d = SignedDeal(NewUuid(), 1, now - absl::Hours(1));
  d.mutable_seller()->set_organization_id(seller_org_id);
  tv1::ContractRegistration* r = d.mutable_registration();
  r->set_state(tv1::REGISTRATION_STATE_REGISTERED);
  r->set_city_id(kCity);
  r->set_submissions(1);
  r->set_category(tv1::CONTRACT_CATEGORY_LICENCE);
  *r->mutable_declared_value() = Cny(kContractValue);
  r->set_registration_number("BENCH-REG-" + d.id().substr(0, 8));
  *r->mutable_registered_value() = Cny(kContractValue);
  *r->mutable_decide_time() = Ts(now - absl::Minutes(1));
  r->mutable_body()->set_organization_id(body_org_id);
  r->mutable_body()->set_name("Bench registration body");
  r->mutable_body()->set_city_id(kCity);
  r->mutable_body()->set_kind(reg::ORGANIZATION_KIND_GOVERNMENT);
  d.set_version(7);  // … signed, submitted, registered
  return d;
}

}  // namespace techtrade::bench
