#include "services/registry/domain/technology_managers.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "common/field_rules.h"
#include "common/status.h"
#include "common/validation.h"

namespace techtrade::registry {
namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp Ts(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

}  // namespace

absl::Status ValidateRegisterTechnologyManager(const v1::RegisterTechnologyManagerRequest& r,
                                               absl::Time now) {
  TT_RETURN_IF_ERROR(CheckFieldRules(r));
  // CheckFieldRules refused a timestamp out of range.
  if (r.has_certificate_expire_time() &&
      TimeUtil::TimestampToMicroseconds(r.certificate_expire_time()) <= absl::ToUnixMicros(now)) {
    return FieldError("certificate_expire_time", "the certificate has expired");
  }
  return absl::OkStatus();
}

absl::Status CheckAffiliation(const v1::Organization& organization) {
  if (organization.status() != v1::ORGANIZATION_STATUS_VERIFIED) {
    return absl::FailedPreconditionError(
        absl::StrCat("organization_id: organisation ", organization.id(), " is ",
                     v1::OrganizationStatus_Name(organization.status()),
                     "; a technology manager's organisation must be verified"));
  }
  return absl::OkStatus();
}

v1::TechnologyManager NewTechnologyManager(const v1::RegisterTechnologyManagerRequest& r,
                                           const v1::Organization& organization,
                                           const std::string& id, absl::Time now) {
  v1::TechnologyManager m;
  m.set_id(id);
  m.set_name(r.name());
  m.set_certificate_number(r.certificate_number());
  m.set_certifying_authority(r.certifying_authority());
  if (r.has_certificate_expire_time()) {
    *m.mutable_certificate_expire_time() = r.certificate_expire_time();
  }
  m.set_organization_id(organization.id());
  m.set_city_id(organization.city_id());
  m.set_status(v1::TECHNOLOGY_MANAGER_STATUS_CERTIFIED);
  m.set_version(1);
  *m.mutable_create_time() = Ts(now);
  *m.mutable_update_time() = m.create_time();
  return m;
}

absl::StatusOr<v1::TechnologyManager> RevokeTechnologyManager(const v1::TechnologyManager& manager,
                                                              int64_t expected_version,
                                                              const std::string& reason,
                                                              absl::Time now) {
  TT_RETURN_IF_ERROR(CheckVersionIsCurrent(expected_version, manager.version()));
  if (manager.status() == v1::TECHNOLOGY_MANAGER_STATUS_REVOKED) {
    return absl::FailedPreconditionError(
        absl::StrCat("id: technology manager ", manager.id(), " is revoked already"));
  }
  v1::TechnologyManager next = manager;
  next.set_status(v1::TECHNOLOGY_MANAGER_STATUS_REVOKED);
  next.set_revocation_reason(reason);
  next.set_version(manager.version() + 1);
  *next.mutable_update_time() = Ts(now);
  return next;
}

}  // namespace techtrade::registry
