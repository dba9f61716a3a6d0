// The chaos workload: whole life cycles of organisations, listings, deals and fund applications,
// every mutation retried with its request_id until answered, every success recorded.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/auth.h"
#include "google/protobuf/util/time_util.h"
#include "services/registry/domain/credit_code.h"
#include "techtrade/fund/v1/fund.grpc.pb.h"
#include "techtrade/listings/v1/listings.grpc.pb.h"
#include "techtrade/registry/v1/registry.grpc.pb.h"
#include "techtrade/transactions/v1/transactions.grpc.pb.h"
#include "tests/chaos/chaos.h"
#include "tests/support/requests.h"

namespace techtrade::chaos {

namespace reg = techtrade::registry::v1;
namespace lv1 = techtrade::listings::v1;
namespace tv1 = techtrade::transactions::v1;
namespace fv1 = techtrade::fund::v1;
using google::protobuf::util::TimeUtil;

namespace {

bool Transient(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:  // a connection torn mid-call surfaces so, too
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return true;
    default:
      return false;
  }
}

std::pair<std::string, int64_t> IdVersion(const reg::PilotCity& m) { return {m.id(), m.version()}; }
std::pair<std::string, int64_t> IdVersion(const reg::Organization& m) {
  return {m.id(), m.version()};
}
std::pair<std::string, int64_t> IdVersion(const reg::IssueApiKeyResponse& m) {
  return {m.api_client().id(), m.api_client().version()};
}
std::pair<std::string, int64_t> IdVersion(const reg::ApiClient& m) { return {m.id(), m.version()}; }
std::pair<std::string, int64_t> IdVersion(const lv1::Offer& m) { return {m.id(), m.version()}; }
std::pair<std::string, int64_t> IdVersion(const lv1::Demand& m) { return {m.id(), m.version()}; }
std::pair<std::string, int64_t> IdVersion(const tv1::Deal& m) { return {m.id(), m.version()}; }
std::pair<std::string, int64_t> IdVersion(const fv1::Programme& m) { return {m.id(), m.version()}; }
std::pair<std::string, int64_t> IdVersion(const fv1::Application& m) {
  return {m.id(), m.version()};
}

}  // namespace

// Stubs of every replica of every service; thread-safe.
struct Clients {
  std::vector<std::unique_ptr<reg::RegistryService::Stub>> registry;
  std::vector<std::unique_ptr<lv1::ListingsService::Stub>> listings;
  std::vector<std::unique_ptr<tv1::TransactionsService::Stub>> transactions;
  std::vector<std::unique_ptr<fv1::FundService::Stub>> fund;
  explicit Clients(const Platform& p) {
    for (int i = 0; i < p.replicas(); ++i) {
      registry.push_back(reg::RegistryService::NewStub(p.Channel("registry", i)));
      listings.push_back(lv1::ListingsService::NewStub(p.Channel("listings", i)));
      transactions.push_back(tv1::TransactionsService::NewStub(p.Channel("transactions", i)));
      fund.push_back(fv1::FundService::NewStub(p.Channel("fund", i)));
    }
  }
};

// Calls `rpc` until it is answered (not a transient failure) or `give_up` passes, alternating
// replicas. `again` may ask for more attempts on a non-transient answer (the fund's "has no signed
// deal" while its consumer catches up).
template <class Stub, class Req, class Resp>
grpc::Status Invoke(std::vector<std::unique_ptr<Stub>>& stubs,
                    grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& req, Resp* resp, const std::string& key, absl::Duration deadline,
                    absl::Duration give_up, int first_replica, int* attempts, bool* saw_failpoint,
                    const std::function<bool(const grpc::Status&)>& again = nullptr) {
  const absl::Time end = absl::Now() + give_up;
  grpc::Status s;
  for (int attempt = 0;; ++attempt) {
    auto ctx = testing::AuthedContext(key, deadline);
    Stub* stub = stubs[(first_replica + attempt) % stubs.size()].get();
    s = (stub->*rpc)(ctx.get(), req, resp);
    if (attempts != nullptr) *attempts = attempt + 1;
    if (saw_failpoint != nullptr && s.error_message().find("failpoint") != std::string::npos) {
      *saw_failpoint = true;
    }
    const bool retry = !s.ok() && (Transient(s) || (again && again(s)));
    if (!retry || absl::Now() >= end) return s;
    absl::SleepFor(absl::Milliseconds(std::min(1000, 50 << std::min(attempt, 5))));
  }
}

// One worker's calls: records operations and acknowledgements in the workload.
class Caller {
 public:
  Caller(Workload& w, std::shared_ptr<Clients> replay, std::mt19937_64& rng)
      : w_(w),
        clients_(std::make_shared<Clients>(w.platform_)),
        replay_(std::move(replay)),
        rng_(rng) {}

  template <class Stub, class Req, class Resp>
  bool Mutate(const std::string& method, const std::string& service, const std::string& kind,
              std::vector<std::unique_ptr<Stub>> Clients::*member,
              grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Req&, Resp*), const Req& req,
              Resp* resp, const std::string& key,
              std::function<bool(const grpc::Status&)> again = nullptr) {
    const bool fault_at_start = w_.faults_->active.load() > 0;
    int attempts = 0;
    bool failpoint = false;
    const int first = static_cast<int>(rng_() % 2);
    w_.stats_.operations++;
    {
      std::lock_guard<std::mutex> l(w_.mu_);
      w_.method_counts_[method]++;
    }
    grpc::Status s = Invoke((*clients_).*member, rpc, req, resp, key, w_.options_.call_deadline,
                            w_.options_.give_up_after, first, &attempts, &failpoint, again);
    const bool under_fault = fault_at_start || failpoint || w_.faults_->active.load() > 0;
    if (under_fault) w_.stats_.under_faults++;
    if (attempts > 1) w_.stats_.retried++;
    if (!s.ok()) {
      if (Transient(s)) {
        w_.stats_.unanswered++;
        w_.timeline_->Log("unanswered",
                          absl::StrCat(method, " ", req.request_id(), ": ", s.error_message()));
      } else {
        w_.stats_.refused++;
        if (w_.refusals_printed_++ < 30) {
          std::cerr << "chaos: " << method << " " << req.request_id()
                    << " refused: " << s.error_code() << " " << s.error_message() << "\n";
        }
      }
      return false;
    }
    w_.stats_.acknowledged++;
    Ack ack;
    ack.method = method;
    ack.request_id = req.request_id();
    ack.kind = kind;
    ack.service = service;
    std::tie(ack.id, ack.version) = IdVersion(*resp);
    ack.under_fault = under_fault;
    ack.attempts = attempts;
    std::shared_ptr<Clients> replay = replay_;
    const absl::Duration deadline = w_.options_.call_deadline;
    ack.replay = [replay, member, rpc, req, key,
                  deadline]() -> absl::StatusOr<std::pair<std::string, int64_t>> {
      Resp again;
      grpc::Status s = Invoke((*replay).*member, rpc, req, &again, key, deadline, absl::Seconds(30),
                              0, nullptr, nullptr);
      if (!s.ok()) {
        return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
      }
      return IdVersion(again);
    };
    w_.AddAck(std::move(ack));
    // Past the target, the workload only keeps operations going while the faults play: slowly,
    // so that the run stays bounded and the check short.
    const int think =
        w_.stats_.operations.load() >= w_.options_.target_operations ? 1000 : w_.options_.think_ms;
    if (think > 0) absl::SleepFor(absl::Milliseconds(static_cast<int64_t>(rng_() % (2 * think))));
    return true;
  }

  template <class Stub, class Req, class Resp>
  grpc::Status Read(std::vector<std::unique_ptr<Stub>> Clients::*member,
                    grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& req, Resp* resp, const std::string& key) {
    w_.stats_.reads++;
    return Invoke((*clients_).*member, rpc, req, resp, key, w_.options_.call_deadline,
                  absl::Seconds(60), static_cast<int>(rng_() % 2), nullptr, nullptr);
  }

 private:
  Workload& w_;
  std::shared_ptr<Clients> clients_;
  std::shared_ptr<Clients> replay_;
  std::mt19937_64& rng_;
};

namespace {
std::shared_ptr<Clients> g_replay_clients;  // shared by every worker's acknowledgements
std::mutex g_replay_mu;
}  // namespace

Workload::Workload(Platform& platform, WorkloadOptions options, FaultState* faults,
                   Timeline* timeline)
    : platform_(platform), options_(options), faults_(faults), timeline_(timeline) {}

Workload::~Workload() {
  Stop();
  Join();
}

void Workload::AddAck(Ack ack) {
  std::lock_guard<std::mutex> l(mu_);
  acks_.push_back(std::move(ack));
}

std::vector<Ack> Workload::Acks() const {
  std::lock_guard<std::mutex> l(mu_);
  return acks_;
}

std::map<std::string, int64_t> Workload::method_counts() const {
  std::lock_guard<std::mutex> l(mu_);
  return method_counts_;
}

namespace {

// The suite's programmes: budgets no run exhausts, the rules of testing::SubsidyProgrammeRequest.
fv1::CreateProgrammeRequest ProgrammeRequest(const std::string& request_id, const std::string& city,
                                             int64_t auto_threshold) {
  return testing::SubsidyProgrammeRequest(
      request_id,
      city.empty() ? "National technology absorption subsidy (chaos)"
                   : "Technology absorption subsidy " + city + " (chaos)",
      city, 10'000'000'000'00, auto_threshold);
}

}  // namespace

bool Workload::Setup() {
  {
    std::lock_guard<std::mutex> l(g_replay_mu);
    g_replay_clients = std::make_shared<Clients>(platform_);
  }
  std::mt19937_64 rng(options_.seed);
  Caller c(*this, g_replay_clients, rng);
  const std::string op = platform_.operator_key();
  const std::string tag = absl::StrCat("s", options_.seed, "-setup-");
  cities_ = {"wuhan-east-lake", "shenzhen", "hefei", "chengdu"};
  for (const std::string& city : cities_) {
    reg::CreatePilotCityRequest r;
    r.set_request_id(tag + "city-" + city);
    r.set_id(city);
    r.set_name(city);
    r.set_kind(reg::PILOT_CITY_KIND_CITY);
    r.set_division_code("420100");
    reg::PilotCity out;
    if (!c.Mutate("CreatePilotCity", "registry", "pilot_cities", &Clients::registry,
                  &reg::RegistryService::Stub::CreatePilotCity, r, &out, op)) {
      return false;
    }
  }
  // A key's secret is in the first answer only: when that answer is lost after the commit (the
  // db.after_commit failpoint, a replica stopped mid-call), the retry's replay has no secret. A
  // client then does what an operator would: revokes the key it cannot use and asks for another.
  auto key = [&](reg::ApiClientRole role, const std::string& city) -> std::string {
    for (int attempt = 0; attempt < 10; ++attempt) {
      reg::IssueApiKeyRequest r;
      r.set_request_id(absl::StrCat(tag, "key-", city, role, "-", attempt));
      r.set_name("chaos " + city);
      r.set_role(role);
      r.set_city_id(city);
      reg::IssueApiKeyResponse out;
      if (!c.Mutate("IssueApiKey", "registry", "api_clients", &Clients::registry,
                    &reg::RegistryService::Stub::IssueApiKey, r, &out, op)) {
        return "";
      }
      if (!out.api_key().empty()) return out.api_key();
      timeline_->Log("setup", absl::StrCat("IssueApiKey ", r.request_id(),
                                           ": first answer lost, revoking the key"));
      reg::RevokeApiKeyRequest revoke;
      revoke.set_request_id(absl::StrCat(r.request_id(), "-revoke"));
      revoke.set_id(out.api_client().id());
      revoke.set_expected_version(out.api_client().version());
      reg::ApiClient revoked;
      if (!c.Mutate("RevokeApiKey", "registry", "api_clients", &Clients::registry,
                    &reg::RegistryService::Stub::RevokeApiKey, revoke, &revoked, op)) {
        return "";
      }
    }
    std::cerr << "chaos: no API key for " << city << " after 10 lost answers\n";
    return "";
  };
  for (const std::string& city : cities_) {
    city_keys_[city] = key(reg::API_CLIENT_ROLE_CITY_SYSTEM, city);
    if (city_keys_[city].empty()) return false;
  }
  partner_key_ = key(reg::API_CLIENT_ROLE_PARTNER, "");
  if (partner_key_.empty()) return false;
  for (const std::string& city : cities_) {
    fv1::Programme p;
    if (!c.Mutate("CreateProgramme", "fund", "programmes", &Clients::fund,
                  &fv1::FundService::Stub::CreateProgramme,
                  ProgrammeRequest(tag + "programme-" + city, city, 50'000'00), &p, op)) {
      return false;
    }
    programme_auto_[city] = p.id();
    programmes_all_.push_back(p.id());
  }
  fv1::Programme p;
  if (!c.Mutate("CreateProgramme", "fund", "programmes", &Clients::fund,
                &fv1::FundService::Stub::CreateProgramme,
                ProgrammeRequest(tag + "programme-national", "", 1), &p, op)) {
    return false;
  }
  programme_review_ = p.id();
  programmes_all_.push_back(p.id());
  return true;
}

void Workload::Start(std::function<bool()> keep_going) {
  keep_going_ = std::move(keep_going);
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this, i] { Worker(i); });
}

void Workload::Stop() { stop_ = true; }

void Workload::Join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void Workload::Worker(int index) {
  std::mt19937_64 rng(options_.seed * 1000003 + static_cast<uint64_t>(index) + 1);
  for (int iteration = 0; iteration < 100000 && !stop_; ++iteration) {
    if (stats_.operations.load() >= options_.target_operations && !keep_going_()) break;
    LifeCycle(rng, index, iteration);
    stats_.life_cycles++;
  }
  done_workers_++;
}

void Workload::LifeCycle(std::mt19937_64& rng, int worker, int iteration) {
  std::shared_ptr<Clients> replay;
  {
    std::lock_guard<std::mutex> l(g_replay_mu);
    replay = g_replay_clients;
  }
  Caller c(*this, replay, rng);
  const std::string op = platform_.operator_key();
  auto uniform = [&](double p) { return static_cast<double>(rng() % 10000) / 10000.0 < p; };
  int step = 0;
  const std::string tag = absl::StrCat("s", options_.seed, "-w", worker, "-i", iteration, "-");
  auto rid = [&](const std::string& what) { return absl::StrCat(tag, step++, "-", what); };
  const int64_t serial = static_cast<int64_t>(worker) * 1'000'000 + iteration;
  const std::string seller_city = cities_[rng() % cities_.size()];
  const std::string buyer_city = cities_[rng() % cities_.size()];
  const std::string& seller_key = city_keys_[seller_city];
  const std::string& buyer_key = city_keys_[buyer_city];

  // Two organisations, registered by their cities' systems and verified by the operator.
  auto organisation = [&](int n, const std::string& city, reg::OrganizationKind kind,
                          reg::Organization* org) {
    std::string first17 = absl::StrFormat("91420100%09d", serial * 2 + n);
    reg::RegisterOrganizationRequest r;
    r.set_request_id(rid("register"));
    r.set_credit_code(first17 + registry::CreditCodeCheckCharacter(first17));
    r.set_name(absl::StrCat("Chaos organisation ", serial, "-", n));
    r.set_kind(kind);
    r.set_city_id(city);
    r.set_address("1 Chaos Road");
    if (!c.Mutate("RegisterOrganization", "registry", "organizations", &Clients::registry,
                  &reg::RegistryService::Stub::RegisterOrganization, r, org, city_keys_[city])) {
      return false;
    }
    reg::VerifyOrganizationRequest v;
    v.set_request_id(rid("verify"));
    v.set_id(org->id());
    v.set_expected_version(org->version());
    return c.Mutate("VerifyOrganization", "registry", "organizations", &Clients::registry,
                    &reg::RegistryService::Stub::VerifyOrganization, v, org, op);
  };
  reg::Organization seller, buyer;
  if (!organisation(0, seller_city, reg::ORGANIZATION_KIND_UNIVERSITY, &seller)) return;
  if (!organisation(1, buyer_city, reg::ORGANIZATION_KIND_ENTERPRISE, &buyer)) return;

  // The seller's offer and, often, the buyer's demand, published.
  lv1::CreateOfferRequest co;
  co.set_request_id(rid("offer"));
  co.set_owner_org_id(seller.id());
  lv1::OfferDraft* d = co.mutable_offer();
  const int topic = static_cast<int>(rng() % 3);
  d->set_title(std::array<const char*, 3>{"Lithium battery state-of-health estimation",
                                          "锂电池健康状态在线估计",
                                          "Graph neural network for grid fault location"}[topic]);
  d->add_ipc_codes(std::array<const char*, 3>{"H01M 10/48", "H01M 10/44", "G06N 3/04"}[topic]);
  d->add_fields(topic == 2 ? "artificial-intelligence" : "energy-storage");
  d->set_readiness_level(5 + static_cast<int>(rng() % 4));
  d->add_transfer_modes(lv1::TRANSFER_MODE_EXCLUSIVE_LICENSE);
  d->set_negotiable(true);
  lv1::Offer offer;
  if (!c.Mutate("CreateOffer", "listings", "offers", &Clients::listings,
                &lv1::ListingsService::Stub::CreateOffer, co, &offer, seller_key)) {
    return;
  }
  lv1::ChangeListingRequest pub;
  pub.set_request_id(rid("publish-offer"));
  pub.set_id(offer.id());
  pub.set_expected_version(offer.version());
  if (!c.Mutate("PublishOffer", "listings", "offers", &Clients::listings,
                &lv1::ListingsService::Stub::PublishOffer, pub, &offer, seller_key)) {
    return;
  }
  lv1::Demand demand;
  if (uniform(0.5)) {
    lv1::CreateDemandRequest cd;
    cd.set_request_id(rid("demand"));
    cd.set_seeker_org_id(buyer.id());
    lv1::DemandDraft* dd = cd.mutable_demand();
    dd->set_title("Online state-of-health estimation for energy-storage batteries");
    dd->set_problem("Our storage plant must find degrading lithium cells before they fail.");
    dd->add_ipc_codes("H01M 10/44");
    dd->add_fields("energy-storage");
    dd->set_min_readiness_level(5);
    dd->add_transfer_modes(lv1::TRANSFER_MODE_EXCLUSIVE_LICENSE);
    if (!c.Mutate("CreateDemand", "listings", "demands", &Clients::listings,
                  &lv1::ListingsService::Stub::CreateDemand, cd, &demand, buyer_key)) {
      return;
    }
    lv1::ChangeListingRequest pd;
    pd.set_request_id(rid("publish-demand"));
    pd.set_id(demand.id());
    pd.set_expected_version(demand.version());
    if (!c.Mutate("PublishDemand", "listings", "demands", &Clients::listings,
                  &lv1::ListingsService::Stub::PublishDemand, pd, &demand, buyer_key)) {
      return;
    }
    lv1::MatchRequest m;
    m.set_id(demand.id());
    m.set_limit(3);
    lv1::MatchResponse matches;
    (void)c.Read(&Clients::listings, &lv1::ListingsService::Stub::MatchOffersForDemand, m, &matches,
                 buyer_key);
  }

  // The deal.
  using TS = tv1::TransactionsService::Stub;
  auto deal_call = [&](const std::string& method, auto rpc, const auto& req, tv1::Deal* deal,
                       const std::string& key) {
    return c.Mutate(method, "transactions", "deals", &Clients::transactions, rpc, req, deal, key);
  };
  tv1::Deal deal;
  tv1::OpenDealRequest open;
  open.set_request_id(rid("open"));
  open.set_listing_id(offer.id());
  open.set_listing_kind(lv1::LISTING_KIND_OFFER);
  open.set_buyer_org_id(buyer.id());
  open.set_seller_org_id(seller.id());
  open.set_finance_partner_id(ParseApiKey(partner_key_)->key_id);  // the partner that pays
  if (!deal_call("OpenDeal", &TS::OpenDeal, open, &deal, buyer_key)) return;

  auto cancel = [&](tv1::PartyRole by) {
    tv1::CancelDealRequest r;
    r.set_request_id(rid("cancel"));
    r.set_deal_id(deal.id());
    r.set_expected_version(deal.version());
    r.set_acting_as(by);
    r.set_reason("the licensor lost the patent in invalidation proceedings");
    return deal_call("CancelDeal", &TS::CancelDeal, r, &deal,
                     by == tv1::PARTY_ROLE_OPERATOR ? op : buyer_key);
  };
  auto terms = [&](tv1::PartyRole by, int64_t price) {
    tv1::ProposeTermsRequest r = testing::TermsRequest(rid("terms"), deal, by, price);
    return deal_call("ProposeTerms", &TS::ProposeTerms, r, &deal,
                     by == tv1::PARTY_ROLE_SELLER ? seller_key : buyer_key);
  };
  auto accept = [&](tv1::PartyRole by) {
    tv1::AcceptTermsRequest r;
    r.set_request_id(rid("accept"));
    r.set_deal_id(deal.id());
    r.set_expected_version(deal.version());
    r.set_acting_as(by);
    r.set_terms_version(deal.terms_size());
    return deal_call("AcceptTerms", &TS::AcceptTerms, r, &deal,
                     by == tv1::PARTY_ROLE_SELLER ? seller_key : buyer_key);
  };
  auto milestone = [&](const std::string& method, auto rpc, int index, const std::string& key) {
    tv1::MilestoneRequest r;
    r.set_request_id(rid(method));
    r.set_deal_id(deal.id());
    r.set_expected_version(deal.version());
    r.set_milestone_index(index);
    return deal_call(method, rpc, r, &deal, key);
  };
  auto pay = [&](int index) {
    tv1::RecordPaymentRequest r;
    r.set_request_id(rid("pay"));
    r.set_deal_id(deal.id());
    r.set_expected_version(deal.version());
    r.set_milestone_index(index);
    *r.mutable_amount() = deal.milestones(index - 1).amount();
    r.set_payment_reference(absl::StrCat("CHAOS-BANK-", deal.id(), "-", index));
    return deal_call("RecordPayment", &TS::RecordPayment, r, &deal, partner_key_);
  };
  auto perform = [&](int index) {
    return milestone("DeliverMilestone", &TS::DeliverMilestone, index, seller_key) &&
           milestone("AcceptMilestone", &TS::AcceptMilestone, index, buyer_key) && pay(index);
  };

  if (uniform(0.08)) {
    cancel(tv1::PARTY_ROLE_BUYER);
    return;
  }
  const int64_t price = (20'000 + static_cast<int64_t>(rng() % 180'000)) * 100;
  if (!terms(tv1::PARTY_ROLE_SELLER, price)) return;
  if (uniform(0.5) && !terms(tv1::PARTY_ROLE_BUYER, price * 8 / 10)) return;
  if (!accept(tv1::PARTY_ROLE_SELLER) || !accept(tv1::PARTY_ROLE_BUYER)) return;
  // Each party's city system signs for its own party; the second signature signs the contract.
  for (auto [as, key] : {std::pair{tv1::PARTY_ROLE_SELLER, seller_key},
                         std::pair{tv1::PARTY_ROLE_BUYER, buyer_key}}) {
    tv1::SignContractRequest sign;
    sign.set_request_id(rid("sign"));
    sign.set_deal_id(deal.id());
    sign.set_expected_version(deal.version());
    sign.set_registration_number(absl::StrFormat("2026%012d", serial));
    *sign.mutable_signing_time() = TimeUtil::GetCurrentTime();
    sign.set_acting_as(as);
    if (!deal_call("SignContract", &TS::SignContract, sign, &deal, key)) return;
  }

  // The fund: the buyer's city applies (until the fund has seen the deal signed).
  const double fund_roll = static_cast<double>(rng() % 100) / 100.0;
  if (fund_roll < 0.75) {
    const bool review = fund_roll < 0.15;
    fv1::SubmitApplicationRequest apply;
    apply.set_request_id(rid("apply"));
    apply.set_programme_id(review ? programme_review_ : programme_auto_[buyer_city]);
    apply.set_deal_id(deal.id());
    fv1::Application application;
    auto not_yet = [](const grpc::Status& s) {
      return s.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
             s.error_message().find("has no signed deal") != std::string::npos;
    };
    if (c.Mutate("SubmitApplication", "fund", "applications", &Clients::fund,
                 &fv1::FundService::Stub::SubmitApplication, apply, &application, buyer_key,
                 not_yet) &&
        application.status() == fv1::APPLICATION_STATUS_PENDING_REVIEW) {
      fv1::DecideApplicationRequest decide;
      decide.set_request_id(rid("decide"));
      decide.set_id(application.id());
      decide.set_expected_version(application.version());
      if (uniform(0.75)) {
        c.Mutate("ApproveApplication", "fund", "applications", &Clients::fund,
                 &fv1::FundService::Stub::ApproveApplication, decide, &application, op);
      } else {
        decide.set_reason("the contract duplicates an earlier subsidised licence");
        c.Mutate("RejectApplication", "fund", "applications", &Clients::fund,
                 &fv1::FundService::Stub::RejectApplication, decide, &application, op);
      }
    }
  }

  // Performance, cancellation or a dispute.
  const int outcome = static_cast<int>(rng() % 100);
  if (outcome < 60) {
    if (!perform(1) || !perform(2)) return;
  } else if (outcome < 72) {
    if (!perform(1)) return;
    if (!cancel(tv1::PARTY_ROLE_OPERATOR)) return;
  } else {
    tv1::OpenDisputeRequest dispute;
    dispute.set_request_id(rid("dispute"));
    dispute.set_deal_id(deal.id());
    dispute.set_expected_version(deal.version());
    dispute.set_acting_as(tv1::PARTY_ROLE_BUYER);
    dispute.set_reason("the delivered code does not build");
    if (!deal_call("OpenDispute", &TS::OpenDispute, dispute, &deal, buyer_key)) return;
    tv1::ResolveDisputeRequest resolve;
    resolve.set_request_id(rid("resolve"));
    resolve.set_deal_id(deal.id());
    resolve.set_expected_version(deal.version());
    resolve.set_resolution("mediated by the operator");
    resolve.set_cancel(outcome >= 90);
    if (!deal_call("ResolveDispute", &TS::ResolveDispute, resolve, &deal, op)) return;
    if (outcome < 90 && (!perform(1) || !perform(2))) return;
  }

  // Afterwards: listings withdrawn, the seller suspended and (mostly) reinstated.
  if (demand.id().size() > 0 && uniform(0.4)) {
    lv1::GetListingRequest g;
    g.set_id(demand.id());
    if (c.Read(&Clients::listings, &lv1::ListingsService::Stub::GetDemand, g, &demand, buyer_key)
            .ok() &&
        demand.status() == lv1::DEMAND_STATUS_PUBLISHED) {
      lv1::ChangeListingRequest w;
      w.set_request_id(rid("withdraw-demand"));
      w.set_id(demand.id());
      w.set_expected_version(demand.version());
      w.set_reason("found a partner");
      c.Mutate("WithdrawDemand", "listings", "demands", &Clients::listings,
               &lv1::ListingsService::Stub::WithdrawDemand, w, &demand, buyer_key);
    }
  }
  if (uniform(0.25)) {
    lv1::GetListingRequest g;
    g.set_id(offer.id());
    if (c.Read(&Clients::listings, &lv1::ListingsService::Stub::GetOffer, g, &offer, seller_key)
            .ok() &&
        offer.status() == lv1::OFFER_STATUS_PUBLISHED) {
      lv1::ChangeListingRequest w;
      w.set_request_id(rid("withdraw-offer"));
      w.set_id(offer.id());
      w.set_expected_version(offer.version());
      c.Mutate("WithdrawOffer", "listings", "offers", &Clients::listings,
               &lv1::ListingsService::Stub::WithdrawOffer, w, &offer, seller_key);
    }
  }
  if (uniform(0.3)) {
    reg::SuspendOrganizationRequest s;
    s.set_request_id(rid("suspend"));
    s.set_id(seller.id());
    s.set_expected_version(seller.version());
    s.set_reason("annual report overdue");
    if (!c.Mutate("SuspendOrganization", "registry", "organizations", &Clients::registry,
                  &reg::RegistryService::Stub::SuspendOrganization, s, &seller, op)) {
      return;
    }
    if (uniform(0.7)) {
      reg::ReinstateOrganizationRequest r;
      r.set_request_id(rid("reinstate"));
      r.set_id(seller.id());
      r.set_expected_version(seller.version());
      c.Mutate("ReinstateOrganization", "registry", "organizations", &Clients::registry,
               &reg::RegistryService::Stub::ReinstateOrganization, r, &seller, op);
    }
  }
  if (uniform(0.1)) {
    lv1::SearchRequest q;
    q.set_kind(lv1::LISTING_KIND_OFFER);
    q.set_query("锂电池 健康状态");
    lv1::SearchResponse hits;
    (void)c.Read(&Clients::listings, &lv1::ListingsService::Stub::Search, q, &hits, seller_key);
  }
}

}  // namespace techtrade::chaos
