// Which applications a finance partner may see, pure: an application is for a deal, the deal
// names the partner that settles it, and only that partner's keys read the application or list
// it (the transactions service's rule for the deal itself, services/transactions/domain/
// deal_scope.h). To any other partner the application does not exist (NOT_FOUND, exactly as for
// an unknown id), so existence is not leaked. Operators and city systems are not scoped by the
// partner: operators see every application, city systems those of their city's buyers (the
// handlers' own rule).
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "techtrade/fund/v1/fund.pb.h"
#include "techtrade/registry/v1/registry.pb.h"

namespace techtrade::fund {

// The partner whose applications alone `caller` sees: its API client id if it is a finance
// partner (empty if its key names no client: it sees none), nullopt if it is not a partner (not
// scoped by partner).
std::optional<std::string> ApplicationPartnerScope(
    const techtrade::registry::v1::Principal& caller);

// Whether `application` is within `caller`'s partner scope. An application of a deal that names
// no partner is no partner's.
bool InApplicationPartnerScope(const techtrade::registry::v1::Principal& caller,
                               const v1::Application& application);

// What a caller hears of an application it may not see, and of one that does not exist: the
// same NOT_FOUND ("<field>: no application <id>").
absl::Status ApplicationNotFound(absl::string_view field, absl::string_view id);

// OK if `application` is within `caller`'s partner scope, else ApplicationNotFound(field, id).
absl::Status CheckApplicationPartnerScope(const techtrade::registry::v1::Principal& caller,
                                          const v1::Application& application,
                                          absl::string_view field);

}  // namespace techtrade::fund
