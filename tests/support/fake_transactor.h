// The in-memory Transactor (common/command.h) that handler tests run services on: a unit runs on
// a copy of the committed state and replaces it only if it succeeds, so a refused command
// changes nothing, as a rolled-back transaction would. Units run one at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/command.h"
#include "common/envelope.h"
#include "common/status.h"

namespace techtrade::testing {

// An event as the outbox would have received it.
struct EmittedEvent {
  std::string producer;
  EventCause cause;
  AggregateRef aggregate;
  int64_t sequence = 0;
  std::string type;     // the payload's full protobuf name
  std::string payload;  // serialized
  // The EventEnvelope as the outbox would publish it (common/envelope.h), serialized: what a
  // chained aggregate's hash chain links.
  std::string envelope;
};

// `FakeStore` implements `Store` in memory and is copyable (its copy is a unit's draft). It may
// have `absl::Status CommitError() const`: what the draft's commit would be refused with.
template <class Store, class FakeStore>
class FakeTransactor final : public Transactor<Store> {
 public:
  explicit FakeTransactor(FakeStore initial = FakeStore()) : state_(std::move(initial)) {}

  absl::Status Run(const typename Transactor<Store>::Unit& unit) override {
    std::vector<std::function<void()>> hooks;
    bool answer_lost = false;
    {
      std::lock_guard lock(mutex_);
      ++runs_;
      FakeStore draft = state_;
      Work work;
      TT_RETURN_IF_ERROR(unit(draft, work));
      // What a database refuses only at commit (a unique key taken, a row changed since it was
      // read), if the store can tell.
      if constexpr (requires { draft.CommitError(); }) TT_RETURN_IF_ERROR(draft.CommitError());
      for (const auto& [key, stored] : work.responses) {
        if (responses_.contains(key)) {
          return absl::AlreadyExistsError("request_id: taken by a concurrent or earlier call");
        }
      }
      state_ = std::move(draft);
      for (EmittedEvent& event : work.events) events_.push_back(std::move(event));
      for (auto& [key, stored] : work.responses) responses_.emplace(key, std::move(stored));
      hooks = std::move(work.hooks);
      if (answers_to_lose_ > 0) {
        --answers_to_lose_;
        answer_lost = true;
      }
    }
    for (auto& hook : hooks) hook();
    if (answer_lost) return absl::UnavailableError("the commit's answer was lost");
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<std::string>> StoredResponse(
      const IdempotencyKey& key, const std::string& request_hash) override {
    std::lock_guard lock(mutex_);
    auto it = responses_.find({key.client_id, key.request_id});
    if (it == responses_.end()) return std::nullopt;
    if (it->second.method != key.method || it->second.request_hash != request_hash) {
      return FieldError("request_id", absl::StrCat("'", key.request_id,
                                                   "' was already used for a different request"));
    }
    return it->second.response;
  }

  // The committed state, to seed before a test and inspect after a call (not during one).
  FakeStore& state() { return state_; }
  // Every event committed so far, in order.
  std::vector<EmittedEvent> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  // How many units have run, committed or not.
  int runs() const {
    std::lock_guard lock(mutex_);
    return runs_;
  }
  // The next `n` units that commit answer UNAVAILABLE after committing, as a database whose
  // commit acknowledgement never reached the service.
  void LoseNextCommitAnswers(int n) {
    std::lock_guard lock(mutex_);
    answers_to_lose_ = n;
  }

 private:
  using ResponseKey = std::pair<std::string, std::string>;  // (client_id, request_id)
  struct StoredCall {
    std::string method;
    std::string request_hash;
    std::string response;
  };

  class Work final : public UnitOfWork {
   public:
    std::string Emit(absl::string_view producer, const EventCause& cause,
                     const AggregateRef& aggregate, int64_t sequence,
                     const google::protobuf::Message& event) override {
      std::string envelope = BuildEnvelope(producer,
                                           {.aggregate_type = aggregate.type,
                                            .aggregate_id = aggregate.id,
                                            .sequence = sequence,
                                            .payload = &event,
                                            .causation_request_id = cause.request_id,
                                            .traceparent = cause.traceparent,
                                            .actor = &cause.actor,
                                            .previous_event_hash = aggregate.previous_event_hash},
                                           absl::ToUnixMicros(absl::Now()))
                                 .SerializeAsString();
      std::string hash = aggregate.chained ? EnvelopeHash(envelope) : std::string();
      events.push_back({std::string(producer), cause, aggregate, sequence,
                        std::string(event.GetDescriptor()->full_name()), event.SerializeAsString(),
                        std::move(envelope)});
      return hash;
    }
    void RecordResponse(const IdempotencyKey& key, const std::string& request_hash,
                        const std::string& response) override {
      responses.emplace_back(ResponseKey{key.client_id, key.request_id},
                             StoredCall{key.method, request_hash, response});
    }
    void OnCommit(std::function<void()> hook) override { hooks.push_back(std::move(hook)); }

    std::vector<EmittedEvent> events;
    std::vector<std::pair<ResponseKey, StoredCall>> responses;
    std::vector<std::function<void()>> hooks;
  };

  mutable std::mutex mutex_;
  FakeStore state_;
  std::vector<EmittedEvent> events_;
  std::map<ResponseKey, StoredCall> responses_;
  int runs_ = 0;
  int answers_to_lose_ = 0;
};

}  // namespace techtrade::testing
