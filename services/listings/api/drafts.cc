#include "services/listings/api/drafts.h"

#include "common/auth.h"
#include "techtrade/registry/v1/registry.pb.h"

namespace techtrade::listings {

namespace reg = techtrade::registry::v1;

bool MaySeeDrafts(const CallContext& call, const std::string& city_id) {
  return RequireCityAccess(call.caller, city_id).ok();
}

store::ListFilter ListFilterFor(const CallContext& call, const v1::ListListingsRequest& request) {
  store::ListFilter filter{request.owner_org_id(), request.city_id()};
  if (!IsOperator(call.caller)) {
    filter.all_drafts = false;
    // Published listings are for every caller; drafts only for their city's system.
    filter.drafts_of_city = CityScope(call.caller).value_or("");
  }
  return filter;
}

}  // namespace techtrade::listings
