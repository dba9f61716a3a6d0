// request_id idempotency for every mutation: the first call's response is stored in the same
// transaction as its effect; a retry with the same (client, request_id) gets that response back
// and changes nothing. A request_id reused for a different request is refused.
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
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
// Claims the key in `tx`. Returns the stored response if the key was used before (after checking
// it was for the same method and request), or nullopt if this call is the first.
absl::StatusOr<std::optional<std::string>> ClaimIdempotencyKey(pqxx::work& tx,
                                                                const IdempotencyKey& key,
                                                                const std::string& request_hash);
void StoreIdempotentResponse(pqxx::work& tx, const IdempotencyKey& key, const std::string& response);
}  // namespace internal

// Runs mutate(tx) -> absl::StatusOr<Response> at most once per key. A failed call stores nothing,
// so it may be retried with the same request_id. `redact` (optional) edits the copy that is
// stored, e.g. to drop a secret that must be shown only once.
template <class Response, class Mutate>
absl::StatusOr<Response> RunIdempotent(PgPool& db, const IdempotencyKey& key,
                                       const google::protobuf::Message& request, Mutate&& mutate,
                                       std::function<void(Response&)> redact = nullptr) {
  TT_RETURN_IF_ERROR(ValidateRequestId(key.request_id));
  const std::string request_hash = Sha256Hex(request.SerializeAsString());
  return InTransaction(db, [&](pqxx::work& tx) -> absl::StatusOr<Response> {
    TT_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                        internal::ClaimIdempotencyKey(tx, key, request_hash));
    if (stored.has_value()) {
      Response previous;
      if (!previous.ParseFromString(*stored)) return absl::InternalError("stored response unreadable");
      return previous;
    }
    TT_ASSIGN_OR_RETURN(Response response, mutate(tx));
    Response to_store = response;
    if (redact) redact(to_store);
    internal::StoreIdempotentResponse(tx, key, to_store.SerializeAsString());
    return response;
  });
}

}  // namespace techtrade
