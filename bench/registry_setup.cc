#include "bench/registry_setup.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "common/grpc_status.h"
#include "services/registry/domain/credit_code.h"
#include "tests/support/harness.h"

namespace techtrade::bench {

namespace reg = techtrade::registry::v1;

absl::StatusOr<std::vector<reg::Organization>> RegisterVerifiedOrganizations(
    reg::RegistryService::Stub& registry, const std::string& operator_key,
    const std::string& city_id, reg::OrganizationKind kind, int count,
    const std::string& name_prefix) {
  reg::CreatePilotCityRequest city;
  city.set_request_id(absl::StrCat("bench-city-", city_id));
  city.set_id(city_id);
  city.set_name(absl::StrCat("Bench city ", city_id));
  city.set_kind(reg::PILOT_CITY_KIND_CITY);
  city.set_division_code("420100");
  reg::PilotCity created;
  grpc::Status s =
      registry.CreatePilotCity(testing::AuthedContext(operator_key).get(), city, &created);
  if (!s.ok()) return StatusFromGrpc(s, "registry");
  std::vector<reg::Organization> out;
  for (int i = 0; i < count; ++i) {
    const std::string first17 = absl::StrFormat("91420100%09d", i + 1);
    // Request ids are tokens: no spaces, at most 64 characters.
    const std::string tag =
        absl::StrCat(absl::StrReplaceAll(name_prefix.substr(0, 32), {{" ", "-"}}), "-", i + 1);
    reg::RegisterOrganizationRequest r;
    r.set_request_id(absl::StrCat("bench-register-", tag));
    r.set_credit_code(first17 + registry::CreditCodeCheckCharacter(first17));
    r.set_name(absl::StrCat(name_prefix, " ", i + 1));
    r.set_kind(kind);
    r.set_city_id(city_id);
    reg::Organization org;
    s = registry.RegisterOrganization(testing::AuthedContext(operator_key).get(), r, &org);
    reg::VerifyOrganizationRequest v;
    v.set_request_id(absl::StrCat("bench-verify-", tag));
    v.set_id(org.id());
    v.set_expected_version(org.version());
    if (s.ok())
      s = registry.VerifyOrganization(testing::AuthedContext(operator_key).get(), v, &org);
    if (!s.ok()) return StatusFromGrpc(s, "registry");
    out.push_back(std::move(org));
  }
  return out;
}

}  // namespace techtrade::bench
