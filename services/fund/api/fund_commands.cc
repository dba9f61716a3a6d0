#include "services/fund/api/fund_commands.h"

namespace techtrade::fund {

absl::Status Commit(FundStore& store, UnitOfWork& work, const ApplicationTransition& t,
                    const EventCause& cause) {
  if (!t.changed()) return absl::OkStatus();
  const v1::Application& a = t.application();
  if (t.inserted().has_value()) TT_RETURN_IF_ERROR(store.InsertApplication(*t.inserted()));
  for (const Posting& posting : t.postings()) {
    TT_RETURN_IF_ERROR(store.AppendEntry(a.programme_id(), a.id(), posting));
  }
  if (t.grant().delta_minor != 0) {
    TT_RETURN_IF_ERROR(store.AddAnnualGrant(a.programme_id(), a.applicant().organization_id(),
                                            a.year(), t.grant().delta_minor, t.grant().cap_minor));
  }
  TT_RETURN_IF_ERROR(store.SaveApplication(a));
  EmitAll(work, kProducer, cause, {"application", a.id()}, t.events(), t.sequences());
  return absl::OkStatus();
}

absl::Status Commit(FundStore& store, UnitOfWork& work, const ProgrammeTransition& t,
                    const EventCause& cause) {
  if (t.created) {
    TT_RETURN_IF_ERROR(store.InsertProgramme(t.programme));
  } else {
    TT_RETURN_IF_ERROR(store.SaveProgramme(t.programme));
  }
  for (const Posting& posting : t.postings) {
    TT_RETURN_IF_ERROR(store.AppendEntry(t.programme.id(), "", posting));
  }
  EmitAll(work, kProducer, cause, {"programme", t.programme.id()}, t.events, t.sequences);
  return absl::OkStatus();
}

}  // namespace techtrade::fund
