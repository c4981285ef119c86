// What the simulated cars emit: DIMO names, plausible values, determinism.
#include "tests/plugins/mock/mock_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

namespace oemlink::test {
namespace {

constexpr int64_t kMinute = 60'000;

// Polls `car` every `step_ms` `count` times and returns the batches.
std::vector<RecordedEmit> poll_series(std::string settings, std::string_view car_id, int count,
                                      int64_t step_ms = kMinute) {
  DriverUnderTest d(mock_descriptor(), std::move(settings));
  EXPECT_TRUE(d.created()) << d.create_error();
  oemlink_conn* conn = d.open(car_id);
  for (int i = 0; i < count; ++i) {
    Completion& done = d.poll(conn);
    EXPECT_EQ(done.calls, 1);
    EXPECT_EQ(done.status, OEMLINK_OK) << done.message;
    d.host.now_ms += step_ms;
  }
  return d.host.emits;
}

TEST(MockReadings, OnePollIsOneEmitOfEverySignalAtTheHostsNow) {
  OneCar car;
  const int64_t now = car.host().now_ms;
  Completion& done = car.poll();
  EXPECT_EQ(done.calls, 1);
  EXPECT_EQ(done.status, OEMLINK_OK);
  ASSERT_EQ(car.host().emits.size(), 1u);
  const RecordedEmit& e = car.host().emits[0];
  EXPECT_EQ(e.conn, car.conn);
  std::set<std::string> names;
  for (const RecordedReading& r : e.readings) {
    names.insert(r.name);
    EXPECT_EQ(r.timestamp_ms, now) << r.name;
    EXPECT_EQ(r.kind, r.name == "currentLocationCoordinates" ? OEMLINK_VALUE_LOCATION
                                                             : OEMLINK_VALUE_NUMBER)
        << r.name;
  }
  EXPECT_EQ(names.size(), e.readings.size()) << "a signal appears twice";
  EXPECT_EQ(names, std::set<std::string>(kMockSignals.begin(), kMockSignals.end()));
}

TEST(MockReadings, SameSeedAndPollTimesReplayTheSameCar) {
  auto a = poll_series(R"({"seed": 7})", "car-1", 50);
  auto b = poll_series(R"({"seed": 7})", "car-1", 50);
  ASSERT_EQ(a.size(), 50u);
  ASSERT_EQ(b.size(), 50u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].readings, b[i].readings) << "poll " << i;
}

TEST(MockReadings, AnotherSeedOrCarIsAnotherCar) {
  auto base = poll_series(R"({"seed": 7})", "car-1", 3);
  auto other_seed = poll_series(R"({"seed": 8})", "car-1", 3);
  auto other_car = poll_series(R"({"seed": 7})", "car-2", 3);
  auto location = [](const RecordedEmit& e) {
    const RecordedReading* r = find_reading(e, "currentLocationCoordinates");
    return std::pair(r->latitude, r->longitude);
  };
  EXPECT_NE(location(base[0]), location(other_seed[0]));
  EXPECT_NE(location(base[0]), location(other_car[0]));
  EXPECT_NE(base[2].readings, other_seed[2].readings);
}

TEST(MockReadings, SignalsSettingRestrictsTheBatch) {
  OneCar car(R"({"signals": ["speed", "currentLocationCoordinates"]})");
  car.poll();
  ASSERT_EQ(car.host().emits.size(), 1u);
  const RecordedEmit& e = car.host().emits[0];
  ASSERT_EQ(e.readings.size(), 2u);
  EXPECT_NE(find_reading(e, "speed"), nullptr);
  const RecordedReading* loc = find_reading(e, "currentLocationCoordinates");
  ASSERT_NE(loc, nullptr);
  EXPECT_EQ(loc->kind, OEMLINK_VALUE_LOCATION);
}

// A day and a half of minute polls for a few cars: every value stays in its unit's plausible
// range, and the cars do drive and charge.
TEST(MockReadings, ValuesArePlausibleOverADayAndAHalf) {
  constexpr int kPolls = 36 * 60;
  bool someone_drove = false, someone_charged = false;
  for (const char* car_id : {"car-1", "car-2", "car-3", "car-4"}) {
    SCOPED_TRACE(car_id);
    auto emits = poll_series(R"({"seed": 3})", car_id, kPolls);
    ASSERT_EQ(emits.size(), static_cast<size_t>(kPolls));
    double last_odometer = -1;
    double last_soc = -1, last_speed = 0;
    bool last_charging = false;
    double range_per_soc = -1;
    for (const RecordedEmit& e : emits) {
      auto value = [&](std::string_view name) {
        const RecordedReading* r = find_reading(e, name);
        EXPECT_NE(r, nullptr) << name;
        return r ? r->number : NAN;
      };
      const double speed = value("speed");
      EXPECT_GE(speed, 0);
      EXPECT_LE(speed, 130);
      const double odometer = value("powertrainTransmissionTravelledDistance");
      if (last_odometer >= 0) {
        EXPECT_GE(odometer, last_odometer);
        EXPECT_LE(odometer - last_odometer, 130.0 / 60 + 0.002) << "faster than 130 km/h";
      }
      last_odometer = odometer;

      const RecordedReading* loc = find_reading(e, "currentLocationCoordinates");
      ASSERT_NE(loc, nullptr);
      EXPECT_NEAR(loc->latitude, 48.1374, 0.5);
      EXPECT_NEAR(loc->longitude, 11.5755, 0.75);
      const double heading = value("currentLocationHeading");
      EXPECT_GE(heading, 0);
      EXPECT_LT(heading, 360);

      const double soc = value("powertrainTractionBatteryStateOfChargeCurrent");
      EXPECT_GE(soc, 0);
      EXPECT_LE(soc, 100);
      const double range = value("powertrainRange");
      EXPECT_GE(range, 0);
      if (soc > 20) {
        // Range is the car's full range scaled by charge: the ratio is the car's constant
        // (up to the 0.1 resolution of both values).
        if (range_per_soc < 0) range_per_soc = range / soc;
        EXPECT_NEAR(range, soc * range_per_soc, 0.5);
      }
      const double limit = value("powertrainTractionBatteryChargingChargeLimit");
      EXPECT_TRUE(limit == 80 || limit == 90 || limit == 100) << limit;

      const double charging = value("powertrainTractionBatteryChargingIsCharging");
      const double cable = value("powertrainTractionBatteryChargingIsChargingCableConnected");
      EXPECT_TRUE(charging == 0 || charging == 1);
      EXPECT_TRUE(cable == 0 || cable == 1);
      if (charging == 1) {
        EXPECT_EQ(cable, 1);
      }
      EXPECT_GE(value("powertrainTractionBatteryChargingAddedEnergy"), 0);
      const double power = value("powertrainTractionBatteryCurrentPower");
      if (charging == 1) {
        EXPECT_GT(power, 0) << "charging is power into the battery";
      }
      if (speed > 0) {
        EXPECT_LT(power, 0) << "driving draws from the battery";
      }
      EXPECT_FALSE(power == 0 && std::signbit(power)) << "-0 W";

      if (last_soc >= 0 && speed > 0 && last_speed > 0) {
        EXPECT_LE(soc, last_soc + 1e-6);
      }
      if (last_soc >= 0 && charging == 1 && last_charging) {
        EXPECT_GE(soc, last_soc - 1e-6);
      }
      last_soc = soc;
      last_speed = speed;
      last_charging = charging == 1;

      const double temperature = value("exteriorAirTemperature");
      EXPECT_GT(temperature, -30);
      EXPECT_LT(temperature, 45);
      for (std::string_view tyre :
           {"chassisAxleRow1WheelLeftTirePressure", "chassisAxleRow1WheelRightTirePressure",
            "chassisAxleRow2WheelLeftTirePressure", "chassisAxleRow2WheelRightTirePressure"}) {
        const double kpa = value(tyre);
        EXPECT_GE(kpa, 220);
        EXPECT_LE(kpa, 260);
      }
      someone_drove |= speed > 0;
      someone_charged |= charging == 1;
      if (::testing::Test::HasFailure()) return;  // one broken batch says enough
    }
  }
  EXPECT_TRUE(someone_drove);
  EXPECT_TRUE(someone_charged);
}

TEST(MockReadings, OdometerMatchesSpeedOverTime) {
  // Ten-second polls sample the simulation's own step, so distance is speed x time, except
  // in the steps where a drive starts or ends.
  auto emits = poll_series(R"({"seed": 11})", "car-9", 6 * 60 * 12, 10'000);
  double predicted = 0, actual = 0;
  for (size_t i = 1; i < emits.size(); ++i) {
    const double speed = find_reading(emits[i], "speed")->number;
    predicted += speed * 10.0 / 3600;
    actual += find_reading(emits[i], "powertrainTransmissionTravelledDistance")->number -
              find_reading(emits[i - 1], "powertrainTransmissionTravelledDistance")->number;
  }
  EXPECT_GT(actual, 10) << "the car should drive in twelve hours";
  EXPECT_NEAR(actual, predicted, 1 + 0.02 * actual);
}

}  // namespace
}  // namespace oemlink::test
