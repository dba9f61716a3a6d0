// The transactions' DealStore in memory, for handler tests (FakeTransactor), and the listings
// they read.
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/transactions/api/listing_directory.h"
#include "services/transactions/domain/deal_rules.h"
#include "services/transactions/store/deal_store.h"
#include "tests/support/fake_transactor.h"

namespace techtrade::testing {

class FakeDealStore final : public transactions::store::DealStore {
 public:
  using Deal = transactions::v1::Deal;

  using ChainHead = transactions::store::ChainHead;

  absl::StatusOr<Deal> GetLatestDeal(const std::string& id, ChainHead* chain = nullptr) override {
    auto it = deals_.find(id);
    if (it == deals_.end()) return absl::NotFoundError(absl::StrCat("deal ", id, " not found"));
    if (chain != nullptr) *chain = chains_[id];
    return it->second;
  }
  void InsertDeal(const Deal& deal, const std::string& record, const ChainHead& chain) override {
    if (!deals_.emplace(deal.id(), deal).second) conflict_ = true;
    chains_[deal.id()] = chain;
    order_.push_back(deal.id());
  }
  void SaveDeal(const Deal& deal, const std::string& record, int64_t read_version,
                const ChainHead& chain) override {
    auto it = deals_.find(deal.id());
    if (it == deals_.end() || it->second.version() != read_version) {
      conflict_ = true;  // PostgreSQL fails the commit with a serialization failure
      return;
    }
    it->second = deal;
    chains_[deal.id()] = chain;
  }
  // A deal as if opened before events were chained (no chain head), as the migration leaves it.
  void ForgetChain(const std::string& id) { chains_[id] = {}; }
  void InsertPayment(const std::string& deal_id,
                     const transactions::v1::RecordPaymentRequest& payment) override {
    if (!payments_.emplace(payment.payment_reference(), deal_id).second) duplicate_payment_ = true;
  }
  void InsertRegistration(const Deal& deal) override {
    if (!registrations_.emplace(deal.registration().registration_number(), deal.id()).second) {
      duplicate_registration_ = true;
    }
  }
  void AppendEscrowMovement(const std::string& deal_id,
                            const transactions::EscrowMovement& m) override {
    escrow_movements_.push_back({deal_id, m});
  }
  const std::vector<std::pair<std::string, transactions::EscrowMovement>>& escrow_movements()
      const {
    return escrow_movements_;
  }
  std::vector<std::string> RegistrationsDue(int64_t now_us, int limit) override {
    std::vector<std::string> ids;
    for (const std::string& id : order_) {
      const std::optional<absl::Time> due = transactions::RegistrationFlagDue(deals_.at(id));
      if (!due.has_value() || absl::ToUnixMicros(*due) > now_us) continue;
      if (static_cast<int>(ids.size()) == limit) break;
      ids.push_back(id);
    }
    return ids;
  }
  Page<Deal> ListDeals(const transactions::store::DealFilter& f, int64_t after,
                       int limit) override {
    using google::protobuf::util::TimeUtil;
    Page<Deal> page;
    for (int64_t ordinal = after + 1; ordinal <= static_cast<int64_t>(order_.size()); ++ordinal) {
      const Deal& d = deals_.at(order_[ordinal - 1]);
      if (!f.party_org_id.empty() && d.buyer().organization_id() != f.party_org_id &&
          d.seller().organization_id() != f.party_org_id &&
          d.broker().organization_id() != f.party_org_id) {
        continue;
      }
      if (!f.city_id.empty() && d.city_id() != f.city_id && d.buyer().city_id() != f.city_id &&
          d.seller().city_id() != f.city_id && d.broker().city_id() != f.city_id) {
        continue;
      }
      if (!f.finance_partner_id.empty() && d.finance_partner_id() != f.finance_partner_id) continue;
      if (f.state != 0 && d.state() != f.state) continue;
      const int64_t opened = TimeUtil::TimestampToMicroseconds(d.create_time());
      if (f.opened_after_us != 0 && opened < f.opened_after_us) continue;
      if (f.opened_before_us != 0 && opened >= f.opened_before_us) continue;
      if (static_cast<int>(page.items.size()) == limit) {
        page.more = true;
        break;
      }
      page.items.push_back(d);
      page.last_ordinal = ordinal;
    }
    return page;
  }

  absl::Status CommitError() const {
    if (duplicate_payment_) {
      return absl::AlreadyExistsError("payment_reference: this payment is already recorded");
    }
    if (duplicate_registration_) {
      return absl::AlreadyExistsError(
          "registration_number: this number is registered for another contract");
    }
    if (conflict_) return absl::AbortedError("the deal changed since it was read");
    return absl::OkStatus();
  }

  size_t deal_count() const { return deals_.size(); }
  size_t payment_count() const { return payments_.size(); }

 private:
  std::map<std::string, Deal> deals_;
  std::map<std::string, ChainHead> chains_;
  std::vector<std::string> order_;                    // ids by ordinal - 1
  std::map<std::string, std::string> payments_;       // reference → deal id
  std::map<std::string, std::string> registrations_;  // number → deal id
  bool duplicate_payment_ = false;
  bool duplicate_registration_ = false;
  bool conflict_ = false;
  std::vector<std::pair<std::string, transactions::EscrowMovement>> escrow_movements_;
};

using FakeDeals = FakeTransactor<transactions::store::DealStore, FakeDealStore>;

class FakeListingDirectory final : public transactions::ListingDirectory {
 public:
  void Put(techtrade::listings::v1::ListingKind kind, const std::string& id,
           transactions::ListingFacts facts) {
    std::lock_guard lock(mutex_);
    listings_[{kind, id}] = std::move(facts);
  }
  absl::StatusOr<transactions::ListingFacts> Get(techtrade::listings::v1::ListingKind kind,
                                                 const std::string& id,
                                                 const std::string&) override {
    std::lock_guard lock(mutex_);
    auto it = listings_.find({kind, id});
    if (it == listings_.end()) return absl::NotFoundError(absl::StrCat("no listing ", id));
    return it->second;
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<int, std::string>, transactions::ListingFacts> listings_;
};

}  // namespace techtrade::testing
