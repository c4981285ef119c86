#include "unit_conversion.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace oemlink::smartcar {
namespace {

TEST(SmartcarUnits, DistanceByLabel) {
  EXPECT_DOUBLE_EQ(*convert(Quantity::distance_km, "km", 123.4), 123.4);
  EXPECT_DOUBLE_EQ(*convert(Quantity::distance_km, "kilometers", 123.4), 123.4);
  EXPECT_DOUBLE_EQ(*convert(Quantity::distance_km, "Kilometres", 10), 10);
  EXPECT_DOUBLE_EQ(*convert(Quantity::distance_km, "miles", 100), 160.9344);
  EXPECT_DOUBLE_EQ(*convert(Quantity::distance_km, "mi", 1), 1.609344);
  EXPECT_DOUBLE_EQ(*convert(Quantity::distance_km, "meters", 1500), 1.5);
  EXPECT_DOUBLE_EQ(*convert(Quantity::distance_km, "", 42), 42);  // v3 documents km
  EXPECT_FALSE(convert(Quantity::distance_km, "furlongs", 1));
  EXPECT_FALSE(convert(Quantity::distance_km, "km", -5));
}

TEST(SmartcarUnits, SpeedTemperaturePowerEnergyVolume) {
  EXPECT_DOUBLE_EQ(*convert(Quantity::speed_kmh, "mph", 60), 96.56064);
  EXPECT_DOUBLE_EQ(*convert(Quantity::speed_kmh, "kph", 50), 50);
  EXPECT_DOUBLE_EQ(*convert(Quantity::speed_kmh, "m/s", 10), 36);
  EXPECT_NEAR(*convert(Quantity::temperature_c, "fahrenheit", 212), 100, 1e-9);
  EXPECT_NEAR(*convert(Quantity::temperature_c, "°F", 32), 0, 1e-9);
  EXPECT_DOUBLE_EQ(*convert(Quantity::temperature_c, "celsius", -7.5), -7.5);
  EXPECT_DOUBLE_EQ(*convert(Quantity::power_kw, "watts", 7400), 7.4);
  EXPECT_DOUBLE_EQ(*convert(Quantity::power_kw, "W", 11000), 11);
  EXPECT_DOUBLE_EQ(*convert(Quantity::power_kw, "kW", 50), 50);
  EXPECT_DOUBLE_EQ(*convert(Quantity::energy_kwh, "kWh", 12.5), 12.5);
  EXPECT_DOUBLE_EQ(*convert(Quantity::energy_kwh, "Wh", 2500), 2.5);
  EXPECT_DOUBLE_EQ(*convert(Quantity::volume_l, "gallons", 10), 37.85411784);
  EXPECT_DOUBLE_EQ(*convert(Quantity::volume_l, "liters", 40), 40);
}

TEST(SmartcarUnits, PercentIsZeroToHundredAndFractionsScale) {
  EXPECT_DOUBLE_EQ(*convert(Quantity::percent, "percent", 57), 57);
  EXPECT_DOUBLE_EQ(*convert(Quantity::percent, "%", 0.5), 0.5);  // v3: 0.5 % is 0.5 %
  EXPECT_DOUBLE_EQ(*convert(Quantity::percent, "fraction", 0.57), 57);
  EXPECT_FALSE(convert(Quantity::percent, "percent", 101));
  EXPECT_FALSE(convert(Quantity::percent, "percent", -1));
}

TEST(SmartcarUnits, NeverNegativeZeroNorNonFinite) {
  auto z = convert(Quantity::temperature_c, "celsius", -0.0);
  ASSERT_TRUE(z);
  EXPECT_FALSE(std::signbit(*z));
  auto p = convert(Quantity::power_kw, "W", -0.0);
  ASSERT_TRUE(p);
  EXPECT_FALSE(std::signbit(*p));
  EXPECT_FALSE(convert(Quantity::distance_km, "km", std::numeric_limits<double>::infinity()));
  EXPECT_FALSE(convert(Quantity::distance_km, "km", std::nan("")));
}

// The documented rule: magnitude decides between bar and kPa whatever the label says.
TEST(SmartcarUnits, TyrePressureMagnitudeRule) {
  EXPECT_DOUBLE_EQ(*tire_pressure_kpa("bar", 258), 258);   // the Jaguar I-PACE delivery
  EXPECT_DOUBLE_EQ(*tire_pressure_kpa("bar", 2.58), 258);  // real bar
  EXPECT_DOUBLE_EQ(*tire_pressure_kpa("kPa", 240), 240);
  EXPECT_DOUBLE_EQ(*tire_pressure_kpa("kPa", 2.4), 240);  // bar labelled kPa
  EXPECT_DOUBLE_EQ(*tire_pressure_kpa("", 230), 230);
  EXPECT_NEAR(*tire_pressure_kpa("psi", 36), 248.211262554, 1e-6);
  EXPECT_DOUBLE_EQ(*tire_pressure_kpa("bar", 0), 0);  // flat / no sensor value
  EXPECT_FALSE(tire_pressure_kpa("bar", 35));         // neither bar nor kPa
  EXPECT_FALSE(tire_pressure_kpa("kPa", 20.5));
  EXPECT_FALSE(tire_pressure_kpa("psi", 500));
  EXPECT_FALSE(tire_pressure_kpa("atm", 2.4));
  EXPECT_FALSE(tire_pressure_kpa("bar", -1));
  EXPECT_FALSE(tire_pressure_kpa("bar", 5000));
}

}  // namespace
}  // namespace oemlink::smartcar
