// Writes the binary seeds of tests/fuzz/corpus/: valid (and a few nearly valid) requests for
// request_validation (each prefixed with its type's tag, request_types.h) and events for
// event_envelope. Run after a change to the messages: build-fuzz/bin/fuzz_seeds tests/fuzz/corpus
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/any.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"
#include "techtrade/common/v1/common.pb.h"
#include "techtrade/listings/v1/listings.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"
#include "tests/fuzz/listing_samples.h"
#include "tests/fuzz/request_types.h"

namespace {

namespace pb = google::protobuf;

// (seed file name, request type, text format)
const std::vector<std::vector<std::string>> kRequests = {
    {"create_pilot_city", "techtrade.registry.v1.CreatePilotCityRequest",
     R"(request_id: "req-1" id: "wuhan-east-lake" name: "武汉东湖高新区"
        kind: PILOT_CITY_KIND_PARK division_code: "420100")"},
    {"register_organization", "techtrade.registry.v1.RegisterOrganizationRequest",
     R"(request_id: "req-2" credit_code: "91420100MA4KX1234W" name: "武汉理工大学"
        kind: ORGANIZATION_KIND_UNIVERSITY city_id: "wuhan-east-lake"
        address: "武汉市洪山区珞狮路122号"
        contact_email: "ttc@whut.edu.cn" description: "材料科学与工程")"},
    {"register_organization_bad_code", "techtrade.registry.v1.RegisterOrganizationRequest",
     R"(request_id: "req-3" credit_code: "91420100MA4KX1234X" name: "某某科技有限公司"
        kind: ORGANIZATION_KIND_ENTERPRISE city_id: "wuhan-east-lake")"},
    {"issue_api_key", "techtrade.registry.v1.IssueApiKeyRequest",
     R"(request_id: "req-4" name: "east lake portal" role: API_CLIENT_ROLE_CITY_SYSTEM
        city_id: "wuhan-east-lake")"},
    {"create_offer", "techtrade.listings.v1.CreateOfferRequest",
     R"(request_id: "req-5" owner_org_id: "10000000-0000-4000-8000-000000000001"
        offer { title: "固态锂电池电解质材料"
                abstract: "一种高离子电导率的硫化物固态电解质\n及其制备方法"
                ipc_codes: "H01M 10/0562" ipc_codes: "h01m10/052" fields: "energy-storage"
                fields: "new-materials" readiness_level: 6 ip_assets: "CN114512345A"
                transfer_modes: TRANSFER_MODE_EXCLUSIVE_LICENSE transfer_modes: TRANSFER_MODE_ASSIGNMENT
                asking_price { currency: "CNY" amount_minor: 80000000 } })"},
    {"create_demand", "techtrade.listings.v1.CreateDemandRequest",
     R"(request_id: "req-6" seeker_org_id: "10000000-0000-4000-8000-000000000002"
        demand { title: "寻求储能电池热管理技术"
                 problem: "需要解决大型储能电站电池热失控问题"
                 ipc_codes: "H01M 10/613" fields: "energy-storage" min_readiness_level: 5
                 budget_min { currency: "CNY" amount_minor: 0 }
                 budget_max { currency: "CNY" amount_minor: 100000000 }
                 deadline { seconds: 1893456000 }
                 challenge { reward { currency: "CNY" amount_minor: 5000000 }
                             close_time { seconds: 1861920000 } } })"},
    {"search", "techtrade.listings.v1.SearchRequest",
     R"(kind: LISTING_KIND_OFFER query: "固态电池 electrolyte" fields: "energy-storage"
        ipc_prefix: "H01M" min_readiness_level: 3 page_size: 10)"},
    {"open_deal", "techtrade.transactions.v1.OpenDealRequest",
     R"(request_id: "req-7" listing_id: "00000000-0000-4000-8000-000000000000"
        listing_kind: LISTING_KIND_OFFER buyer_org_id: "10000000-0000-4000-8000-000000000002"
        seller_org_id: "10000000-0000-4000-8000-000000000001"
        broker_org_id: "10000000-0000-4000-8000-000000000003" broker_commission_bps: 300)"},
    {"propose_terms", "techtrade.transactions.v1.ProposeTermsRequest",
     R"(request_id: "req-8" deal_id: "50000000-0000-4000-8000-000000000000" expected_version: 2
        acting_as: PARTY_ROLE_SELLER price { currency: "CNY" amount_minor: 80000000 }
        transfer_mode: TRANSFER_MODE_EXCLUSIVE_LICENSE
        licence_scope: "manufacture and sale of BMS modules"
        territory: "CN"
        milestones { title: "样品交付" amount { currency: "CNY" amount_minor: 30000000 }
                     due_time { seconds: 1790000000 } }
        milestones { title: "量产验收" amount { currency: "CNY" amount_minor: 50000000 }
                     due_time { seconds: 1800000000 } })"},
    {"sign_contract", "techtrade.transactions.v1.SignContractRequest",
     R"(request_id: "req-9" deal_id: "50000000-0000-4000-8000-000000000000" expected_version: 5
        registration_number: "420100-2026-000123" signing_time { seconds: 1779990000 }
        acting_as: PARTY_ROLE_BUYER)"},
    {"record_payment", "techtrade.transactions.v1.RecordPaymentRequest",
     R"(request_id: "req-10" deal_id: "50000000-0000-4000-8000-000000000000" expected_version: 9
        milestone_index: 1 amount { currency: "CNY" amount_minor: 30000000 }
        payment_reference: "ICBC-20261206-0001")"},
    {"record_milestone_funding", "techtrade.transactions.v1.RecordMilestoneFundingRequest",
     R"(request_id: "req-10b" deal_id: "50000000-0000-4000-8000-000000000000"
        expected_version: 6 milestone_index: 1 amount { currency: "CNY" amount_minor: 30000000 }
        funding_reference: "ICBC-ESCROW-0001")"},
    {"create_programme", "techtrade.fund.v1.CreateProgrammeRequest",
     R"(request_id: "req-11" name: "东湖科技成果转化专项资金" city_id: "wuhan-east-lake"
        start_time { seconds: 1767225600 } end_time { seconds: 1798761600 }
        total_budget { currency: "CNY" amount_minor: 1000000000 }
        rules { eligible_transfer_modes: TRANSFER_MODE_EXCLUSIVE_LICENSE
                eligible_transfer_modes: TRANSFER_MODE_ASSIGNMENT
                eligible_buyer_kinds: ORGANIZATION_KIND_ENTERPRISE min_contract_value_minor: 10000000
                bands { from_minor: 0 rate_bps: 1000 } bands { from_minor: 100000000 rate_bps: 500 }
                per_deal_cap_minor: 50000000 per_organization_annual_cap_minor: 100000000
                tranches { trigger: TRANCHE_TRIGGER_SIGNING share_bps: 3000 }
                tranches { trigger: TRANCHE_TRIGGER_MILESTONES share_bps: 7000 }
                auto_approval_threshold_minor: 20000000 })"},
};

void Write(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  if (!out) {
    std::fprintf(stderr, "fuzz_seeds: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

std::string Envelope(const std::string& id, const pb::Message& payload, const std::string& type,
                     const std::string& aggregate_id) {
  techtrade::common::v1::EventEnvelope e;
  e.set_event_id(id);
  e.set_event_type(payload.GetDescriptor()->full_name());
  e.set_aggregate_type(type);
  e.set_aggregate_id(aggregate_id);
  e.set_sequence(2);
  e.mutable_occurred_at()->set_seconds(1'780'000'000);
  e.set_producer(type == "deal" ? "transactions" : "listings");
  e.mutable_trace()->set_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  e.set_causation_request_id("req-1");
  e.mutable_payload()->PackFrom(payload);
  return e.SerializeAsString();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds <tests/fuzz/corpus>\n");
    return 2;
  }
  const std::string root = argv[1];
  for (const auto& seed : kRequests) {
    const pb::Descriptor* type =
        pb::DescriptorPool::generated_pool()->FindMessageTypeByName(seed[1]);
    if (type == nullptr) {
      std::fprintf(stderr, "fuzz_seeds: no type %s\n", seed[1].c_str());
      return 1;
    }
    std::unique_ptr<pb::Message> m(
        pb::MessageFactory::generated_factory()->GetPrototype(type)->New());
    if (!pb::TextFormat::ParseFromString(seed[2], m.get())) {
      std::fprintf(stderr, "fuzz_seeds: %s does not parse\n", seed[0].c_str());
      return 1;
    }
    const uint16_t tag = techtrade::fuzz::TagOf(type->full_name());
    if (techtrade::fuzz::RequestTypeFor(tag) != type) {
      std::fprintf(stderr, "fuzz_seeds: tag of %s names another type\n", seed[1].c_str());
      return 1;
    }
    std::string bytes = {static_cast<char>(tag >> 8), static_cast<char>(tag & 0xff)};
    Write(root + "/request_validation/" + seed[0] + ".bin", bytes + m->SerializeAsString());
  }

  namespace lv1 = techtrade::listings::v1;
  namespace tv1 = techtrade::transactions::v1;
  lv1::OfferCreated offer_created;
  *offer_created.mutable_offer() = techtrade::fuzz::SampleOffer(
      0, "固态锂电池电解质材料", "一种高离子电导率的硫化物固态电解质", "H01M 10/0562");
  offer_created.mutable_offer()->set_version(2);
  Write(root + "/event_envelope/offer_created.bin",
        Envelope("60000000-0000-4000-8000-000000000001", offer_created, "offer",
                 offer_created.offer().id()));
  lv1::DemandPublished demand_published;
  *demand_published.mutable_demand() =
      techtrade::fuzz::SampleDemand(0, "Battery recycling 电池回收", "Recover lithium 回收锂");
  demand_published.mutable_demand()->set_version(3);
  Write(root + "/event_envelope/demand_published.bin",
        Envelope("60000000-0000-4000-8000-000000000002", demand_published, "demand",
                 demand_published.demand().id()));
  lv1::OrganizationListingsHidden hidden;
  hidden.set_organization_id("10000000-0000-4000-8000-000000000001");
  hidden.set_registry_sequence(4);
  Write(root + "/event_envelope/listings_hidden.bin",
        Envelope("60000000-0000-4000-8000-000000000003", hidden, "organization",
                 hidden.organization_id()));
  tv1::ContractSigned signed_deal;
  if (!pb::TextFormat::ParseFromString(
          R"(deal { id: "50000000-0000-4000-8000-000000000000" listing_kind: LISTING_KIND_OFFER
                    city_id: "wuhan-east-lake" state: DEAL_STATE_SIGNED agreed_terms_version: 1
                    buyer { organization_id: "10000000-0000-4000-8000-000000000002"
                            kind: ORGANIZATION_KIND_ENTERPRISE city_id: "wuhan-east-lake" }
                    seller { organization_id: "10000000-0000-4000-8000-000000000001"
                             kind: ORGANIZATION_KIND_UNIVERSITY city_id: "wuhan-east-lake" }
                    terms { version: 1 price { currency: "CNY" amount_minor: 80000000 }
                            transfer_mode: TRANSFER_MODE_EXCLUSIVE_LICENSE }
                    contract { registration_number: "420100-2026-000123"
                               signing_time { seconds: 1779990000 } }
                    version: 7 }
             idempotency_key: "deal-50000000-7")",
          &signed_deal)) {
    std::fprintf(stderr, "fuzz_seeds: the deal does not parse\n");
    return 1;
  }
  Write(root + "/event_envelope/contract_signed.bin",
        Envelope("60000000-0000-4000-8000-000000000004", signed_deal, "deal",
                 signed_deal.deal().id()));
  return 0;
}
