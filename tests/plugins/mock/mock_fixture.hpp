// Shared by the mock driver tests: the loaded mock descriptor and a one-car setup, on the SDK's
// test kit.
#ifndef OEMLINK_TESTS_PLUGINS_MOCK_MOCK_FIXTURE_HPP
#define OEMLINK_TESTS_PLUGINS_MOCK_MOCK_FIXTURE_HPP

#include <oemlink/testkit/driver_harness.hpp>

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>

namespace oemlink::test {

using namespace ::oemlink::testkit;

inline std::string plugin_path(std::string_view driver_name) {
  return std::string(OEMLINK_PLUGIN_DIR) + "/oemlink-driver-" + std::string(driver_name) + ".so";
}

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
    if (driver->created()) {
      conn = driver->open("car-1");
      if (!conn) ADD_FAILURE() << "open failed: " << driver->open_error();
    }
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

#endif  // OEMLINK_TESTS_PLUGINS_MOCK_MOCK_FIXTURE_HPP
