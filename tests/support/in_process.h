// What a handler test needs to call a service's handlers in this process, with no other process
// and no database: a real gRPC server reached through an in-process channel, the RpcRunner every
// handler runs through, callers authenticated from a table, and a cache with no Redis (every read
// a miss). The service's storage is a FakeTransactor (fake_transactor.h); the other services it
// reads are fakes too (fake_directories.h).
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/auth.h"
#include "common/cache.h"
#include "common/metrics.h"
#include "common/server.h"

namespace techtrade::testing {

// Principals by API key, as the registry would answer for them.
class TableAuthenticator final : public Authenticator {
 public:
  // A new key for `principal`, to call with.
  std::string Add(Principal principal);
  // Unknown from now on, as a revoked key is.
  void Revoke(const std::string& api_key);
  absl::StatusOr<Principal> Authenticate(absl::string_view api_key) override;

 private:
  std::mutex mutex_;
  std::map<std::string, Principal, std::less<>> principals_;
};

Principal OperatorPrincipal();
Principal CitySystemPrincipal(const std::string& city_id);
Principal PartnerPrincipal();

class InProcessServer {
 public:
  explicit InProcessServer(const std::string& service_name = "test");
  ~InProcessServer();

  RpcRunner& runner() { return runner_; }
  Cache& cache() { return cache_; }
  TableAuthenticator& keys() { return keys_; }

  // Starts serving `services` (which must outlive this server).
  void Start(const std::vector<grpc::Service*>& services);
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

 private:
  Metrics metrics_;
  TableAuthenticator keys_;
  RpcRunner runner_;
  Cache cache_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// A call made with `api_key` as its credential (empty: none), the way every client sends it.
std::unique_ptr<grpc::ClientContext> CallAs(const std::string& api_key);

}  // namespace techtrade::testing
