// How a fund decision is carried out: the application's next state, its ledger entries and the
// events that announce each step, written into the caller's transaction. Shared by the handlers
// (approval) and the consumer of deal events (tranches, unwinding).
#pragma once

#include <google/protobuf/message.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/db.h"
#include "techtrade/fund/v1/fund.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::fund {

namespace v1 = techtrade::fund::v1;
namespace tv1 = techtrade::transactions::v1;

// The producer named in the fund's events.
inline constexpr char kProducer[] = "fund";

google::protobuf::Timestamp Timestamp(absl::Time t);
techtrade::common::v1::Money MoneyOf(const std::string& currency, int64_t minor);

// An application and the events its change produces: each event takes the next version and
// carries the application as it stands after that step.
class ApplicationChange {
 public:
  ApplicationChange(v1::Application application, absl::Time now)
      : application_(std::move(application)), now_(now) {}
  v1::Application& application() { return application_; }

  template <class Event>
  Event& Record() {
    application_.set_version(application_.version() + 1);
    *application_.mutable_update_time() = Timestamp(now_);
    auto event = std::make_unique<Event>();
    *event->mutable_application() = application_;
    event->set_idempotency_key(absl::StrCat(application_.id(), ":", application_.version()));
    Event& ref = *event;
    events_.push_back(std::move(event));
    return ref;
  }

  // Appends the recorded events to the outbox, sequence after sequence.
  void Emit(Tx& tx, const std::string& request_id, const std::string& traceparent);
  bool changed() const { return !events_.empty(); }

 private:
  v1::Application application_;
  absl::Time now_;
  std::vector<std::unique_ptr<google::protobuf::Message>> events_;
};

// Pays the tranches the deal's progress makes due; the application completes with the last fen.
void PayDueTranches(Tx& tx, ApplicationChange& change, const v1::Programme& programme,
                    const tv1::Deal& deal, absl::Time now);

// Reserves the calculated amount, then pays what the deal has already made due.
void Approve(Tx& tx, ApplicationChange& change, const v1::Programme& programme,
             const tv1::Deal& deal, absl::Time now, const std::string& reason);

// The deal was cancelled: release what is reserved, claw back what went out where the rules say
// so, and give the buyer's annual cap back.
void Unwind(Tx& tx, ApplicationChange& change, const v1::Programme& programme);

}  // namespace techtrade::fund
