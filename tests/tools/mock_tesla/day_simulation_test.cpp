// The simulated day the MQTT publisher streams: drives, parks, charges; values move the way a
// car's would; and the JSON text is written as Tesla writes it.
#include "tools/mock-oem/tesla/day_simulation.hpp"
#include "tools/mock-oem/tesla/json_text.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <cmath>

namespace oemlink::mock_oem::testing {
namespace {

namespace json = boost::json;
using tesla::CarRecord;
using tesla::DaySimulation;

CarRecord car() {
  CarRecord c;
  c.vin = "5YJ3SYNTH00000001";
  c.capture = std::make_shared<json::object>(json::parse(R"({
    "id": 1,
    "charge_state": {"battery_level": 60, "battery_range": 180.0, "charge_limit_soc": 80},
    "climate_state": {"outside_temp": 12.5},
    "drive_state": {"latitude": 47.0, "longitude": 8.0},
    "vehicle_state": {"odometer": 1000.0, "tpms_pressure_fl": 2.9}})")
                                                 .as_object());
  return c;
}

constexpr double kMidnight = 1'767'225'600;  // 2026-01-01T00:00:00Z

TEST(DaySimulation, ParkedAsleepAtNightDrivesAtHalfPastSevenAndChargesAtTen) {
  DaySimulation sim(car(), kMidnight + 3 * 3600, 0);
  EXPECT_FALSE(sim.awake());
  EXPECT_EQ(sim.fields().at("Gear").as_string(), "ShiftStateP");

  sim.advance_to(kMidnight + 7 * 3600 + 45 * 60);
  EXPECT_TRUE(sim.driving());
  EXPECT_TRUE(sim.awake());
  auto f = sim.fields();
  EXPECT_EQ(f.at("Gear").as_string(), "ShiftStateD");
  EXPECT_GT(f.at("VehicleSpeed").as_double(), 0);
  EXPECT_GT(f.at("Odometer").as_double(), 1000.0);
  EXPECT_LT(f.at("Soc").as_double(), 60.0);
  const auto& loc = f.at("Location").as_object();
  EXPECT_NE(loc.at("latitude").as_double() * 1e6, 47.0 * 1e6);

  // Parked after the drive: awake for 15 minutes, then asleep.
  sim.advance_to(kMidnight + 8 * 3600 + 10 * 60);
  EXPECT_FALSE(sim.driving());
  EXPECT_TRUE(sim.awake());
  sim.advance_to(kMidnight + 8 * 3600 + 20 * 60);
  EXPECT_FALSE(sim.awake());

  // After the evening drive it charges at 22:00, to the limit.
  sim.advance_to(kMidnight + 22 * 3600 + 600);
  EXPECT_TRUE(sim.charging());
  EXPECT_EQ(sim.fields().at("DetailedChargeState").as_string(), "DetailedChargeStateCharging");
  EXPECT_DOUBLE_EQ(sim.fields().at("ACChargingPower").as_double(), 11.0);
  sim.advance_to(kMidnight + 30 * 3600);
  EXPECT_FALSE(sim.charging());
  EXPECT_DOUBLE_EQ(sim.fields().at("Soc").as_double(), 80.0);
  EXPECT_EQ(sim.fields().at("DetailedChargeState").as_string(), "DetailedChargeStateComplete");
}

TEST(DaySimulation, OneDayDrivesAboutAnHour) {
  DaySimulation sim(car(), kMidnight, 0);
  const double odometer = sim.fields().at("Odometer").as_double();
  sim.advance_to(kMidnight + 86400);
  const double miles = sim.fields().at("Odometer").as_double() - odometer;
  // An hour at 15..55 mph.
  EXPECT_GT(miles, 20);
  EXPECT_LT(miles, 55);
}

TEST(JsonText, WritesNumbersAsTeslaDoes) {
  using tesla::to_json_text;
  EXPECT_EQ(to_json_text(json::parse(R"({"a":47.004162,"b":2.9,"c":22.0,"d":-0.0,"e":7,
                                        "f":"x\"y","g":[true,null]})")),
            R"({"a":47.004162,"b":2.9,"c":22,"d":0,"e":7,"f":"x\"y","g":[true,null]})");
}

}  // namespace
}  // namespace oemlink::mock_oem::testing
