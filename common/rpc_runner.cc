// RpcRunner: how every handler runs (authentication, admission, field rules, metrics, the
// status mapping), and NearCopyAllowed.
#include <grpc/grpc_security_constants.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/cache_keys.h"
#include "common/field_rules.h"
#include "common/log.h"
#include "common/server.h"
#include "common/status.h"
#include "common/trace.h"

namespace techtrade {

namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string CodeName(absl::StatusCode code) { return absl::StatusCodeToString(code); }

std::string TraceparentOf(const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  // W3C: a traceparent that is not valid is ignored, and a new trace starts.
  if (auto it = metadata.find("traceparent"); it != metadata.end()) {
    return TraceparentOrNew(absl::string_view(it->second.data(), it->second.size()));
  }
  return NewTraceparent();
}

}  // namespace

bool NearCopyAllowed(const grpc::ServerContext& context) {
  return context.client_metadata().count(kFreshReadMetadata) == 0;
}

namespace {

RateLimit FailureBudget(const std::map<std::string, RateLimit, std::less<>>& rate_limits) {
  auto it = rate_limits.find(kUnauthenticatedRateLimit);
  return it == rate_limits.end() ? RateLimit{} : it->second;
}

// What gRPC's insecure credentials name their transport (no public constant in gRPC 1.51).
constexpr char kInsecureTransport[] = "insecure";

// Whether the peer presented one of the platform's service certificates (verified by mutual TLS:
// PeerCommonName names only an authenticated peer).
bool IsServicePeer(const grpc::ServerContext& context) {
  return absl::c_linear_search(kServiceIdentities, PeerCommonName(context));
}

// OK for a peer presenting one of the platform's service certificates, or on a connection
// without TLS (gRPC's insecure credentials, in-process channels): fails open there, which only a
// server run without TECHTRADE_TLS_CA does (docs/security.md); PERMISSION_DENIED otherwise.
absl::Status RequireServicePeer(const grpc::ServerContext& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return absl::OkStatus();
  std::vector<grpc::string_ref> transport =
      auth->FindPropertyValues(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
  const bool plaintext =
      !auth->IsPeerAuthenticated() && (transport.empty() || transport[0] == kInsecureTransport);
  const std::string name = PeerCommonName(context);
  if (plaintext || absl::c_linear_search(kServiceIdentities, name)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("certificate: only the platform's services (",
                                                  absl::StrJoin(kServiceIdentities, ", "),
                                                  ") may call this; the peer's is '", name, "'"));
}

}  // namespace

RpcRunner::RpcRunner(Authenticator& authenticator, Metrics& metrics,
                     const std::map<std::string, RateLimit, std::less<>>& rate_limits,
                     const Clock& clock)
    : authenticator_(authenticator),
      memo_(dynamic_cast<const MemoizingAuthenticator*>(&authenticator)),
      metrics_(metrics),
      limiter_(clock),
      failures_(FailureBudget(rate_limits), clock) {
  const google::protobuf::EnumDescriptor* roles = registry::v1::ApiClientRole_descriptor();
  for (int i = 0; i < roles->value_count(); ++i) {
    absl::string_view name = roles->value(i)->name();
    absl::ConsumePrefix(&name, "API_CLIENT_ROLE_");
    if (auto it = rate_limits.find(name); it != rate_limits.end()) {
      limits_by_role_[roles->value(i)->number()] = it->second;
    }
  }
}

absl::Status RpcRunner::Admit(grpc::ServerContext& context, const Principal& caller) {
  auto it = limits_by_role_.find(caller.role());
  if (it == limits_by_role_.end()) return absl::OkStatus();
  absl::Duration wait;
  absl::Status allowed = limiter_.Take(caller.api_client_id(), it->second, &wait);
  if (!allowed.ok()) {
    context.AddTrailingMetadata(kRetryAfterMetadata, absl::StrCat(RetryAfterMillis(wait)));
  }
  return allowed;
}

grpc::Status RpcRunner::Run(grpc::ServerContext* context, absl::string_view method,
                            const google::protobuf::Message& request,
                            const std::function<absl::Status(const CallContext&)>& handler) {
  double started = NowSeconds();
  absl::StatusOr<std::string> key = ApiKeyFromMetadata(*context);
  const std::string peer = PeerHost(context->peer());
  // A service forwards its callers' keys: its failures are theirs, already counted where they
  // called from, and counting them against the service's address would refuse all its calls.
  const bool limited = !IsServicePeer(*context);
  // A remembered key costs no look-up, so a spent budget does not refuse it: one client with a
  // stale key does not lock out the others behind the same address.
  const bool remembered = key.ok() && memo_ != nullptr && memo_->Remembers(*key);
  // Once an address has failed, a token is taken before each look-up, which a caller guessing
  // keys would otherwise have the server make at will; taken, not checked, so that look-ups in
  // flight at once cannot share one.
  bool reserved = false;
  if (limited && !remembered) {
    absl::Duration wait;
    absl::StatusOr<bool> taken = failures_.Reserve(peer, &wait);
    if (!taken.ok()) {
      context->AddTrailingMetadata(kRetryAfterMetadata, absl::StrCat(RetryAfterMillis(wait)));
      return Finish(method, taken.status(), started);
    }
    reserved = *taken;
  }
  if (!key.ok()) return Finish(method, key.status(), started);
  absl::StatusOr<Principal> caller = authenticator_.Authenticate(*key);
  // Only a refused key counts: the registry being unreachable says nothing about the caller.
  const bool failed = absl::IsUnauthenticated(caller.status());
  if (reserved && !failed) failures_.Return(peer);
  // A look-up that reserved nothing (the address had not failed, or the key was remembered and
  // has been forgotten since): its failure is counted now.
  if (limited && !reserved && failed) failures_.RecordFailure(peer);
  if (!caller.ok()) return Finish(method, caller.status(), started);
  if (absl::Status allowed = Admit(*context, *caller); !allowed.ok()) {
    return Finish(method, allowed, started);
  }
  if (absl::Status valid = CheckFieldRules(request); !valid.ok()) {
    return Finish(method, valid, started);
  }
  CallContext call{*std::move(caller), TraceparentOf(*context), *std::move(key)};
  return Finish(method, handler(call), started);
}

grpc::Status RpcRunner::RunForServices(
    grpc::ServerContext* context, absl::string_view method,
    const google::protobuf::Message& request,
    const std::function<absl::Status(const CallContext&)>& handler) {
  double started = NowSeconds();
  if (absl::Status valid = CheckFieldRules(request); !valid.ok()) {
    return Finish(method, valid, started);
  }
  if (absl::Status allowed = RequireServicePeer(*context); !allowed.ok()) {
    return Finish(method, allowed, started);
  }
  CallContext call{Principal(), TraceparentOf(*context)};
  return Finish(method, handler(call), started);
}

grpc::Status RpcRunner::Finish(absl::string_view method, absl::Status status, double started) {
  double elapsed = NowSeconds() - started;
  metrics_.RecordRpc(method, CodeName(status.code()), elapsed);
  switch (status.code()) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnavailable:
      log::Error("rpc failed", {{"method", method},
                                {"code", CodeName(status.code())},
                                {"error", status.message()},
                                {"seconds", elapsed}});
      break;
    default:
      if (!status.ok()) {
        log::Debug(
            "rpc refused",
            {{"method", method}, {"code", CodeName(status.code())}, {"error", status.message()}});
      }
  }
  return ToGrpcStatus(status);
}

}  // namespace techtrade
