// Counts what Tesla would bill (shared/spec/oem-apis.md, price list from 1 Feb 2025): streaming
// signals 150,000/$1, commands 1,000/$1, data 500/$1, wakes 50/$1; a response < 500 is billed,
// >= 500 is not; auth is free. Also counts every answered request by endpoint and status.
#pragma once

#include <boost/json/object.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace oemlink::mock_oem::tesla {

enum class BillingCategory { kData, kCommand, kWake, kSignal, kFree };

struct PriceList {
  static constexpr double kSignalsPerDollar = 150'000;
  static constexpr double kCommandsPerDollar = 1'000;
  static constexpr double kDataPerDollar = 500;
  static constexpr double kWakesPerDollar = 50;
};

class Billing {
 public:
  explicit Billing(std::vector<std::string> vins);

  // One answered request. `vin` is the car it concerns (empty: account-level or unknown
  // account); billed when category is not kFree and status < 500.
  void record_request(const std::string& endpoint, unsigned status, BillingCategory category,
                      const std::string& vin, const std::string& account);
  void record_signals(const std::string& vin, uint64_t count);
  void set_simulated_seconds(double seconds);
  void reset();

  // See tools/mock-oem/README.md (Tesla, /stats) for the shape.
  boost::json::object stats(uint64_t rate_limit_violations) const;

 private:
  struct Counts {
    uint64_t data = 0, commands = 0, wakes = 0, signals = 0;
    double dollars() const;
    boost::json::object to_json() const;
    void add(BillingCategory category, uint64_t n);
  };

  mutable std::mutex mu_;
  std::vector<std::string> vins_;
  std::map<std::string, Counts> cars_;
  std::map<std::string, Counts> accounts_;  // calls that name no car
  Counts unattributed_;
  std::map<std::string, std::map<unsigned, uint64_t>> requests_;
  uint64_t unbilled_5xx_ = 0;
  double simulated_seconds_ = 0;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace oemlink::mock_oem::tesla
