#include "common/idempotency.h"

#include "absl/strings/str_cat.h"

namespace techtrade {

absl::Status ValidateRequestId(absl::string_view request_id) {
  if (request_id.empty()) return FieldError("request_id", "required for every mutation");
  if (request_id.size() > 64) return FieldError("request_id", "longer than 64 characters");
  for (char c : request_id) {
    if (c < 0x21 || c > 0x7e) return FieldError("request_id", "only printable ASCII allowed");
  }
  return absl::OkStatus();
}

namespace internal {

absl::StatusOr<std::optional<std::string>> ClaimIdempotencyKey(pqxx::work& tx,
                                                                const IdempotencyKey& key,
                                                                const std::string& request_hash) {
  // A concurrent first call holding the same key makes this INSERT wait for its outcome.
  pqxx::result claimed = tx.exec_params(
      "INSERT INTO idempotency_keys (client_id, request_id, method, request_hash) "
      "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
      key.client_id, key.request_id, key.method, request_hash);
  if (claimed.affected_rows() == 1) return std::nullopt;
  pqxx::row row = tx.exec_params1(
      "SELECT method, request_hash, response FROM idempotency_keys "
      "WHERE client_id = $1 AND request_id = $2",
      key.client_id, key.request_id);
  if (row[0].as<std::string>() != key.method || row[1].as<std::string>() != request_hash) {
    return FieldError("request_id", absl::StrCat("'", key.request_id,
                                                 "' was already used for a different request"));
  }
  pqxx::binarystring response(row[2]);
  return std::string(response.get(), response.size());
}

void StoreIdempotentResponse(pqxx::work& tx, const IdempotencyKey& key, const std::string& response) {
  tx.exec_params(
      "UPDATE idempotency_keys SET response = $3 WHERE client_id = $1 AND request_id = $2",
      key.client_id, key.request_id, pqxx::binarystring(response));
}

}  // namespace internal
}  // namespace techtrade
