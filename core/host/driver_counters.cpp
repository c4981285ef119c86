#include "core/host/driver_counters.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace oemlink::host {
namespace {

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

constexpr const char* kRefusedHelp =
    "counter_add calls not counted under their name: too_many_names (past the per-driver cap) "
    "or bad_name";

}  // namespace

DriverCounters::PerDriver& DriverCounters::per_driver(const std::string& driver) {
  auto it = drivers_.find(driver);
  if (it != drivers_.end()) return it->second;
  PerDriver& p = drivers_[driver];
  p.bad_name = &metrics_.counter("oemlink_driver_events_refused_total", kRefusedHelp,
                                 {{"driver", driver}, {"reason", "bad_name"}});
  p.too_many = &metrics_.counter("oemlink_driver_events_refused_total", kRefusedHelp,
                                 {{"driver", driver}, {"reason", "too_many_names"}});
  return p;
}

void DriverCounters::add(const std::string& driver, std::string_view name, uint64_t delta) {
  std::lock_guard lock(mu_);
  PerDriver& p = per_driver(driver);
  if (auto it = p.names.find(std::string(name)); it != p.names.end()) {
    it->second->add(delta);
    return;
  }
  const bool bad = !valid_name(name);
  if (bad || p.names.size() >= max_names_) {
    (bad ? p.bad_name : p.too_many)->add(delta);
    if (!p.warned) {
      p.warned = true;
      // The name is the driver's text: printed only when it is a plain identifier.
      spdlog::warn(
          "driver {}: counter_add {}: not counted under its name (oemlink_driver_events_"
          "refused_total); further refusals are counted silently",
          driver,
          bad ? std::string("with a name that is not 1-64 characters of [a-z0-9_]")
              : "'" + std::string(name) + "' is past the cap of " + std::to_string(max_names_) +
                    " names");
    }
    return;
  }
  Counter& c = metrics_.counter("oemlink_driver_events_total",
                                "What drivers count through counter_add, by driver and name",
                                {{"driver", driver}, {"name", std::string(name)}});
  p.names.emplace(std::string(name), &c);
  c.add(delta);
}

}  // namespace oemlink::host
