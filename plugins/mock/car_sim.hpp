// A simulated electric car: a small state that advances through driving, parked and charging
// phases, and turns into DIMO readings. Knows nothing of the host or the ABI beyond
// oemlink_reading.
#ifndef OEMLINK_MOCK_CAR_SIM_HPP
#define OEMLINK_MOCK_CAR_SIM_HPP

#include <oemlink/driver.h>
#include <oemlink/signals.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace oemlink::mock {

enum SignalId : uint8_t {
  kSpeed,
  kTravelledDistance,
  kLocation,
  kHeading,
  kStateOfCharge,
  kRange,
  kChargeLimit,
  kIsCharging,
  kCableConnected,
  kAddedEnergy,
  kBatteryPower,
  kExteriorTemperature,
  kTyreFrontLeft,
  kTyreFrontRight,
  kTyreRearLeft,
  kTyreRearRight,
  kSignalCount
};

// The DIMO names, from the SDK's generated catalogue: a typo would not compile.
inline constexpr std::array<std::string_view, kSignalCount> kSignalNames = {
    signals::speed.name,
    signals::powertrainTransmissionTravelledDistance.name,
    signals::currentLocationCoordinates.name,
    signals::currentLocationHeading.name,
    signals::powertrainTractionBatteryStateOfChargeCurrent.name,
    signals::powertrainRange.name,
    signals::powertrainTractionBatteryChargingChargeLimit.name,
    signals::powertrainTractionBatteryChargingIsCharging.name,
    signals::powertrainTractionBatteryChargingIsChargingCableConnected.name,
    signals::powertrainTractionBatteryChargingAddedEnergy.name,
    signals::powertrainTractionBatteryCurrentPower.name,
    signals::exteriorAirTemperature.name,
    signals::chassisAxleRow1WheelLeftTirePressure.name,
    signals::chassisAxleRow1WheelRightTirePressure.name,
    signals::chassisAxleRow2WheelLeftTirePressure.name,
    signals::chassisAxleRow2WheelRightTirePressure.name,
};

std::optional<SignalId> signal_by_name(std::string_view name);

// Where every simulated car lives (Munich).
inline constexpr double kCityLatitude = 48.1374;
inline constexpr double kCityLongitude = 11.5755;

enum class Phase : uint8_t { kParked, kDriving, kChargingAc, kChargingDc };

// Everything that changes over time. Kept small: there is one per connection. Floats where
// their ~7 digits are plenty; the odometer and position accumulate, so they are doubles.
struct CarState {
  int64_t t_ms = 0;  // the simulation's clock; 0 = not started yet
  int64_t phase_end_ms = 0;
  double latitude = 0;
  double longitude = 0;
  double odometer_km = 0;
  float soc_percent = 0;
  float heading_deg = 0;
  float speed_kmh = 0;
  float added_energy_kwh = 0;
  float battery_power_w = 0;
  uint32_t phase_index = 0;
  Phase phase = Phase::kParked;
  bool charging = false;
  bool cable_connected = false;
};

// Brings the car to `now_ms` (starting it there on first use). Time that does not move
// forward changes nothing, so a clock that steps back never rewinds the odometer.
void advance(CarState& car, uint64_t car_seed, int64_t now_ms);

// Writes the car's readings, timestamped with its clock, for the signals in `signal_mask`
// (bit i = SignalId i) into `out`; returns how many.
size_t fill_readings(const CarState& car, uint64_t car_seed, uint32_t signal_mask,
                     oemlink_reading (&out)[kSignalCount]);

}  // namespace oemlink::mock

#endif  // OEMLINK_MOCK_CAR_SIM_HPP
