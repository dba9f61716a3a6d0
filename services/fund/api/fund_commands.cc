#include "services/fund/api/fund_commands.h"

#include "common/topics.h"

namespace techtrade::fund {

AggregateRef ApplicationAggregate(const v1::Application& a) {
  AggregateRef ref{"application", a.id(), {a.applicant().city_id()}};
  // The deal's partner reads the application's audit records and receives its events on its own
  // stream (the deal's events are there too), besides the fund's topic.
  ref.partner_id = a.finance_partner_id();
  if (!a.finance_partner_id().empty()) ref.also_topic = PartnerDealsTopic(a.finance_partner_id());
  return ref;
}

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
                                            BeneficiaryOf(a), a.year(), t.grant().delta_minor,
                                            t.grant().cap_minor));
  }
  TT_RETURN_IF_ERROR(store.SaveApplication(a));
  EmitAll(work, kProducer, cause, ApplicationAggregate(a), t.events(), t.sequences());
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
  // A national programme (no city) is in no city system's audit scope.
  EmitAll(work, kProducer, cause, {"programme", t.programme.id(), {t.programme.city_id()}},
          t.events, t.sequences);
  return absl::OkStatus();
}

}  // namespace techtrade::fund
