// The mock's cars and their signals: loaded from a vehicles file (format in ../README.md) or the
// built-in defaults (examples/vehicles.json, compiled in), rendered as v3 signal resources and
// as the legacy v2 endpoints. Values move slowly with time, changing once per vehicle update
// period as a real OEM cloud does. Not thread-safe: the service serialises calls.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::mock_oem::smartcar {

enum class TimeFormat { seconds, milliseconds, iso };

struct SignalSpec {
  std::string code, name, group;
  std::optional<boost::json::object> body;
  std::string status = "SUCCESS";  // SUCCESS | ERROR | UNAVAILABLE
  std::optional<boost::json::object> error;
  double drift_per_hour = 0;
  std::optional<double> min, max;
  int age_s = 60;  // how long before each update tick the OEM recorded the value
  // Set through the control API: the value as of then, no drift.
  std::optional<std::chrono::system_clock::time_point> set_at;
};

// The Smartcar user of a vehicle whose file entry names none: every built-in car is this
// owner's, so one consent page shows them all.
inline constexpr std::string_view kDefaultUser = "9a7c1e52-3b6f-4d0e-8c21-5f4a2d9b7e10";

struct VehicleSpec {
  std::string id, make, model;
  std::string user = std::string(kDefaultUser);  // the owner's Smartcar user id (Connect)
  int year = 0;
  std::string powertrain_type, mode = "live";
  std::vector<std::string> refresh_tokens;  // seeded as accepted refresh tokens for this car
  int update_period_s = 300;
  int64_t monthly_quota = -1;  // reads before 430 BILLING; < 0: unlimited
  std::vector<SignalSpec> signals;
};

class Fleet {
 public:
  // Throws std::runtime_error naming the file, the vehicle and the key at fault.
  static Fleet load_file(const std::string& path);
  static Fleet load_text(std::string_view json_text, const std::string& origin);
  static Fleet defaults();

  struct Clocks {
    std::chrono::system_clock::time_point start;
    bool frozen = false;  // --static-values: no drift, every read as of the start
    TimeFormat time_format = TimeFormat::seconds;
  };
  void set_clocks(Clocks clocks) { clocks_ = clocks; }

  std::vector<VehicleSpec>& vehicles() { return vehicles_; }
  VehicleSpec* find(std::string_view id);

  // The v3 resource {"id","type":"signal","attributes":{...},"meta":{...}}.
  boost::json::object render_signal(const VehicleSpec& vehicle, const SignalSpec& signal,
                                    std::chrono::system_clock::time_point now) const;
  // The v3 vehicle resource {"id","type":"vehicle","attributes":{make,model,year,...}}.
  boost::json::object render_vehicle(const VehicleSpec& vehicle, std::string_view self) const;

  // A legacy v2 endpoint's body ("/odometer", "/battery", ...) in metric or imperial units;
  // nullopt with `status` set (404 unknown path, 501 not capable) when it cannot be served.
  // `data_age` is when the OEM recorded the oldest value used.
  std::optional<boost::json::object> render_v2(
      const VehicleSpec& vehicle, std::string_view path, bool imperial,
      std::chrono::system_clock::time_point now, unsigned& status,
      std::chrono::system_clock::time_point& data_age) const;

  // The control API's PUT /mock/vehicles/{id}/signals/{code}: same keys as the file.
  void patch_signal(VehicleSpec& vehicle, std::string_view code, const boost::json::object& patch,
                    std::chrono::system_clock::time_point now);

  boost::json::value format_time(std::chrono::system_clock::time_point t) const;

 private:
  std::chrono::system_clock::time_point tick(const VehicleSpec& v,
                                             std::chrono::system_clock::time_point now) const;
  std::vector<VehicleSpec> vehicles_;
  Clocks clocks_{std::chrono::system_clock::now(), false, TimeFormat::seconds};
};

std::string iso8601_ms(std::chrono::system_clock::time_point t);

}  // namespace oemlink::mock_oem::smartcar
