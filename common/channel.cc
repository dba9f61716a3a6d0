#include "common/channel.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/tls.h"

namespace techtrade {

std::shared_ptr<grpc::Channel> ServiceChannel(const std::string& address) {
  return ServiceChannel(address, ProcessTls());
}

std::shared_ptr<grpc::Channel> ServiceChannel(const std::string& address, const TlsFiles& tls) {
  grpc::ChannelArguments args;
  args.SetLoadBalancingPolicyName("round_robin");
  return grpc::CreateCustomChannel(address, ChannelCredentialsFor(tls), args);
}

void SetCallCredentials(grpc::ClientContext& context, absl::string_view api_key,
                        absl::Duration deadline) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  if (!api_key.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", api_key));
}

}  // namespace techtrade
