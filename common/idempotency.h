// request_id idempotency for every mutation: the first call's response is stored in the same
// transaction as its effect; a retry with the same (client, request_id) gets that response back
// and changes nothing. A request_id reused for a different request is refused.
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/db.h"
#include "common/ids.h"
#include "common/status.h"

namespace techtrade {

struct IdempotencyKey {
  std::string client_id;   // the API client; request ids are scoped per client
  std::string request_id;  // 1–64 characters chosen by the client
  std::string method;      // e.g. "RegisterOrganization"
};

absl::Status ValidateRequestId(absl::string_view request_id);

namespace internal {
// Stages the record of a first call's response in `tx`. If the key is taken by then (a retry, or
// a concurrent call with the same key), the commit fails and the transaction rolls back.
void StageIdempotentResponse(Tx& tx, const IdempotencyKey& key, const std::string& request_hash,
                             const std::string& response);
// The response stored for `key`, or nullopt; INVALID_ARGUMENT if it was for another request.
absl::StatusOr<std::optional<std::string>> LookupIdempotentResponse(
    PgPool& db, const IdempotencyKey& key, const std::string& request_hash);
// The response stored for `key`, else `failure`.
template <class Response>
absl::StatusOr<Response> StoredResponseOr(PgPool& db, const IdempotencyKey& key,
                                          const std::string& request_hash, absl::Status failure) {
  TT_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                      LookupIdempotentResponse(db, key, request_hash));
  if (!stored.has_value()) return failure;
  Response previous;
  if (!previous.ParseFromString(*stored)) return absl::InternalError("stored response unreadable");
  return previous;
}
}  // namespace internal

// Runs mutate(tx) -> absl::StatusOr<Response> at most once per key; `redact` (optional) edits
// the copy that is stored, e.g. to drop a secret that must be shown only once.
//
// Optimistic: the mutation runs first and its response is stored by an INSERT sent with the
// mutation's own staged writes. If the mutation fails, or the INSERT finds the key taken (a retry,
// or a concurrent call with the same key), everything rolls back and the stored response, if any,
// is returned.
// That costs a retry a second look-up, and saves every first call a round trip. A failed call
// stores nothing, so it may be retried with the same request_id.
template <class Response, class Mutate>
absl::StatusOr<Response> RunIdempotent(PgPool& db, const IdempotencyKey& key,
                                       const google::protobuf::Message& request, Mutate&& mutate,
                                       std::function<void(Response&)> redact = nullptr) {
  TT_RETURN_IF_ERROR(ValidateRequestId(key.request_id));
  const std::string request_hash = Sha256Hex(request.SerializeAsString());
  Response response;
  auto unit = [&](Tx& tx) -> absl::Status {
    TT_ASSIGN_OR_RETURN(response, mutate(tx));
    std::string stored;
    if (redact) {
      Response to_store = response;
      redact(to_store);
      stored = to_store.SerializeAsString();
    } else {
      stored = response.SerializeAsString();  // no copy of the message for the common case
    }
    internal::StageIdempotentResponse(tx, key, request_hash, stored);
    return absl::OkStatus();
  };
  absl::Status status = InTransaction(db, unit);
  if (status.ok()) return response;
  return internal::StoredResponseOr<Response>(db, key, request_hash, status);
}

// The same for a call decided partly before its transaction, on what other services answer
// (is the organisation verified, the listing published): `check`() runs first, and if it
// refuses, the stored response of an identical earlier call still wins. A client that retries a
// call whose answer it never saw gets that answer, although the organisation or listing has
// changed since; only a call that never succeeded is refused.
template <class Response, class Check, class Mutate>
absl::StatusOr<Response> RunIdempotentAfterCheck(PgPool& db, const IdempotencyKey& key,
                                                 const google::protobuf::Message& request,
                                                 Check&& check, Mutate&& mutate) {
  TT_RETURN_IF_ERROR(ValidateRequestId(key.request_id));
  if (absl::Status refused = check(); !refused.ok()) {
    return internal::StoredResponseOr<Response>(db, key, Sha256Hex(request.SerializeAsString()),
                                                refused);
  }
  return RunIdempotent<Response>(db, key, request, std::forward<Mutate>(mutate));
}

}  // namespace techtrade
