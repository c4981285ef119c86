#include "vehicle_data_mapper.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <optional>

namespace oemlink::tesla {
namespace {

namespace json = boost::json;
namespace sig = oemlink::signals;

// One section of the response, with its timestamp and a problem list to add to.
class Section {
 public:
  Section(const json::object& root, std::string_view name, VehicleDataResult& out)
      : name_(name), out_(out) {
    auto it = root.find(name);
    if (it == root.end() || it->value().is_null()) return;  // not requested: nothing to say
    if (!it->value().is_object()) {
      out_.problems.push_back(std::string(name_) + " is not an object");
      return;
    }
    obj_ = &it->value().as_object();
    auto ts = obj_->find("timestamp");
    if (ts == obj_->end() || !(ts->value().is_int64() || ts->value().is_uint64()) ||
        ts->value().to_number<int64_t>() <= 0) {
      out_.problems.push_back(std::string(name_) +
                              " has no valid timestamp; its values are skipped");
      obj_ = nullptr;
      return;
    }
    ts_ = ts->value().to_number<int64_t>();
  }

  bool present() const { return obj_ != nullptr; }
  int64_t timestamp() const { return ts_; }

  // A finite number, or nullopt for absent/null (silently) and anything else (a problem).
  std::optional<double> number(std::string_view key) {
    const json::value* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_number()) {
      problem(std::string(key) + " is not a number");
      return std::nullopt;
    }
    const double d = v->to_number<double>();
    if (!std::isfinite(d)) {
      problem(std::string(key) + " is not finite");
      return std::nullopt;
    }
    return d;
  }
  std::optional<std::string> text(std::string_view key) {
    const json::value* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
      problem(std::string(key) + " is not a string");
      return std::nullopt;
    }
    return std::string(v->as_string());
  }

  void add(const sig::Signal& s, std::optional<double> v, double factor = 1) {
    if (!v) return;
    // A finite value can overflow its unit conversion (1e308 kW -> W).
    if (!std::isfinite(*v * factor)) {
      problem(std::string(s.name) + " is out of range after unit conversion");
      return;
    }
    out_.readings.push_back(SignalReading::number_of(s, ts_, *v * factor));
  }

 private:
  const json::value* find(std::string_view key) const {
    if (!obj_) return nullptr;
    auto it = obj_->find(key);
    if (it == obj_->end() || it->value().is_null()) return nullptr;
    return &it->value();
  }
  void problem(std::string what) { out_.problems.push_back(std::string(name_) + "." + what); }

  std::string_view name_;
  VehicleDataResult& out_;
  const json::object* obj_ = nullptr;
  int64_t ts_ = 0;
};

}  // namespace

VehicleDataResult VehicleDataMapper::map(std::string_view body) const {
  VehicleDataResult out;
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) {
    out.problems.push_back("body is not JSON: " + ec.message());
    return out;
  }
  const json::object* root = nullptr;
  if (doc.is_object()) {
    auto it = doc.as_object().find("response");
    if (it != doc.as_object().end() && it->value().is_object()) root = &it->value().as_object();
  }
  if (!root) {
    out.problems.push_back("body has no \"response\" object");
    return out;
  }
  out.parsed = true;
  if (auto it = root->find("vin"); it != root->end() && it->value().is_string())
    out.vin = std::string(it->value().as_string());
  if (auto it = root->find("state"); it != root->end() && it->value().is_string())
    out.state = std::string(it->value().as_string());

  Section charge(*root, "charge_state", out);
  if (charge.present()) {
    charge.add(sig::powertrainTractionBatteryStateOfChargeCurrent, charge.number("battery_level"));
    charge.add(sig::powertrainRange, charge.number("battery_range"), kKmPerMile);
    charge.add(sig::powertrainTractionBatteryChargingChargeLimit,
               charge.number("charge_limit_soc"));
    charge.add(sig::powertrainTractionBatteryChargingAddedEnergy,
               charge.number("charge_energy_added"));
    if (auto st = charge.text("charging_state")) {
      const bool charging = *st == "Charging" || *st == "Starting";
      charge.add(sig::powertrainTractionBatteryChargingIsCharging, charging ? 1.0 : 0.0);
    }
  }

  Section drive(*root, "drive_state", out);
  if (drive.present()) {
    drive.add(sig::speed, drive.number("speed"), kKmPerMile);
    // Tesla's drive_state.power is kW out of the battery (negative while charging); DIMO's
    // CurrentPower is W into it.
    drive.add(sig::powertrainTractionBatteryCurrentPower, drive.number("power"), -1000.0);
    if (with_location_) {
      auto lat = drive.number("latitude");
      auto lon = drive.number("longitude");
      if (lat && lon) {
        if (std::fabs(*lat) <= 90 && std::fabs(*lon) <= 180 && !(*lat == 0 && *lon == 0)) {
          out.readings.push_back(SignalReading::location_of(sig::currentLocationCoordinates,
                                                            drive.timestamp(), *lat, *lon));
        } else {
          out.problems.push_back("drive_state.latitude/longitude out of range");
        }
      }
      drive.add(sig::currentLocationHeading, drive.number("heading"));
    }
  }

  Section climate(*root, "climate_state", out);
  if (climate.present()) climate.add(sig::exteriorAirTemperature, climate.number("outside_temp"));

  Section vehicle(*root, "vehicle_state", out);
  if (vehicle.present()) {
    vehicle.add(sig::powertrainTransmissionTravelledDistance, vehicle.number("odometer"),
                kKmPerMile);
    vehicle.add(sig::chassisAxleRow1WheelLeftTirePressure, vehicle.number("tpms_pressure_fl"),
                kKpaPerBar);
    vehicle.add(sig::chassisAxleRow1WheelRightTirePressure, vehicle.number("tpms_pressure_fr"),
                kKpaPerBar);
    vehicle.add(sig::chassisAxleRow2WheelLeftTirePressure, vehicle.number("tpms_pressure_rl"),
                kKpaPerBar);
    vehicle.add(sig::chassisAxleRow2WheelRightTirePressure, vehicle.number("tpms_pressure_rr"),
                kKpaPerBar);
  }
  return out;
}

}  // namespace oemlink::tesla
