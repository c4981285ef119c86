#include "tools/mock-oem/tesla/billing.hpp"

#include <boost/json/value.hpp>

namespace oemlink::mock_oem::tesla {

namespace json = boost::json;

double Billing::Counts::dollars() const {
  return double(signals) / PriceList::kSignalsPerDollar +
         double(commands) / PriceList::kCommandsPerDollar +
         double(data) / PriceList::kDataPerDollar + double(wakes) / PriceList::kWakesPerDollar;
}

json::object Billing::Counts::to_json() const {
  return json::object{{"data", data},
                      {"commands", commands},
                      {"wakes", wakes},
                      {"signals", signals},
                      {"dollars", dollars()}};
}

void Billing::Counts::add(BillingCategory category, uint64_t n) {
  switch (category) {
    case BillingCategory::kData:
      data += n;
      break;
    case BillingCategory::kCommand:
      commands += n;
      break;
    case BillingCategory::kWake:
      wakes += n;
      break;
    case BillingCategory::kSignal:
      signals += n;
      break;
    case BillingCategory::kFree:
      break;
  }
}

Billing::Billing(std::vector<std::string> vins) : vins_(std::move(vins)) {
  for (const auto& vin : vins_) cars_[vin];
}

void Billing::record_request(const std::string& endpoint, unsigned status, BillingCategory category,
                             const std::string& vin, const std::string& account) {
  std::lock_guard lock(mu_);
  ++requests_[endpoint][status];
  if (category == BillingCategory::kFree) return;
  if (status >= 500) {
    ++unbilled_5xx_;
    return;
  }
  if (!vin.empty())
    cars_[vin].add(category, 1);
  else if (!account.empty())
    accounts_[account].add(category, 1);
  else
    unattributed_.add(category, 1);
}

void Billing::record_signals(const std::string& vin, uint64_t count) {
  std::lock_guard lock(mu_);
  cars_[vin].add(BillingCategory::kSignal, count);
}

void Billing::set_simulated_seconds(double seconds) {
  std::lock_guard lock(mu_);
  simulated_seconds_ = seconds;
}

void Billing::reset() {
  std::lock_guard lock(mu_);
  cars_.clear();
  for (const auto& vin : vins_) cars_[vin];
  accounts_.clear();
  unattributed_ = {};
  requests_.clear();
  unbilled_5xx_ = 0;
  started_ = std::chrono::steady_clock::now();
}

json::object Billing::stats(uint64_t rate_limit_violations) const {
  std::lock_guard lock(mu_);
  Counts total = unattributed_;
  json::object cars;
  for (const auto& [vin, c] : cars_) {
    cars[vin] = c.to_json();
    total.data += c.data, total.commands += c.commands, total.wakes += c.wakes,
        total.signals += c.signals;
  }
  json::object accounts;
  for (const auto& [name, c] : accounts_) {
    accounts[name] = c.to_json();
    total.data += c.data, total.commands += c.commands, total.wakes += c.wakes,
        total.signals += c.signals;
  }
  json::object by_endpoint;
  uint64_t request_total = 0;
  for (const auto& [endpoint, statuses] : requests_) {
    json::object s;
    for (const auto& [status, n] : statuses) {
      s[std::to_string(status)] = n;
      request_total += n;
    }
    by_endpoint[endpoint] = std::move(s);
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return json::object{
      {"prices",
       {{"signals_per_dollar", PriceList::kSignalsPerDollar},
        {"commands_per_dollar", PriceList::kCommandsPerDollar},
        {"data_per_dollar", PriceList::kDataPerDollar},
        {"wakes_per_dollar", PriceList::kWakesPerDollar}}},
      {"total", total.to_json()},
      {"cars", std::move(cars)},
      {"accounts", std::move(accounts)},
      {"unattributed", unattributed_.to_json()},
      {"car_count", vins_.size()},
      {"dollars_per_car", vins_.empty() ? 0.0 : total.dollars() / double(vins_.size())},
      {"requests", {{"total", request_total}, {"by_endpoint", std::move(by_endpoint)}}},
      {"unbilled_5xx", unbilled_5xx_},
      {"rate_limit_violations", rate_limit_violations},
      {"elapsed_seconds", elapsed},
      {"simulated_seconds", simulated_seconds_}};
}

}  // namespace oemlink::mock_oem::tesla
