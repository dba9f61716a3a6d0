#include "common/audit.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/paging.h"
#include "common/status.h"

namespace techtrade {
namespace {

using google::protobuf::util::TimeUtil;

constexpr char kList[] = "QueryAudit";

// A PostgreSQL text[] literal of the pilot city ids given, less empty ones and repeats (an
// aggregate's emit path may name an absent city). Slugs need no quoting; they are quoted anyway.
std::string TextArrayLiteral(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  quoted.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string& item = items[i];
    if (item.empty() || std::find(items.begin(), items.begin() + i, item) != items.begin() + i) {
      continue;
    }
    std::string q = "\"";
    for (char c : item) {
      if (c == '"' || c == '\\') q.push_back('\\');
      q.push_back(c);
    }
    q.push_back('"');
    quoted.push_back(std::move(q));
  }
  return absl::StrCat("{", absl::StrJoin(quoted, ","), "}");
}

// A bound of the time range, in microseconds since the epoch; `unset` when the field is not set.
absl::StatusOr<int64_t> BoundMicros(bool has, const google::protobuf::Timestamp& t,
                                    const char* field, int64_t unset) {
  if (!has) return unset;
  // RFC 3339's range (0001-01-01 to 9999-12-31), as google.protobuf.Timestamp defines it.
  if (t.seconds() < -62135596800 || t.seconds() > 253402300799 || t.nanos() < 0 ||
      t.nanos() > 999999999) {
    return FieldError(field, "not a valid timestamp");
  }
  return TimeUtil::TimestampToMicroseconds(t);
}

}  // namespace

void StageAuditRow(Tx& tx, const common::v1::EventEnvelope& envelope, int64_t occurred_us,
                   const std::string& serialized, const std::vector<std::string>& city_ids,
                   const std::string& partner_id) {
  const common::v1::Actor& actor = envelope.actor();
  tx.StageRow(
      "INSERT INTO audit_log (event_id, aggregate_type, aggregate_id, sequence, event_type, "
      "occurred_at, producer, actor_client_id, actor_role, actor_city_id, request_id, city_ids, "
      "partner_id, envelope) VALUES ",
      "($1::uuid, $2, $3, $4::bigint, $5, to_timestamp($6::double precision / 1000000), $7, $8, "
      "$9, $10, $11, $12::text[], $13, $14::bytea)",
      "",
      {SqlText(envelope.event_id()), SqlText(envelope.aggregate_type()),
       SqlText(envelope.aggregate_id()), SqlText(envelope.sequence()),
       SqlText(envelope.event_type()), SqlText(occurred_us), SqlText(envelope.producer()),
       SqlText(actor.api_client_id()), SqlText(actor.role()), SqlText(actor.city_id()),
       SqlText(envelope.causation_request_id()), SqlText(TextArrayLiteral(city_ids)),
       SqlText(partner_id), SqlBytes(serialized)});
}

absl::StatusOr<audit::v1::QueryAuditResponse> QueryAuditLog(
    PgPool& db, const audit::v1::QueryAuditRequest& request, const AuditScope& scope) {
  TT_ASSIGN_OR_RETURN(int limit, ResolvePageSize(request.page_size()));
  TT_ASSIGN_OR_RETURN(int64_t after, DecodePageToken(kList, request));
  TT_ASSIGN_OR_RETURN(int64_t start_us, BoundMicros(request.has_start_time(), request.start_time(),
                                                    "start_time", INT64_MIN));
  TT_ASSIGN_OR_RETURN(int64_t end_us, BoundMicros(request.has_end_time(), request.end_time(),
                                                  "end_time", INT64_MAX));
  return InTransaction(db, [&](Tx& tx) -> absl::StatusOr<audit::v1::QueryAuditResponse> {
    // The scope as InAuditScope decides it (common/audit_scope.h); the first statement of a
    // transaction goes with literals, so the planner drops the filters not given. The city test
    // is containment so that the GIN index on city_ids (migration 0012) can answer it.
    pqxx::result rows = tx.exec_params(
        "SELECT position, envelope, array_to_string(city_ids, ','), partner_id FROM audit_log "
        "WHERE position > $1 AND ($2 = '' OR aggregate_type = $2) "
        "AND ($3 = '' OR aggregate_id = $3) AND ($4 = '' OR actor_client_id = $4) "
        "AND ($5::bigint = -9223372036854775808 OR "
        "occurred_at >= to_timestamp($5::double precision / 1000000)) "
        "AND ($6::bigint = 9223372036854775807 OR "
        "occurred_at < to_timestamp($6::double precision / 1000000)) "
        "AND ($7::boolean OR ($8 <> '' AND city_ids @> ARRAY[$8::text]) "
        "OR ($9 <> '' AND partner_id = $9)) "
        "ORDER BY position LIMIT $10",
        after, request.aggregate_type(), request.aggregate_id(), request.actor_client_id(),
        start_us, end_us, scope.everything, scope.city_id, scope.partner_id, limit + 1);
    audit::v1::QueryAuditResponse response;
    int64_t last = 0;
    for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
      const pqxx::row& row = rows[i];
      last = row[0].as<int64_t>();
      audit::v1::AuditRecord& record = *response.add_records();
      common::v1::EventEnvelope& envelope = *record.mutable_envelope();
      pqxx::binarystring bytes(row[1]);
      if (!envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        return absl::DataLossError(absl::StrCat("audit_log row ", last, ": envelope unreadable"));
      }
      record.set_event_id(envelope.event_id());
      record.set_event_type(envelope.event_type());
      record.set_aggregate_type(envelope.aggregate_type());
      record.set_aggregate_id(envelope.aggregate_id());
      record.set_sequence(envelope.sequence());
      *record.mutable_occurred_at() = envelope.occurred_at();
      record.set_producer(envelope.producer());
      *record.mutable_actor() = envelope.actor();
      record.set_causation_request_id(envelope.causation_request_id());
      for (absl::string_view city :
           absl::StrSplit(row[2].as<std::string>(), ',', absl::SkipEmpty())) {
        record.add_city_ids(std::string(city));
      }
      record.set_partner_id(row[3].as<std::string>());
    }
    if (static_cast<int>(rows.size()) > limit) {
      response.set_next_page_token(EncodePageToken(kList, request, last));
    }
    return response;
  });
}

}  // namespace techtrade
