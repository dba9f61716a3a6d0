// The ListingDirectory of a running platform: the listings service's own Redis entries, and the
// service itself only on a miss.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/cache.h"
#include "services/transactions/api/listing_directory.h"
#include "techtrade/listings/v1/listings.grpc.pb.h"

namespace techtrade::transactions {

class ListingsClient final : public ListingDirectory {
 public:
  ListingsClient(const std::string& address, Cache& cache, absl::Duration deadline);
  absl::StatusOr<ListingFacts> Get(techtrade::listings::v1::ListingKind kind, const std::string& id,
                                   const std::string& caller_api_key) override;

 private:
  Cache& cache_;
  const absl::Duration deadline_;
  std::unique_ptr<techtrade::listings::v1::ListingsService::Stub> stub_;
};

}  // namespace techtrade::transactions
