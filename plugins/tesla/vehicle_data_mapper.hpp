// VehicleDataMapper: a Fleet API vehicle_data response -> DIMO readings, following DIMO's own
// tesla_definitions.yaml and dimo-wire.md section 4. Each reading carries its section's
// `timestamp` (Unix ms). Nulls are skipped (a parked car's speed is null); a value of the wrong
// type is skipped and named in `problems`, never guessed.
#ifndef OEMLINK_TESLA_VEHICLE_DATA_MAPPER_HPP
#define OEMLINK_TESLA_VEHICLE_DATA_MAPPER_HPP

#include "signal_reading.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace oemlink::tesla {

struct VehicleDataResult {
  bool parsed = false;  // false: the body is not a vehicle_data envelope (see `problems`)
  std::string vin;      // response.vin, empty when absent
  std::string state;    // response.state ("online", ...)
  std::vector<SignalReading> readings;
  std::vector<std::string> problems;  // one line per skipped value or section
};

class VehicleDataMapper {
 public:
  // `with_location`: the operator enabled location and the token has vehicle_location; without
  // it, coordinates and heading are dropped even if the response carries them.
  explicit VehicleDataMapper(bool with_location) : with_location_(with_location) {}
  VehicleDataResult map(std::string_view body) const;

 private:
  bool with_location_;
};

}  // namespace oemlink::tesla

#endif
