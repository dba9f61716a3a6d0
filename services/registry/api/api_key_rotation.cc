// RotateApiKey: a client's new key beside the one it rolls over from (services/registry/domain/
// api_keys.h has the rules).
#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/ids.h"
#include "common/status.h"
#include "services/registry/api/registry_service.h"
#include "services/registry/domain/api_keys.h"
#include "services/registry/domain/rules.h"

namespace techtrade::registry {

grpc::Status RegistryServiceImpl::RotateApiKey(grpc::ServerContext* context,
                                               const v1::RotateApiKeyRequest* request,
                                               v1::RotateApiKeyResponse* response) {
  return runner_.Run(
      context, "RotateApiKey", *request, [&](const CallContext& call) -> absl::Status {
        // Whichever of its keys the client calls with, api_client_id is the client's.
        if (!IsOperator(call.caller) && call.caller.api_client_id() != request->id()) {
          return absl::PermissionDeniedError(
              "only the API client itself or an operator may rotate its key");
        }
        TT_RETURN_IF_ERROR(ValidateRotateApiKey(*request));
        TT_ASSIGN_OR_RETURN(
            *response,
            RunIdempotent<v1::RotateApiKeyResponse>(
                store_, IdempotencyKeyFor(call, request->request_id(), "RotateApiKey"), *request,
                [&](RegistryStore& store,
                    UnitOfWork& work) -> absl::StatusOr<v1::RotateApiKeyResponse> {
                  // The lock orders rotations of one client, so two cannot both see one live key.
                  TT_ASSIGN_OR_RETURN(StoredApiClient current, store.LockApiClient(request->id()));
                  const std::string api_key = NewApiKey();
                  TT_ASSIGN_OR_RETURN(ParsedApiKey parsed, ParseApiKey(api_key));
                  TT_ASSIGN_OR_RETURN(
                      KeyRotation rotation,
                      RotateKeys(current.client, store.ListUnrevokedApiKeys(request->id()),
                                 parsed.key_id, absl::Now(), RotationOverlap(*request),
                                 absl::Seconds(request->ttl_seconds())));
                  v1::RotateApiKeyResponse rotated;
                  TT_ASSIGN_OR_RETURN(*rotated.mutable_key(),
                                      store.InsertApiKey(rotation.key, Sha256Hex(parsed.secret)));
                  if (rotation.previous_key) {
                    store.SaveApiKeyExpiry(*rotation.previous_key);
                    *rotated.mutable_previous_key() = *rotation.previous_key;
                  }
                  store.SaveApiClientVersion(rotation.client);
                  *rotated.mutable_api_client() = rotation.client;
                  rotated.set_api_key(api_key);
                  v1::ApiKeyRotated event;
                  *event.mutable_api_client() = rotated.api_client();
                  *event.mutable_key() = rotated.key();
                  *event.mutable_previous_key() = rotated.previous_key();
                  work.Emit(
                      "registry",
                      EventCause::OfRequest(request->request_id(), call.traceparent, call.caller),
                      {"api_client", request->id(), {rotation.client.city_id()}},
                      rotation.client.version(), event);
                  return rotated;
                },
                // The secret is shown once: the stored replay has none.
                [](v1::RotateApiKeyResponse& stored) { stored.clear_api_key(); }));
        // The previous key's expiry changed: every replica reads it again. From the response, so
        // that a replay repeats it in case the first call's write never reached Redis.
        if (response->has_previous_key()) {
          MarkApiKeyChanged(cache_, response->previous_key().id());
          memoized_authenticator_.Forget(response->previous_key().id());
        }
        return absl::OkStatus();
      });
}

}  // namespace techtrade::registry
