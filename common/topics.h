// Kafka topic names that code derives rather than configures: one place, so that the relay that
// produces to a topic and the ACLs that guard it agree on its name.
#pragma once

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace techtrade {

// A finance partner's own deal stream: every event of the deals that name it (docs/partners.md),
// and nothing else. `partner_id` is its registry API client id.
inline std::string PartnerDealsTopic(absl::string_view partner_id) {
  return absl::StrCat("techtrade.partner.", partner_id, ".deals.v1");
}

}  // namespace techtrade
