// The last two steps of every fund command: authorise → load → decide (domain/) → save → emit.
// Commit saves what the decision returned through the store and emits its events through the
// unit of work (common/command.h), so the change and its events commit together.
#pragma once

#include "common/command.h"
#include "services/fund/domain/application_transition.h"
#include "services/fund/domain/programme_transition.h"
#include "services/fund/store/fund_store.h"

namespace techtrade::fund {

// The producer named in the fund's events.
inline constexpr char kProducer[] = "fund";

// The application as its events' aggregate: in the audit scope of the applicant's city and of
// the deal's finance partner, whose own stream (PartnerDealsTopic) receives its events too.
// Programmes concern no one deal and stay on the fund's topic alone.
AggregateRef ApplicationAggregate(const v1::Application& application);

// Saves and emits; an unchanged application (no events) writes nothing. Rows go in the order
// the database needs: a new row before the ledger entries that refer to it, the entries in the
// order they were posted, then the record after the change.
absl::Status Commit(FundStore& store, UnitOfWork& work, const ApplicationTransition& transition,
                    const EventCause& cause);
absl::Status Commit(FundStore& store, UnitOfWork& work, const ProgrammeTransition& transition,
                    const EventCause& cause);

}  // namespace techtrade::fund
