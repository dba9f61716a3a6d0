// Listings as the transactions service needs them: is this offer or demand published, whose is
// it, which transfer modes it admits — through the listings service's own Redis entries, calling
// it only on a miss.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/cache.h"
#include "techtrade/listings/v1/listings.grpc.pb.h"

namespace techtrade::transactions {

struct ListingFacts {
  std::string owner_org_id;
  std::string city_id;
  bool published = false;
  bool draft = false;  // seen only by operators and the owner's city (docs/listings.md)
  std::vector<int> transfer_modes;  // an offer's allowed, a demand's acceptable (empty: any)
};

class ListingsClient {
 public:
  ListingsClient(const std::string& address, Cache& cache, absl::Duration deadline);
  // NOT_FOUND for an unknown listing; UNAVAILABLE when listings cannot be reached.
  absl::StatusOr<ListingFacts> Get(techtrade::listings::v1::ListingKind kind, const std::string& id,
                                   const std::string& caller_api_key);

 private:
  Cache& cache_;
  const absl::Duration deadline_;
  std::unique_ptr<techtrade::listings::v1::ListingsService::Stub> stub_;
};

}  // namespace techtrade::transactions
