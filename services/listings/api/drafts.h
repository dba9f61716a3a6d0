// Drafts are private (docs/listings.md): an unpublished offer or demand is seen by operators and
// by the system of its owner's pilot city only; to anyone else it does not exist, in Get, List
// and Match alike (search and match results hold published listings only).
#pragma once

#include <string>

#include "common/server.h"
#include "services/listings/store/listings_store.h"
#include "techtrade/listings/v1/listings.pb.h"

namespace techtrade::listings {

// Whether `call` may see the drafts of pilot city `city_id`.
bool MaySeeDrafts(const CallContext& call, const std::string& city_id);

// The store filter of a list request for `call`: the request's filters, and the drafts the caller
// may see (all for an operator, its own city's for a city system, none for anyone else).
store::ListFilter ListFilterFor(const CallContext& call, const v1::ListListingsRequest& request);

}  // namespace techtrade::listings
