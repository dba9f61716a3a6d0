#include "tools/techtradectl_commands.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "techtrade/fund/v1/fund.pb.h"
#include "techtrade/listings/v1/listings.pb.h"
#include "techtrade/ops/v1/dead_letters.pb.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade::ctl {
namespace {

namespace pb = google::protobuf;

void FieldHelp(const pb::Descriptor* d, const std::string& prefix, int depth, std::string* out) {
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    const std::string name = prefix + f->name();
    const pb::Descriptor* m = f->message_type();
    const bool leaf_message = m != nullptr && (m->full_name() == "google.protobuf.Timestamp" ||
                                               m->full_name() == "techtrade.common.v1.Money");
    if (m != nullptr && !f->is_repeated() && !leaf_message && depth < 2) {
      FieldHelp(m, name + ".", depth + 1, out);
      continue;
    }
    absl::StrAppend(out, "  --", name, f->is_repeated() ? " (repeatable)" : "", "  ", TypeName(f),
                    f->name() == "request_id"
                        ? "; derived from the command when omitted (or --request-id)"
                        : "",
                    "\n");
  }
}

}  // namespace

std::string TypeName(const pb::FieldDescriptor* f) {
  if (f->enum_type() != nullptr) {
    std::vector<std::string> names;
    for (int i = 1; i < f->enum_type()->value_count(); ++i) {
      names.push_back(f->enum_type()->value(i)->name());
    }
    return absl::StrCat("one of ", absl::StrJoin(names, ", "));
  }
  if (f->message_type() != nullptr) {
    const std::string& t = f->message_type()->full_name();
    if (t == "google.protobuf.Timestamp") return "time, RFC 3339 (2026-11-23T10:00:00Z)";
    if (t == "techtrade.common.v1.Money") {
      return "money, e.g. \"80000.00 CNY\" (the currency's decimals: JPY 0, KWD 3)";
    }
    return absl::StrCat("JSON object (", f->message_type()->name(), ")");
  }
  return f->type_name();
}

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      // registry
      {{"city", "create"},
       "registry",
       "techtrade.registry.v1.RegistryService/CreatePilotCity",
       "Create a pilot city or park (operators)."},
      {{"city", "get"},
       "registry",
       "techtrade.registry.v1.RegistryService/GetPilotCity",
       "Show a pilot city."},
      {{"city", "list"},
       "registry",
       "techtrade.registry.v1.RegistryService/ListPilotCities",
       "List pilot cities."},
      {{"org", "register"},
       "registry",
       "techtrade.registry.v1.RegistryService/RegisterOrganization",
       "Register an organisation (credit code checked; starts PENDING)."},
      {{"org", "get"},
       "registry",
       "techtrade.registry.v1.RegistryService/GetOrganization",
       "Show an organisation."},
      {{"org", "list"},
       "registry",
       "techtrade.registry.v1.RegistryService/ListOrganizations",
       "List organisations, filtered by city, kind, status."},
      {{"org", "update"},
       "registry",
       "techtrade.registry.v1.RegistryService/UpdateOrganization",
       "Change an organisation's details (needs --expected_version)."},
      {{"org", "verify"},
       "registry",
       "techtrade.registry.v1.RegistryService/VerifyOrganization",
       "PENDING → VERIFIED (needs --expected_version)."},
      {{"org", "suspend"},
       "registry",
       "techtrade.registry.v1.RegistryService/SuspendOrganization",
       "VERIFIED → SUSPENDED; hides its listings (needs --expected_version, --reason)."},
      {{"org", "reinstate"},
       "registry",
       "techtrade.registry.v1.RegistryService/ReinstateOrganization",
       "SUSPENDED → VERIFIED (needs --expected_version)."},
      {{"manager", "register"},
       "registry",
       "techtrade.registry.v1.RegistryService/RegisterTechnologyManager",
       "Register a certified technology manager (--certificate_number, --organization_id: the "
       "verified organisation that brokers for them)."},
      {{"manager", "get"},
       "registry",
       "techtrade.registry.v1.RegistryService/GetTechnologyManager",
       "Show a technology manager."},
      {{"manager", "list"},
       "registry",
       "techtrade.registry.v1.RegistryService/ListTechnologyManagers",
       "List technology managers, filtered by organisation, city, status."},
      {{"manager", "revoke"},
       "registry",
       "techtrade.registry.v1.RegistryService/RevokeTechnologyManager",
       "Revoke a manager's certificate: no new deal may name them (needs --expected_version, "
       "--reason)."},
      {{"key", "issue"},
       "registry",
       "techtrade.registry.v1.RegistryService/IssueApiKey",
       "Issue an API key for a city system, registration body (--organization_id: the GOVERNMENT "
       "organisation it is, the payee of automatic awards), partner or operator; the secret is "
       "shown once."},
      {{"key", "revoke"},
       "registry",
       "techtrade.registry.v1.RegistryService/RevokeApiKey",
       "Revoke an API client's key."},
      {{"key", "rotate"},
       "registry",
       "techtrade.registry.v1.RegistryService/RotateApiKey",
       "A new key for an API client (shown once); the one it holds keeps working for "
       "--overlap_seconds (default 24 h). The client itself or an operator."},
      {{"key", "get"},
       "registry",
       "techtrade.registry.v1.RegistryService/GetApiClient",
       "Show an API client (never its secret)."},
      {{"key", "list"},
       "registry",
       "techtrade.registry.v1.RegistryService/ListApiClients",
       "List API clients."},
      {{"partner", "list"},
       "registry",
       "techtrade.registry.v1.RegistryService/ListFinancePartners",
       "List the active finance partners a deal may name (--finance_partner_id of deal open)."},
      {{"partner", "get"},
       "registry",
       "techtrade.registry.v1.RegistryService/GetFinancePartner",
       "Show an active finance partner (--id, its API client id); NOT_FOUND otherwise."},
      {{"key", "authenticate"},
       "registry",
       "techtrade.registry.v1.RegistryService/Authenticate",
       "Resolve an API key (--api_key) to its principal: role and pilot city. Answers only a "
       "service's certificate (TECHTRADE_TLS_CERT/KEY of registry, listings, transactions or "
       "fund)."},
      // listings
      {{"offer", "create"},
       "listings",
       "techtrade.listings.v1.ListingsService/CreateOffer",
       "Create a technology offer as a draft (fields under --offer.*)."},
      {{"offer", "update"},
       "listings",
       "techtrade.listings.v1.ListingsService/UpdateOffer",
       "Replace an offer's draft fields (needs --expected_version)."},
      {{"offer", "publish"},
       "listings",
       "techtrade.listings.v1.ListingsService/PublishOffer",
       "Publish an offer (its owner must be VERIFIED)."},
      {{"offer", "withdraw"},
       "listings",
       "techtrade.listings.v1.ListingsService/WithdrawOffer",
       "Withdraw an offer."},
      {{"offer", "get"},
       "listings",
       "techtrade.listings.v1.ListingsService/GetOffer",
       "Show an offer."},
      {{"offer", "list"},
       "listings",
       "techtrade.listings.v1.ListingsService/ListOffers",
       "List offers."},
      {{"demand", "create"},
       "listings",
       "techtrade.listings.v1.ListingsService/CreateDemand",
       "Create a technology demand as a draft (fields under --demand.*)."},
      {{"demand", "update"},
       "listings",
       "techtrade.listings.v1.ListingsService/UpdateDemand",
       "Replace a demand's draft fields (needs --expected_version)."},
      {{"demand", "publish"},
       "listings",
       "techtrade.listings.v1.ListingsService/PublishDemand",
       "Publish a demand."},
      {{"demand", "withdraw"},
       "listings",
       "techtrade.listings.v1.ListingsService/WithdrawDemand",
       "Withdraw a demand."},
      {{"demand", "get"},
       "listings",
       "techtrade.listings.v1.ListingsService/GetDemand",
       "Show a demand."},
      {{"demand", "list"},
       "listings",
       "techtrade.listings.v1.ListingsService/ListDemands",
       "List demands."},
      {{"search"},
       "listings",
       "techtrade.listings.v1.ListingsService/Search",
       "Keyword search over published offers and demands (Chinese and English)."},
      {{"match", "offers"},
       "listings",
       "techtrade.listings.v1.ListingsService/MatchOffersForDemand",
       "Offers that fit a demand (--id), each with its explained factors."},
      {{"match", "demands"},
       "listings",
       "techtrade.listings.v1.ListingsService/MatchDemandsForOffer",
       "Demands an offer (--id) could serve, each with its explained factors."},
      // transactions
      {{"deal", "open"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/OpenDeal",
       "Open a deal on a published listing (buyer, seller, optional broker or technology manager"
       " --broker_manager_id, and the finance partner that settles it)."},
      {{"deal", "propose"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/ProposeTerms",
       "Propose terms (price, transfer mode, milestones as JSON: --milestones '{...}')."},
      {{"deal", "accept"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/AcceptTerms",
       "Accept a terms version as buyer or seller."},
      {{"deal", "sign"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/SignContract",
       "Sign the contract (registration number, signing time) for --acting_as BUYER or SELLER;"
       " unset signs for both (an operator, or the city of both parties)."},
      {{"deal", "deliver"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/DeliverMilestone",
       "The seller delivers a milestone."},
      {{"deal", "accept-milestone"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/AcceptMilestone",
       "The buyer accepts a milestone: payment falls due."},
      {{"deal", "pay"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/RecordPayment",
       "Record a finance partner's payment (once per --payment_reference)."},
      {{"deal", "mark-fraudulent"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/MarkDealFraudulent",
       "Operators: a completed deal found fraudulent (--reason, --evidence_reference); the fund "
       "claws back what it paid."},
      {{"deal", "fund-milestone"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/RecordMilestoneFunding",
       "The finance partner holds an escrowed milestone's amount (--milestone_index, --amount, "
       "--funding_reference); it may then be delivered."},
      {{"deal", "cancel"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/CancelDeal",
       "Cancel a deal with a reason."},
      {{"deal", "dispute"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/OpenDispute",
       "Open a dispute."},
      {{"deal", "resolve"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/ResolveDispute",
       "Resolve a dispute: resume, or --cancel=true."},
      {{"deal", "allow-broker"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/AllowBroker",
       "A party (--acting_as BUYER or SELLER) allows the deal's broker to take its steps"
       " (--allowed=true), or withdraws that (--allowed=false)."},
      {{"deal", "submit-registration"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/SubmitContractRegistration",
       "The seller's side submits the signed contract for registration (category, declared"
       " value, document reference); again after a refusal."},
      {{"deal", "register"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/RegisterContract",
       "A registration body registers the submitted contract (its number, category and"
       " registered technology value)."},
      {{"deal", "refuse-registration"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/RefuseContractRegistration",
       "A registration body refuses the submitted contract with a reason."},
      {{"deal", "get"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/GetDeal",
       "Show a deal."},
      {{"deal", "list"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/ListDeals",
       "List deals by party, city, state, opening date."},
      {{"deal", "attestation"},
       "transactions",
       "techtrade.transactions.v1.TransactionsService/GetDealAttestation",
       "The deal's event-chain head signed by the platform (JSON for techtrade-verify-deal)."},
      // fund
      {{"fund", "programme", "create"},
       "fund",
       "techtrade.fund.v1.FundService/CreateProgramme",
       "Define a programme: budget, period, city scope and rules (--rules.*; bands and tranches "
       "as JSON)."},
      {{"fund", "programme", "close"},
       "fund",
       "techtrade.fund.v1.FundService/CloseProgramme",
       "Close a programme to new applications."},
      {{"fund", "programme", "get"},
       "fund",
       "techtrade.fund.v1.FundService/GetProgramme",
       "Show a programme with its balances."},
      {{"fund", "programme", "list"},
       "fund",
       "techtrade.fund.v1.FundService/ListProgrammes",
       "List programmes."},
      {{"fund", "application", "submit"},
       "fund",
       "techtrade.fund.v1.FundService/SubmitApplication",
       "Apply for a subsidy for a signed deal; decided at once below the threshold."},
      {{"fund", "application", "approve"},
       "fund",
       "techtrade.fund.v1.FundService/ApproveApplication",
       "Approve an application waiting for review (reserves the amount)."},
      {{"fund", "application", "reject"},
       "fund",
       "techtrade.fund.v1.FundService/RejectApplication",
       "Reject an application waiting for review (--reason)."},
      {{"fund", "application", "get"},
       "fund",
       "techtrade.fund.v1.FundService/GetApplication",
       "Show an application with its calculation and disbursements."},
      {{"fund", "application", "list"},
       "fund",
       "techtrade.fund.v1.FundService/ListApplications",
       "List applications."},
      {{"fund", "application", "recover"},
       "fund",
       "techtrade.fund.v1.FundService/RecordClawbackRecovery",
       "A finance partner got part of a clawback back (--amount, --recovery_reference)."},
      {{"fund", "application", "write-off"},
       "fund",
       "techtrade.fund.v1.FundService/WriteOffClawback",
       "Operators: give up what is still owed of a clawback (--reason); the budget bears it."},
      {{"fund", "ledger"},
       "fund",
       "techtrade.fund.v1.FundService/ListLedgerEntries",
       "A programme's ledger entries, oldest first."},
      {{"fund", "reconcile"},
       "fund",
       "techtrade.fund.v1.FundService/Reconcile",
       "Recompute every balance from the ledger and compare; exit 6 if it does not balance."},
      {{"fund", "appraisal"},
       "fund",
       "techtrade.fund.v1.FundService/GetAppraisal",
       "Deals signed and completed, contract value, subsidy, leverage for a city and period."},
      // operations: served by every service that consumes events (--service)
      {{"dead-letters", "list"},
       "",
       "techtrade.ops.v1.DeadLetterService/ListDeadLetters",
       "Events a service's consumer parked (--status UNRESOLVED, --topic, --consumer)."},
      {{"dead-letters", "show"},
       "",
       "techtrade.ops.v1.DeadLetterService/GetDeadLetter",
       "One dead letter with its event, error, attempts and times (--id)."},
      {{"dead-letters", "replay"},
       "",
       "techtrade.ops.v1.DeadLetterService/ReplayDeadLetter",
       "Apply a dead letter's event again once its cause is fixed (--id)."},
      {{"dead-letters", "discard"},
       "",
       "techtrade.ops.v1.DeadLetterService/DiscardDeadLetter",
       "Give a dead letter up, kept for audit (--id, --reason)."},
  };
  return *commands;
}

const std::vector<std::string>& DeadLetterServices() {
  static const auto* services = new std::vector<std::string>{"listings", "transactions", "fund"};
  return *services;
}

// The four services' generated descriptors, linked in and found by name.
const pb::MethodDescriptor* FindMethod(const std::string& full) {
  (void)techtrade::registry::v1::Organization::descriptor();
  (void)techtrade::listings::v1::Offer::descriptor();
  (void)techtrade::transactions::v1::Deal::descriptor();
  (void)techtrade::fund::v1::Programme::descriptor();
  (void)techtrade::ops::v1::DeadLetter::descriptor();
  const size_t slash = full.find('/');
  const pb::ServiceDescriptor* service =
      pb::DescriptorPool::generated_pool()->FindServiceByName(full.substr(0, slash));
  return service == nullptr ? nullptr : service->FindMethodByName(full.substr(slash + 1));
}

std::string Usage() {
  std::string out =
      "techtradectl — operate techtrade over its gRPC APIs\n\n"
      "usage: techtradectl [global flags] <command> [--field value ...]\n\n"
      "global flags:\n"
      "  --env FILE        read addresses and the key from FILE (default .run/dev/env)\n"
      "  --key KEY         API key (default $TECHTRADE_API_KEY or the env file's)\n"
      "  --registry/--listings/--transactions/--fund HOST:PORT   service addresses\n"
      "  --tls-ca/--tls-cert/--tls-key FILE   mutual TLS: the platform's CA, this client's\n"
      "                    certificate and key (default $TECHTRADE_TLS_* or the env file's)\n"
      "  --json            print the response as JSON (field names as in the .proto)\n"
      "  --data JSON       the whole request as JSON; field flags override it\n"
      "  --timeout SECONDS deadline of the call (default 10)\n"
      "  --service NAME    for dead-letters: listings, transactions or fund\n"
      "  --request-id ID   the request_id of a mutation (default: derived from the command and\n"
      "                    its fields, so re-running a command that failed or timed out retries\n"
      "                    it instead of doing it twice; pass a new ID to repeat a request on\n"
      "                    purpose)\n\n"
      "money is \"80000.00 CNY\" or \"CNY 80,000.00\", with the currency's own decimals (JPY 0,\n"
      "KWD 3); times are RFC 3339 (2026-11-23T10:00:00Z)\n\n"
      "commands (techtradectl <command> --help lists its fields):\n";
  // The help column starts two spaces after the longest command.
  size_t width = 0;
  for (const Command& c : Commands()) width = std::max(width, absl::StrJoin(c.words, " ").size());
  for (const Command& c : Commands()) {
    std::string words = absl::StrJoin(c.words, " ");
    absl::StrAppend(&out, "  ", words, std::string(width + 2 - words.size(), ' '), c.help, "\n");
  }
  absl::StrAppend(&out,
                  "\nexit codes: 0 ok, 2 usage, 3 invalid argument, 4 not found, 5 already "
                  "exists,\n  6 failed precondition or stale version, 7 unauthenticated or "
                  "denied, 8 unavailable,\n  9 done but its answer could not be printed, 1 "
                  "other\n");
  return out;
}

std::string CommandHelp(const Command& c, const pb::MethodDescriptor* m) {
  std::string out =
      absl::StrCat("techtradectl ", absl::StrJoin(c.words, " "), " — ", c.help,
                   "\n\nRPC: ", m->full_name(), " on the ",
                   c.service.empty()
                       ? absl::StrCat("--service (", absl::StrJoin(DeadLetterServices(), ", "), ")")
                       : c.service,
                   " service\n\nfields of ", m->input_type()->full_name(), ":\n");
  FieldHelp(m->input_type(), "", 0, &out);
  return out;
}

int ExitFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return kOk;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return kInvalid;
    case grpc::StatusCode::NOT_FOUND:
      return kNotFound;
    case grpc::StatusCode::ALREADY_EXISTS:
      return kExists;
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
      return kPrecondition;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return kDenied;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kUnavailable;
    default:
      return kOther;
  }
}

}  // namespace techtrade::ctl
