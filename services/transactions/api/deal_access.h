// Who may act on or read a deal, and how a deal's events are emitted: shared by the
// transactions handlers (transactions_service.cc, transactions_registration.cc).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/command.h"
#include "common/emit.h"
#include "common/server.h"
#include "services/transactions/domain/deal_rules.h"
#include "services/transactions/store/deal_store.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::transactions {

// The caller acts for `party`: an operator, or the system of the party's own city
// (PERMISSION_DENIED naming `role` otherwise).
absl::Status ActsFor(const CallContext& call, const v1::Party& party, absl::string_view role);

// The caller takes a step of the deal's buyer or seller (`role`): it acts for that party
// (ActsFor), or that party allowed the deal's broker to act for it (AllowBroker) and the caller
// acts for the broker.
absl::Status ActsForParty(const CallContext& call, const v1::Deal& deal, v1::PartyRole role);

// A registered organisation as a deal names it.
v1::Party AsParty(const techtrade::registry::v1::Organization& org);

// The deal's buyer or seller.
const v1::Party& PartyOf(const v1::Deal& deal, v1::PartyRole role);
absl::string_view RoleName(v1::PartyRole role);

// Who may read `deal` beside its partner scope: an operator or partner, or the system or
// registration body of a city the deal involves (else PERMISSION_DENIED).
absl::Status MayReadDeal(const CallContext& call, const v1::Deal& deal);

// Who decides a contract's registration: an operator, or the registration body of the deal's
// registration city (PERMISSION_DENIED otherwise).
absl::Status DecidesRegistration(const CallContext& call, const v1::Deal& deal);

// Emits the transition's events, each chained to the one before, the first to the deal's chain
// head `read` with the deal; returns the head after them (docs/events.md, "Hash chain").
store::ChainHead EmitDealEvents(UnitOfWork& work, const EventCause& cause, const Transition& t,
                                const store::ChainHead& read);

}  // namespace techtrade::transactions
