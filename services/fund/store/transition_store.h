// Saves what a decision of domain/ returned, in the caller's transaction and in the order the
// database needs: a new row before the ledger entries that refer to it, the entries in the
// order they were posted, then the record after the change. Writes are staged like every fund
// write (fund_store.h).
#pragma once

#include "common/db.h"
#include "services/fund/domain/application_transition.h"
#include "services/fund/domain/programme_transition.h"

namespace techtrade::fund::store {

void SaveTransition(Tx& tx, const ApplicationTransition& transition);
void SaveTransition(Tx& tx, const ProgrammeTransition& transition);

}  // namespace techtrade::fund::store
