#include "signal_mapper.hpp"

#include "json_fields.hpp"
#include "signal_timestamp.hpp"
#include "unit_conversion.hpp"

#include <oemlink/driver.hpp>
#include <oemlink/signals.hpp>

#include <array>
#include <cmath>
#include <optional>

namespace oemlink::smartcar {
namespace sig = oemlink::signals;
namespace {

using boost::json::value;

struct Sink {
  std::vector<oemlink_reading>& out;
  MapStats& stats;
  int64_t ts;

  void number(const sig::Signal& s, double v) {
    out.push_back(Reading::number(s.name, ts, v == 0 ? 0.0 : v));
    ++stats.readings;
  }
  void reject(std::string_view where, std::string why) {
    ++stats.rejected;
    if (stats.first_rejection.empty()) stats.first_rejection = std::string(where) + ": " + why;
  }
};

std::string describe(double v, std::string_view unit) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return std::string(buf) + " labelled '" + std::string(unit.substr(0, 32)) + "'";
}

// A {value, unit} body, converted. A null value is "empty"; anything else unusable a rejection.
void scalar(Sink& k, std::string_view code, const value* body, Quantity q, const sig::Signal& s,
            std::string_view default_unit = {}) {
  const value* v = json::member(body, "value");
  if (!v || v->is_null()) {
    ++k.stats.empty;
    return;
  }
  auto n = json::number(v);
  if (!n) return k.reject(code, "value is not a number");
  auto unit_v = json::member(body, "unit");
  std::string_view unit = json::string(unit_v).value_or(default_unit);
  if (auto c = convert(q, unit, *n)) return k.number(s, *c);
  k.reject(code, describe(*n, unit) + " is not a known unit or is out of range");
}

void boolean(Sink& k, std::string_view code, const value* body, const sig::Signal& s) {
  const value* v = json::member(body, "value");
  if (!v || v->is_null()) {
    ++k.stats.empty;
    return;
  }
  if (auto b = json::boolean(v)) return k.number(s, *b ? 1 : 0);
  if (auto n = json::number(v); n && (*n == 0 || *n == 1)) return k.number(s, *n);
  k.reject(code, "value is not a boolean");
}

void location(Sink& k, std::string_view code, const value* body) {
  auto lat = json::number(json::member(body, "latitude"));
  auto lon = json::number(json::member(body, "longitude"));
  const value* lat_v = json::member(body, "latitude");
  if (lat_v && lat_v->is_null()) {
    ++k.stats.empty;
    return;
  }
  if (!lat || !lon || !std::isfinite(*lat) || !std::isfinite(*lon) || std::fabs(*lat) > 90 ||
      std::fabs(*lon) > 180)
    return k.reject(code, "latitude/longitude missing or out of range");
  k.out.push_back(Reading::location(sig::currentLocationCoordinates.name, k.ts,
                                    *lat == 0 ? 0.0 : *lat, *lon == 0 ? 0.0 : *lon));
  ++k.stats.readings;
  if (auto h = json::number(json::member(body, "heading"))) {
    if (auto deg = convert(Quantity::angle_degrees, "", *h))
      k.number(sig::currentLocationHeading, *deg);
    else
      k.reject(code, "heading " + describe(*h, "degrees") + " is out of range");
  }
}

constexpr std::array<std::array<const sig::Signal*, 2>, 2> kTires{{
    {&sig::chassisAxleRow1WheelLeftTirePressure, &sig::chassisAxleRow1WheelRightTirePressure},
    {&sig::chassisAxleRow2WheelLeftTirePressure, &sig::chassisAxleRow2WheelRightTirePressure},
}};

void tires(Sink& k, std::string_view code, const value* body) {
  const boost::json::array* values = json::array(json::member(body, "values"));
  if (!values) return k.reject(code, "no values list");
  const std::string_view body_unit = json::text(body, "unit");
  for (const value& t : *values) {
    auto row = json::number(json::member(&t, "row"));
    auto col = json::number(json::member(&t, "column"));
    const value* p = json::member(&t, "tirePressure");
    if (p && p->is_null()) {
      ++k.stats.empty;
      continue;
    }
    auto kpa_in = json::number(p);
    if (!row || !col || !kpa_in) {
      k.reject(code, "a tyre lacks row, column or a numeric tirePressure");
      continue;
    }
    // Rows beyond the second axle (dual wheels, trailers) have no DIMO signal.
    if (*row != 0 && *row != 1) continue;
    if (*col != 0 && *col != 1) continue;
    std::string_view unit = json::string(json::member(&t, "unit")).value_or(body_unit);
    if (auto kpa = tire_pressure_kpa(unit, *kpa_in)) {
      k.number(*kTires[static_cast<size_t>(*row)][static_cast<size_t>(*col)], *kpa);
    } else {
      k.reject(code, describe(*kpa_in, unit) + " is neither a plausible bar, kPa nor psi value");
    }
  }
}

void charge_limit(Sink& k, std::string_view code, const value* body) {
  const value* active = json::member(body, "activeLimit");
  if (!active || active->is_null()) {
    // No active limit: Smartcar's GLOBAL entry, when there is one, is the limit in force.
    if (const boost::json::array* values = json::array(json::member(body, "values"))) {
      for (const value& v : *values) {
        if (json::text(&v, "type") == "GLOBAL") {
          active = json::member(&v, "limit");
          break;
        }
      }
    }
  }
  if (!active || active->is_null()) {
    ++k.stats.empty;
    return;
  }
  auto n = json::number(active);
  if (!n) return k.reject(code, "activeLimit is not a number");
  std::string_view unit = json::text(body, "unit");
  if (auto c = convert(Quantity::percent, unit, *n))
    return k.number(sig::powertrainTractionBatteryChargingChargeLimit, *c);
  k.reject(code, describe(*n, unit) + " is not a percentage");
}

}  // namespace

void MapStats::add(const MapStats& o) {
  readings += o.readings;
  skipped_status += o.skipped_status;
  empty += o.empty;
  unmapped += o.unmapped;
  rejected += o.rejected;
  if (first_rejection.empty()) first_rejection = o.first_rejection;
}

void map_signal(const value& item, int64_t now_ms, std::vector<oemlink_reading>& out,
                MapStats& stats) {
  // v3 pages nest the signal in `attributes`; 4.0 webhooks do not.
  const value* attrs = json::member(&item, "attributes");
  if (!json::is_object(attrs)) attrs = &item;
  std::string_view code = json::text(attrs, "code");
  if (code.empty()) code = json::text(&item, "id");
  Sink k{out, stats, 0};
  if (code.empty() || !item.is_object()) return k.reject("signal", "has no code");
  const value* status = json::member(attrs, "status");
  const std::string_view state = json::text(status, "value");
  if (!state.empty() && state != "SUCCESS") {
    ++stats.skipped_status;
    return;
  }
  const value* body = json::member(attrs, "body");
  const value* meta = json::member(&item, "meta");
  if (!json::is_object(meta)) meta = json::member(attrs, "meta");
  k.ts = signal_time_ms(meta, now_ms);
  if (!json::is_object(body)) {
    // A signal we do not map may come without a body; only a mapped one without is at fault.
    static constexpr std::string_view kMapped[] = {"odometer-traveleddistance",
                                                   "motion-currentspeed",
                                                   "tractionbattery-stateofcharge",
                                                   "tractionbattery-range",
                                                   "charge-chargelimits",
                                                   "charge-ischarging",
                                                   "charge-ischargingcableconnected",
                                                   "charge-energyadded",
                                                   "charge-wattage",
                                                   "charge-chargerate",
                                                   "climate-externaltemperature",
                                                   "wheel-tires",
                                                   "internalcombustionengine-fuellevel",
                                                   "internalcombustionengine-amountremaining",
                                                   "location-preciselocation"};
    for (std::string_view m : kMapped)
      if (m == code) return k.reject(code, "has no body object");
    ++stats.unmapped;
    return;
  }

  if (code == "odometer-traveleddistance")
    scalar(k, code, body, Quantity::distance_km, sig::powertrainTransmissionTravelledDistance);
  else if (code == "motion-currentspeed")
    scalar(k, code, body, Quantity::speed_kmh, sig::speed);
  else if (code == "tractionbattery-stateofcharge")
    scalar(k, code, body, Quantity::percent, sig::powertrainTractionBatteryStateOfChargeCurrent);
  else if (code == "tractionbattery-range")
    scalar(k, code, body, Quantity::distance_km, sig::powertrainRange);
  else if (code == "charge-chargelimits")
    charge_limit(k, code, body);
  else if (code == "charge-ischarging")
    boolean(k, code, body, sig::powertrainTractionBatteryChargingIsCharging);
  else if (code == "charge-ischargingcableconnected")
    boolean(k, code, body, sig::powertrainTractionBatteryChargingIsChargingCableConnected);
  else if (code == "charge-energyadded")
    scalar(k, code, body, Quantity::energy_kwh, sig::powertrainTractionBatteryChargingAddedEnergy);
  else if (code == "charge-wattage")
    scalar(k, code, body, Quantity::power_kw, sig::powertrainTractionBatteryChargingPower);
  else if (code == "charge-chargerate")
    scalar(k, code, body, Quantity::speed_kmh, sig::powertrainTractionBatteryChargingChargeRate);
  else if (code == "climate-externaltemperature")
    scalar(k, code, body, Quantity::temperature_c, sig::exteriorAirTemperature);
  else if (code == "wheel-tires")
    tires(k, code, body);
  else if (code == "internalcombustionengine-fuellevel")
    scalar(k, code, body, Quantity::percent, sig::powertrainFuelSystemRelativeLevel);
  else if (code == "internalcombustionengine-amountremaining")
    scalar(k, code, body, Quantity::volume_l, sig::powertrainFuelSystemAbsoluteLevel);
  else if (code == "location-preciselocation")
    location(k, code, body);
  else
    ++stats.unmapped;
}

void map_v2_response(std::string_view path, const value* body, UnitSystem units, int64_t time_ms,
                     std::vector<oemlink_reading>& out, MapStats& stats) {
  Sink k{out, stats, time_ms};
  if (!json::is_object(body)) return k.reject(path, "has no body object");
  const bool imperial = units == UnitSystem::imperial;
  const std::string_view distance = imperial ? "miles" : "km";
  auto fraction = [&](std::string_view key, const sig::Signal& s) {
    const value* v = json::member(body, key);
    if (!v || v->is_null()) return;
    auto n = json::number(v);
    // v2 percentages are fractions 0-1.
    if (auto c = n ? convert(Quantity::percent, "fraction", *n) : std::nullopt)
      return k.number(s, *c);
    k.reject(path, std::string(key) + " is not a fraction between 0 and 1");
  };
  auto quantity = [&](std::string_view key, Quantity q, std::string_view unit,
                      const sig::Signal& s) {
    const value* v = json::member(body, key);
    if (!v || v->is_null()) return;
    auto n = json::number(v);
    if (auto c = n ? convert(q, unit, *n) : std::nullopt) return k.number(s, *c);
    k.reject(path, std::string(key) + " is not a usable number");
  };

  if (path == "/odometer") {
    quantity("distance", Quantity::distance_km, distance,
             sig::powertrainTransmissionTravelledDistance);
  } else if (path == "/location") {
    location(k, path, body);
  } else if (path == "/battery") {
    fraction("percentRemaining", sig::powertrainTractionBatteryStateOfChargeCurrent);
    quantity("range", Quantity::distance_km, distance, sig::powertrainRange);
  } else if (path == "/charge") {
    if (auto plugged = json::boolean(json::member(body, "isPluggedIn")))
      k.number(sig::powertrainTractionBatteryChargingIsChargingCableConnected, *plugged ? 1 : 0);
    if (auto state = json::string(json::member(body, "state")))
      k.number(sig::powertrainTractionBatteryChargingIsCharging, *state == "CHARGING" ? 1 : 0);
  } else if (path == "/charge/limit") {
    fraction("limit", sig::powertrainTractionBatteryChargingChargeLimit);
  } else if (path == "/fuel") {
    fraction("percentRemaining", sig::powertrainFuelSystemRelativeLevel);
    quantity("amountRemaining", Quantity::volume_l, imperial ? "gallons" : "l",
             sig::powertrainFuelSystemAbsoluteLevel);
  } else if (path == "/tires/pressure") {
    static constexpr std::array<std::pair<std::string_view, const sig::Signal*>, 4> kKeys{{
        {"frontLeft", &sig::chassisAxleRow1WheelLeftTirePressure},
        {"frontRight", &sig::chassisAxleRow1WheelRightTirePressure},
        {"backLeft", &sig::chassisAxleRow2WheelLeftTirePressure},
        {"backRight", &sig::chassisAxleRow2WheelRightTirePressure},
    }};
    for (auto [key, s] : kKeys) {
      const value* v = json::member(body, key);
      if (!v || v->is_null()) continue;
      auto n = json::number(v);
      if (auto kpa = n ? tire_pressure_kpa(imperial ? "psi" : "kPa", *n) : std::nullopt)
        k.number(*s, *kpa);
      else
        k.reject(path, std::string(key) + " is not a plausible tyre pressure");
    }
  } else {
    ++stats.unmapped;  // /vin, /engine/oil (oil LIFE has no VSS match), ...
  }
}

}  // namespace oemlink::smartcar
