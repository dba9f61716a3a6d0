#include "services/fund/api/fund_gauges.h"

#include "common/log.h"
#include "services/fund/domain/fund_rules.h"
#include "services/fund/store/pg_fund_store.h"

namespace techtrade::fund {

FundGauges::FundGauges(PgPool& db, Metrics& metrics, absl::Duration interval)
    : PeriodicWorker("fund gauges", interval,
                     [this] {
                       if (absl::Status s = Refresh(); !s.ok()) {
                         log::Warn("fund gauges not refreshed", {{"error", s.ToString()}});
                       }
                     }),
      db_(db),
      appraisal_(prometheus::BuildGauge()
                     .Name("techtrade_fund_appraisal")
                     .Help("Appraisal of the current calendar year (China Standard Time) per "
                           "pilot city (\"\" = all): deals_signed, deals_completed, "
                           "contract_value_minor, subsidy_disbursed_minor, leverage, "
                           "median_days_open_to_sign")
                     .Register(metrics.registry())),
      balances_(prometheus::BuildGauge()
                    .Name("techtrade_fund_programme_balance_minor")
                    .Help("A programme's balances in minor units, by account")
                    .Register(metrics.registry())) {}

FundGauges::~FundGauges() { Stop(); }

absl::Status FundGauges::Refresh() {
  const absl::TimeZone cst = absl::FixedTimeZone(8 * 60 * 60);
  const absl::CivilYear year = absl::ToCivilYear(absl::Now(), cst);
  const int64_t from = absl::ToUnixMicros(absl::FromCivil(year, cst));
  const int64_t to = absl::ToUnixMicros(absl::FromCivil(year + 1, cst));
  return InTransaction(db_, [&](Tx& tx) -> absl::Status {
    PgFundStore store(tx);
    std::vector<std::string> cities = store.DealCities();
    cities.insert(cities.begin(), "");
    for (const std::string& city : cities) {
      const AppraisalFigures f = store.Appraise(city, from, to, "CNY", std::nullopt);
      auto set = [&](const char* figure, double value) {
        appraisal_.Add({{"city", city}, {"figure", figure}}).Set(value);
      };
      set("deals_signed", static_cast<double>(f.deals_signed));
      set("deals_completed", static_cast<double>(f.deals_completed));
      set("contract_value_minor", static_cast<double>(f.contract_value_minor));
      set("subsidy_disbursed_minor", static_cast<double>(f.subsidy_disbursed_minor));
      set("leverage", Leverage(f.contract_value_minor, f.subsidy_disbursed_minor));
      set("median_days_open_to_sign", f.median_days_open_to_sign);
    }
    for (int64_t after = 0;;) {
      Page<v1::Programme> page = store.ListProgrammes("", 0, after, 500);
      for (const v1::Programme& p : page.items) {
        const v1::Balances& b = p.balances();
        const std::pair<const char*, int64_t> accounts[] = {{"total", b.total_minor()},
                                                            {"available", b.available_minor()},
                                                            {"reserved", b.reserved_minor()},
                                                            {"disbursed", b.disbursed_minor()},
                                                            {"clawed_back", b.clawed_back_minor()}};
        for (const auto& [account, value] : accounts) {
          balances_.Add({{"programme", p.id()}, {"account", account}})
              .Set(static_cast<double>(value));
        }
      }
      if (!page.more) break;
      after = page.last_ordinal;
    }
    return absl::OkStatus();
  });
}

}  // namespace techtrade::fund
