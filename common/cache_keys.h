// The Redis keys services share: the owning service writes and deletes each entry, the others
// read it (and fill it on a miss with the owner's answer). One place, so the contract holds.
#pragma once

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace techtrade {

inline constexpr absl::Duration kSharedCacheTtl = absl::Seconds(60);
// gRPC metadata a service sends when it fills the shared cache with the owner's answer: the owner
// then answers from Redis or its database, never from a near copy in its process, which another
// replica's change may not have reached yet and which must not go on living in Redis.
inline constexpr char kFreshReadMetadata[] = "x-techtrade-fresh-read";

// registry: an API key's hash, role and city (JSON).
inline std::string ApiKeyCacheKey(absl::string_view key_id) {
  return absl::StrCat("registry:apikey:", key_id);
}
// registry: techtrade.registry.v1.Organization.
inline std::string OrganizationCacheKey(absl::string_view organization_id) {
  return absl::StrCat("registry:org:", organization_id);
}
// registry: techtrade.registry.v1.FinancePartner (an active partner; revoking it leaves
// kReloadMarker here).
inline std::string FinancePartnerCacheKey(absl::string_view api_client_id) {
  return absl::StrCat("registry:partner:", api_client_id);
}
// listings: techtrade.listings.v1.Offer / Demand.
inline std::string OfferCacheKey(absl::string_view offer_id) {
  return absl::StrCat("listings:offer:", offer_id);
}
inline std::string DemandCacheKey(absl::string_view demand_id) {
  return absl::StrCat("listings:demand:", demand_id);
}

}  // namespace techtrade
