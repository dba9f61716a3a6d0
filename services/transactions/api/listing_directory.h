// Listings as the transactions service needs them: is this offer or demand published, whose is
// it, which transfer modes it admits. ListingsClient (listings_client.h) reads them through the
// listings service's own cache entries; handler tests use an in-memory directory.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "techtrade/listings/v1/listings.pb.h"

namespace techtrade::transactions {

struct ListingFacts {
  std::string owner_org_id;
  std::string city_id;
  // A deal may open on it: published, or an offer under negotiation (deals do not exclude each
  // other before one completes).
  bool open_to_deals = false;
  bool draft = false;  // seen only by operators and the owner's city (docs/listings.md)
  std::vector<int> transfer_modes;  // an offer's allowed, a demand's acceptable (empty: any)
};

class ListingDirectory {
 public:
  virtual ~ListingDirectory() = default;
  // NOT_FOUND for an unknown listing; UNAVAILABLE when listings cannot be reached.
  virtual absl::StatusOr<ListingFacts> Get(techtrade::listings::v1::ListingKind kind,
                                           const std::string& id,
                                           const std::string& caller_api_key) = 0;
};

}  // namespace techtrade::transactions
