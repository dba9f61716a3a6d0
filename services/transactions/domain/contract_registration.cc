// Technology-contract registration as deal transitions (docs/deals.md, "Contract registration").
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/validation.h"
#include "google/protobuf/util/time_util.h"
#include "services/transactions/domain/deal_rules.h"
#include "services/transactions/domain/transition_steps.h"

namespace techtrade::transactions {

using namespace steps;
using google::protobuf::util::TimeUtil;

namespace {

bool IsCategory(v1::ContractCategory c) {
  return v1::ContractCategory_IsValid(c) && c != v1::CONTRACT_CATEGORY_UNSPECIFIED;
}

// The contract price: what the agreed milestones sum to.
int64_t ContractPriceMinor(const v1::Deal& deal) {
  int64_t sum = 0;
  for (const v1::Milestone& m : deal.milestones()) sum += m.amount().amount_minor();
  return sum;
}

// A value the registration names: in the deal's currency and at most its price.
absl::Status CheckContractValue(const v1::Deal& deal, const std::string& field,
                                const techtrade::common::v1::Money& value) {
  const std::string& currency = deal.paid_total().currency();
  if (value.currency() != currency) {
    return FieldError(field + ".currency", absl::StrCat("the deal is in ", currency));
  }
  if (value.amount_minor() > ContractPriceMinor(deal)) {
    return FieldError(field, absl::StrCat("above the contract price (", ContractPriceMinor(deal),
                                          " minor units)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateSubmitRegistration(const v1::SubmitContractRegistrationRequest& r) {
  if (!IsCategory(r.category())) return FieldError("category", "a contract category is required");
  return CheckMoney("declared_value", r.declared_value());
}

absl::Status ValidateRegisterContract(const v1::RegisterContractRequest& r) {
  if (!IsCategory(r.category())) return FieldError("category", "a contract category is required");
  return CheckMoney("registered_value", r.registered_value());
}

std::optional<absl::Time> RegistrationFlagDue(const v1::Deal& deal) {
  const v1::ContractRegistration& reg = deal.registration();
  if (!reg.has_deadline() || reg.overdue() || reg.state() == v1::REGISTRATION_STATE_REGISTERED ||
      deal.state() == v1::DEAL_STATE_CANCELLED) {
    return std::nullopt;
  }
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(reg.deadline()));
}

bool RegistrationOverdue(const v1::Deal& deal, absl::Time now) {
  const std::optional<absl::Time> due = RegistrationFlagDue(deal);
  return due.has_value() && now >= *due;
}

absl::StatusOr<Transition> SubmitContractRegistration(
    const v1::Deal& deal, const v1::SubmitContractRegistrationRequest& r, absl::Time now) {
  if (deal.state() != v1::DEAL_STATE_SIGNED && deal.state() != v1::DEAL_STATE_IN_PERFORMANCE &&
      deal.state() != v1::DEAL_STATE_COMPLETED) {
    return Refuse(deal, "a signed contract is submitted for registration");
  }
  const v1::ContractRegistration& before = deal.registration();
  if (before.state() == v1::REGISTRATION_STATE_SUBMITTED) {
    return absl::FailedPreconditionError(
        "the contract awaits its registration body's decision already");
  }
  if (before.state() == v1::REGISTRATION_STATE_REGISTERED) {
    return absl::FailedPreconditionError(
        absl::StrCat("the contract is registered already (", before.registration_number(), ")"));
  }
  TT_RETURN_IF_ERROR(CheckContractValue(deal, "declared_value", r.declared_value()));
  Transition t = Step(deal, now);
  v1::ContractRegistration* reg = t.deal.mutable_registration();
  // Deals signed before registration was a workflow learn their registration city here.
  if (reg->city_id().empty()) reg->set_city_id(t.deal.seller().city_id());
  reg->set_state(v1::REGISTRATION_STATE_SUBMITTED);
  reg->set_submissions(before.submissions() + 1);
  *reg->mutable_submit_time() = Ts(now);
  reg->set_category(r.category());
  *reg->mutable_declared_value() = r.declared_value();
  reg->set_document_reference(r.document_reference());
  t.Record(New<v1::ContractRegistrationSubmitted>());
  return t;
}

namespace {

absl::Status CheckAwaitsDecision(const v1::Deal& deal) {
  if (deal.state() == v1::DEAL_STATE_CANCELLED) {
    return Refuse(deal, "a cancelled deal's contract is not registered");
  }
  if (deal.registration().state() != v1::REGISTRATION_STATE_SUBMITTED) {
    return absl::FailedPreconditionError(
        absl::StrCat("the contract awaits no decision (registration is ",
                     v1::RegistrationState_Name(deal.registration().state()), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Transition> RegisterContract(const v1::Deal& deal,
                                            const v1::RegisterContractRequest& r,
                                            const std::string& decided_by, const v1::Party& body,
                                            absl::Time now) {
  TT_RETURN_IF_ERROR(CheckAwaitsDecision(deal));
  TT_RETURN_IF_ERROR(CheckContractValue(deal, "registered_value", r.registered_value()));
  Transition t = Step(deal, now);
  v1::ContractRegistration* reg = t.deal.mutable_registration();
  reg->set_state(v1::REGISTRATION_STATE_REGISTERED);
  reg->set_registration_number(r.registration_number());
  reg->set_category(r.category());
  *reg->mutable_registered_value() = r.registered_value();
  *reg->mutable_decide_time() = Ts(now);
  reg->clear_refuse_reason();
  reg->set_decided_by(decided_by);
  if (body.organization_id().empty()) {
    reg->clear_body();
  } else {
    *reg->mutable_body() = body;
  }
  t.Record(New<v1::ContractRegistered>());
  return t;
}

absl::StatusOr<Transition> RefuseContractRegistration(const v1::Deal& deal,
                                                      const std::string& reason,
                                                      const std::string& decided_by,
                                                      absl::Time now) {
  TT_RETURN_IF_ERROR(CheckAwaitsDecision(deal));
  Transition t = Step(deal, now);
  v1::ContractRegistration* reg = t.deal.mutable_registration();
  reg->set_state(v1::REGISTRATION_STATE_REFUSED);
  reg->set_refuse_reason(reason);
  *reg->mutable_decide_time() = Ts(now);
  reg->set_decided_by(decided_by);
  t.Record(New<v1::ContractRegistrationRefused>([&](auto& e) { e.set_reason(reason); }));
  return t;
}

absl::StatusOr<Transition> FlagRegistrationOverdue(const v1::Deal& deal, absl::Time now) {
  if (!RegistrationOverdue(deal, now)) {
    return absl::FailedPreconditionError("the deal's registration is not overdue");
  }
  Transition t = Step(deal, now);
  t.deal.mutable_registration()->set_overdue(true);
  t.Record(New<v1::ContractRegistrationOverdue>());
  return t;
}
}  // namespace techtrade::transactions
