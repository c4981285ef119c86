#include "tools/mock-oem/tesla/day_simulation.hpp"

#include <boost/json/object.hpp>

#include <algorithm>
#include <cmath>

namespace oemlink::mock_oem::tesla {
namespace {

namespace json = boost::json;

constexpr double kPackKwh = 75.0;
constexpr double kKwhPerMile = 0.27;
constexpr double kChargeKw = 11.0;
constexpr double kAwakeAfterS = 15 * 60;
constexpr double kPi = 3.14159265358979323846;

double number_at(const json::object& capture, std::string_view section, std::string_view key,
                 double fallback) {
  const json::value* s = capture.if_contains(section);
  if (!s || !s->is_object()) return fallback;
  const json::value* v = s->as_object().if_contains(key);
  return v && v->is_number() ? v->to_number<double>() : fallback;
}

double round_to(double v, double step) {
  const double r = std::round(v / step) * step;
  return r == 0 ? 0.0 : r;  // never -0
}

double minute_of_day(double unix_s) {
  const double day = std::fmod(unix_s, 86400.0);
  return (day < 0 ? day + 86400.0 : day) / 60.0;
}

bool in_drive_window(double m) {
  return (m >= 7 * 60 + 30 && m < 8 * 60) || (m >= 17 * 60 + 30 && m < 18 * 60);
}

}  // namespace

DaySimulation::DaySimulation(const CarRecord& car, double start_unix_s, double offset_s)
    : t_(start_unix_s), offset_s_(offset_s) {
  const json::object& c = *car.capture;
  latitude_ = number_at(c, "drive_state", "latitude", 47.3769);
  longitude_ = number_at(c, "drive_state", "longitude", 8.5417);
  home_heading_deg_ = std::fmod(std::abs(offset_s) * 7.0, 360.0);
  odometer_mi_ = number_at(c, "vehicle_state", "odometer", 10000.0);
  soc_ = number_at(c, "charge_state", "battery_level", 70.0);
  charge_limit_ = static_cast<int>(number_at(c, "charge_state", "charge_limit_soc", 80.0));
  const double range = number_at(c, "charge_state", "battery_range", 0.0);
  if (range > 0 && soc_ > 0) range_per_percent_mi_ = range / soc_;
  outside_temp_base_ = number_at(c, "climate_state", "outside_temp", 15.0);
  tpms_[0] = number_at(c, "vehicle_state", "tpms_pressure_fl", 2.9);
  tpms_[1] = number_at(c, "vehicle_state", "tpms_pressure_fr", 2.9);
  tpms_[2] = number_at(c, "vehicle_state", "tpms_pressure_rl", 2.9);
  tpms_[3] = number_at(c, "vehicle_state", "tpms_pressure_rr", 2.9);
  step(0);
}

bool DaySimulation::awake() const {
  return driving_ || charging_ || t_ - last_active_t_ < kAwakeAfterS;
}

void DaySimulation::advance_to(double unix_s) {
  while (t_ < unix_s) {
    const double dt = std::min(1.0, unix_s - t_);
    t_ += dt;
    step(dt);
  }
}

void DaySimulation::step(double dt) {
  const double m = minute_of_day(t_ + offset_s_);
  const bool was_driving = driving_;
  driving_ = in_drive_window(m) && soc_ > 5;
  if (driving_) {
    if (!was_driving) {
      plugged_ = false;
      charging_ = false;
      heading_deg_ = m < 12 * 60 ? home_heading_deg_ : home_heading_deg_ + 180;
    }
    speed_mph_ = std::round(35 + 20 * std::sin(t_ / 97.0));
    const double miles = speed_mph_ * dt / 3600.0;
    odometer_mi_ += miles;
    soc_ = std::max(0.0, soc_ - miles * kKwhPerMile / kPackKwh * 100);
    const double metres = miles * 1609.344;
    const double h = heading_deg_ * kPi / 180;
    latitude_ += metres * std::cos(h) / 111'320.0;
    longitude_ += metres * std::sin(h) / (111'320.0 * std::cos(latitude_ * kPi / 180));
  } else {
    speed_mph_ = 0;
  }
  // Plugged in at 22:00; charges to the limit, then stays plugged (Complete) until it drives.
  if (!driving_ && m >= 22 * 60 && !plugged_ && soc_ < charge_limit_) {
    plugged_ = true;
    charging_ = true;
  }
  if (charging_) {
    soc_ += kChargeKw * dt / 3600.0 / kPackKwh * 100;
    if (soc_ >= charge_limit_) {
      soc_ = charge_limit_;
      charging_ = false;
    }
  }
  if (driving_ || charging_) last_active_t_ = t_;
}

std::map<std::string, json::value> DaySimulation::fields() const {
  const double m = minute_of_day(t_ + offset_s_);
  std::map<std::string, json::value> f;
  f["Location"] = json::object{{"latitude", round_to(latitude_, 1e-6)},
                               {"longitude", round_to(longitude_, 1e-6)}};
  f["VehicleSpeed"] = speed_mph_;
  f["Gear"] = driving_ ? "ShiftStateD" : "ShiftStateP";
  f["Odometer"] = round_to(odometer_mi_, 0.001);
  f["Soc"] = round_to(soc_, 0.01);
  f["BatteryLevel"] = round_to(soc_, 0.01);
  f["EstBatteryRange"] = round_to(soc_ * range_per_percent_mi_, 0.01);
  f["EnergyRemaining"] = round_to(soc_ / 100 * kPackKwh, 0.01);
  f["ChargeLimitSoc"] = charge_limit_;
  f["DetailedChargeState"] = charging_  ? "DetailedChargeStateCharging"
                             : plugged_ ? "DetailedChargeStateComplete"
                                        : "DetailedChargeStateDisconnected";
  f["ACChargingPower"] = charging_ ? kChargeKw : 0.0;
  f["ChargeAmps"] = charging_ ? 16.0 : 0.0;
  f["ChargerVoltage"] = charging_ ? 230.0 : 0.0;
  f["OutsideTemp"] =
      round_to(outside_temp_base_ + 4 * std::sin((m - 9 * 60) / (24 * 60) * 2 * kPi), 0.5);
  f["TpmsPressureFl"] = tpms_[0];
  f["TpmsPressureFr"] = tpms_[1];
  f["TpmsPressureRl"] = tpms_[2];
  f["TpmsPressureRr"] = tpms_[3];
  f["DoorState"] =
      json::object{{"DriverFront", false},   {"PassengerFront", false}, {"DriverRear", false},
                   {"PassengerRear", false}, {"TrunkFront", false},     {"TrunkRear", false}};
  return f;
}

}  // namespace oemlink::mock_oem::tesla
