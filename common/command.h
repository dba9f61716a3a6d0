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

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/ids.h"
#include "common/status.h"
#include "google/protobuf/message.h"
#include "techtrade/common/v1/common.pb.h"

namespace techtrade {

struct EventCause {
  std::string request_id;   // the request that led to the change, through any number of events
  std::string traceparent;  // W3C trace context; empty or invalid: a new trace

  // A request served: its id and the call's trace context.
  static EventCause OfRequest(absl::string_view request_id, absl::string_view traceparent);
  // A consumed event: its causation request id, and a child span of its trace.
  static EventCause OfEvent(const common::v1::EventEnvelope& consumed);
};

struct AggregateRef {
  std::string type;  // e.g. "organization"
  std::string id;
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
  // outbox (docs/events.md).
  virtual void Emit(absl::string_view producer, const EventCause& cause,
                    const AggregateRef& aggregate, int64_t sequence,
                    const google::protobuf::Message& event) = 0;
  // Stores a first call's response under `key`. If the key is taken by the time the unit
  // commits (a retry, or a concurrent call with the same key), the whole unit rolls back.
  virtual void RecordResponse(const IdempotencyKey& key, const std::string& request_hash,
                              const std::string& response) = 0;
  // Runs once the unit has committed, never if it rolls back.
  virtual void OnCommit(std::function<void()> hook) = 0;
};

// A decision's events in order: events[i] at sequences[i].
void EmitAll(UnitOfWork& work, absl::string_view producer, const EventCause& cause,
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
