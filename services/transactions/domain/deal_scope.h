// Which deals a finance partner may see, pure: a deal names the partner that settles it
// (finance_partner_id), and only that partner's keys read it, list it or record its payments.
// To any other partner the deal does not exist (NOT_FOUND, exactly as for an unknown id), so
// existence is not leaked. Operators and city systems are not scoped by the partner: operators
// see every deal, city systems the deals of their city (the handlers' own rule).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::transactions {

// The partner whose deals alone `caller` sees: its API client id if it is a finance partner,
// else empty (not scoped by partner).
std::string PartnerScope(const techtrade::registry::v1::Principal& caller);

// Whether `deal` is within `caller`'s partner scope.
bool InPartnerScope(const techtrade::registry::v1::Principal& caller, const v1::Deal& deal);

// What a caller hears of a deal it may not see, and of one that does not exist: the same
// NOT_FOUND ("<field>: no deal <id>").
absl::Status DealNotFound(absl::string_view field, absl::string_view deal_id);

// OK if `deal` is within `caller`'s partner scope, else DealNotFound(field, deal.id()).
absl::Status CheckPartnerScope(const techtrade::registry::v1::Principal& caller,
                               const v1::Deal& deal, absl::string_view field);

}  // namespace techtrade::transactions
