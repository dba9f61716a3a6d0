// TransactionsService.GetDealAttestation (交易鉴证): the deal's event-chain head, signed with the
// platform's attestation key (common/attestation.h; docs/partners.md, "Verifying a deal's
// stream").
#include "absl/time/clock.h"
#include "common/status.h"
#include "common/validation.h"
#include "google/protobuf/util/time_util.h"
#include "services/transactions/api/transactions_service.h"
#include "services/transactions/domain/deal_scope.h"

namespace techtrade::transactions {

grpc::Status TransactionsServiceImpl::GetDealAttestation(
    grpc::ServerContext* context, const v1::GetDealAttestationRequest* request,
    v1::DealAttestation* response) {
  return runner_.Run(
      context, "GetDealAttestation", *request, [&](const CallContext& call) -> absl::Status {
        TT_RETURN_IF_ERROR(CheckUuid("deal_id", request->deal_id()));
        // The head and the deal in one read, so that the head is the one of the version signed.
        struct Read {
          v1::Deal deal;
          store::ChainHead chain;
        };
        absl::StatusOr<Read> read =
            RunFor<Read>(deals_, [&](store::DealStore& deals, UnitOfWork&) -> absl::StatusOr<Read> {
              Read r;
              TT_ASSIGN_OR_RETURN(r.deal, deals.GetLatestDeal(request->deal_id(), &r.chain));
              return r;
            });
        if (absl::IsNotFound(read.status())) return DealNotFound("deal_id", request->deal_id());
        if (!read.ok()) return read.status();
        // Whoever may read the deal, as GetDeal; to anyone else it does not exist.
        TT_RETURN_IF_ERROR(CheckPartnerScope(call.caller, read->deal, "deal_id"));
        if (!MayReadDeal(call, read->deal).ok()) {
          return DealNotFound("deal_id", request->deal_id());
        }
        if (attestation_key_ == nullptr) {
          return absl::FailedPreconditionError(
              "TECHTRADE_ATTESTATION_KEY: no attestation key is configured on this service");
        }
        if (read->chain.first_sequence == 0) {
          return absl::FailedPreconditionError(
              "deal_id: the deal has no chained event yet (opened before events were chained; "
              "its next event starts the chain)");
        }
        v1::DealAttestation attestation;
        attestation.set_deal_id(read->deal.id());
        attestation.set_first_sequence(read->chain.first_sequence);
        attestation.set_sequence(read->deal.version());
        attestation.set_head_hash(read->chain.hash);
        *attestation.mutable_attested_at() =
            google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
                absl::ToUnixMicros(absl::Now()));
        TT_RETURN_IF_ERROR(attestation_key_->Sign(attestation));
        *response = std::move(attestation);
        return absl::OkStatus();
      });
}

}  // namespace techtrade::transactions
