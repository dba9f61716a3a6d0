// The one command shape every handler follows: authorise → load → decide → save → emit. A handler
// reaches its storage only through a Transactor, which runs a unit of work against the service's
// store (an interface in services/<name>/store) in one transaction; the unit saves rows through
// the store and emits events and stores its response through the UnitOfWork, and all of it
// commits or none of it does. PostgreSQL implements it in common/pg_transactor.h; tests use the
// in-memory one in tests/support/fake_transactor.h. Nothing here does I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/ids.h"
#include "common/status.h"
#include "google/protobuf/message.h"
#include "techtrade/common/v1/common.pb.h"
#include "techtrade/registry/v1/registry.pb.h"

namespace techtrade {

struct EventCause {
  std::string request_id;   // the request that led to the change, through any number of events
  std::string traceparent;  // W3C trace context; empty or invalid: a new trace
  // Who caused it (docs/events.md, "Actor"). Unset: the emitting service itself (AppendToOutbox
  // records it as a system actor).
  common::v1::Actor actor = {};

  // A request served: its id, the call's trace context and the caller as the actor.
  static EventCause OfRequest(absl::string_view request_id, absl::string_view traceparent,
                              const registry::v1::Principal& caller);
  // A consumed event: its causation request id, a child span of its trace, and its actor (the
  // chain's origin).
  static EventCause OfEvent(const common::v1::EventEnvelope& consumed);
  // What `service` does on its own (a worker, a sweep): a system actor named after it, a new trace.
  static EventCause OfSystem(absl::string_view service);
};

// The actor a caller is: its API client id, its role's name and its city.
common::v1::Actor ActorOf(const registry::v1::Principal& caller);
// The actor of what `service` does on its own: role "system", the service's name as client id.
common::v1::Actor SystemActor(absl::string_view service);

struct AggregateRef {
  std::string type;  // e.g. "organization"
  std::string id;
  // Who may read the aggregate's audit records (common/audit_scope.h): the pilot cities it
  // concerns, and the finance partner (API client id) that settles it. Empty: none.
  std::vector<std::string> city_ids = {};
  std::string partner_id = {};
  // A topic that receives every event of the aggregate as well as the service's own (the same
  // envelope and event id), e.g. its finance partner's stream (PartnerDealsTopic,
  // common/topics.h). Empty: none.
  std::string also_topic = {};
  // A hash-chained aggregate (docs/events.md, "Hash chain"; deals): each event carries the
  // SHA-256 of the aggregate's previous envelope, the first of a unit's events
  // `previous_event_hash` (the chain head the unit read with the aggregate; empty: none yet).
  bool chained = false;
  std::string previous_event_hash = {};
};

struct IdempotencyKey {
  std::string client_id;   // the API client; request ids are scoped per client
  std::string request_id;  // 1–64 characters chosen by the client
  std::string method;      // e.g. "RegisterOrganization"
};

absl::Status ValidateRequestId(absl::string_view request_id);

// What a command writes besides its own rows, in the same transaction.
class UnitOfWork {
 public:
  virtual ~UnitOfWork() = default;
  // Appends `event` for `aggregate` at `sequence` (the aggregate's version after it) to the
  // outbox (docs/events.md). For a chained aggregate, returns the SHA-256 of the event's envelope
  // bytes (the aggregate's new chain head); else empty.
  virtual std::string Emit(absl::string_view producer, const EventCause& cause,
                           const AggregateRef& aggregate, int64_t sequence,
                           const google::protobuf::Message& event) = 0;
  // Stores a first call's response under `key`. If the key is taken by the time the unit
  // commits (a retry, or a concurrent call with the same key), the whole unit rolls back.
  virtual void RecordResponse(const IdempotencyKey& key, const std::string& request_hash,
                              const std::string& response) = 0;
  // Runs once the unit has committed, never if it rolls back.
  virtual void OnCommit(std::function<void()> hook) = 0;
};

// A decision's events in order: events[i] at sequences[i], each chained to the one before for a
// chained aggregate. Returns the last one's hash (the new chain head; empty if not chained).
std::string EmitAll(UnitOfWork& work, absl::string_view producer, const EventCause& cause,
                    const AggregateRef& aggregate,
                    std::span<const std::unique_ptr<google::protobuf::Message>> events,
                    std::span<const int64_t> sequences);

// Runs units of work against a `Store` (the service's storage interface).
template <class Store>
class Transactor {
 public:
  using Unit = std::function<absl::Status(Store&, UnitOfWork&)>;
  virtual ~Transactor() = default;
  // Runs `unit` in one transaction, from its start again if it lost a race with a concurrent one
  // (so a unit decides on what it reads inside it, and has no effects outside it but its
  // OnCommit hooks). A unit's error rolls it back and is returned.
  virtual absl::Status Run(const Unit& unit) = 0;
  // The response stored for `key`, or nullopt; INVALID_ARGUMENT naming request_id if it was
  // stored for another request.
  virtual absl::StatusOr<std::optional<std::string>> StoredResponse(
      const IdempotencyKey& key, const std::string& request_hash) = 0;
};

// Run() for a unit that produces a value.
template <class Result, class Store, class Fn>
absl::StatusOr<Result> RunFor(Transactor<Store>& transactor, Fn&& fn) {
  std::optional<Result> result;
  TT_RETURN_IF_ERROR(transactor.Run([&](Store& store, UnitOfWork& work) -> absl::Status {
    absl::StatusOr<Result> produced = fn(store, work);
    if (!produced.ok()) return produced.status();
    result = *std::move(produced);
    return absl::OkStatus();
  }));
  return *std::move(result);
}

namespace internal {
// The response stored for `key`, else `failure`.
template <class Response, class Store>
absl::StatusOr<Response> StoredResponseOr(Transactor<Store>& transactor, const IdempotencyKey& key,
                                          const std::string& request_hash, absl::Status failure) {
  TT_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                      transactor.StoredResponse(key, request_hash));
  if (!stored.has_value()) return failure;
  Response previous;
  if (!previous.ParseFromString(*stored)) return absl::InternalError("stored response unreadable");
  return previous;
}
}  // namespace internal

// request_id idempotency for every mutation: runs mutate(store, work) ->
// absl::StatusOr<Response> at most once per key. The first call's response is stored in the same
// transaction as its effect; a retry with the same (client, request_id) gets that response back
// and changes nothing; a request_id reused for a different request is refused. `redact`
// (optional) edits the copy that is stored, e.g. to drop a secret that must be shown only once.
//
// Optimistic: the mutation runs first and its response is stored with the mutation's own writes.
// If the mutation fails, or the key is found taken at commit, everything rolls back and the
// stored response, if any, is returned. That costs a retry a second look-up, and saves every
// first call a round trip. A failed call stores nothing, so it may be retried with the same
// request_id.
template <class Response, class Store, class Mutate>
absl::StatusOr<Response> RunIdempotent(Transactor<Store>& transactor, const IdempotencyKey& key,
                                       const google::protobuf::Message& request, Mutate&& mutate,
                                       std::function<void(Response&)> redact = nullptr) {
  TT_RETURN_IF_ERROR(ValidateRequestId(key.request_id));
  const std::string request_hash = Sha256Hex(request.SerializeAsString());
  Response response;
  absl::Status status = transactor.Run([&](Store& store, UnitOfWork& work) -> absl::Status {
    TT_ASSIGN_OR_RETURN(response, mutate(store, work));
    std::string stored;
    if (redact) {
      Response to_store = response;
      redact(to_store);
      stored = to_store.SerializeAsString();
    } else {
      stored = response.SerializeAsString();  // no copy of the message for the common case
    }
    work.RecordResponse(key, request_hash, stored);
    return absl::OkStatus();
  });
  if (status.ok()) return response;
  return internal::StoredResponseOr<Response>(transactor, key, request_hash, status);
}

// The same for a call decided partly before its transaction, on what other services answer
// (is the organisation verified, the listing published): `check`() runs first, and if it
// refuses, the stored response of an identical earlier call still wins. A client that retries a
// call whose answer it never saw gets that answer, although the organisation or listing has
// changed since; only a call that never succeeded is refused.
template <class Response, class Store, class Check, class Mutate>
absl::StatusOr<Response> RunIdempotentAfterCheck(Transactor<Store>& transactor,
                                                 const IdempotencyKey& key,
                                                 const google::protobuf::Message& request,
                                                 Check&& check, Mutate&& mutate) {
  TT_RETURN_IF_ERROR(ValidateRequestId(key.request_id));
  if (absl::Status refused = check(); !refused.ok()) {
    return internal::StoredResponseOr<Response>(transactor, key,
                                                Sha256Hex(request.SerializeAsString()), refused);
  }
  return RunIdempotent<Response>(transactor, key, request, std::forward<Mutate>(mutate));
}

}  // namespace techtrade
