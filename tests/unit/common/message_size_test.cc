// The servers' message-size limit (TECHTRADE_GRPC_MAX_RECEIVE_MESSAGE_BYTES) against the field
// rules: the largest request any RPC can legitimately carry — every string at its longest in
// 4-byte characters, every list full — must fit well within the default, so that the limit only
// ever refuses what the rules would refuse anyway.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "common/config.h"
#include "google/protobuf/descriptor.h"
#include "techtrade/audit/v1/audit.pb.h"
#include "techtrade/common/v1/field_rules.pb.h"
#include "techtrade/fund/v1/fund.pb.h"
#include "techtrade/listings/v1/listings.pb.h"
#include "techtrade/ops/v1/dead_letters.pb.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

constexpr int64_t kTagAndLength = 1 + 5;  // a field's tag and a varint length, at most

// The most bytes a message of type `d` can take within its fields' rules.
int64_t LargestEncoding(const Descriptor* d, int depth = 0) {
  EXPECT_LT(depth, 8) << d->full_name() << " nests too deep to bound";
  if (depth >= 8) return 0;
  int64_t total = 0;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const auto rules = f->options().GetExtension(techtrade::common::v1::rules);
    int64_t one = 0;
    switch (f->type()) {
      case FieldDescriptor::TYPE_STRING:
      case FieldDescriptor::TYPE_BYTES:
        one = kTagAndLength + 4 * static_cast<int64_t>(rules.max_chars() ? rules.max_chars() : 256);
        break;
      case FieldDescriptor::TYPE_MESSAGE:
        one = kTagAndLength + LargestEncoding(f->message_type(), depth + 1);
        break;
      default:
        one = 1 + 10;  // tag and the longest varint or fixed64
    }
    total += f->is_repeated() ? one * (rules.max_items() ? rules.max_items() : 100) : one;
  }
  return total;
}

TEST(MessageSizeTest, EveryRequestAtItsLargestFitsWellWithinTheDefaultLimit) {
  int64_t largest = 0;
  std::string which;
  for (const auto* file : {techtrade::registry::v1::Principal::descriptor()->file(),
                           techtrade::listings::v1::CreateOfferRequest::descriptor()->file(),
                           techtrade::transactions::v1::OpenDealRequest::descriptor()->file(),
                           techtrade::fund::v1::CreateProgrammeRequest::descriptor()->file(),
                           techtrade::audit::v1::QueryAuditRequest::descriptor()->file(),
                           techtrade::ops::v1::ListDeadLettersRequest::descriptor()->file()}) {
    for (int s = 0; s < file->service_count(); ++s) {
      for (int m = 0; m < file->service(s)->method_count(); ++m) {
        const Descriptor* request = file->service(s)->method(m)->input_type();
        const int64_t size = LargestEncoding(request);
        if (size > largest) {
          largest = size;
          which = request->full_name();
        }
      }
    }
  }
  EXPECT_GT(largest, 0);
  EXPECT_LE(largest, kDefaultMaxReceiveMessageBytes / 2)
      << which << " can legitimately be " << largest << " bytes";
  std::printf("largest legitimate request: %s, %lld bytes\n", which.c_str(),
              static_cast<long long>(largest));
}

}  // namespace
}  // namespace techtrade
