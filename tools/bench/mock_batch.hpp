// The batch the mock driver emits per poll (16 DIMO signals), for benchmarks that need one
// without loading the driver.
#pragma once

#include <oemlink/driver.hpp>

#include <vector>

namespace oemlink::bench {

inline std::vector<oemlink_reading> mock_batch(int64_t ts) {
  using oemlink::Reading;
  return {Reading::number("speed", ts, 54.2),
          Reading::number("powertrainTransmissionTravelledDistance", ts, 84216.7),
          Reading::location("currentLocationCoordinates", ts, 48.152006, 11.630382),
          Reading::number("currentLocationHeading", ts, 92.4),
          Reading::number("powertrainTractionBatteryStateOfChargeCurrent", ts, 71.3),
          Reading::number("powertrainRange", ts, 393.0),
          Reading::number("powertrainTractionBatteryChargingChargeLimit", ts, 90),
          Reading::number("powertrainTractionBatteryChargingIsCharging", ts, 0),
          Reading::number("powertrainTractionBatteryChargingIsChargingCableConnected", ts, 0),
          Reading::number("powertrainTractionBatteryChargingAddedEnergy", ts, 9.2),
          Reading::number("powertrainTractionBatteryCurrentPower", ts, -12500),
          Reading::number("exteriorAirTemperature", ts, 11.5),
          Reading::number("chassisAxleRow1WheelLeftTirePressure", ts, 241),
          Reading::number("chassisAxleRow1WheelRightTirePressure", ts, 243),
          Reading::number("chassisAxleRow2WheelLeftTirePressure", ts, 238),
          Reading::number("chassisAxleRow2WheelRightTirePressure", ts, 240)};
}

}  // namespace oemlink::bench
