// The pieces every deal transition is made of (deal_rules.cc, contract_registration.cc,
// commission.cc): internal to the transactions domain.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "google/protobuf/util/time_util.h"
#include "services/transactions/domain/deal_rules.h"

namespace techtrade::transactions::steps {

inline google::protobuf::Timestamp Ts(absl::Time t) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

// FAILED_PRECONDITION "deal is <STATE>: <why>".
inline absl::Status Refuse(const v1::Deal& deal, absl::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat("deal is ", v1::DealState_Name(deal.state()), ": ", why));
}

inline bool IsParty(v1::PartyRole r) {
  return r == v1::PARTY_ROLE_BUYER || r == v1::PARTY_ROLE_SELLER;
}

inline absl::Status CheckParty(const std::string& field, v1::PartyRole r) {
  if (!IsParty(r)) return FieldError(field, "PARTY_ROLE_BUYER or PARTY_ROLE_SELLER required");
  return absl::OkStatus();
}

inline std::string PartyName(v1::PartyRole role) {
  return role == v1::PARTY_ROLE_BUYER ? "buyer" : "seller";
}

template <class Event>
std::unique_ptr<Event> New(const std::function<void(Event&)>& fill = nullptr) {
  auto e = std::make_unique<Event>();
  if (fill) fill(*e);
  return e;
}

inline v1::Milestone* FindMilestone(v1::Deal& deal, int index) {
  for (auto& m : *deal.mutable_milestones()) {
    if (m.index() == index) return &m;
  }
  return nullptr;
}

// INVALID_ARGUMENT naming milestone_index unless the deal has that milestone.
inline absl::Status CheckMilestoneIndex(const v1::Deal& deal, int index) {
  if (index < 1 || index > deal.milestones_size()) {
    return FieldError("milestone_index",
                      absl::StrCat("the deal has milestones 1–", deal.milestones_size()));
  }
  return absl::OkStatus();
}

// The deal as a change starts from it: updated `now`, no event yet.
inline Transition Step(v1::Deal deal, absl::Time now) {
  *deal.mutable_update_time() = Ts(now);
  return Transition{std::move(deal), {}};
}

// Every milestone paid (directly or from escrow): the deal completes (DealCompleted).
inline void CompleteIfAllPaid(Transition& t) {
  for (const v1::Milestone& m : t.deal.milestones()) {
    if (m.state() != v1::MILESTONE_STATE_PAID) return;
  }
  t.deal.set_state(v1::DEAL_STATE_COMPLETED);
  t.Record(New<v1::DealCompleted>());
}

}  // namespace techtrade::transactions::steps
