#include "services/registry/domain/records.h"

#include <google/protobuf/util/time_util.h>

#include "common/status.h"
#include "common/validation.h"

namespace techtrade::registry {
namespace {

google::protobuf::Timestamp Ts(absl::Time t) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

// A changed organisation's times: updated `now`, and verified `now` if it is VERIFIED without a
// verify time (the store keeps the first verify time it has).
void StampChange(v1::Organization& org, absl::Time now) {
  *org.mutable_update_time() = Ts(now);
  if (org.status() == v1::ORGANIZATION_STATUS_VERIFIED && !org.has_verify_time()) {
    *org.mutable_verify_time() = org.update_time();
  }
}

}  // namespace

v1::PilotCity NewPilotCity(const v1::CreatePilotCityRequest& r, absl::Time now) {
  v1::PilotCity c;
  c.set_id(r.id());
  c.set_name(r.name());
  c.set_kind(r.kind());
  c.set_division_code(r.division_code());
  c.set_contract_registration_days(r.contract_registration_days() != 0
                                       ? r.contract_registration_days()
                                       : kDefaultContractRegistrationDays);
  c.set_version(1);
  *c.mutable_create_time() = Ts(now);
  *c.mutable_update_time() = c.create_time();
  return c;
}

v1::Organization NewOrganization(const v1::RegisterOrganizationRequest& r, const std::string& id,
                                 absl::Time now) {
  v1::Organization o;
  o.set_id(id);
  o.set_credit_code(r.credit_code());
  o.set_name(r.name());
  o.set_kind(r.kind());
  o.set_city_id(r.city_id());
  o.set_status(v1::ORGANIZATION_STATUS_PENDING);
  o.set_address(r.address());
  o.set_contact_email(r.contact_email());
  o.set_description(r.description());
  o.set_version(1);
  *o.mutable_create_time() = Ts(now);
  *o.mutable_update_time() = o.create_time();
  return o;
}

absl::StatusOr<v1::Organization> UpdateOrganization(const v1::Organization& org,
                                                    const v1::UpdateOrganizationRequest& r,
                                                    absl::Time now) {
  TT_RETURN_IF_ERROR(CheckVersionIsCurrent(r.expected_version(), org.version()));
  v1::Organization next = org;
  if (r.has_name()) next.set_name(r.name());
  if (r.has_address()) next.set_address(r.address());
  if (r.has_contact_email()) next.set_contact_email(r.contact_email());
  if (r.has_description()) next.set_description(r.description());
  next.set_version(org.version() + 1);
  StampChange(next, now);
  return next;
}

absl::StatusOr<v1::Organization> TransitionOrganization(const v1::Organization& org,
                                                        bool ever_verified,
                                                        OrganizationAction action,
                                                        int64_t expected_version,
                                                        const std::string& reason, absl::Time now) {
  TT_RETURN_IF_ERROR(CheckVersionIsCurrent(expected_version, org.version()));
  TT_ASSIGN_OR_RETURN(v1::OrganizationStatus status,
                      NextStatus(org.status(), action, ever_verified));
  v1::Organization next = org;
  next.set_status(status);
  if (action == OrganizationAction::kSuspend) {
    next.set_suspension_reason(reason);
  } else {
    next.clear_suspension_reason();
  }
  next.set_version(org.version() + 1);
  StampChange(next, now);
  return next;
}

v1::ApiClient NewApiClient(const v1::IssueApiKeyRequest& r, const std::string& id) {
  v1::ApiClient c;
  c.set_id(id);
  c.set_name(r.name());
  c.set_role(r.role());
  c.set_city_id(r.city_id());
  c.set_organization_id(r.organization_id());
  c.set_status(v1::API_CLIENT_STATUS_ACTIVE);
  c.set_version(1);
  return c;
}

absl::StatusOr<v1::ApiClient> RevokeApiClient(const v1::ApiClient& client,
                                              int64_t expected_version) {
  TT_RETURN_IF_ERROR(CheckVersionIsCurrent(expected_version, client.version()));
  if (client.status() == v1::API_CLIENT_STATUS_REVOKED) {
    return absl::FailedPreconditionError("the key is already revoked");
  }
  v1::ApiClient next = client;
  next.set_status(v1::API_CLIENT_STATUS_REVOKED);
  next.set_version(client.version() + 1);
  return next;
}

}  // namespace techtrade::registry
