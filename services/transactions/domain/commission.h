// The broker's commission, pure: how each payment that falls due is split between the seller and
// the deal's broker, to the fen (docs/deals.md, "Brokers and their commission"). commission.cc
// also holds the broker's authority to act for a party (AllowBroker, deal_rules.h).
//
// The commission on the first i milestones together is C(cum_i), where cum_i is their amount and
// C(x) = ⌊x × bps / 10000⌋ for a rate, or ⌊F × x / price⌋ for a fixed commission F; milestone i
// carries C(cum_i) − C(cum_i−1). So each milestone's parts sum to its amount, and the broker's
// parts over the whole contract sum to exactly C(price): the rate on the price, or F.
#pragma once

#include <cstdint>
#include <vector>

#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::transactions {

// The broker's part of milestone `index` (1-based) of the deal's milestones; 0 without a broker
// or commission, or for an index outside the milestones.
int64_t BrokerShareMinor(const v1::Deal& deal, int index);

// How `amount_due` of milestone `index` is paid: to the seller, and to the broker its part when
// that is positive (never more than amount_due). The amounts sum to amount_due.
std::vector<v1::PaymentInstruction> PaymentInstructions(const v1::Deal& deal, int index,
                                                        int64_t amount_due);

}  // namespace techtrade::transactions
