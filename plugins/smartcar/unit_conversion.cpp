#include "unit_conversion.hpp"

#include <array>
#include <cmath>

namespace oemlink::smartcar {
namespace {

// value_in_dimo = value * factor + offset
struct UnitRule {
  Quantity quantity;
  std::string_view label;  // normalized
  double factor;
  double offset;
};

constexpr double kMile = 1.609344;          // km, exact
constexpr double kUsGallon = 3.785411784;   // l, exact
constexpr double kPsi = 6.894757293168361;  // kPa

constexpr std::array kRules{
    UnitRule{Quantity::distance_km, "", 1, 0},
    UnitRule{Quantity::distance_km, "km", 1, 0},
    UnitRule{Quantity::distance_km, "kilometers", 1, 0},
    UnitRule{Quantity::distance_km, "kilometer", 1, 0},
    UnitRule{Quantity::distance_km, "kilometres", 1, 0},
    UnitRule{Quantity::distance_km, "kilometre", 1, 0},
    UnitRule{Quantity::distance_km, "mi", kMile, 0},
    UnitRule{Quantity::distance_km, "mile", kMile, 0},
    UnitRule{Quantity::distance_km, "miles", kMile, 0},
    UnitRule{Quantity::distance_km, "m", 0.001, 0},
    UnitRule{Quantity::distance_km, "meters", 0.001, 0},
    UnitRule{Quantity::distance_km, "metres", 0.001, 0},
    UnitRule{Quantity::speed_kmh, "", 1, 0},
    UnitRule{Quantity::speed_kmh, "km/h", 1, 0},
    UnitRule{Quantity::speed_kmh, "kph", 1, 0},
    UnitRule{Quantity::speed_kmh, "kmh", 1, 0},
    UnitRule{Quantity::speed_kmh, "kmph", 1, 0},
    UnitRule{Quantity::speed_kmh, "kilometersperhour", 1, 0},
    UnitRule{Quantity::speed_kmh, "kilometers/hour", 1, 0},
    UnitRule{Quantity::speed_kmh, "mph", kMile, 0},
    UnitRule{Quantity::speed_kmh, "mi/h", kMile, 0},
    UnitRule{Quantity::speed_kmh, "milesperhour", kMile, 0},
    UnitRule{Quantity::speed_kmh, "miles/hour", kMile, 0},
    UnitRule{Quantity::speed_kmh, "m/s", 3.6, 0},
    UnitRule{Quantity::percent, "", 1, 0},
    UnitRule{Quantity::percent, "percent", 1, 0},
    UnitRule{Quantity::percent, "percentage", 1, 0},
    UnitRule{Quantity::percent, "%", 1, 0},
    UnitRule{Quantity::percent, "fraction", 100, 0},
    UnitRule{Quantity::energy_kwh, "", 1, 0},
    UnitRule{Quantity::energy_kwh, "kwh", 1, 0},
    UnitRule{Quantity::energy_kwh, "kilowatthours", 1, 0},
    UnitRule{Quantity::energy_kwh, "kilowatthour", 1, 0},
    UnitRule{Quantity::energy_kwh, "wh", 0.001, 0},
    UnitRule{Quantity::energy_kwh, "watthours", 0.001, 0},
    UnitRule{Quantity::power_kw, "kw", 1, 0},
    UnitRule{Quantity::power_kw, "kilowatts", 1, 0},
    UnitRule{Quantity::power_kw, "kilowatt", 1, 0},
    UnitRule{Quantity::power_kw, "", 0.001, 0},  // v3 documents charge-wattage in W
    UnitRule{Quantity::power_kw, "w", 0.001, 0},
    UnitRule{Quantity::power_kw, "watt", 0.001, 0},
    UnitRule{Quantity::power_kw, "watts", 0.001, 0},
    UnitRule{Quantity::temperature_c, "", 1, 0},
    UnitRule{Quantity::temperature_c, "c", 1, 0},
    UnitRule{Quantity::temperature_c, "°c", 1, 0},
    UnitRule{Quantity::temperature_c, "celsius", 1, 0},
    UnitRule{Quantity::temperature_c, "degc", 1, 0},
    UnitRule{Quantity::temperature_c, "degreescelsius", 1, 0},
    UnitRule{Quantity::temperature_c, "f", 5.0 / 9.0, -32.0 * 5.0 / 9.0},
    UnitRule{Quantity::temperature_c, "°f", 5.0 / 9.0, -32.0 * 5.0 / 9.0},
    UnitRule{Quantity::temperature_c, "fahrenheit", 5.0 / 9.0, -32.0 * 5.0 / 9.0},
    UnitRule{Quantity::temperature_c, "degf", 5.0 / 9.0, -32.0 * 5.0 / 9.0},
    UnitRule{Quantity::temperature_c, "degreesfahrenheit", 5.0 / 9.0, -32.0 * 5.0 / 9.0},
    UnitRule{Quantity::volume_l, "", 1, 0},
    UnitRule{Quantity::volume_l, "l", 1, 0},
    UnitRule{Quantity::volume_l, "liter", 1, 0},
    UnitRule{Quantity::volume_l, "liters", 1, 0},
    UnitRule{Quantity::volume_l, "litre", 1, 0},
    UnitRule{Quantity::volume_l, "litres", 1, 0},
    UnitRule{Quantity::volume_l, "gal", kUsGallon, 0},
    UnitRule{Quantity::volume_l, "gallon", kUsGallon, 0},
    UnitRule{Quantity::volume_l, "gallons", kUsGallon, 0},
    UnitRule{Quantity::angle_degrees, "", 1, 0},
    UnitRule{Quantity::angle_degrees, "degrees", 1, 0},
    UnitRule{Quantity::angle_degrees, "deg", 1, 0},
    UnitRule{Quantity::angle_degrees, "°", 1, 0},
};

bool in_range(Quantity q, double v) {
  switch (q) {
    case Quantity::distance_km:
    case Quantity::speed_kmh:
    case Quantity::energy_kwh:
    case Quantity::volume_l:
    case Quantity::pressure_kpa:
      return v >= 0;
    case Quantity::percent:
      return v >= 0 && v <= 100;
    case Quantity::temperature_c:
      return v >= -273.15;
    case Quantity::angle_degrees:
      return v >= 0 && v <= 360;
    case Quantity::power_kw:
      return true;
  }
  return false;
}

double no_negative_zero(double v) {
  return v == 0 ? 0.0 : v;
}

}  // namespace

std::string_view normalize_unit(std::string_view unit, char (&buf)[48]) {
  size_t n = 0;
  for (char c : unit) {
    if (c == ' ' || c == '_' || c == '-' || c == '\t') continue;
    if (n == sizeof buf) return "<too long>";
    buf[n++] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return std::string_view(buf, n);
}

std::optional<double> convert(Quantity quantity, std::string_view unit, double value) {
  if (!std::isfinite(value)) return std::nullopt;
  char buf[48];
  std::string_view label = normalize_unit(unit, buf);
  for (const UnitRule& r : kRules) {
    if (r.quantity != quantity || r.label != label) continue;
    double v = value * r.factor + r.offset;
    if (!std::isfinite(v) || !in_range(quantity, v)) return std::nullopt;
    return no_negative_zero(v);
  }
  return std::nullopt;
}

std::optional<double> tire_pressure_kpa(std::string_view unit, double value) {
  if (!std::isfinite(value) || value < 0) return std::nullopt;
  char buf[48];
  std::string_view label = normalize_unit(unit, buf);
  if (label == "psi" || label == "poundspersquareinch") {
    if (value != 0 && (value < 10 || value > 150)) return std::nullopt;
    return no_negative_zero(value * kPsi);
  }
  if (label == "bar" || label == "kpa" || label == "kilopascal" || label == "kilopascals" ||
      label.empty()) {
    if (value <= 20) return no_negative_zero(value * 100);
    if (value >= 50 && value <= 1500) return value;
  }
  return std::nullopt;
}

}  // namespace oemlink::smartcar
