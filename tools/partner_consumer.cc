// techtrade-partner: a reference finance-partner consumer of the deal events and the fund's
// (kUsage below says what it does and how to run it).
#include <iostream>
#include <map>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/config.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/money.h"
#include "common/topics.h"
#include "techtrade/fund/v1/fund.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

ABSL_FLAG(std::string, brokers, "",
          "Kafka bootstrap servers (default: env TECHTRADE_KAFKA_BROKERS)");
ABSL_FLAG(std::string, group, "", "consumer group (default: a new one for this run)");
ABSL_FLAG(std::string, partner_id, "",
          "this partner's API client id: read its own deal stream (default: env "
          "TECHTRADE_PARTNER_ID)");
ABSL_FLAG(std::string, topics, "",
          "topics to read, comma-separated (default: the partner's own stream; without a partner "
          "id, the platform's deal and fund topics)");
ABSL_FLAG(int, idle_exit_seconds, 0, "stop after this many seconds without an event (0 = never)");

namespace v1 = techtrade::transactions::v1;
namespace fv1 = techtrade::fund::v1;

namespace {

constexpr char kUsage[] =
    R"(techtrade-partner — a reference finance-partner consumer of techtrade's events.

usage: techtrade-partner [--brokers HOST:PORT[,HOST:PORT]] [--partner_id ID] [--group GROUP]
                         [--topics A,B] [--idle_exit_seconds S]

It reads the partner's own stream (techtrade.partner.<partner id>.deals.v1: every event of the
deals that name it and every fund event of their applications: decided, tranche paid, released,
clawed back; nothing of another partner's deals, and Kafka refuses this partner any other topic)
as a bank's system would: in its own consumer group, committing each offset after the event is
handled. Without a partner id it reads the platform's deal and fund topics
(techtrade.transactions.events.v1, techtrade.fund.events.v1), as the platform's own consumers
do with the platform's certificate. It checks that every deal's and every application's events
arrive in order without gaps (sequence 1, 2, 3, … per aggregate), drops redeliveries (a
sequence already applied, with the event id it had), reports a conflict (a sequence already
applied arriving with another event id), and prints one line per event with what the partner
would do: "PAY CNY 180,000.00 from … to …", "PAY subsidy …", "COLLECT …". Amounts are
printed in each currency's own minor unit (JPY without decimals, KWD with three). The last
line sums it up:
  N events over D deals and applications, R redeliveries dropped, P gaps, disorders or conflicts

flags:
  --brokers HOST:PORT[,...]  Kafka bootstrap servers (default: $TECHTRADE_KAFKA_BROKERS)
  --partner_id ID            this partner's API client id, the key id of its API key
                             "tt_<key id>_<secret>" (default: $TECHTRADE_PARTNER_ID)
  --group GROUP              consumer group (default: a new one for this run, which reads the
                             topics from their beginning); reuse a group to resume where it was
  --topics A,B               topics to read, comma-separated (default: as above)
  --idle_exit_seconds S      stop after S seconds without an event (default 0: run until killed)
  --help                     print this text

examples:
  set -a; source .run/dev/env; set +a
  techtrade-partner --partner_id 3f9c0a1b2c3d4e5f --idle_exit_seconds 5
  techtrade-partner --group hubei-bank --topics techtrade.transactions.events.v1

exit codes: 0 every event in order; 1 an unknown flag, or the Kafka client could not be
created; 2 no brokers given; 3 a gap, a disorder, a conflict or an unreadable message was seen
)";

std::string Amount(const techtrade::common::v1::Money& m) { return techtrade::FormatMoney(m); }

std::string Who(const v1::Party& p) { return absl::StrCat(p.name(), " (", p.credit_code(), ")"); }

// One line per event, in the partner's words.
std::string Describe(const techtrade::common::v1::EventEnvelope& e) {
  const auto& any = e.payload();
  if (v1::ContractSignatureRecorded x; any.UnpackTo(&x)) {
    return absl::StrCat("contract ", x.deal().contract().registration_number(), " signed by the ",
                        x.signed_by() == v1::PARTY_ROLE_BUYER ? "buyer" : "seller",
                        "; nothing is due until the other party signs");
  }
  if (v1::ContractSigned x; any.UnpackTo(&x)) {
    std::string s =
        absl::StrCat("contract ", x.deal().contract().registration_number(), " signed; schedule:");
    for (const auto& m : x.payment_schedule()) {
      absl::StrAppend(&s, " #", m.index(), " ", Amount(m.amount()));
    }
    return s;
  }
  if (v1::MilestoneAccepted x; any.UnpackTo(&x)) {
    std::string s =
        absl::StrCat("PAY ", Amount(x.amount_due()), " from ", Who(x.deal().buyer()), " to ",
                     Who(x.deal().seller()), " for milestone ", x.milestone().index(), " '",
                     x.milestone().title(), "' [idempotency key ", x.idempotency_key(), "]");
    // With a broker, the payment is split; the parts sum to it.
    if (x.instructions_size() > 1) {
      absl::StrAppend(&s, "; split:");
      for (const v1::PaymentInstruction& part : x.instructions()) {
        absl::StrAppend(&s, " ", Amount(part.amount()), " to the ",
                        part.payee_role() == v1::PARTY_ROLE_BROKER ? "broker " : "seller ",
                        Who(part.payee()), part.payee_role() == v1::PARTY_ROLE_SELLER ? "," : "");
      }
    }
    return s;
  }
  if (v1::PaymentRecorded x; any.UnpackTo(&x)) {
    return absl::StrCat("payment ", Amount(x.amount()), " recorded, reference ",
                        x.payment_reference(), "; paid so far ", Amount(x.deal().paid_total()));
  }
  if (v1::DealCompleted x; any.UnpackTo(&x)) {
    return absl::StrCat("deal completed, ", Amount(x.deal().paid_total()), " paid in total");
  }
  if (v1::DealCancelled x; any.UnpackTo(&x)) return "deal cancelled: " + x.reason();
  if (v1::DealMarkedFraudulent x; any.UnpackTo(&x)) {
    return absl::StrCat("deal found FRAUDULENT (", x.deal().fraud().evidence_reference(),
                        "): ", x.deal().fraud().reason());
  }
  if (v1::MilestoneFunded x; any.UnpackTo(&x)) {
    return absl::StrCat("escrow HELD for milestone ", x.milestone().index(), ": ",
                        Amount(x.amount()), " (your reference ", x.funding_reference(), ")");
  }
  if (v1::EscrowReleased x; any.UnpackTo(&x)) {
    std::string parts;
    for (const v1::PaymentInstruction& p : x.instructions()) {
      absl::StrAppend(&parts, parts.empty() ? "" : "; ", Amount(p.amount()), " to ",
                      Who(p.payee()));
    }
    return absl::StrCat("RELEASE escrow of milestone ", x.milestone().index(), ": ",
                        Amount(x.amount()), " — ", parts, " [idempotency key ", x.idempotency_key(),
                        "]");
  }
  if (v1::EscrowRefunded x; any.UnpackTo(&x)) {
    return absl::StrCat("REFUND escrow of milestone ", x.milestone().index(), ": ",
                        Amount(x.amount()), " to ", Who(x.payee()), " [idempotency key ",
                        x.idempotency_key(), "]");
  }
  if (v1::ContractRegistrationSubmitted x; any.UnpackTo(&x)) {
    const v1::ContractRegistration& r = x.deal().registration();
    return absl::StrCat("contract submitted for registration in ", r.city_id(), " (submission ",
                        r.submissions(), ", declared ", Amount(r.declared_value()), ")");
  }
  if (v1::ContractRegistered x; any.UnpackTo(&x)) {
    const v1::ContractRegistration& r = x.deal().registration();
    return absl::StrCat("contract REGISTERED as ", r.registration_number(), " (",
                        v1::ContractCategory_Name(r.category()), ", technology value ",
                        Amount(r.registered_value()), ")");
  }
  if (v1::ContractRegistrationRefused x; any.UnpackTo(&x)) {
    return "contract registration refused: " + x.reason();
  }
  if (v1::ContractRegistrationOverdue x; any.UnpackTo(&x)) {
    return "contract registration OVERDUE: not registered by its deadline";
  }
  if (fv1::ApplicationDecided x; any.UnpackTo(&x)) {
    const fv1::Application& a = x.application();
    return absl::StrCat("fund application for deal ", a.deal_id().substr(0, 8), " ",
                        fv1::ApplicationStatus_Name(a.status()), ": ",
                        techtrade::FormatMoney(a.currency(), a.approved_minor()), " — ",
                        a.decision_reason());
  }
  if (fv1::AutomaticAwardDecided x; any.UnpackTo(&x)) {
    const fv1::Application& a = x.application();
    const fv1::AwardBasis& basis = a.award_basis();
    return absl::StrCat(
        "fund award without application for deal ", a.deal_id().substr(0, 8), " to the ",
        fv1::Beneficiary_Name(a.beneficiary()), " ", Who(a.applicant()), ": ",
        fv1::ApplicationStatus_Name(a.status()), " ",
        techtrade::FormatMoney(a.currency(), a.approved_minor()), " on registration ",
        basis.registration_number(), " (registered total ",
        techtrade::FormatMoney(a.currency(), basis.cumulative_before_minor()), " -> ",
        techtrade::FormatMoney(a.currency(), basis.cumulative_after_minor()), ", bands give ",
        techtrade::FormatMoney(a.currency(), basis.entitlement_minor()), ") — ",
        a.decision_reason());
  }
  if (fv1::TrancheDisbursed x; any.UnpackTo(&x)) {
    return absl::StrCat("PAY subsidy ", Amount(x.amount()), " from the fund to ", Who(x.payee()),
                        ", tranche '", x.disbursement().tranche(), "' [idempotency key ",
                        x.idempotency_key(), "]");
  }
  if (fv1::ClawbackRecovered x; any.UnpackTo(&x)) {
    return absl::StrCat("clawback RECOVERED: ", Amount(x.amount()), " (reference ",
                        x.recovery_reference(), "); still owed ",
                        techtrade::FormatMoney(x.application().currency(),
                                               x.application().clawed_back_minor() -
                                                   x.application().recovered_minor() -
                                                   x.application().written_off_minor()));
  }
  if (fv1::ClawbackWrittenOff x; any.UnpackTo(&x)) {
    return absl::StrCat("clawback WRITTEN OFF: ", Amount(x.amount()),
                        " — stop collecting; reason: ", x.reason());
  }
  if (fv1::ReservationReleased x; any.UnpackTo(&x)) {
    return absl::StrCat("fund reservation released: ", Amount(x.amount()));
  }
  if (fv1::ClawbackRaised x; any.UnpackTo(&x)) {
    return absl::StrCat("COLLECT ", Amount(x.amount()), " back from ", Who(x.debtor()),
                        " for the fund (clawback) [idempotency key ", x.idempotency_key(), "]");
  }
  std::string type = e.event_type();
  return type.substr(type.rfind('.') + 1);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h" || a == "-help" || a == "--helpfull") {
      std::cout << kUsage;
      return 0;
    }
  }
  absl::ParseCommandLine(argc, argv);
  std::string brokers = absl::GetFlag(FLAGS_brokers);
  if (brokers.empty()) brokers = techtrade::EnvOr("TECHTRADE_KAFKA_BROKERS", "");
  if (brokers.empty()) {
    std::cerr << "techtrade-partner: --brokers or TECHTRADE_KAFKA_BROKERS is required\n";
    return 2;
  }
  std::string group = absl::GetFlag(FLAGS_group);
  if (group.empty()) group = "finance-partner-" + techtrade::RandomHex(4);
  std::string partner_id = absl::GetFlag(FLAGS_partner_id);
  if (partner_id.empty()) partner_id = techtrade::EnvOr("TECHTRADE_PARTNER_ID", "");
  std::string topic_list = absl::GetFlag(FLAGS_topics);
  if (topic_list.empty()) {
    // A partner's fund events are on its own stream: the fund's topic holds every partner's.
    topic_list = partner_id.empty() ? "techtrade.transactions.events.v1,techtrade.fund.events.v1"
                                    : techtrade::PartnerDealsTopic(partner_id);
  }
  const std::vector<std::string> topics = absl::StrSplit(topic_list, ',', absl::SkipEmpty());
  auto consumer = techtrade::KafkaConsumer::Create(brokers, group, topics);
  if (!consumer.ok()) {
    std::cerr << "techtrade-partner: " << consumer.status() << "\n";
    return 1;
  }
  std::map<std::string, int64_t> last_sequence;  // per deal or application
  // The event id applied under each (aggregate, sequence), to tell a redelivery from a conflict.
  std::map<std::pair<std::string, int64_t>, std::string> applied;
  int events = 0, duplicates = 0, problems = 0;
  absl::Time last_event = absl::Now();
  const int idle_exit = absl::GetFlag(FLAGS_idle_exit_seconds);
  while (idle_exit == 0 || absl::Now() - last_event < absl::Seconds(idle_exit)) {
    std::unique_ptr<RdKafka::Message> m = (*consumer)->Poll(absl::Milliseconds(200));
    if (m == nullptr) continue;
    last_event = absl::Now();
    techtrade::common::v1::EventEnvelope e;
    if (!e.ParseFromArray(m->payload(), static_cast<int>(m->len()))) {
      std::cout << "UNREADABLE message at offset " << m->offset() << "\n";
      ++problems;
    } else {
      int64_t& last = last_sequence[e.aggregate_id()];
      if (e.sequence() <= last) {
        auto seen = applied.find({e.aggregate_id(), e.sequence()});
        if (seen != applied.end() && seen->second == e.event_id()) {
          ++duplicates;  // a redelivery: already acted on
        } else {
          std::cout << "CONFLICT " << e.aggregate_type() << " " << e.aggregate_id() << ": sequence "
                    << e.sequence() << " already applied as event "
                    << (seen == applied.end() ? std::string("(unknown)") : seen->second)
                    << ", now event " << e.event_id() << " (" << e.event_type() << ")\n";
          ++problems;
        }
      } else {
        if (e.sequence() != last + 1) {
          std::cout << "GAP " << e.aggregate_type() << " " << e.aggregate_id()
                    << ": expected sequence " << last + 1 << ", got " << e.sequence() << "\n";
          ++problems;
        }
        last = e.sequence();
        applied[{e.aggregate_id(), e.sequence()}] = e.event_id();
        ++events;
        std::cout << e.aggregate_type() << " " << e.aggregate_id().substr(0, 8) << " #"
                  << e.sequence() << "  " << Describe(e) << "\n";
      }
    }
    (void)(*consumer)->Commit(*m);
  }
  std::cout << absl::StrFormat(
      "%d events over %d deals and applications, %d redeliveries dropped, %d gaps, "
      "disorders or conflicts\n",
      events, last_sequence.size(), duplicates, problems);
  return problems == 0 ? 0 : 3;
}
