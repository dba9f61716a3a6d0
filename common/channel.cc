#include "common/channel.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/tls.h"

namespace techtrade {

std::shared_ptr<grpc::Channel> ServiceChannel(const std::string& address) {
  return ServiceChannel(address, ProcessTls());
}

std::shared_ptr<grpc::Channel> ServiceChannel(const std::string& address, const TlsFiles& tls) {
  grpc::ChannelArguments args;
  args.SetLoadBalancingPolicyName("round_robin");
  // A server whose pod went away without closing its connections (a node lost) is found out
  // within a keepalive round while calls wait on it, not after the kernel's retransmissions.
  // GrpcServer lets clients ping this often (Options::min_client_ping_interval).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  // A list of literal addresses (ipv4:a:p,b:q) names no host, so there is nothing for the
  // servers' certificates to be checked against: each is checked against the first address,
  // which one certificate must therefore cover for all of them (replicas on one machine).
  for (absl::string_view scheme : {"ipv4:", "ipv6:"}) {
    absl::string_view list = address;
    if (tls.enabled() && absl::ConsumePrefix(&list, scheme)) {
      absl::string_view first = list.substr(0, list.find(','));
      if (scheme == "ipv6:") {
        absl::ConsumePrefix(&first, "[");
        first = first.substr(0, first.find(']'));
      } else {
        first = first.substr(0, first.rfind(':'));
      }
      args.SetSslTargetNameOverride(std::string(first));
    }
  }
  return grpc::CreateCustomChannel(address, ChannelCredentialsFor(tls), args);
}

void SetCallCredentials(grpc::ClientContext& context, absl::string_view api_key,
                        absl::Duration deadline) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  if (!api_key.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", api_key));
}

}  // namespace techtrade
