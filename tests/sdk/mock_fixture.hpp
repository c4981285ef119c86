// Shared by the mock driver tests: the loaded mock descriptor and a one-car setup.
#ifndef OEMLINK_TESTS_SDK_MOCK_FIXTURE_HPP
#define OEMLINK_TESTS_SDK_MOCK_FIXTURE_HPP

#include "tests/sdk/driver_harness.hpp"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>

namespace oemlink::test {

inline const oemlink_driver* mock_descriptor() {
  static const oemlink_driver* d = [] {
    std::string error;
    void* lib = load_library(plugin_path("mock"), &error);
    if (!lib) ADD_FAILURE() << "cannot load the mock driver: " << error;
    return lib ? entry_descriptor(lib) : nullptr;
  }();
  return d;
}

inline constexpr std::array<std::string_view, 16> kMockSignals = {
    "speed",
    "powertrainTransmissionTravelledDistance",
    "currentLocationCoordinates",
    "currentLocationHeading",
    "powertrainTractionBatteryStateOfChargeCurrent",
    "powertrainRange",
    "powertrainTractionBatteryChargingChargeLimit",
    "powertrainTractionBatteryChargingIsCharging",
    "powertrainTractionBatteryChargingIsChargingCableConnected",
    "powertrainTractionBatteryChargingAddedEnergy",
    "powertrainTractionBatteryCurrentPower",
    "exteriorAirTemperature",
    "chassisAxleRow1WheelLeftTirePressure",
    "chassisAxleRow1WheelRightTirePressure",
    "chassisAxleRow2WheelLeftTirePressure",
    "chassisAxleRow2WheelRightTirePressure",
};

// A mock instance from `settings` with one open car, "car-1".
struct OneCar {
  explicit OneCar(std::string settings = "{}")
      : driver(std::make_unique<DriverUnderTest>(mock_descriptor(), std::move(settings))) {
    if (driver->created()) conn = driver->open("car-1");
  }
  FakeHost& host() { return driver->host; }
  Completion& poll() { return driver->poll(conn); }

  std::unique_ptr<DriverUnderTest> driver;
  oemlink_conn* conn = nullptr;
};

inline const RecordedReading* find_reading(const RecordedEmit& e, std::string_view name) {
  for (const RecordedReading& r : e.readings) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

}  // namespace oemlink::test

#endif  // OEMLINK_TESTS_SDK_MOCK_FIXTURE_HPP
