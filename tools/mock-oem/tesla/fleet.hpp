// The cars' runtime state: online/asleep/offline (set by options, the control API, wake_up and
// the day simulation), who owns which car, and each car's fleet telemetry config as Tesla keeps
// it (accepted, skipped, lost to other apps, dropped when consent is revoked).
#pragma once

#include "tools/mock-oem/tesla/capture_store.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::mock_oem::tesla {

struct FleetOptions {
  std::map<std::string, std::string> initial_states;  // vin or id -> online|asleep|offline
  std::string default_state = "online";
  std::chrono::milliseconds wake_delay{10'000};
  std::chrono::milliseconds wake_hold{900'000};  // a woken car stays up this long (simulation)
  std::chrono::milliseconds config_sync_delay{0};
  std::set<std::string> missing_key, unsupported_hardware, unsupported_firmware, max_configs,
      config_lost;
  std::map<std::string, std::chrono::milliseconds> drop_config_after;
  std::map<std::string, std::string> firmware;  // vin -> version
  std::string default_firmware = "2025.20.6";
  std::map<std::string, std::set<std::string>> account_vins;  // empty set: every car
};

struct TelemetryConfigResult {
  int updated = 0;
  std::map<std::string, std::vector<std::string>> skipped;  // reason -> VINs
};

struct TelemetryError {
  std::string vin, name, error;
};

class Fleet {
 public:
  using Clock = std::chrono::steady_clock;

  // Throws std::invalid_argument when an option names a car that does not exist.
  Fleet(std::vector<CarRecord> cars, FleetOptions options);

  const std::vector<CarRecord>& cars() const { return cars_; }
  // By VIN or numeric id.
  const CarRecord* find(std::string_view vin_or_id) const;
  bool owns(const std::string& account, const std::string& vin) const;
  std::vector<const CarRecord*> cars_of(const std::string& account) const;

  std::string state(const std::string& vin);
  // An explicit state (option or control API) pins the car: the simulation no longer moves it.
  void set_state(const std::string& vin, const std::string& state);
  void set_simulated_awake(const std::string& vin, bool awake);
  // wake_up: the state now; an asleep car comes online after wake_delay.
  std::string wake(const std::string& vin);

  std::string firmware(const std::string& vin) const;
  bool key_paired(const std::string& vin) const;
  TelemetryConfigResult apply_telemetry_config(const std::vector<std::string>& vins,
                                               const boost::json::object& config);
  // {synced, config, limit_reached, key_paired}
  boost::json::object telemetry_config_status(const std::string& vin);
  bool delete_telemetry_config(const std::string& vin);
  void drop_telemetry_config(const std::string& vin);  // consent revoked
  // The config the car streams with, if it has one.
  std::optional<boost::json::object> active_telemetry_config(const std::string& vin);

  void add_telemetry_error(TelemetryError e);
  std::vector<TelemetryError> telemetry_errors() const;

 private:
  struct Runtime {
    std::string state;
    bool pinned = false;
    std::optional<Clock::time_point> online_at;  // a wake in progress
    Clock::time_point held_until{};
    std::optional<boost::json::object> config;
    Clock::time_point config_posted{};
  };
  Runtime& runtime_locked(const std::string& vin);
  void settle_locked(const std::string& vin, Runtime& r);
  void expire_config_locked(const std::string& vin, Runtime& r);
  std::string resolve(const std::string& vin_or_id) const;

  std::vector<CarRecord> cars_;
  std::map<std::string, size_t, std::less<>> by_key_;  // vin and id -> index
  FleetOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Runtime> runtime_;
  std::vector<TelemetryError> errors_;
};

}  // namespace oemlink::mock_oem::tesla
