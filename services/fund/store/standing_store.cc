#include "services/fund/store/standing_store.h"

#include "absl/strings/str_cat.h"
#include "techtrade/fund/v1/fund.pb.h"

namespace techtrade::fund::store {

namespace v1 = techtrade::fund::v1;

std::optional<Standing> GetStanding(Tx& tx, const std::string& organization_id) {
  pqxx::result rows =
      tx.ExecPrepared("fund_standing_get_locked",
                      "SELECT suspended, registry_sequence FROM organization_standing "
                      "WHERE organization_id = $1::uuid FOR UPDATE",
                      organization_id);
  if (rows.empty()) return std::nullopt;
  return Standing{rows[0][0].as<bool>(), rows[0][1].as<int64_t>()};
}

void SaveStanding(Tx& tx, const std::string& organization_id, const Standing& s) {
  tx.StageWrite(absl::StrCat(
      "INSERT INTO organization_standing (organization_id, suspended, registry_sequence) VALUES (",
      UuidLiteral(tx, organization_id), ", ", s.suspended ? "true" : "false", ", ",
      s.registry_sequence,
      ") ON CONFLICT (organization_id) DO UPDATE SET suspended = EXCLUDED.suspended, "
      "registry_sequence = EXCLUDED.registry_sequence, update_time = now()"));
}

bool IsSuspended(Tx& tx, const std::string& organization_id) {
  pqxx::result rows = tx.ExecPrepared(
      "fund_standing_suspended",
      "SELECT 1 FROM organization_standing WHERE organization_id = $1::uuid AND suspended",
      organization_id);
  return !rows.empty();
}

std::vector<ApplicationRef> ApprovedApplicationsOf(Tx& tx, const std::string& organization_id) {
  static_assert(v1::APPLICATION_STATUS_APPROVED == 2);
  pqxx::result rows =
      tx.ExecPrepared("fund_applications_approved_of",
                      "SELECT id::text, deal_id::text FROM applications "
                      "WHERE applicant_org_id = $1::uuid AND status = 2 ORDER BY ordinal",
                      organization_id);
  std::vector<ApplicationRef> out;
  for (const auto& row : rows) out.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
  return out;
}

}  // namespace techtrade::fund::store
