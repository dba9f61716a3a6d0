// The deals the fund benchmark applies for: as the transactions service has them when signed.
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "techtrade/common/v1/common.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::bench {

inline constexpr char kCity[] = "bench-city";
// 1,000,000.00 CNY per contract.
inline constexpr int64_t kContractValue = 100'000'000;

google::protobuf::Timestamp Ts(absl::Time t);
techtrade::common::v1::Money Cny(int64_t minor);

// A deal as the transactions service has it right after SignContract: open, terms proposed by
// the seller, accepted by both, signed an hour ago.
techtrade::transactions::v1::Deal SignedDeal(const std::string& buyer_org_id, int buyer_number,
                                             absl::Time now);

// The same deal sold by `seller_org_id` and registered an hour later in kCity at its full price
// by the body `body_org_id` (as at its ContractRegistered).
techtrade::transactions::v1::Deal RegisteredDeal(const std::string& seller_org_id,
                                                 const std::string& body_org_id, absl::Time now);

}  // namespace techtrade::bench
