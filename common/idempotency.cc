#include "common/idempotency.h"

#include "absl/strings/str_cat.h"

namespace techtrade {

namespace internal {

void StageIdempotentResponse(Tx& tx, const IdempotencyKey& key, const std::string& request_hash,
                             const std::string& response) {
  tx.StageRow(
      "INSERT INTO idempotency_keys (client_id, request_id, method, request_hash, response) "
      "VALUES ",
      "($1, $2, $3, $4, $5::bytea)", "",
      {SqlText(key.client_id), SqlText(key.request_id), SqlText(key.method), SqlText(request_hash),
       SqlBytes(response)});
}

absl::StatusOr<std::optional<std::string>> LookupIdempotentResponse(
    PgPool& db, const IdempotencyKey& key, const std::string& request_hash) {
  return InTransaction(db, [&](Tx& tx) -> absl::StatusOr<std::optional<std::string>> {
    pqxx::result rows = tx.exec_params(
        "SELECT method, request_hash, response FROM idempotency_keys "
        "WHERE client_id = $1 AND request_id = $2",
        key.client_id, key.request_id);
    if (rows.empty()) return std::nullopt;
    if (rows[0][0].as<std::string>() != key.method ||
        rows[0][1].as<std::string>() != request_hash) {
      return FieldError("request_id", absl::StrCat("'", key.request_id,
                                                   "' was already used for a different request"));
    }
    pqxx::binarystring response(rows[0][2]);
    return std::string(response.get(), response.size());
  });
}

}  // namespace internal
}  // namespace techtrade
