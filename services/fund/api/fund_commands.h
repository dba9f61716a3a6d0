// The last two steps of every fund command: authorise → load → decide (domain/) → save → emit.
// Commit saves what the decision returned (store/transition_store.h) and appends its events to
// the outbox, all in the caller's transaction, so the change and its events commit together.
#pragma once

#include <string>

#include "common/db.h"
#include "common/emit.h"
#include "services/fund/domain/application_transition.h"
#include "services/fund/domain/programme_transition.h"

namespace techtrade::fund {

// The producer named in the fund's events.
inline constexpr char kProducer[] = "fund";

// Saves and emits; an unchanged application (no events) writes nothing.
void Commit(Tx& tx, const ApplicationTransition& transition, const EventCause& cause);
void Commit(Tx& tx, const ProgrammeTransition& transition, const EventCause& cause);

}  // namespace techtrade::fund
