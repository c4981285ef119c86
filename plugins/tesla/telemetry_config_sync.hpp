// TelemetryConfigSync: keeps one car's fleet_telemetry_config in line with the configured one.
// Trusts nothing until GET shows it: a due check reads the config back; when it is missing or
// differs, the signed config is POSTed (fleet_telemetry_config_jws, skipped_vehicles read) and
// read back 10 minutes later; in line, it is read again after telemetry_recheck_interval (configs
// vanish silently when consent is revoked or apps compete). Problems (no key paired, limit
// reached, skipped, not applied, car-side errors) become the car's `problem()` and counters; they
// never stop polling.
#ifndef OEMLINK_TESLA_TELEMETRY_CONFIG_SYNC_HPP
#define OEMLINK_TESLA_TELEMETRY_CONFIG_SYNC_HPP

#include "daily_budget.hpp"
#include "telemetry_config_jws.hpp"
#include "telemetry_errors.hpp"
#include "tesla_account.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <memory>
#include <string>

namespace oemlink::tesla {

// What every car's sync shares: the desired config and its signed form (signed once).
struct TelemetryConfigTarget {
  boost::json::object config;
  std::string jws;
};

class TelemetryConfigSync {
 public:
  static constexpr int64_t kVerifyAfterPostMs = 10 * 60'000;
  static constexpr int64_t kRetryAfterErrorMs = 60 * 60'000;

  TelemetryConfigSync(Host host, std::shared_ptr<const TeslaSettings> settings,
                      std::shared_ptr<const TelemetryConfigTarget> target,
                      std::shared_ptr<TelemetryErrors> errors, std::string vin, ConnHandle conn);

  bool due(int64_t now_ms) const { return now_ms >= next_check_ms_; }
  // One step (a GET, maybe a POST); `done` runs when it is over, whatever happened.
  void step(TeslaAccount& account, DailyBudget* budget, std::function<void()> done);
  const std::string& problem() const { return problem_; }
  bool in_line() const { return in_line_; }
  // Reads the config back at the next poll (a car awake yet silent may have lost it).
  void recheck_now() { next_check_ms_ = 0; }

  // Whether a GET's `config` object is the desired one (hostname, port, ca, exactly the fields
  // with their interval_seconds and minimum_delta).
  static bool matches(const boost::json::object& desired, const boost::json::value& actual);

 private:
  void on_get(TeslaAccount& account, DailyBudget* budget, const FleetReply& r,
              std::function<void()> done);
  void post(TeslaAccount& account, DailyBudget* budget, std::function<void()> done);
  void on_post(const FleetReply& r);
  void set_problem(std::string problem);

  Host host_;
  std::shared_ptr<const TeslaSettings> settings_;
  std::shared_ptr<const TelemetryConfigTarget> target_;
  std::shared_ptr<TelemetryErrors> errors_;
  std::string vin_;
  ConnHandle conn_;
  int64_t next_check_ms_ = 0;
  int64_t posted_at_ms_ = -1;
  bool in_line_ = false;
  std::string problem_;
};

}  // namespace oemlink::tesla

#endif
