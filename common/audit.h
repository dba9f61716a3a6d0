// The audit log (common migration 0010, table audit_log): every event a service emits, kept for
// good, written beside its outbox row in the same transaction (AppendToOutbox), read by
// techtrade.audit.v1.AuditService within the caller's scope (common/audit_scope.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/audit_scope.h"
#include "common/db.h"
#include "techtrade/audit/v1/audit.pb.h"
#include "techtrade/common/v1/common.pb.h"

namespace techtrade {

// Stages `envelope`'s audit row in `tx`: a row group commit merges with those of concurrent
// transactions, so that it costs no round trip of its own. `serialized` is the envelope's bytes
// as published; `occurred_us` its occurred_at in microseconds since the epoch.
void StageAuditRow(Tx& tx, const common::v1::EventEnvelope& envelope, int64_t occurred_us,
                   const std::string& serialized, const std::vector<std::string>& city_ids,
                   const std::string& partner_id);

// One page of the records matching `request`'s filters and in `scope`, oldest first.
// INVALID_ARGUMENT naming page_size, page_token, start_time or end_time for a bad one.
absl::StatusOr<audit::v1::QueryAuditResponse> QueryAuditLog(
    PgPool& db, const audit::v1::QueryAuditRequest& request, const AuditScope& scope);

}  // namespace techtrade
