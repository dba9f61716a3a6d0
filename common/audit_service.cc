#include "common/audit_service.h"

#include "common/audit.h"
#include "common/audit_scope.h"
#include "common/status.h"

namespace techtrade {

grpc::Status AuditServiceImpl::QueryAudit(grpc::ServerContext* context,
                                          const audit::v1::QueryAuditRequest* request,
                                          audit::v1::QueryAuditResponse* response) {
  return runner_.Run(context, "QueryAudit", *request, [&](const CallContext& call) -> absl::Status {
    TT_ASSIGN_OR_RETURN(AuditScope scope, AuditScopeOf(call.caller));
    TT_ASSIGN_OR_RETURN(*response, QueryAuditLog(db_, *request, scope));
    return absl::OkStatus();
  });
}

std::unique_ptr<grpc::Service> ServeAudit(ServiceEnvironment& env) {
  return std::make_unique<AuditServiceImpl>(env.db, env.runner);
}

}  // namespace techtrade
