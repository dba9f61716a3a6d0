// In-memory stand-ins for the records a service reads from the others on a caller's behalf,
// for handler tests (in_process.h).
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/organization_directory.h"
#include "common/status.h"

namespace techtrade::testing {

class FakeOrganizationDirectory final : public OrganizationDirectory {
 public:
  void Put(const techtrade::registry::v1::Organization& org) {
    std::lock_guard lock(mutex_);
    organizations_[org.id()] = org;
  }
  void PutCity(const techtrade::registry::v1::PilotCity& city) {
    std::lock_guard lock(mutex_);
    cities_[city.id()] = city;
  }
  void PutPartner(const techtrade::registry::v1::FinancePartner& partner) {
    std::lock_guard lock(mutex_);
    partners_[partner.id()] = partner;
  }
  void PutManager(const techtrade::registry::v1::TechnologyManager& manager) {
    std::lock_guard lock(mutex_);
    managers_[manager.id()] = manager;
  }
  // A partner revoked in the registry: no longer found.
  void RemovePartner(const std::string& id) {
    std::lock_guard lock(mutex_);
    partners_.erase(id);
  }
  // Every call answers UNAVAILABLE while set, as an unreachable registry with nothing cached.
  void SetUnavailable(bool unavailable) {
    std::lock_guard lock(mutex_);
    unavailable_ = unavailable;
  }

  absl::StatusOr<techtrade::registry::v1::Organization> GetOrganization(
      const std::string& organization_id, const std::string&) override {
    std::lock_guard lock(mutex_);
    if (unavailable_) return absl::UnavailableError("registry unreachable");
    auto it = organizations_.find(organization_id);
    if (it == organizations_.end()) {
      return absl::NotFoundError(absl::StrCat("no organisation ", organization_id));
    }
    return it->second;
  }
  absl::StatusOr<techtrade::registry::v1::Organization> GetReferencedOrganization(
      absl::string_view field, const std::string& organization_id,
      const std::string& caller_api_key) override {
    auto org = GetOrganization(organization_id, caller_api_key);
    if (absl::IsNotFound(org.status())) {
      return FieldError(field,
                        absl::StrCat("no organisation ", organization_id, " in the registry"));
    }
    return org;
  }
  absl::StatusOr<techtrade::registry::v1::PilotCity> GetPilotCity(const std::string& city_id,
                                                                  const std::string&) override {
    std::lock_guard lock(mutex_);
    if (unavailable_) return absl::UnavailableError("registry unreachable");
    auto it = cities_.find(city_id);
    if (it == cities_.end()) return absl::NotFoundError(absl::StrCat("no pilot city ", city_id));
    return it->second;
  }
  absl::StatusOr<techtrade::registry::v1::FinancePartner> GetFinancePartner(
      const std::string& partner_id, const std::string&) override {
    std::lock_guard lock(mutex_);
    if (unavailable_) return absl::UnavailableError("registry unreachable");
    auto it = partners_.find(partner_id);
    if (it == partners_.end()) {
      return absl::NotFoundError(absl::StrCat("id: no active finance partner ", partner_id));
    }
    return it->second;
  }
  absl::StatusOr<techtrade::registry::v1::TechnologyManager> GetTechnologyManager(
      absl::string_view field, const std::string& manager_id, const std::string&) override {
    std::lock_guard lock(mutex_);
    if (unavailable_) return absl::UnavailableError("registry unreachable");
    auto it = managers_.find(manager_id);
    if (it == managers_.end()) {
      return FieldError(field,
                        absl::StrCat("no technology manager ", manager_id, " in the registry"));
    }
    return it->second;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, techtrade::registry::v1::Organization> organizations_;
  std::map<std::string, techtrade::registry::v1::PilotCity> cities_;
  std::map<std::string, techtrade::registry::v1::FinancePartner> partners_;
  std::map<std::string, techtrade::registry::v1::TechnologyManager> managers_;
  bool unavailable_ = false;
};

}  // namespace techtrade::testing
