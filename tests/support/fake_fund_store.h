// The fund's store (services/fund/store/fund_store.h) in memory, for handler tests on a
// FakeTransactor: copyable, every read sees the unit's earlier writes, locks are no-ops. It keeps
// the money rules the database keeps — entries post to their programme's balances, and a write
// that breaks a rule is refused with the error the database's constraint maps to
// (store::FundConstraintErrors) — so a test sees what the service would answer.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "services/fund/domain/fund_rules.h"
#include "services/fund/store/fund_store.h"
#include "services/fund/store/pg_fund_store.h"

namespace techtrade::testing {

class FakeFundStore final : public fund::FundStore {
 public:
  using Programme = fund::v1::Programme;
  using Application = fund::v1::Application;
  using Deal = techtrade::transactions::v1::Deal;

  // ---- Seeding and inspection (not part of the store) ----

  // The deal as the fund's consumer would have projected it.
  void PutDeal(const Deal& deal) { deals_[deal.id()] = deal; }
  void PutStanding(const std::string& organization_id, fund::StandingRecord standing) {
    standings_[organization_id] = standing;
  }
  const std::map<std::string, Programme>& programmes() const { return programmes_; }
  std::vector<Application> applications() const {
    std::vector<Application> out;
    for (const auto& [ordinal, id] : application_order_) out.push_back(applications_.at(id));
    return out;
  }
  const std::vector<fund::v1::LedgerEntry>& entries() const { return entries_; }

  // ---- Programmes ----

  absl::StatusOr<Programme> GetProgramme(const std::string& id, Lock) override {
    auto it = programmes_.find(id);
    if (it == programmes_.end()) return absl::NotFoundError("programme " + id + " not found");
    return it->second;
  }
  Page<Programme> ListProgrammes(const std::string& city_id, int status, int64_t after,
                                 int limit) override {
    return PageOf<Programme>(programme_order_, after, limit, [&](const std::string& id) {
      const Programme& p = programmes_.at(id);
      const bool match = (city_id.empty() || p.city_id() == city_id) &&
                         (status == 0 || static_cast<int>(p.status()) == status);
      return match ? std::optional<Programme>(p) : std::nullopt;
    });
  }
  absl::Status InsertProgramme(const Programme& programme) override {
    Programme p = programme;
    p.clear_balances();
    p.mutable_balances()->set_currency(programme.total_budget().currency());
    programmes_[p.id()] = p;
    programme_order_[++ordinal_] = p.id();
    return absl::OkStatus();
  }
  absl::Status SaveProgramme(const Programme& programme) override {
    Programme& p = programmes_.at(programme.id());
    fund::v1::Balances balances = p.balances();  // changed only by entries
    p = programme;
    *p.mutable_balances() = balances;
    return absl::OkStatus();
  }

  std::vector<std::string> ProgrammesPayingAutomatically() override {
    std::vector<std::string> ids;
    for (const auto& [id, p] : programmes_) {
      if (p.status() == fund::v1::PROGRAMME_STATUS_ACTIVE &&
          !p.rules().automatic_awards().empty()) {
        ids.push_back(id);
      }
    }
    return ids;
  }

  // ---- Deals ----

  bool UpsertDeal(const Deal& deal) override {
    auto it = deals_.find(deal.id());
    if (it != deals_.end() && it->second.version() >= deal.version()) return false;
    deals_[deal.id()] = deal;
    return true;
  }
  std::optional<Deal> GetDeal(const std::string& id) override {
    auto it = deals_.find(id);
    if (it == deals_.end()) return std::nullopt;
    return it->second;
  }

  // ---- Applications ----

  absl::StatusOr<Application> GetApplication(const std::string& id, bool) override {
    auto it = applications_.find(id);
    if (it == applications_.end()) return absl::NotFoundError("application " + id + " not found");
    return it->second;
  }
  std::vector<Application> OpenApplicationsOfDeal(const std::string& deal_id) override {
    std::vector<Application> out;
    for (const Application& a : applications()) {
      if (a.deal_id() == deal_id && (a.status() == fund::v1::APPLICATION_STATUS_PENDING_REVIEW ||
                                     a.status() == fund::v1::APPLICATION_STATUS_APPROVED ||
                                     a.status() == fund::v1::APPLICATION_STATUS_COMPLETED)) {
        out.push_back(a);
      }
    }
    return out;
  }
  std::vector<fund::ApplicationRef> ApprovedApplicationsOf(
      const std::string& organization_id) override {
    std::vector<fund::ApplicationRef> out;
    for (const Application& a : applications()) {
      if (a.applicant().organization_id() == organization_id &&
          a.status() == fund::v1::APPLICATION_STATUS_APPROVED) {
        out.push_back({a.id(), a.deal_id()});
      }
    }
    return out;
  }
  Page<Application> ListApplications(const fund::ApplicationFilter& f, int64_t after,
                                     int limit) override {
    return PageOf<Application>(application_order_, after, limit, [&](const std::string& id) {
      const Application& a = applications_.at(id);
      const bool match =
          (f.programme_id.empty() || a.programme_id() == f.programme_id) &&
          (f.deal_id.empty() || a.deal_id() == f.deal_id) &&
          (f.applicant_org_id.empty() || a.applicant().organization_id() == f.applicant_org_id) &&
          (f.city_id.empty() || a.applicant().city_id() == f.city_id) &&
          (f.status == 0 || static_cast<int>(a.status()) == f.status) &&
          (!f.finance_partner_id.has_value() ||
           (!f.finance_partner_id->empty() && a.finance_partner_id() == *f.finance_partner_id));
      return match ? std::optional<Application>(a) : std::nullopt;
    });
  }
  absl::Status InsertApplication(const Application& application) override {
    for (const auto& [id, a] : applications_) {
      if (a.programme_id() != application.programme_id() || a.deal_id() != application.deal_id() ||
          fund::BeneficiaryOf(a) != fund::BeneficiaryOf(application)) {
        continue;
      }
      if (a.has_award_basis() && application.has_award_basis()) {
        return ConstraintError("applications_one_award_per_beneficiary");
      }
      if (a.status() != fund::v1::APPLICATION_STATUS_REJECTED &&
          application.status() != fund::v1::APPLICATION_STATUS_REJECTED) {
        return ConstraintError("applications_one_per_programme_deal");
      }
    }
    applications_[application.id()] = application;
    application_order_[++ordinal_] = application.id();
    return absl::OkStatus();
  }
  absl::Status SaveApplication(const Application& application) override {
    applications_.at(application.id()) = application;
    return absl::OkStatus();
  }

  bool HasAutomaticAwards(const std::string& programme_id, const std::string& deal_id) override {
    for (const auto& [id, a] : applications_) {
      if (a.programme_id() == programme_id && a.deal_id() == deal_id && a.has_award_basis()) {
        return true;
      }
    }
    return false;
  }
  int64_t RegisteredTotal(const std::string& programme_id, const std::string& org_id,
                          fund::v1::Beneficiary beneficiary, int year) override {
    int64_t total = 0;
    for (const auto& [id, a] : applications_) {
      if (a.programme_id() == programme_id && a.applicant().organization_id() == org_id &&
          a.has_award_basis() && fund::BeneficiaryOf(a) == beneficiary && a.year() == year) {
        total +=
            a.award_basis().cumulative_after_minor() - a.award_basis().cumulative_before_minor();
      }
    }
    return total;
  }
  int64_t AnnualGranted(const std::string& programme_id, const std::string& org_id,
                        fund::v1::Beneficiary beneficiary, int year) override {
    auto it = grants_.find({programme_id, org_id, year, beneficiary});
    return it == grants_.end() ? 0 : it->second;
  }
  absl::Status AddAnnualGrant(const std::string& programme_id, const std::string& org_id,
                              fund::v1::Beneficiary beneficiary, int year, int64_t delta,
                              int64_t cap) override {
    int64_t& granted = grants_[{programme_id, org_id, year, beneficiary}];
    if (granted + delta > cap) return ConstraintError("annual_grants_within_cap");
    granted += delta;
    return absl::OkStatus();
  }

  // ---- Ledger ----

  absl::Status AppendEntry(const std::string& programme_id, const std::string& application_id,
                           const fund::Posting& posting) override {
    if (posting.kind == fund::EntryKind::kDisburse) {
      for (const fund::v1::LedgerEntry& e : entries_) {
        if (e.application_id() == application_id && e.kind() == "disburse" &&
            e.tranche() == posting.tranche) {
          return ConstraintError("ledger_entries_one_disbursement_per_tranche");
        }
      }
    }
    fund::v1::Balances& b = *programmes_.at(programme_id).mutable_balances();
    fund::Post(posting, b);
    if (b.available_minor() < 0) {
      return ConstraintError("programme_balances_available_not_negative");
    }
    const fund::AccountPair accounts = fund::AccountsOf(posting.kind);
    fund::v1::LedgerEntry& e = entries_.emplace_back();
    e.set_id(static_cast<int64_t>(entries_.size()));
    e.set_programme_id(programme_id);
    e.set_application_id(application_id);
    e.set_kind(fund::store::StoredKind(posting.kind));
    e.set_tranche(posting.tranche);
    e.set_debit(fund::ToProto(accounts.debit));
    e.set_credit(fund::ToProto(accounts.credit));
    e.set_amount_minor(posting.amount_minor);
    *e.mutable_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
    return absl::OkStatus();
  }
  Page<fund::v1::LedgerEntry> ListEntries(const std::string& programme_id,
                                          const std::string& application_id,
                                          const std::optional<std::string>& finance_partner_id,
                                          int64_t after_id, int limit) override {
    Page<fund::v1::LedgerEntry> page;
    for (const fund::v1::LedgerEntry& e : entries_) {
      if (e.id() <= after_id || e.programme_id() != programme_id) continue;
      if (!application_id.empty() && e.application_id() != application_id) continue;
      if (finance_partner_id.has_value() && !e.application_id().empty() &&
          (finance_partner_id->empty() ||
           applications_.at(e.application_id()).finance_partner_id() != *finance_partner_id)) {
        continue;
      }
      if (static_cast<int>(page.items.size()) == limit) {
        page.more = true;
        break;
      }
      page.items.push_back(e);
      page.last_ordinal = e.id();
    }
    return page;
  }
  // The balances recomputed from the entries against those recorded; the applications' amounts
  // are not cross-checked here.
  fund::v1::ReconcileResponse Reconcile(
      const std::string& programme_id,
      const std::optional<std::string>& finance_partner_id) override {
    fund::v1::ReconcileResponse response;
    response.set_balanced(true);
    for (const auto& [id, p] : programmes_) {
      if (!programme_id.empty() && id != programme_id) continue;
      fund::v1::ProgrammeReconciliation* r = response.add_programmes();
      r->set_programme_id(id);
      *r->mutable_recorded() = p.balances();
      fund::v1::Balances& recomputed = *r->mutable_recomputed();
      recomputed.set_currency(p.balances().currency());
      for (const fund::v1::LedgerEntry& e : entries_) {
        if (e.programme_id() != id) continue;
        fund::Post({KindOf(e.kind()), e.amount_minor(), e.tranche()}, recomputed);
        if (InPartnerScope(finance_partner_id, e.application_id())) {
          r->set_entries(r->entries() + 1);
        }
      }
      response.set_entries_checked(response.entries_checked() + r->entries());
      r->set_balanced(r->recorded().SerializeAsString() == recomputed.SerializeAsString());
      if (!r->balanced()) response.set_balanced(false);
    }
    return response;
  }

  // Deals signed and completed in the period, and the subsidy paid out (net of clawbacks) for
  // deals of the city; the median is of whole deals' days from opening to signing.
  fund::AppraisalFigures Appraise(const std::string& city_id, int64_t from_us, int64_t to_us,
                                  const std::string& currency,
                                  const std::optional<std::string>& finance_partner_id) override {
    using google::protobuf::util::TimeUtil;
    auto in = [&](const google::protobuf::Timestamp& t) {
      const int64_t us = TimeUtil::TimestampToMicroseconds(t);
      return us >= from_us && us < to_us;
    };
    fund::AppraisalFigures f;
    std::vector<double> days;
    auto partners = [&](const techtrade::transactions::v1::Deal& d) {
      return !finance_partner_id.has_value() ||
             (!finance_partner_id->empty() && d.finance_partner_id() == *finance_partner_id);
    };
    for (const auto& [id, d] : deals_) {
      if ((!city_id.empty() && d.city_id() != city_id) || !partners(d)) continue;
      if (d.contract().has_signing_time() && in(d.contract().signing_time())) {
        ++f.deals_signed;
        std::optional<techtrade::transactions::v1::Terms> terms = fund::AgreedTerms(d);
        if (terms.has_value() && terms->price().currency() == currency) {
          f.contract_value_minor += terms->price().amount_minor();
        }
        days.push_back(std::max<double>(
            0,
            TimeUtil::DurationToSeconds(d.contract().signing_time() - d.create_time()) / 86400.0));
      }
      if (d.state() == techtrade::transactions::v1::DEAL_STATE_COMPLETED && in(d.update_time())) {
        ++f.deals_completed;
      }
    }
    for (const fund::v1::LedgerEntry& e : entries_) {
      if ((e.kind() != "disburse" && e.kind() != "clawback") || !in(e.time())) continue;
      auto a = applications_.find(e.application_id());
      if (a == applications_.end() || a->second.currency() != currency) continue;
      auto d = deals_.find(a->second.deal_id());
      if (d == deals_.end() || (!city_id.empty() && d->second.city_id() != city_id) ||
          !partners(d->second)) {
        continue;
      }
      f.subsidy_disbursed_minor += e.kind() == "disburse" ? e.amount_minor() : -e.amount_minor();
    }
    std::sort(days.begin(), days.end());
    if (!days.empty()) {
      const size_t n = days.size();
      f.median_days_open_to_sign = n % 2 ? days[n / 2] : (days[n / 2 - 1] + days[n / 2]) / 2;
    }
    return f;
  }

  // ---- The registry's suspensions ----

  std::optional<fund::StandingRecord> GetStanding(const std::string& organization_id) override {
    auto it = standings_.find(organization_id);
    if (it == standings_.end()) return std::nullopt;
    return it->second;
  }
  absl::Status SaveStanding(const std::string& organization_id,
                            const fund::StandingRecord& standing) override {
    standings_[organization_id] = standing;
    return absl::OkStatus();
  }
  bool IsSuspended(const std::string& organization_id) override {
    auto it = standings_.find(organization_id);
    return it != standings_.end() && it->second.suspended;
  }

 private:
  // Rows in insertion order (ordinal → id), filtered, one page of them.
  template <class T, class Filter>
  static Page<T> PageOf(const std::map<int64_t, std::string>& order, int64_t after, int limit,
                        Filter&& filter) {
    Page<T> page;
    for (auto it = order.upper_bound(after); it != order.end(); ++it) {
      std::optional<T> row = filter(it->second);
      if (!row.has_value()) continue;
      if (static_cast<int>(page.items.size()) == limit) {
        page.more = true;
        break;
      }
      page.items.push_back(*std::move(row));
      page.last_ordinal = it->first;
    }
    return page;
  }

  static absl::Status ConstraintError(const std::string& constraint) {
    for (const auto& [name, status] : fund::store::FundConstraintErrors()) {
      if (name == constraint) return status;
    }
    return absl::InternalError(constraint);
  }

  static fund::EntryKind KindOf(const std::string& stored) {
    for (fund::EntryKind kind : fund::kEntryKinds) {
      if (stored == fund::store::StoredKind(kind)) return kind;
    }
    return fund::EntryKind::kFund;
  }

  // Whether an entry (of the programme alone for an empty `application_id`) is one ListEntries
  // shows a caller with this partner scope.
  bool InPartnerScope(const std::optional<std::string>& finance_partner_id,
                      const std::string& application_id) const {
    if (!finance_partner_id.has_value() || application_id.empty()) return true;
    return !finance_partner_id->empty() &&
           applications_.at(application_id).finance_partner_id() == *finance_partner_id;
  }

  std::map<std::string, Programme> programmes_;
  std::map<std::string, Deal> deals_;
  std::map<std::string, Application> applications_;
  std::map<int64_t, std::string> programme_order_;    // ordinal → id
  std::map<int64_t, std::string> application_order_;  // ordinal → id
  int64_t ordinal_ = 0;
  std::map<std::tuple<std::string, std::string, int, int>, int64_t> grants_;
  std::vector<fund::v1::LedgerEntry> entries_;
  std::map<std::string, fund::StandingRecord> standings_;
};

}  // namespace techtrade::testing
