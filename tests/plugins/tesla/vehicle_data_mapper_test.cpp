// vehicle_data -> DIMO readings on each real capture, against numbers worked out by hand:
// miles x 1.609344 = km, bar x 100 = kPa, kW x -1000 = W into the battery, section timestamps.
#include "vehicle_data_mapper.hpp"
#include "tesla_test_support.hpp"
#include "vehicle_list.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace oemlink::tesla::test {
namespace {

double value_of(const VehicleDataResult& r, std::string_view name) {
  auto found = find_reading(r.readings, name);
  EXPECT_TRUE(found) << "no reading " << name;
  return found ? found->number : NAN;
}
int64_t time_of(const VehicleDataResult& r, std::string_view name) {
  auto found = find_reading(r.readings, name);
  return found ? found->timestamp_ms : -1;
}

TEST(TeslaVehicleData, GakCapture) {
  VehicleDataResult r = VehicleDataMapper(false).map(fixture("vehicle_data_gak_2023_11_11.json"));
  ASSERT_TRUE(r.parsed);
  EXPECT_EQ(r.vin, "XXX");
  EXPECT_TRUE(r.problems.empty()) << r.problems.front();
  // odometer 11643.048901 mi -> 18737.670890... km
  EXPECT_NEAR(value_of(r, "powertrainTransmissionTravelledDistance"), 18737.67089053, 1e-6);
  // battery_range 276.41 mi -> 444.83877504 km
  EXPECT_NEAR(value_of(r, "powertrainRange"), 444.83877504, 1e-6);
  EXPECT_EQ(value_of(r, "powertrainTractionBatteryStateOfChargeCurrent"), 80);
  EXPECT_EQ(value_of(r, "powertrainTractionBatteryChargingChargeLimit"), 80);
  EXPECT_NEAR(value_of(r, "powertrainTractionBatteryChargingAddedEnergy"), 0.13, 1e-12);
  EXPECT_EQ(value_of(r, "powertrainTractionBatteryChargingIsCharging"), 0);  // "Complete"
  EXPECT_EQ(value_of(r, "exteriorAirTemperature"), 21.5);
  // tyres 2.925 / 2.925 / 2.9 / 2.9 bar -> 292.5 / 292.5 / 290 / 290 kPa
  EXPECT_NEAR(value_of(r, "chassisAxleRow1WheelLeftTirePressure"), 292.5, 1e-9);
  EXPECT_NEAR(value_of(r, "chassisAxleRow1WheelRightTirePressure"), 292.5, 1e-9);
  EXPECT_NEAR(value_of(r, "chassisAxleRow2WheelLeftTirePressure"), 290.0, 1e-9);
  EXPECT_NEAR(value_of(r, "chassisAxleRow2WheelRightTirePressure"), 290.0, 1e-9);
  // power 0 kW -> 0 W, never -0 (0 x -1000 is -0 in IEEE arithmetic)
  const double power = value_of(r, "powertrainTractionBatteryCurrentPower");
  EXPECT_EQ(power, 0);
  EXPECT_FALSE(std::signbit(power));
  // speed is null while parked: skipped, not 0
  EXPECT_FALSE(find_reading(r.readings, "speed"));
  EXPECT_EQ(time_of(r, "powertrainTransmissionTravelledDistance"), 1699653893260);
  EXPECT_EQ(time_of(r, "powertrainRange"), 1699653893260);
  EXPECT_EQ(r.readings.size(), 12u);
}

TEST(TeslaVehicleData, BitcoinLightningCapture) {
  const std::string body = fixture("vehicle_data_BitcoinLightning_2023_10_09.json");
  VehicleDataResult r = VehicleDataMapper(false).map(body);
  ASSERT_TRUE(r.parsed);
  EXPECT_EQ(r.vin, "5YJSA2DN0DFP21224");
  // odometer 169816.533912 mi -> 273293.219952... km
  EXPECT_NEAR(value_of(r, "powertrainTransmissionTravelledDistance"), 273293.21995207, 1e-6);
  // battery_range 152.22 mi -> 244.97434368 km
  EXPECT_NEAR(value_of(r, "powertrainRange"), 244.97434368, 1e-6);
  EXPECT_EQ(value_of(r, "powertrainTractionBatteryStateOfChargeCurrent"), 52);
  EXPECT_NEAR(value_of(r, "powertrainTractionBatteryChargingAddedEnergy"), 7.62, 1e-12);
  EXPECT_EQ(value_of(r, "powertrainTractionBatteryChargingIsCharging"), 0);  // "Disconnected"
  // outside_temp and the tyres are null in this capture: skipped
  EXPECT_FALSE(find_reading(r.readings, "exteriorAirTemperature"));
  EXPECT_FALSE(find_reading(r.readings, "chassisAxleRow1WheelLeftTirePressure"));
  // the capture carries a position, but location was not enabled: nothing about it goes out
  EXPECT_FALSE(find_reading(r.readings, "currentLocationCoordinates"));
  EXPECT_FALSE(find_reading(r.readings, "currentLocationHeading"));
  // charge_state and vehicle_state have their own timestamps, one ms apart
  EXPECT_EQ(time_of(r, "powertrainRange"), 1696881258123);
  EXPECT_EQ(time_of(r, "powertrainTransmissionTravelledDistance"), 1696881258122);

  VehicleDataResult located = VehicleDataMapper(true).map(body);
  auto loc = find_reading(located.readings, "currentLocationCoordinates");
  ASSERT_TRUE(loc);
  EXPECT_EQ(loc->kind, OEMLINK_VALUE_LOCATION);
  EXPECT_DOUBLE_EQ(loc->latitude, 47.351109);
  EXPECT_DOUBLE_EQ(loc->longitude, 8.476027);
  EXPECT_EQ(loc->timestamp_ms, 1696881258123);
  EXPECT_EQ(value_of(located, "currentLocationHeading"), 125);
}

TEST(TeslaVehicleData, HtlcCapture) {
  VehicleDataResult r = VehicleDataMapper(false).map(fixture("vehicle_data_HTLC_2023_09_19.json"));
  ASSERT_TRUE(r.parsed);
  EXPECT_EQ(r.vin, "5YJSA7H4XFF088491");
  // odometer 104374.713449 mi -> 167974.818840... km
  EXPECT_NEAR(value_of(r, "powertrainTransmissionTravelledDistance"), 167974.81884087, 1e-6);
  // battery_range 218.21 mi -> 351.17495424 km
  EXPECT_NEAR(value_of(r, "powertrainRange"), 351.17495424, 1e-6);
  EXPECT_EQ(value_of(r, "powertrainTractionBatteryStateOfChargeCurrent"), 80);
  EXPECT_NEAR(value_of(r, "powertrainTractionBatteryChargingAddedEnergy"), 15.59, 1e-12);
  EXPECT_EQ(value_of(r, "exteriorAirTemperature"), 19.5);
  EXPECT_EQ(value_of(r, "powertrainTractionBatteryCurrentPower"), 0);
  EXPECT_EQ(time_of(r, "exteriorAirTemperature"), 1695129645306);
}

// The fourth capture is the account's product list (a car and a Powerwall): the vehicle list
// parser keeps the car and skips the energy site.
TEST(TeslaVehicleData, ProductsCaptureListsTheCarOnly) {
  auto list = parse_vehicle_list(fixture("products_gak_2024_04_12.json"));
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, "123");
  EXPECT_EQ((*list)[0].vin, "LRW");
  EXPECT_EQ((*list)[0].state, "online");
  EXPECT_TRUE(find_vehicle(*list, "123", ""));
  EXPECT_TRUE(find_vehicle(*list, "", "LRW"));
  EXPECT_FALSE(find_vehicle(*list, "124", "LRW"));  // the id decides when given
}

TEST(TeslaVehicleData, ChargingPowerIsPositiveIntoTheBattery) {
  // Tesla's drive_state.power is negative while charging: -7 kW is 7000 W into the battery.
  const std::string body =
      R"({"response":{"vin":"V","drive_state":{"power":-7,"speed":30,"timestamp":5},
          "charge_state":{"charging_state":"Charging","timestamp":6}}})";
  VehicleDataResult r = VehicleDataMapper(false).map(body);
  EXPECT_EQ(value_of(r, "powertrainTractionBatteryCurrentPower"), 7000);
  EXPECT_NEAR(value_of(r, "speed"), 48.28032, 1e-9);  // 30 mph
  EXPECT_EQ(value_of(r, "powertrainTractionBatteryChargingIsCharging"), 1);
  EXPECT_EQ(time_of(r, "speed"), 5);
  EXPECT_EQ(time_of(r, "powertrainTractionBatteryChargingIsCharging"), 6);
}

TEST(TeslaVehicleData, WrongTypesAreNamedAndSkipped) {
  const std::string body =
      R"({"response":{"vehicle_state":{"odometer":"12","timestamp":7},
          "charge_state":{"battery_level":50},"climate_state":[1]}})";
  VehicleDataResult r = VehicleDataMapper(false).map(body);
  ASSERT_TRUE(r.parsed);
  EXPECT_TRUE(r.readings.empty());
  ASSERT_EQ(r.problems.size(), 3u);
  EXPECT_EQ(r.problems[0], "charge_state has no valid timestamp; its values are skipped");
  EXPECT_EQ(r.problems[1], "climate_state is not an object");
  EXPECT_EQ(r.problems[2], "vehicle_state.odometer is not a number");
  EXPECT_FALSE(VehicleDataMapper(false).map("{\"response\":null}").parsed);
  EXPECT_FALSE(VehicleDataMapper(false).map("not json").parsed);
}

TEST(TeslaVehicleData, ValuesOverflowingTheirUnitAreProblems) {
  const std::string body =
      R"({"response":{"drive_state":{"power":1e308,"speed":1.7e308,"timestamp":5}}})";
  VehicleDataResult r = VehicleDataMapper(false).map(body);
  ASSERT_TRUE(r.parsed);
  EXPECT_TRUE(r.readings.empty());
  EXPECT_EQ(r.problems.size(), 2u);
}

}  // namespace
}  // namespace oemlink::tesla::test
