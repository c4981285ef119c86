// A car's simulated day, for the Fleet Telemetry publisher: parked most of the day, two
// half-hour drives (07:30 and 17:30 local), a charge from 22:00 until the charge limit. Starts
// from a capture's values (position, odometer, battery, charge limit, temperatures, tyres) and
// advances in steps of simulated seconds. The car is awake while it drives or charges and for 15
// minutes after; asleep otherwise.
#pragma once

#include "tools/mock-oem/tesla/capture_store.hpp"

#include <boost/json/value.hpp>

#include <map>
#include <string>

namespace oemlink::mock_oem::tesla {

class DaySimulation {
 public:
  // `offset_s` shifts this car's schedule so that a fleet does not move in lockstep.
  DaySimulation(const CarRecord& car, double start_unix_s, double offset_s);

  // Moves the car from the current simulated time to `unix_s` (UTC seconds).
  void advance_to(double unix_s);
  bool awake() const;
  double now() const { return t_; }
  bool driving() const { return driving_; }
  bool charging() const { return charging_; }
  // Fleet Telemetry field name -> value as the MQTT dispatcher writes it (numbers bare, enums
  // by name, Location {"latitude","longitude"}, DoorState an object of bools).
  std::map<std::string, boost::json::value> fields() const;

 private:
  void step(double dt_s);

  double t_ = 0;  // simulated Unix seconds
  double offset_s_ = 0;
  double latitude_ = 0, longitude_ = 0, heading_deg_ = 0, home_heading_deg_ = 0;
  double odometer_mi_ = 0;
  double soc_ = 0;  // percent
  int charge_limit_ = 80;
  double range_per_percent_mi_ = 3.1;
  double outside_temp_base_ = 15;
  double tpms_[4] = {2.9, 2.9, 2.9, 2.9};
  double speed_mph_ = 0;
  bool driving_ = false, charging_ = false, plugged_ = false;
  double last_active_t_ = -1e18;
};

}  // namespace oemlink::mock_oem::tesla
