// techtrade.audit.v1.AuditService (proto/techtrade/audit/v1/audit.proto) over a service's own
// audit log, served by every service process through the one bootstrap (RunService).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "common/db.h"
#include "common/server.h"
#include "techtrade/audit/v1/audit.grpc.pb.h"

namespace techtrade {

class AuditServiceImpl final : public techtrade::audit::v1::AuditService::Service {
 public:
  AuditServiceImpl(PgPool& db, RpcRunner& runner) : db_(db), runner_(runner) {}

  grpc::Status QueryAudit(grpc::ServerContext* context,
                          const techtrade::audit::v1::QueryAuditRequest* request,
                          techtrade::audit::v1::QueryAuditResponse* response) override;

 private:
  PgPool& db_;
  RpcRunner& runner_;
};

std::unique_ptr<grpc::Service> ServeAudit(ServiceEnvironment& env);

}  // namespace techtrade
