// What drivers count through the ABI's counter_add: oemlink_driver_events_total{driver,name},
// with at most `max_names` distinct names per driver instance, so a driver (buggy, or counting
// something per car) cannot make the metrics unbounded. Names beyond the cap, and names that are
// not 1-64 characters of [a-z0-9_], are not counted under their name but in
// oemlink_driver_events_refused_total{driver,reason=too_many_names|bad_name}, and logged once
// per driver.
//
// Threading: [any-thread] (drivers call counter_add from their own threads).
#pragma once

#include "core/common/metrics.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace oemlink::host {

class DriverCounters {
 public:
  static constexpr size_t kDefaultMaxNames = 100;

  explicit DriverCounters(MetricsRegistry& metrics, size_t max_names = kDefaultMaxNames)
      : metrics_(metrics), max_names_(max_names) {}

  // [any-thread] Adds `delta` to the driver instance's counter `name`.
  void add(const std::string& driver, std::string_view name, uint64_t delta);

 private:
  struct PerDriver {
    std::unordered_map<std::string, Counter*> names;
    Counter* bad_name = nullptr;
    Counter* too_many = nullptr;
    bool warned = false;
  };
  PerDriver& per_driver(const std::string& driver);

  MetricsRegistry& metrics_;
  const size_t max_names_;
  std::mutex mu_;
  std::map<std::string, PerDriver, std::less<>> drivers_;
};

}  // namespace oemlink::host
