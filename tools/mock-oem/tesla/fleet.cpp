#include "tools/mock-oem/tesla/fleet.hpp"

#include <boost/json/value.hpp>

#include <stdexcept>

namespace oemlink::mock_oem::tesla {
namespace {

namespace json = boost::json;

// Fleet Telemetry needs firmware 2024.26 or later (shared/spec/oem-apis.md).
bool firmware_supports_telemetry(const std::string& version) {
  const auto parts = parse_firmware(version);
  if (parts.size() < 2) return false;
  return parts[0] > 2024 || (parts[0] == 2024 && parts[1] >= 26);
}

void check_state(const std::string& state) {
  if (state != "online" && state != "asleep" && state != "offline")
    throw std::invalid_argument("car state must be online, asleep or offline, not '" + state + "'");
}

}  // namespace

Fleet::Fleet(std::vector<CarRecord> cars, FleetOptions options)
    : cars_(std::move(cars)), options_(std::move(options)) {
  for (size_t i = 0; i < cars_.size(); ++i) {
    by_key_[cars_[i].vin] = i;
    by_key_[std::to_string(cars_[i].id)] = i;
  }
  check_state(options_.default_state);
  auto known = [&](const std::string& key, const char* option) {
    if (!by_key_.count(key))
      throw std::invalid_argument(std::string(option) + ": no car with VIN or id '" + key + "'");
    return cars_[by_key_.at(key)].vin;
  };
  for (const auto& car : cars_) runtime_[car.vin].state = options_.default_state;
  for (const auto& [key, state] : options_.initial_states) {
    check_state(state);
    Runtime& r = runtime_[known(key, "--state")];
    r.state = state;
    r.pinned = true;
  }
  for (auto* set : {&options_.missing_key, &options_.unsupported_hardware,
                    &options_.unsupported_firmware, &options_.max_configs, &options_.config_lost}) {
    std::set<std::string> vins;
    for (const auto& key : *set) vins.insert(known(key, "telemetry flag"));
    *set = std::move(vins);
  }
  std::map<std::string, std::chrono::milliseconds> drops;
  for (const auto& [key, after] : options_.drop_config_after)
    drops[known(key, "--drop-config")] = after;
  options_.drop_config_after = std::move(drops);
  std::map<std::string, std::string> firmware;
  for (const auto& [key, v] : options_.firmware) firmware[known(key, "--firmware")] = v;
  options_.firmware = std::move(firmware);
  for (auto& [account, vins] : options_.account_vins) {
    std::set<std::string> resolved;
    for (const auto& key : vins) resolved.insert(known(key, "--account-vins"));
    vins = std::move(resolved);
  }
}

const CarRecord* Fleet::find(std::string_view vin_or_id) const {
  auto it = by_key_.find(vin_or_id);
  return it == by_key_.end() ? nullptr : &cars_[it->second];
}

std::string Fleet::resolve(const std::string& vin_or_id) const {
  const CarRecord* car = find(vin_or_id);
  return car ? car->vin : vin_or_id;
}

bool Fleet::owns(const std::string& account, const std::string& vin) const {
  auto it = options_.account_vins.find(account);
  return it == options_.account_vins.end() || it->second.empty() || it->second.count(vin);
}

std::vector<const CarRecord*> Fleet::cars_of(const std::string& account) const {
  std::vector<const CarRecord*> out;
  for (const auto& car : cars_)
    if (owns(account, car.vin)) out.push_back(&car);
  return out;
}

Fleet::Runtime& Fleet::runtime_locked(const std::string& vin) {
  return runtime_[vin];
}

void Fleet::settle_locked(const std::string&, Runtime& r) {
  if (r.online_at && Clock::now() >= *r.online_at) {
    r.state = "online";
    r.online_at.reset();
  }
}

std::string Fleet::state(const std::string& vin) {
  std::lock_guard lock(mu_);
  Runtime& r = runtime_locked(vin);
  settle_locked(vin, r);
  return r.state;
}

void Fleet::set_state(const std::string& vin_or_id, const std::string& state) {
  check_state(state);
  std::lock_guard lock(mu_);
  Runtime& r = runtime_locked(resolve(vin_or_id));
  r.state = state;
  r.pinned = true;
  r.online_at.reset();
}

void Fleet::set_simulated_awake(const std::string& vin, bool awake) {
  std::lock_guard lock(mu_);
  Runtime& r = runtime_locked(vin);
  settle_locked(vin, r);
  if (r.pinned || r.online_at || Clock::now() < r.held_until) return;
  r.state = awake ? "online" : "asleep";
}

std::string Fleet::wake(const std::string& vin) {
  std::lock_guard lock(mu_);
  Runtime& r = runtime_locked(vin);
  settle_locked(vin, r);
  // An offline car has no connection to Tesla: a wake cannot reach it.
  if (r.state == "asleep" && !r.online_at) {
    r.online_at = Clock::now() + options_.wake_delay;
    r.held_until = *r.online_at + options_.wake_hold;
  }
  return r.state;
}

std::string Fleet::firmware(const std::string& vin) const {
  auto it = options_.firmware.find(vin);
  return it == options_.firmware.end() ? options_.default_firmware : it->second;
}

bool Fleet::key_paired(const std::string& vin) const {
  return !options_.missing_key.count(vin);
}

TelemetryConfigResult Fleet::apply_telemetry_config(const std::vector<std::string>& vins,
                                                    const json::object& config) {
  TelemetryConfigResult result;
  for (const char* reason :
       {"missing_key", "unsupported_hardware", "unsupported_firmware", "max_configs"})
    result.skipped[reason];
  std::lock_guard lock(mu_);
  for (const auto& vin : vins) {
    if (options_.missing_key.count(vin)) {
      result.skipped["missing_key"].push_back(vin);
    } else if (options_.unsupported_hardware.count(vin)) {
      result.skipped["unsupported_hardware"].push_back(vin);
    } else if (options_.unsupported_firmware.count(vin) ||
               !firmware_supports_telemetry(firmware(vin))) {
      result.skipped["unsupported_firmware"].push_back(vin);
    } else if (options_.max_configs.count(vin)) {
      result.skipped["max_configs"].push_back(vin);
    } else {
      ++result.updated;
      Runtime& r = runtime_locked(vin);
      // Too many apps on the car: counted as updated, yet the car keeps no config.
      if (options_.config_lost.count(vin)) {
        r.config.reset();
      } else {
        r.config = config;
        r.config_posted = Clock::now();
      }
    }
  }
  return result;
}

void Fleet::expire_config_locked(const std::string& vin, Runtime& r) {
  auto it = options_.drop_config_after.find(vin);
  if (r.config && it != options_.drop_config_after.end() &&
      Clock::now() >= r.config_posted + it->second)
    r.config.reset();
}

json::object Fleet::telemetry_config_status(const std::string& vin) {
  std::lock_guard lock(mu_);
  Runtime& r = runtime_locked(vin);
  settle_locked(vin, r);
  expire_config_locked(vin, r);
  const bool synced = r.config && r.state == "online" &&
                      Clock::now() >= r.config_posted + options_.config_sync_delay;
  json::value config = nullptr;
  if (r.config) config = *r.config;
  return json::object{
      {"synced", synced},
      {"config", std::move(config)},
      {"limit_reached", options_.max_configs.count(vin) > 0 || options_.config_lost.count(vin) > 0},
      {"key_paired", key_paired(vin)}};
}

bool Fleet::delete_telemetry_config(const std::string& vin) {
  std::lock_guard lock(mu_);
  Runtime& r = runtime_locked(vin);
  const bool had = r.config.has_value();
  r.config.reset();
  return had;
}

void Fleet::drop_telemetry_config(const std::string& vin) {
  std::lock_guard lock(mu_);
  runtime_locked(resolve(vin)).config.reset();
}

std::optional<json::object> Fleet::active_telemetry_config(const std::string& vin) {
  std::lock_guard lock(mu_);
  Runtime& r = runtime_locked(vin);
  expire_config_locked(vin, r);
  return r.config;
}

void Fleet::add_telemetry_error(TelemetryError e) {
  std::lock_guard lock(mu_);
  e.vin = resolve(e.vin);
  errors_.push_back(std::move(e));
}

std::vector<TelemetryError> Fleet::telemetry_errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

}  // namespace oemlink::mock_oem::tesla
