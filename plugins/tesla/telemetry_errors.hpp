// TelemetryErrors: what cars reported to Tesla about their connection to the operator's
// fleet-telemetry server (GET /api/1/partner_accounts/fleet_telemetry_errors, partner token),
// read at most once per recheck interval for the whole instance and looked up by VIN.
#ifndef OEMLINK_TESLA_TELEMETRY_ERRORS_HPP
#define OEMLINK_TESLA_TELEMETRY_ERRORS_HPP

#include "partner_token.hpp"
#include "tesla_settings.hpp"

#include <oemlink/driver.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace oemlink::tesla {

class TelemetryErrors : public std::enable_shared_from_this<TelemetryErrors> {
 public:
  TelemetryErrors(Host host, std::shared_ptr<const TeslaSettings> settings,
                  std::shared_ptr<PartnerToken> partner);
  // Reads the list again when it is older than the recheck interval; `done` runs after.
  void refresh_if_due(std::function<void()> done);
  // The latest error a car reported ("name: error"), empty when none.
  std::string error_for(const std::string& vin) const;

 private:
  void on_answer(const HttpResponse& r);
  Host host_;
  std::shared_ptr<const TeslaSettings> settings_;
  std::shared_ptr<PartnerToken> partner_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> by_vin_;
  int64_t read_at_ms_ = -1;
  bool reading_ = false;
  std::vector<std::function<void()>> waiters_;
};

}  // namespace oemlink::tesla

#endif
