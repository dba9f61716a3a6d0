#include "services/registry/store/registry_store.h"

#include "common/status.h"

namespace techtrade::registry {

std::vector<std::pair<std::string, absl::Status>> RegistryConstraintErrors() {
  return {
      {"pilot_cities_pkey", absl::AlreadyExistsError("id: this pilot city already exists")},
      {"organizations_credit_code_key",
       absl::AlreadyExistsError(
           "credit_code: an organisation with this code is already registered")},
      {"organizations_city_id_fkey", FieldError("city_id", "unknown pilot city")},
      {"api_clients_city_id_fkey", FieldError("city_id", "unknown pilot city")},
      {"technology_managers_certificate_number_key",
       absl::AlreadyExistsError(
           "certificate_number: a technology manager with this certificate is already registered")},
  };
}

}  // namespace techtrade::registry
