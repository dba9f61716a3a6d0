#include "services/fund/domain/programme_transition.h"

#include "common/status.h"
#include "common/validation.h"
#include "services/fund/domain/application_transition.h"

namespace techtrade::fund {
namespace {

template <class Event>
void Record(ProgrammeTransition& t, absl::Time now) {
  t.programme.set_version(t.programme.version() + 1);
  *t.programme.mutable_update_time() = Timestamp(now);
  auto event = std::make_unique<Event>();
  *event->mutable_programme() = t.programme;
  t.events.push_back(std::move(event));
  t.sequences.push_back(t.programme.version());
}

}  // namespace

ProgrammeTransition CreateProgramme(const v1::CreateProgrammeRequest& request,
                                    const std::string& id, absl::Time now) {
  ProgrammeTransition t;
  t.created = true;
  v1::Programme& p = t.programme;
  p.set_id(id);
  p.set_name(request.name());
  p.set_city_id(request.city_id());
  *p.mutable_start_time() = request.start_time();
  *p.mutable_end_time() = request.end_time();
  *p.mutable_total_budget() = request.total_budget();
  *p.mutable_rules() = request.rules();
  p.set_status(v1::PROGRAMME_STATUS_ACTIVE);
  *p.mutable_create_time() = Timestamp(now);
  p.mutable_balances()->set_currency(p.total_budget().currency());
  t.postings.push_back({EntryKind::kFund, p.total_budget().amount_minor(), ""});
  for (const Posting& posting : t.postings) Post(posting, *p.mutable_balances());
  Record<v1::ProgrammeCreated>(t, now);
  return t;
}

absl::StatusOr<ProgrammeTransition> CloseProgramme(const v1::Programme& programme,
                                                   int64_t expected_version,
                                                   const std::string& reason, absl::Time now) {
  TT_RETURN_IF_ERROR(CheckVersionIsCurrent(expected_version, programme.version()));
  if (programme.status() == v1::PROGRAMME_STATUS_CLOSED) {
    return absl::FailedPreconditionError("the programme is closed already");
  }
  ProgrammeTransition t{.programme = programme};
  t.programme.set_status(v1::PROGRAMME_STATUS_CLOSED);
  t.programme.set_close_reason(reason);
  Record<v1::ProgrammeClosed>(t, now);
  return t;
}

}  // namespace techtrade::fund
