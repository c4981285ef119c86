#include "telemetry_field_mapper.hpp"

#include <charconv>
#include <cmath>
#include <optional>
#include <string_view>

namespace oemlink::tesla {
namespace {

namespace sig = oemlink::signals;
using Kind = TelemetryValue::Kind;

struct NumericField {
  std::string_view field;
  const sig::Signal* signal;
  double factor;
};

// kW -> W: AC/DC charging power are positive while charging, which is "into the battery".
constexpr NumericField kNumeric[] = {
    {"VehicleSpeed", &sig::speed, kKmPerMile},
    {"Odometer", &sig::powertrainTransmissionTravelledDistance, kKmPerMile},
    {"EstBatteryRange", &sig::powertrainRange, kKmPerMile},
    {"Soc", &sig::powertrainTractionBatteryStateOfChargeCurrent, 1},
    {"ChargeLimitSoc", &sig::powertrainTractionBatteryChargingChargeLimit, 1},
    {"ACChargingPower", &sig::powertrainTractionBatteryCurrentPower, 1000},
    {"DCChargingPower", &sig::powertrainTractionBatteryCurrentPower, 1000},
    {"DCChargingEnergyIn", &sig::powertrainTractionBatteryChargingAddedEnergy, 1},
    {"EnergyRemaining", &sig::powertrainTractionBatteryStateOfChargeCurrentEnergy, 1},
    {"OutsideTemp", &sig::exteriorAirTemperature, 1},
    {"TpmsPressureFl", &sig::chassisAxleRow1WheelLeftTirePressure, kKpaPerAtm},
    {"TpmsPressureFr", &sig::chassisAxleRow1WheelRightTirePressure, kKpaPerAtm},
    {"TpmsPressureRl", &sig::chassisAxleRow2WheelLeftTirePressure, kKpaPerAtm},
    {"TpmsPressureRr", &sig::chassisAxleRow2WheelRightTirePressure, kKpaPerAtm},
    {"ChargeAmps", &sig::powertrainTractionBatteryChargingChargeCurrentAC, 1},
    {"ChargerVoltage", &sig::powertrainTractionBatteryChargingChargeVoltageUnknownType, 1},
};

struct WindowField {
  std::string_view field;
  const sig::Signal* signal;
};
constexpr WindowField kWindows[] = {
    {"FdWindow", &sig::cabinDoorRow1DriverSideWindowIsOpen},
    {"FpWindow", &sig::cabinDoorRow1PassengerSideWindowIsOpen},
    {"RdWindow", &sig::cabinDoorRow2DriverSideWindowIsOpen},
    {"RpWindow", &sig::cabinDoorRow2PassengerSideWindowIsOpen},
};

struct DoorFlag {
  std::string_view flag;
  const sig::Signal* signal;
};
constexpr DoorFlag kDoors[] = {
    {"DriverFront", &sig::cabinDoorRow1DriverSideIsOpen},
    {"PassengerFront", &sig::cabinDoorRow1PassengerSideIsOpen},
    {"DriverRear", &sig::cabinDoorRow2DriverSideIsOpen},
    {"PassengerRear", &sig::cabinDoorRow2PassengerSideIsOpen},
};

// Numbers arrive bare (typed) or as strings ("81.906", untyped): both are the value.
std::optional<double> as_number(const TelemetryValue& v) {
  if (v.kind == Kind::number)
    return std::isfinite(v.number) ? std::optional(v.number) : std::nullopt;
  if (v.kind != Kind::text || v.text.empty()) return std::nullopt;
  double d = 0;
  const char* end = v.text.data() + v.text.size();
  auto [ptr, ec] = std::from_chars(v.text.data(), end, d);
  if (ec != std::errc() || ptr != end || !std::isfinite(d)) return std::nullopt;
  return d;
}

// Enum names come with their type prefix when typed ("DetailedChargeStateCharging") and
// without it when untyped ("Charging").
std::string_view enum_suffix(std::string_view name, std::string_view prefix) {
  if (name.substr(0, prefix.size()) == prefix) name.remove_prefix(prefix.size());
  return name;
}

TelemetryMapResult bad(const TelemetryDatum& d, std::string_view what) {
  return {TelemetryMapResult::Outcome::bad_value, d.field + ": " + std::string(what)};
}

}  // namespace

bool TelemetryFieldMapper::knows(std::string_view field) {
  for (const auto& f : kNumeric)
    if (f.field == field) return true;
  for (const auto& f : kWindows)
    if (f.field == field) return true;
  return field == "Location" || field == "DetailedChargeState" || field == "DoorState";
}

TelemetryMapResult TelemetryFieldMapper::map(const TelemetryDatum& d,
                                             std::vector<SignalReading>& out) const {
  if (!knows(d.field)) return {TelemetryMapResult::Outcome::unknown_field, {}};
  if (d.value.kind == Kind::invalid) return {TelemetryMapResult::Outcome::invalid_value, {}};
  const int64_t ts = d.time_ms;

  for (const auto& f : kNumeric) {
    if (f.field != d.field) continue;
    auto n = as_number(d.value);
    if (!n) return bad(d, "is not a number");
    if (!std::isfinite(*n * f.factor)) return bad(d, "is out of range after unit conversion");
    out.push_back(SignalReading::number_of(*f.signal, ts, *n * f.factor));
    return {};
  }
  if (d.field == "Location") {
    if (d.value.kind != Kind::location) return bad(d, "is not a location");
    if (!(std::fabs(d.value.latitude) <= 90 && std::fabs(d.value.longitude) <= 180))
      return bad(d, "is out of range");
    out.push_back(SignalReading::location_of(sig::currentLocationCoordinates, ts, d.value.latitude,
                                             d.value.longitude));
    return {};
  }
  if (d.field == "DetailedChargeState") {
    if (d.value.kind != Kind::text) return bad(d, "is not an enum name");
    const std::string_view s = enum_suffix(d.value.text, "DetailedChargeState");
    if (s == "Unknown") return {TelemetryMapResult::Outcome::invalid_value, {}};
    if (s != "Disconnected" && s != "NoPower" && s != "Starting" && s != "Charging" &&
        s != "Complete" && s != "Stopped")
      return bad(d, "has an unknown value");
    out.push_back(SignalReading::number_of(sig::powertrainTractionBatteryChargingIsCharging, ts,
                                           (s == "Starting" || s == "Charging") ? 1 : 0));
    out.push_back(
        SignalReading::number_of(sig::powertrainTractionBatteryChargingIsChargingCableConnected, ts,
                                 s == "Disconnected" ? 0 : 1));
    return {};
  }
  if (d.field == "DoorState") {
    if (d.value.kind != Kind::flags) return bad(d, "is not a door set");
    for (const auto& door : kDoors) {
      for (const auto& [name, open] : d.value.flags) {
        if (name == door.flag) out.push_back(SignalReading::number_of(*door.signal, ts, open));
      }
    }
    return {};
  }
  for (const auto& w : kWindows) {
    if (w.field != d.field) continue;
    if (d.value.kind != Kind::text) return bad(d, "is not a window state");
    const std::string_view s = enum_suffix(d.value.text, "WindowState");
    if (s == "Unknown") return {TelemetryMapResult::Outcome::invalid_value, {}};
    if (s != "Closed" && s != "PartiallyOpen" && s != "Opened")
      return bad(d, "has an unknown value");
    out.push_back(SignalReading::number_of(*w.signal, ts, s == "Closed" ? 0 : 1));
    return {};
  }
  return {TelemetryMapResult::Outcome::unknown_field, {}};
}

}  // namespace oemlink::tesla
