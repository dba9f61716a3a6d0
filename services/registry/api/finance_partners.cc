// The finance partners a deal may name: the registry's ACTIVE API clients of role PARTNER, read
// by any API client (the parties choose one; the transactions service checks one).
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/cache_keys.h"
#include "common/paging.h"
#include "common/status.h"
#include "services/registry/api/registry_service.h"

namespace techtrade::registry {
namespace {

// The partner `client` is, if it is an active one.
std::optional<v1::FinancePartner> AsFinancePartner(const v1::ApiClient& client) {
  if (client.role() != v1::API_CLIENT_ROLE_PARTNER) return std::nullopt;
  if (client.status() != v1::API_CLIENT_STATUS_ACTIVE) return std::nullopt;
  v1::FinancePartner partner;
  partner.set_id(client.id());
  partner.set_name(client.name());
  return partner;
}

}  // namespace

grpc::Status RegistryServiceImpl::ListFinancePartners(grpc::ServerContext* context,
                                                      const v1::ListFinancePartnersRequest* request,
                                                      v1::ListFinancePartnersResponse* response) {
  return runner_.Run(
      context, "ListFinancePartners", *request, [&](const CallContext&) -> absl::Status {
        TT_ASSIGN_OR_RETURN(int limit, ResolvePageSize(request->page_size()));
        TT_ASSIGN_OR_RETURN(int64_t after, DecodePageToken("ListFinancePartners", *request));
        // Partners are a few among the API clients: read pages of clients until this page is
        // full or the clients run out, and continue after the last client read.
        bool more = true;
        while (more && response->finance_partners_size() < limit) {
          TT_ASSIGN_OR_RETURN(
              Page<v1::ApiClient> page,
              RunFor<Page<v1::ApiClient>>(store_, [&](RegistryStore& store, UnitOfWork&) {
                return absl::StatusOr<Page<v1::ApiClient>>(
                    store.ListApiClients(after, limit - response->finance_partners_size()));
              }));
          for (const v1::ApiClient& client : page.items) {
            if (auto partner = AsFinancePartner(client)) {
              *response->add_finance_partners() = *std::move(partner);
            }
          }
          if (!page.items.empty()) after = page.last_ordinal;
          more = page.more;
        }
        if (more) {
          response->set_next_page_token(EncodePageToken("ListFinancePartners", *request, after));
        }
        return absl::OkStatus();
      });
}

grpc::Status RegistryServiceImpl::GetFinancePartner(grpc::ServerContext* context,
                                                    const v1::GetFinancePartnerRequest* request,
                                                    v1::FinancePartner* response) {
  return runner_.Run(
      context, "GetFinancePartner", *request, [&](const CallContext&) -> absl::Status {
        absl::StatusOr<StoredApiClient> stored = RunFor<StoredApiClient>(
            store_,
            [&](RegistryStore& store, UnitOfWork&) { return store.GetApiClient(request->id()); });
        if (!stored.ok() && !absl::IsNotFound(stored.status())) return stored.status();
        std::optional<v1::FinancePartner> partner;
        if (stored.ok()) partner = AsFinancePartner(stored->client);
        if (!partner.has_value()) {
          return absl::NotFoundError(absl::StrCat("id: no active finance partner ", request->id()));
        }
        *response = *std::move(partner);
        return absl::OkStatus();
      });
}

}  // namespace techtrade::registry
