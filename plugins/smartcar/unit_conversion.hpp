// Smartcar values in whatever unit a payload labels them with, into the unit DIMO's catalogue
// expects. The label decides (Smartcar's labels vary: "km" and "kilometers", "watts" and "W");
// the one exception is tyre pressure, whose label is unreliable and whose magnitude decides
// (README.md, "Units").
#ifndef OEMLINK_SMARTCAR_UNIT_CONVERSION_HPP
#define OEMLINK_SMARTCAR_UNIT_CONVERSION_HPP

#include <optional>
#include <string_view>

namespace oemlink::smartcar {

// The DIMO unit a value must end up in.
enum class Quantity {
  distance_km,    // km
  speed_kmh,      // km/h (also range added per hour)
  percent,        // 0-100
  energy_kwh,     // kWh
  power_kw,       // kW
  temperature_c,  // degrees Celsius
  volume_l,       // litres
  pressure_kpa,   // kPa (tyres: see tire_pressure_kpa)
  angle_degrees,  // 0-360
};

// `value` labelled `unit` (case and spaces ignored; "" = the quantity's documented v3 unit),
// converted; nullopt for a label this quantity does not know, a non-finite result or one outside
// the quantity's physical range (percent outside 0-100, negative distance...). Never -0.
std::optional<double> convert(Quantity quantity, std::string_view unit, double value);

// A tyre pressure in kPa. The magnitude decides between bar and kPa whatever those labels say:
// <= 20 is bar (x100), >= 50 is kPa (a "bar" of 258 is kPa), in between is neither and refused.
// psi (10-150) is trusted. Refused: negative, non-finite, unknown labels.
std::optional<double> tire_pressure_kpa(std::string_view unit, double value);

// The label lower-cased with spaces, '_' and '-' removed ("Kilometers per hour" ->
// "kilometersperhour"), as the conversion tables spell them.
std::string_view normalize_unit(std::string_view unit, char (&buf)[48]);

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_UNIT_CONVERSION_HPP
