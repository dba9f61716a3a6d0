// The operators' DeadLetterService (proto/techtrade/ops/v1/dead_letters.proto) and the gauge of
// dead letters, set up for every service process by the one bootstrap (RunService).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "common/dead_letters.h"
#include "common/registry_client.h"
#include "common/server.h"
#include "techtrade/ops/v1/dead_letters.grpc.pb.h"

namespace techtrade {

class DeadLetterServiceImpl final : public techtrade::ops::v1::DeadLetterService::Service {
 public:
  DeadLetterServiceImpl(std::shared_ptr<DeadLetters> dead_letters, RpcRunner& runner);

  grpc::Status ListDeadLetters(grpc::ServerContext*,
                               const techtrade::ops::v1::ListDeadLettersRequest*,
                               techtrade::ops::v1::ListDeadLettersResponse*) override;
  grpc::Status GetDeadLetter(grpc::ServerContext*, const techtrade::ops::v1::GetDeadLetterRequest*,
                             techtrade::ops::v1::DeadLetter*) override;
  grpc::Status ReplayDeadLetter(grpc::ServerContext*,
                                const techtrade::ops::v1::ReplayDeadLetterRequest*,
                                techtrade::ops::v1::DeadLetter*) override;
  grpc::Status DiscardDeadLetter(grpc::ServerContext*,
                                 const techtrade::ops::v1::DiscardDeadLetterRequest*,
                                 techtrade::ops::v1::DeadLetter*) override;

 private:
  std::shared_ptr<DeadLetters> dead_letters_;
  RpcRunner& runner_;
};

// For a service process whose workers are built: registers its event consumers (env.workers)
// with the dead-letter gauge, adds the worker that keeps the gauge current (every 30 s, beside
// the refreshes on park, replay and discard, so that replicas agree), and returns the
// DeadLetterService to serve. nullptr for a process with no consumers and no registry to
// authenticate operators through (the registry itself).
std::unique_ptr<grpc::Service> ServeDeadLetters(ServiceEnvironment& env);

}  // namespace techtrade
