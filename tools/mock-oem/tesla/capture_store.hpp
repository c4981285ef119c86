// The cars the mock serves, read from vehicle_data captures (DIR/<VIN>.json, shaped like
// shared/fixtures/tesla/vehicle_data_*.json), and the rendering of their vehicle_data and
// vehicle-list answers. Pure: no runtime state lives here.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::mock_oem::tesla {

struct CarRecord {
  std::string vin;  // the file name's stem (captures are anonymised; their `vin` may be "XXX")
  uint64_t id = 0;  // the capture's `id`
  std::string display_name;
  std::filesystem::path source;
  std::shared_ptr<const boost::json::object> capture;  // the capture's `response` object
  int64_t captured_at_ms = 0;                          // the newest section `timestamp`
};

// The vehicle_data sections a capture may hold (`location_data` is not one: it adds location
// members to drive_state).
const std::set<std::string, std::less<>>& vehicle_data_sections();

// The VIN of synthesized car n (0 <= n < 100,000,000): "5YJ3SYNTH" + n in 8 digits. Valid as a
// VIN is checked (17 characters of 0-9 and A-Z without I, O and Q), plainly not a real car's.
std::string synthetic_vin(int n);

// Reads every *.json in dir. synthesize > 0 replaces them with that many cars made round-robin
// from the captures (VIN synthetic_vin(n), id 100000000000 + n). Throws std::runtime_error
// naming the file and what is wrong with it.
std::vector<CarRecord> load_captures(const std::filesystem::path& dir, int synthesize);

struct VehicleDataRequest {
  bool all_sections = true;  // no `endpoints` parameter: every section of the capture
  std::set<std::string, std::less<>> sections;
  bool location = false;  // location_data asked for AND the token has vehicle_location
};

// The `response` object of vehicle_data: top-level members, the requested sections, location
// members only when asked and allowed, every timestamp shifted so that the capture's newest
// section reads as now_ms.
boost::json::object render_vehicle_data(const CarRecord& car, const VehicleDataRequest& request,
                                        std::string_view state, int64_t now_ms);
// One element of GET /api/1/vehicles (and GET /api/1/vehicles/{id}).
boost::json::object render_vehicle_summary(const CarRecord& car, std::string_view state);

// "2023.38.6 c1f85ddb415f" -> {2023, 38, 6}; empty on anything else.
std::vector<int> parse_firmware(std::string_view version);

}  // namespace oemlink::mock_oem::tesla
