#include "tools/mock-oem/smartcar/fleet.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace oemlink::mock_oem::smartcar {

namespace json = boost::json;
using std::chrono::system_clock;

namespace {

// The built-in defaults are examples/vehicles.json, compiled in by CMake.
constexpr std::string_view kDefaultVehicles =
#include "default_vehicles.inc"
    ;

struct KnownSignal {
  std::string_view code, name, group;
};
// Name and group of the codes in oem-apis.md, so a vehicles file may give just the code.
constexpr KnownSignal kKnownSignals[] = {
    {"odometer-traveleddistance", "TraveledDistance", "Odometer"},
    {"location-preciselocation", "PreciseLocation", "Location"},
    {"motion-currentspeed", "CurrentSpeed", "Motion"},
    {"tractionbattery-stateofcharge", "StateOfCharge", "TractionBattery"},
    {"tractionbattery-range", "Range", "TractionBattery"},
    {"charge-chargelimits", "ChargeLimits", "Charge"},
    {"charge-ischarging", "IsCharging", "Charge"},
    {"charge-ischargingcableconnected", "IsChargingCableConnected", "Charge"},
    {"charge-energyadded", "EnergyAdded", "Charge"},
    {"charge-wattage", "Wattage", "Charge"},
    {"charge-timetocomplete", "TimeToComplete", "Charge"},
    {"charge-detailedchargingstatus", "DetailedChargingStatus", "Charge"},
    {"climate-externaltemperature", "ExternalTemperature", "Climate"},
    {"wheel-tires", "Tires", "Wheel"},
    {"internalcombustionengine-fuellevel", "FuelLevel", "InternalCombustionEngine"},
    {"internalcombustionengine-amountremaining", "AmountRemaining", "InternalCombustionEngine"},
    {"internalcombustionengine-oillife", "OilLife", "InternalCombustionEngine"},
    {"internalcombustionengine-range", "Range", "InternalCombustionEngine"},
    {"vehicleidentification-vin", "VIN", "VehicleIdentification"},
    {"closure-islocked", "IsLocked", "Closure"},
};

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

const json::value* member(const json::object& o, std::string_view key) {
  return o.if_contains(key);
}

std::string get_string(const json::object& o, std::string_view key, const std::string& where,
                       bool required, std::string fallback = {}) {
  const json::value* v = member(o, key);
  if (!v) {
    if (required) fail(where, "missing \"" + std::string(key) + "\"");
    return fallback;
  }
  if (!v->is_string()) fail(where, "\"" + std::string(key) + "\" must be a string");
  return std::string(v->get_string());
}

double get_number(const json::value& v, const std::string& where, std::string_view key) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  fail(where, "\"" + std::string(key) + "\" must be a number");
}

int64_t get_int(const json::object& o, std::string_view key, const std::string& where,
                int64_t fallback) {
  const json::value* v = member(o, key);
  if (!v) return fallback;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  fail(where, "\"" + std::string(key) + "\" must be an integer");
}

void apply_signal_keys(SignalSpec& s, const json::object& o, const std::string& where) {
  static constexpr std::string_view kKeys[] = {"code",  "name",           "group", "body", "status",
                                               "error", "drift_per_hour", "min",   "max",  "age_s"};
  for (const auto& [key, value] : o) {
    if (std::find(std::begin(kKeys), std::end(kKeys), std::string_view(key)) == std::end(kKeys))
      fail(where, "unknown key \"" + std::string(key) + "\"");
    (void)value;
  }
  if (auto* v = member(o, "name")) s.name = get_string(o, "name", where, true), (void)v;
  if (member(o, "group")) s.group = get_string(o, "group", where, true);
  if (auto* v = member(o, "body")) {
    if (v->is_null())
      s.body.reset();
    else if (v->is_object())
      s.body = v->get_object();
    else
      fail(where, "\"body\" must be an object or null");
  }
  if (member(o, "status")) {
    s.status = get_string(o, "status", where, true);
    if (s.status != "SUCCESS" && s.status != "ERROR" && s.status != "UNAVAILABLE")
      fail(where, "\"status\" must be SUCCESS, ERROR or UNAVAILABLE, got \"" + s.status + "\"");
  }
  if (auto* v = member(o, "error")) {
    if (v->is_null())
      s.error.reset();
    else if (v->is_object())
      s.error = v->get_object();
    else
      fail(where, "\"error\" must be an object or null");
  }
  if (auto* v = member(o, "drift_per_hour"))
    s.drift_per_hour = get_number(*v, where, "drift_per_hour");
  if (auto* v = member(o, "min")) s.min = get_number(*v, where, "min");
  if (auto* v = member(o, "max")) s.max = get_number(*v, where, "max");
  s.age_s = static_cast<int>(get_int(o, "age_s", where, s.age_s));
  if (s.status == "SUCCESS" && !s.body) fail(where, "a SUCCESS signal needs a \"body\"");
}

SignalSpec parse_signal(const json::value& v, const std::string& where) {
  if (!v.is_object()) fail(where, "must be an object");
  const json::object& o = v.get_object();
  SignalSpec s;
  s.code = get_string(o, "code", where, true);
  const std::string here = where + " (code \"" + s.code + "\")";
  for (const auto& k : kKnownSignals)
    if (k.code == s.code) s.name = k.name, s.group = k.group;
  apply_signal_keys(s, o, here);
  if (s.name.empty() || s.group.empty())
    fail(here, "a code not in the built-in list needs \"name\" and \"group\"");
  return s;
}

VehicleSpec parse_vehicle(const json::value& v, const std::string& where) {
  if (!v.is_object()) fail(where, "must be an object");
  const json::object& o = v.get_object();
  static constexpr std::string_view kKeys[] = {
      "id",   "make",           "model",           "year",          "powertrainType",
      "mode", "refresh_tokens", "update_period_s", "monthly_quota", "signals",
      "user"};
  for (const auto& [key, value] : o) {
    if (std::find(std::begin(kKeys), std::end(kKeys), std::string_view(key)) == std::end(kKeys))
      fail(where, "unknown key \"" + std::string(key) + "\"");
    (void)value;
  }
  VehicleSpec vehicle;
  vehicle.id = get_string(o, "id", where, true);
  const std::string here = where + " (id \"" + vehicle.id + "\")";
  if (vehicle.id.empty() || vehicle.id.find('/') != std::string::npos)
    fail(here, "\"id\" must be non-empty and contain no '/'");
  vehicle.make = get_string(o, "make", here, true);
  vehicle.model = get_string(o, "model", here, true);
  vehicle.year = static_cast<int>(get_int(o, "year", here, 0));
  if (vehicle.year == 0) fail(here, "missing \"year\"");
  vehicle.powertrain_type = get_string(o, "powertrainType", here, false);
  vehicle.mode = get_string(o, "mode", here, false, "live");
  if (vehicle.mode != "live" && vehicle.mode != "test" && vehicle.mode != "simulated")
    fail(here, "\"mode\" must be live, test or simulated");
  vehicle.user = get_string(o, "user", here, false, std::string(kDefaultUser));
  if (vehicle.user.empty()) fail(here, "\"user\" must not be empty");
  vehicle.update_period_s = static_cast<int>(get_int(o, "update_period_s", here, 300));
  if (vehicle.update_period_s <= 0) fail(here, "\"update_period_s\" must be positive");
  vehicle.monthly_quota = get_int(o, "monthly_quota", here, -1);
  if (auto* t = member(o, "refresh_tokens")) {
    if (!t->is_array()) fail(here, "\"refresh_tokens\" must be an array of strings");
    for (const auto& item : t->get_array()) {
      if (!item.is_string()) fail(here, "\"refresh_tokens\" must be an array of strings");
      vehicle.refresh_tokens.emplace_back(item.get_string());
    }
  }
  const json::value* signals = member(o, "signals");
  if (!signals || !signals->is_array()) fail(here, "\"signals\" must be an array");
  for (size_t i = 0; i < signals->get_array().size(); ++i) {
    SignalSpec s =
        parse_signal(signals->get_array()[i], here + " signals[" + std::to_string(i) + "]");
    for (const auto& other : vehicle.signals)
      if (other.code == s.code) fail(here, "signal \"" + s.code + "\" appears twice");
    vehicle.signals.push_back(std::move(s));
  }
  return vehicle;
}

const SignalSpec* find_signal(const VehicleSpec& v, std::string_view code) {
  for (const auto& s : v.signals)
    if (s.code == code) return &s;
  return nullptr;
}

// Whole numbers go out as JSON integers, as Smartcar writes them (Boost.JSON would print
// 52891.0 as 5.2891E4).
json::value as_number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15) return static_cast<int64_t>(v);
  return v;
}

json::value drifted(double base, const SignalSpec& s, double hours) {
  double v = base + s.drift_per_hour * hours;
  if (s.min) v = std::max(v, *s.min);
  if (s.max) v = std::min(v, *s.max);
  return as_number(std::round(v * 10.0) / 10.0);
}

json::object default_error(const std::string& status) {
  if (status == "UNAVAILABLE")
    return json::object{{"type", "UPSTREAM"},
                        {"code", "NO_RESPONSE"},
                        {"title", "No Response"},
                        {"detail", "The vehicle manufacturer did not return this signal."},
                        {"description", "Deprecated. Use detail"},
                        {"resolution", json::object{{"type", "RETRY_LATER"}}}};
  return json::object{{"type", "COMPATIBILITY"},
                      {"code", "VEHICLE_NOT_CAPABLE"},
                      {"title", "Vehicle Not Capable"},
                      {"detail", "The vehicle is incapable of performing your request."},
                      {"description", "Deprecated. Use detail"},
                      {"resolution", json::object{{"type", "UNKNOWN_RESOLUTION_TYPE"}}}};
}

std::optional<double> number_at(const json::object& body, std::string_view key) {
  const json::value* v = body.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  if (v->is_double()) return v->get_double();
  return std::nullopt;
}

std::string unit_of(const json::object& body) {
  if (auto* u = body.if_contains("unit"); u && u->is_string()) return std::string(u->get_string());
  return {};
}

// Distances to km: the labels seen in real data.
double to_km(double v, const std::string& unit) {
  return unit == "miles" || unit == "mi" ? v * 1.609344 : v;
}

// Tyre pressure to kPa: the value is the truth the mock knows; a "bar" label with a kPa-sized
// magnitude is what real Jaguar data looked like.
double to_kpa(double v, const std::string& unit) {
  if (unit == "psi") return v * 6.894757;
  if (unit == "bar" && v < 20) return v * 100.0;
  return v;
}

}  // namespace

std::string iso8601_ms(system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

Fleet Fleet::load_text(std::string_view text, const std::string& origin) {
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) fail(origin, "not valid JSON: " + ec.message());
  if (!root.is_object()) fail(origin, "the top level must be an object {\"vehicles\": [...]}");
  const json::value* list = root.get_object().if_contains("vehicles");
  if (!list || !list->is_array()) fail(origin, "\"vehicles\" must be an array");
  Fleet fleet;
  for (size_t i = 0; i < list->get_array().size(); ++i) {
    VehicleSpec v =
        parse_vehicle(list->get_array()[i], origin + ": vehicles[" + std::to_string(i) + "]");
    if (fleet.find(v.id)) fail(origin, "vehicle \"" + v.id + "\" appears twice");
    fleet.vehicles_.push_back(std::move(v));
  }
  return fleet;
}

Fleet Fleet::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open the vehicles file");
  std::stringstream text;
  text << in.rdbuf();
  return load_text(text.str(), path);
}

Fleet Fleet::defaults() {
  return load_text(kDefaultVehicles, "built-in vehicles");
}

VehicleSpec* Fleet::find(std::string_view id) {
  for (auto& v : vehicles_)
    if (v.id == id) return &v;
  return nullptr;
}

json::value Fleet::format_time(system_clock::time_point t) const {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  switch (clocks_.time_format) {
    case TimeFormat::seconds:
      return ms / 1000;
    case TimeFormat::milliseconds:
      return ms;
    case TimeFormat::iso:
      return json::value(iso8601_ms(t));
  }
  return ms;
}

system_clock::time_point Fleet::tick(const VehicleSpec& v, system_clock::time_point now) const {
  if (clocks_.frozen || now <= clocks_.start) return clocks_.start;
  const auto period = std::chrono::seconds(v.update_period_s);
  const auto ticks = (now - clocks_.start) / period;
  return clocks_.start + std::chrono::duration_cast<system_clock::duration>(period * ticks);
}

json::object Fleet::render_signal(const VehicleSpec& vehicle, const SignalSpec& s,
                                  system_clock::time_point now) const {
  const system_clock::time_point at = s.set_at ? *s.set_at : tick(vehicle, now);
  const double hours =
      s.set_at ? 0.0 : std::chrono::duration<double>(at - clocks_.start).count() / 3600.0;
  json::object attributes;
  attributes["code"] = s.code;
  attributes["name"] = s.name;
  attributes["group"] = s.group;
  json::object status{{"value", s.status}};
  if (s.status != "SUCCESS") status["error"] = s.error ? *s.error : default_error(s.status);
  attributes["status"] = std::move(status);
  json::object meta;
  meta["retrievedAt"] = format_time(at);
  if (s.body) {
    json::object body = *s.body;
    if (s.drift_per_hour != 0 && hours > 0) {
      if (auto base = number_at(body, "value")) body["value"] = drifted(*base, s, hours);
      if (auto* values = body.if_contains("values"); values && values->is_array())
        for (auto& item : values->get_array())
          if (item.is_object())
            if (auto base = number_at(item.get_object(), "tirePressure"))
              item.get_object()["tirePressure"] = drifted(*base, s, hours);
    }
    attributes["body"] = std::move(body);
    meta["oemUpdatedAt"] = format_time(at - std::chrono::seconds(s.age_s));
  }
  return json::object{{"id", s.code},
                      {"type", "signal"},
                      {"attributes", std::move(attributes)},
                      {"meta", std::move(meta)}};
}

json::object Fleet::render_vehicle(const VehicleSpec& v, std::string_view self) const {
  json::object attributes{{"make", v.make}, {"model", v.model}, {"year", v.year}, {"mode", v.mode}};
  attributes["powertrainType"] =
      v.powertrain_type.empty() ? json::value(nullptr) : json::value(v.powertrain_type);
  return json::object{{"id", v.id},
                      {"type", "vehicle"},
                      {"attributes", std::move(attributes)},
                      {"links", json::object{{"self", self}}}};
}

std::optional<json::object> Fleet::render_v2(const VehicleSpec& v, std::string_view path,
                                             bool imperial, system_clock::time_point now,
                                             unsigned& status,
                                             system_clock::time_point& data_age) const {
  status = 200;
  data_age = now;
  std::map<std::string_view, json::object> bodies;
  // The current bodies of the named signals; false (501) when one is missing or failing.
  auto need = [&](std::initializer_list<std::string_view> codes) {
    for (auto code : codes) {
      const SignalSpec* s = find_signal(v, code);
      if (!s || s->status != "SUCCESS" || !s->body) {
        status = 501;
        return false;
      }
      json::object rendered = render_signal(v, *s, now);
      bodies[code] = rendered["attributes"].get_object()["body"].get_object();
      const system_clock::time_point recorded =
          (s->set_at ? *s->set_at : tick(v, now)) - std::chrono::seconds(s->age_s);
      data_age = std::min(data_age, recorded);
    }
    return true;
  };
  auto num = [&](std::string_view code, std::string_view key) {
    return number_at(bodies[code], key).value_or(0.0);
  };
  auto distance = [&](double km) { return imperial ? km / 1.609344 : km; };
  auto round3 = [](double x) { return as_number(std::round(x * 1000.0) / 1000.0); };

  if (path == "/odometer") {
    if (!need({"odometer-traveleddistance"})) return std::nullopt;
    auto& b = bodies["odometer-traveleddistance"];
    return json::object{{"distance", round3(distance(to_km(
                                         num("odometer-traveleddistance", "value"), unit_of(b))))}};
  }
  if (path == "/location") {
    if (!need({"location-preciselocation"})) return std::nullopt;
    return json::object{{"latitude", num("location-preciselocation", "latitude")},
                        {"longitude", num("location-preciselocation", "longitude")}};
  }
  if (path == "/battery") {
    if (!need({"tractionbattery-stateofcharge", "tractionbattery-range"})) return std::nullopt;
    auto& r = bodies["tractionbattery-range"];
    return json::object{
        {"percentRemaining", round3(num("tractionbattery-stateofcharge", "value") / 100.0)},
        {"range", round3(distance(to_km(num("tractionbattery-range", "value"), unit_of(r))))}};
  }
  if (path == "/charge") {
    if (!need({"charge-ischarging", "charge-ischargingcableconnected",
               "tractionbattery-stateofcharge"}))
      return std::nullopt;
    const bool charging = bodies["charge-ischarging"]["value"] == json::value(true);
    const bool plugged = bodies["charge-ischargingcableconnected"]["value"] == json::value(true);
    const char* state = charging ? "CHARGING"
                        : plugged && num("tractionbattery-stateofcharge", "value") >= 99.5
                            ? "FULLY_CHARGED"
                            : "NOT_CHARGING";
    return json::object{{"isPluggedIn", plugged}, {"state", state}};
  }
  if (path == "/charge/limit") {
    if (!need({"charge-chargelimits"})) return std::nullopt;
    return json::object{{"limit", round3(num("charge-chargelimits", "activeLimit") / 100.0)}};
  }
  if (path == "/fuel") {
    if (!need({"internalcombustionengine-fuellevel", "internalcombustionengine-amountremaining",
               "internalcombustionengine-range"}))
      return std::nullopt;
    const double litres = num("internalcombustionengine-amountremaining", "value");
    auto& r = bodies["internalcombustionengine-range"];
    return json::object{
        {"percentRemaining", round3(num("internalcombustionengine-fuellevel", "value") / 100.0)},
        {"amountRemaining", round3(imperial ? litres / 3.785411784 : litres)},
        {"range",
         round3(distance(to_km(num("internalcombustionengine-range", "value"), unit_of(r))))}};
  }
  if (path == "/tires/pressure") {
    if (!need({"wheel-tires"})) return std::nullopt;
    const json::object& b = bodies["wheel-tires"];
    const std::string unit = unit_of(b);
    json::object out;
    static constexpr const char* kNames[2][2] = {{"frontLeft", "frontRight"},
                                                 {"backLeft", "backRight"}};
    if (auto* values = b.if_contains("values"); values && values->is_array())
      for (const auto& item : values->get_array()) {
        if (!item.is_object()) continue;
        const auto& t = item.get_object();
        const auto row = number_at(t, "row"), column = number_at(t, "column");
        const auto pressure = number_at(t, "tirePressure");
        if (!row || !column || !pressure || *row < 0 || *row > 1 || *column < 0 || *column > 1)
          continue;
        const double kpa = to_kpa(*pressure, unit);
        out[kNames[static_cast<int>(*row)][static_cast<int>(*column)]] =
            round3(imperial ? kpa / 6.894757 : kpa);
      }
    return out;
  }
  if (path == "/engine/oil") {
    if (!need({"internalcombustionengine-oillife"})) return std::nullopt;
    return json::object{
        {"lifeRemaining", round3(num("internalcombustionengine-oillife", "value") / 100.0)}};
  }
  if (path == "/vin") {
    if (!need({"vehicleidentification-vin"})) return std::nullopt;
    return json::object{{"vin", bodies["vehicleidentification-vin"]["value"]}};
  }
  if (path == "" || path == "/") {
    return json::object{{"id", v.id}, {"make", v.make}, {"model", v.model}, {"year", v.year}};
  }
  status = 404;
  return std::nullopt;
}

void Fleet::patch_signal(VehicleSpec& vehicle, std::string_view code, const json::object& patch,
                         system_clock::time_point now) {
  const std::string where = "vehicle \"" + vehicle.id + "\" signal \"" + std::string(code) + "\"";
  if (auto* c = patch.if_contains("code"); c && !(c->is_string() && c->get_string() == code))
    fail(where, "\"code\" in the body differs from the path");
  for (auto& s : vehicle.signals)
    if (s.code == code) {
      SignalSpec updated = s;
      apply_signal_keys(updated, patch, where);
      updated.set_at = now;
      s = std::move(updated);
      return;
    }
  json::object full = patch;
  full["code"] = code;
  SignalSpec s = parse_signal(full, where);
  s.set_at = now;
  vehicle.signals.push_back(std::move(s));
}

}  // namespace oemlink::mock_oem::smartcar
