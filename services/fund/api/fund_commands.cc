#include "services/fund/api/fund_commands.h"

#include "services/fund/store/transition_store.h"

namespace techtrade::fund {
void Commit(Tx& tx, const ApplicationTransition& t, const EventCause& cause) {
  if (!t.changed()) return;
  store::SaveTransition(tx, t);
  EmitAll(tx, kProducer, cause, {"application", t.application().id()}, t.events(), t.sequences());
}

void Commit(Tx& tx, const ProgrammeTransition& t, const EventCause& cause) {
  store::SaveTransition(tx, t);
  EmitAll(tx, kProducer, cause, {"programme", t.programme.id()}, t.events, t.sequences);
}

}  // namespace techtrade::fund
