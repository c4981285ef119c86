#include "tools/mock-oem/tesla/capture_store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace oemlink::mock_oem::tesla {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

[[noreturn]] void fail(const fs::path& file, const std::string& what) {
  throw std::runtime_error("capture " + file.string() + ": " + what);
}

int64_t newest_timestamp(const json::object& response) {
  int64_t newest = 0;
  for (const auto& [key, value] : response) {
    if (!value.is_object() || !vehicle_data_sections().count(key)) continue;
    if (const json::value* ts = value.as_object().if_contains("timestamp"); ts && ts->is_number())
      newest = std::max(newest, ts->to_number<int64_t>());
  }
  return newest;
}

bool is_location_member(std::string_view key) {
  return key.find("latitude") != std::string_view::npos ||
         key.find("longitude") != std::string_view::npos || key == "heading" ||
         key == "gps_as_of" || key == "native_location_supported" || key == "native_type" ||
         key == "active_route_destination";
}

void shift(json::value& v, int64_t by_ms) {
  if (v.is_int64())
    v = v.as_int64() + by_ms;
  else if (v.is_uint64())
    v = static_cast<int64_t>(v.as_uint64()) + by_ms;
  else if (v.is_double())
    v = v.as_double() + double(by_ms);
}

// `timestamp` is Unix ms; gps_as_of and the TPMS "last seen" times are Unix seconds.
void shift_times(json::object& section, int64_t delta_ms) {
  for (auto& [key, value] : section) {
    if (key == "timestamp")
      shift(value, delta_ms);
    else if (key == "gps_as_of" || key.starts_with("tpms_last_seen_pressure_time_"))
      shift(value, delta_ms / 1000);
  }
}

std::string display_name_of(const json::object& r) {
  if (const auto* n = r.if_contains("display_name"); n && n->is_string())
    return std::string(n->as_string());
  if (const auto* vs = r.if_contains("vehicle_state"); vs && vs->is_object())
    if (const auto* n = vs->as_object().if_contains("vehicle_name"); n && n->is_string())
      return std::string(n->as_string());
  return {};
}

CarRecord read_capture(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file, "cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value doc = json::parse(text.str(), ec);
  if (ec) fail(file, "not JSON: " + ec.message());
  const json::value* response = doc.is_object() ? doc.as_object().if_contains("response") : nullptr;
  if (!response || !response->is_object())
    fail(file, "no \"response\" object (expected a vehicle_data capture)");
  const json::object& r = response->as_object();
  bool has_section = false;
  for (const auto& s : vehicle_data_sections()) has_section |= r.contains(s);
  if (!has_section) fail(file, "\"response\" holds no vehicle_data section (charge_state, ...)");
  const json::value* id = r.if_contains("id");
  if (!id || !(id->is_int64() || id->is_uint64()))
    fail(file, "\"response.id\" is missing or not an integer");

  CarRecord car;
  car.vin = file.stem().string();
  if (car.vin.empty() ||
      !std::all_of(car.vin.begin(), car.vin.end(), [](unsigned char c) { return std::isalnum(c); }))
    fail(file, "the file name must be <VIN>.json with an alphanumeric VIN");
  car.id = id->to_number<uint64_t>();
  car.display_name = display_name_of(r);
  car.source = file;
  car.captured_at_ms = newest_timestamp(r);
  car.capture = std::make_shared<const json::object>(r);
  return car;
}

}  // namespace

const std::set<std::string, std::less<>>& vehicle_data_sections() {
  static const std::set<std::string, std::less<>> kSections{
      "charge_state",  "climate_state",        "closures_state",
      "drive_state",   "gui_settings",         "vehicle_config",
      "vehicle_state", "charge_schedule_data", "preconditioning_schedule_data"};
  return kSections;
}

std::string synthetic_vin(int n) {
  char vin[32];
  std::snprintf(vin, sizeof vin, "5YJ3SYNTH%08d", n);
  return vin;
}

std::vector<CarRecord> load_captures(const fs::path& dir, int synthesize) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw std::runtime_error("--captures " + dir.string() + ": not a directory");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".json" && entry.is_regular_file())
      files.push_back(entry.path());
  if (ec) throw std::runtime_error("--captures " + dir.string() + ": " + ec.message());
  if (files.empty())
    throw std::runtime_error("--captures " + dir.string() + ": no <VIN>.json files");
  std::sort(files.begin(), files.end());

  std::vector<CarRecord> cars;
  std::map<uint64_t, fs::path> ids;
  for (const auto& f : files) {
    CarRecord car = read_capture(f);
    if (synthesize <= 0) {
      auto [it, inserted] = ids.emplace(car.id, f);
      if (!inserted)
        fail(f, "vehicle id " + std::to_string(car.id) + " is also the id in " +
                    it->second.string() + " (ids must be unique)");
    }
    cars.push_back(std::move(car));
  }
  if (synthesize <= 0) return cars;

  std::vector<CarRecord> made;
  made.reserve(static_cast<size_t>(synthesize));
  for (int n = 0; n < synthesize; ++n) {
    CarRecord car = cars[static_cast<size_t>(n) % cars.size()];
    car.vin = synthetic_vin(n);
    car.id = 100000000000ull + static_cast<uint64_t>(n);
    car.display_name = "mock " + std::to_string(n);
    made.push_back(std::move(car));
  }
  return made;
}

json::object render_vehicle_summary(const CarRecord& car, std::string_view state) {
  json::object out;
  for (const auto& [key, value] : *car.capture)
    if (!vehicle_data_sections().count(key)) out[key] = value;
  out["id"] = car.id;
  out["id_s"] = std::to_string(car.id);
  out["vin"] = car.vin;
  out["display_name"] = car.display_name;
  out["state"] = state;
  return out;
}

json::object render_vehicle_data(const CarRecord& car, const VehicleDataRequest& request,
                                 std::string_view state, int64_t now_ms) {
  json::object out = render_vehicle_summary(car, state);
  if (!car.capture->contains("display_name")) out.erase("display_name");
  const int64_t delta_ms = car.captured_at_ms > 0 ? now_ms - car.captured_at_ms : 0;
  for (const auto& [key, value] : *car.capture) {
    if (!value.is_object() || !vehicle_data_sections().count(key)) continue;
    const bool asked = request.all_sections || request.sections.count(key);
    const bool location_only = !asked && key == "drive_state" && request.location;
    if (!asked && !location_only) continue;
    json::object section;
    for (const auto& [k, v] : value.as_object()) {
      const bool location = key == "drive_state" && is_location_member(k);
      if (location ? !request.location : location_only && k != "timestamp") continue;
      section[k] = v;
    }
    shift_times(section, delta_ms);
    out[key] = std::move(section);
  }
  return out;
}

std::vector<int> parse_firmware(std::string_view version) {
  std::vector<int> parts;
  version = version.substr(0, version.find(' '));
  while (!version.empty()) {
    int n = 0;
    const auto [end, ec] = std::from_chars(version.data(), version.data() + version.size(), n);
    if (ec != std::errc()) return {};
    parts.push_back(n);
    version.remove_prefix(static_cast<size_t>(end - version.data()));
    if (version.empty()) break;
    if (version.front() != '.') return {};
    version.remove_prefix(1);
  }
  return parts;
}

}  // namespace oemlink::mock_oem::tesla
