#include "services/fund/store/transition_store.h"

#include "services/fund/store/fund_store.h"

namespace techtrade::fund::store {

void SaveTransition(Tx& tx, const ApplicationTransition& t) {
  const v1::Application& a = t.application();
  if (t.inserted().has_value()) InsertApplication(tx, *t.inserted());
  for (const Posting& posting : t.postings()) AppendEntry(tx, a.programme_id(), a.id(), posting);
  if (t.grant().delta_minor != 0) {
    AddAnnualGrant(tx, a.programme_id(), a.applicant().organization_id(), a.year(),
                   t.grant().delta_minor, t.grant().cap_minor);
  }
  SaveApplication(tx, a);
}

void SaveTransition(Tx& tx, const ProgrammeTransition& t) {
  if (t.created) {
    InsertProgramme(tx, t.programme);
  } else {
    SaveProgramme(tx, t.programme);
  }
  for (const Posting& posting : t.postings) AppendEntry(tx, t.programme.id(), "", posting);
}

}  // namespace techtrade::fund::store
