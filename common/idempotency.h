// request_id idempotency on PostgreSQL: where PgUnitOfWork (common/pg_transactor.h) stores a
// first call's response and PgTransactor looks it up (RunIdempotent, common/command.h).
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/command.h"
#include "common/db.h"
#include "common/ids.h"
#include "common/status.h"

namespace techtrade {

namespace internal {
// Stages the record of a first call's response in `tx`. If the key is taken by then (a retry, or
// a concurrent call with the same key), the commit fails and the transaction rolls back.
void StageIdempotentResponse(Tx& tx, const IdempotencyKey& key, const std::string& request_hash,
                             const std::string& response);
// The response stored for `key`, or nullopt; INVALID_ARGUMENT if it was for another request.
absl::StatusOr<std::optional<std::string>> LookupIdempotentResponse(
    PgPool& db, const IdempotencyKey& key, const std::string& request_hash);
}  // namespace internal

}  // namespace techtrade
