#include "common/dead_letter_service.h"

#include "common/auth.h"
#include "common/log.h"
#include "common/status.h"

namespace techtrade {
namespace {

constexpr absl::Duration kGaugeInterval = absl::Seconds(30);

}  // namespace

DeadLetterServiceImpl::DeadLetterServiceImpl(std::shared_ptr<DeadLetters> dead_letters,
                                             RpcRunner& runner)
    : dead_letters_(std::move(dead_letters)), runner_(runner) {}

grpc::Status DeadLetterServiceImpl::ListDeadLetters(grpc::ServerContext* context,
                                                    const ops::v1::ListDeadLettersRequest* request,
                                                    ops::v1::ListDeadLettersResponse* response) {
  return runner_.Run(context, "ListDeadLetters", *request,
                     [&](const CallContext& call) -> absl::Status {
                       TT_RETURN_IF_ERROR(RequireOperator(call.caller));
                       TT_ASSIGN_OR_RETURN(*response, dead_letters_->List(*request));
                       return absl::OkStatus();
                     });
}

grpc::Status DeadLetterServiceImpl::GetDeadLetter(grpc::ServerContext* context,
                                                  const ops::v1::GetDeadLetterRequest* request,
                                                  ops::v1::DeadLetter* response) {
  return runner_.Run(context, "GetDeadLetter", *request,
                     [&](const CallContext& call) -> absl::Status {
                       TT_RETURN_IF_ERROR(RequireOperator(call.caller));
                       TT_ASSIGN_OR_RETURN(*response, dead_letters_->Get(request->id()));
                       return absl::OkStatus();
                     });
}

grpc::Status DeadLetterServiceImpl::ReplayDeadLetter(
    grpc::ServerContext* context, const ops::v1::ReplayDeadLetterRequest* request,
    ops::v1::DeadLetter* response) {
  return runner_.Run(context, "ReplayDeadLetter", *request,
                     [&](const CallContext& call) -> absl::Status {
                       TT_RETURN_IF_ERROR(RequireOperator(call.caller));
                       TT_ASSIGN_OR_RETURN(*response, dead_letters_->Replay(call, *request));
                       return absl::OkStatus();
                     });
}

grpc::Status DeadLetterServiceImpl::DiscardDeadLetter(
    grpc::ServerContext* context, const ops::v1::DiscardDeadLetterRequest* request,
    ops::v1::DeadLetter* response) {
  return runner_.Run(context, "DiscardDeadLetter", *request,
                     [&](const CallContext& call) -> absl::Status {
                       TT_RETURN_IF_ERROR(RequireOperator(call.caller));
                       TT_ASSIGN_OR_RETURN(*response, dead_letters_->Discard(call, *request));
                       return absl::OkStatus();
                     });
}

std::unique_ptr<grpc::Service> ServeDeadLetters(ServiceEnvironment& env) {
  std::vector<EventConsumer*> consumers;
  for (const auto& worker : env.workers) {
    if (auto* consumer = dynamic_cast<EventConsumer*>(worker.get())) consumers.push_back(consumer);
  }
  if (consumers.empty() && env.config.registry_addr.empty()) return nullptr;
  auto dead_letters = std::make_shared<DeadLetters>(env.db, env.metrics);
  for (EventConsumer* consumer : consumers) dead_letters->AddConsumer(*consumer);
  // At start and every interval: the start-up count, and what other replicas parked or resolved
  // since.
  env.workers.push_back(
      std::make_unique<PeriodicWorker>("dead-letter gauge", kGaugeInterval, [dead_letters] {
        if (absl::Status s = dead_letters->RefreshGauge(); !s.ok()) {
          log::Warn("dead-letter gauge not refreshed", {{"error", s.ToString()}});
        }
      }));
  if (env.config.registry_addr.empty()) {
    log::Warn("DeadLetterService not served: no TECHTRADE_REGISTRY_ADDR to authenticate with");
    return nullptr;
  }
  return std::make_unique<DeadLetterServiceImpl>(std::move(dead_letters), env.runner);
}

}  // namespace techtrade
