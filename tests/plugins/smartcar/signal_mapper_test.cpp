#include "signal_mapper.hpp"

#include "signal_timestamp.hpp"
#include "smartcar_fixture.hpp"
#include "v2_responses.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace oemlink::smartcar {
namespace {

constexpr int64_t kNow = 1'800'000'000'000;

std::map<std::string, oemlink_reading> by_name(const std::vector<oemlink_reading>& rs) {
  std::map<std::string, oemlink_reading> out;
  for (const auto& r : rs) out[std::string(r.name.data, r.name.size)] = r;
  return out;
}

TEST(SmartcarMapper, RealisticV3PageMapsByUnit) {
  boost::json::value page = boost::json::parse(test::realistic_page());
  std::vector<oemlink_reading> out;
  MapStats st;
  for (const auto& item : page.at("data").as_array()) map_signal(item, kNow, out, st);
  auto r = by_name(out);
  // ISO 8601 meta.oemUpdatedAt of the real v3 page
  const int64_t t = *parse_iso8601_ms("2026-06-29T23:55:53.000Z");
  EXPECT_EQ(r.at("powertrainTransmissionTravelledDistance").timestamp_ms, t);
  EXPECT_DOUBLE_EQ(r.at("powertrainTransmissionTravelledDistance").number, 52891);
  EXPECT_DOUBLE_EQ(r.at("powertrainRange").number, 253);  // "kilometers"
  EXPECT_DOUBLE_EQ(r.at("powertrainTractionBatteryStateOfChargeCurrent").number, 57);
  EXPECT_DOUBLE_EQ(r.at("powertrainTractionBatteryChargingChargeLimit").number, 80);
  EXPECT_DOUBLE_EQ(r.at("powertrainTractionBatteryChargingIsCharging").number, 0);
  EXPECT_DOUBLE_EQ(r.at("powertrainTractionBatteryChargingIsChargingCableConnected").number, 1);
  EXPECT_DOUBLE_EQ(r.at("powertrainTractionBatteryChargingPower").number, 7.4);  // watts -> kW
  EXPECT_EQ(r.at("currentLocationCoordinates").kind, OEMLINK_VALUE_LOCATION);
  EXPECT_DOUBLE_EQ(r.at("currentLocationCoordinates").latitude, 48.1374);
  EXPECT_DOUBLE_EQ(r.at("currentLocationCoordinates").longitude, 11.5755);
  EXPECT_DOUBLE_EQ(r.at("currentLocationHeading").number, 271.5);
  EXPECT_FALSE(std::signbit(r.at("exteriorAirTemperature").number));  // -0.0 arrives as 0
  // tyres: front "bar" 258/262 are kPa, rear "bar" 2.5/2.55 are bar
  EXPECT_DOUBLE_EQ(r.at("chassisAxleRow1WheelLeftTirePressure").number, 258);
  EXPECT_DOUBLE_EQ(r.at("chassisAxleRow1WheelRightTirePressure").number, 262);
  EXPECT_DOUBLE_EQ(r.at("chassisAxleRow2WheelLeftTirePressure").number, 250);
  EXPECT_DOUBLE_EQ(r.at("chassisAxleRow2WheelRightTirePressure").number, 255);
  EXPECT_EQ(st.skipped_status, 2u);  // chargerate ERROR, isonline UNAVAILABLE
  EXPECT_EQ(st.unmapped, 2u);        // closure-doors, VIN
  EXPECT_EQ(st.rejected, 0u) << st.first_rejection;
  EXPECT_EQ(st.readings, out.size());
  EXPECT_EQ(out.size(), 14u);
}

TEST(SmartcarMapper, WebhookSignalsAndMilesAndTimestampsInSecondsOrMs) {
  boost::json::value sigs = boost::json::parse(
      R"([{"code":"odometer-traveleddistance","body":{"value":100,"unit":"miles"},"meta":{"oemUpdatedAt":1780222611}},)"
      R"({"code":"motion-currentspeed","body":{"value":30,"unit":"mph"},"meta":{"oemUpdatedAt":1780222611098}},)"
      R"({"code":"tractionbattery-stateofcharge","body":{"value":80,"unit":"percent"},"meta":{}},)"
      R"({"code":"climate-externaltemperature","body":{"value":50,"unit":"fahrenheit"},"meta":{"oemUpdatedAt":0,"retrievedAt":1780222660987}}])");
  std::vector<oemlink_reading> out;
  MapStats st;
  for (const auto& s : sigs.as_array()) map_signal(s, kNow, out, st);
  auto r = by_name(out);
  EXPECT_DOUBLE_EQ(r.at("powertrainTransmissionTravelledDistance").number, 160.9344);
  EXPECT_EQ(r.at("powertrainTransmissionTravelledDistance").timestamp_ms, 1780222611000);
  EXPECT_NEAR(r.at("speed").number, 48.28032, 1e-9);
  EXPECT_EQ(r.at("speed").timestamp_ms, 1780222611098);
  EXPECT_EQ(r.at("powertrainTractionBatteryStateOfChargeCurrent").timestamp_ms, kNow);  // meta {}
  EXPECT_NEAR(r.at("exteriorAirTemperature").number, 10, 1e-9);
  EXPECT_EQ(r.at("exteriorAirTemperature").timestamp_ms, 1780222660987);  // 0 = unknown
}

TEST(SmartcarMapper, UnusableValuesAreRejectedAndNamed) {
  boost::json::value sigs = boost::json::parse(
      R"([{"code":"odometer-traveleddistance","body":{"value":10,"unit":"furlongs"}},)"
      R"({"code":"wheel-tires","body":{"values":[{"row":0,"column":0,"tirePressure":35}],"unit":"bar"}},)"
      R"({"code":"tractionbattery-stateofcharge","body":{"value":"57","unit":"percent"}},)"
      R"({"code":"location-preciselocation","body":{"latitude":123,"longitude":11}},)"
      R"({"code":"charge-ischarging","body":{"value":"yes"}},)"
      R"({"code":"charge-chargelimits","body":{"values":[],"activeLimit":null}}])");
  std::vector<oemlink_reading> out;
  MapStats st;
  for (const auto& s : sigs.as_array()) map_signal(s, kNow, out, st);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(st.rejected, 5u);
  EXPECT_EQ(st.empty, 1u);
  EXPECT_NE(st.first_rejection.find("odometer-traveleddistance"), std::string::npos);
  EXPECT_NE(st.first_rejection.find("furlongs"), std::string::npos);
}

TEST(SmartcarMapper, V2ResponsesUseFractionsAndUnitSystems) {
  boost::json::value rs = boost::json::parse(
      R"([{"path":"/battery","code":200,"body":{"percentRemaining":0.57,"range":200},"headers":{"SC-Data-Age":"2026-06-29T23:55:53.000Z","SC-Unit-System":"metric"}},)"
      R"({"path":"/odometer","code":200,"body":{"distance":1000},"headers":{"sc-unit-system":"imperial"}},)"
      R"({"path":"/charge/limit","code":200,"body":{"limit":0.8}},)"
      R"({"path":"/charge","code":200,"body":{"isPluggedIn":true,"state":"CHARGING"}},)"
      R"({"path":"/tires/pressure","code":200,"body":{"frontLeft":36,"frontRight":36,"backLeft":35,"backRight":35},"headers":{"sc-unit-system":"imperial"}},)"
      R"({"path":"/fuel","code":409,"body":{"type":"VEHICLE_STATE"}},)"
      R"({"path":"/engine/oil","code":200,"body":{"lifeRemaining":0.8}}])");
  std::vector<oemlink_reading> out;
  MapStats st;
  map_v2_responses(rs.as_array(), UnitSystem::metric, kNow, out, st);
  auto r = by_name(out);
  EXPECT_DOUBLE_EQ(r.at("powertrainTractionBatteryStateOfChargeCurrent").number, 57);
  EXPECT_EQ(r.at("powertrainTractionBatteryStateOfChargeCurrent").timestamp_ms,
            *parse_iso8601_ms("2026-06-29T23:55:53Z"));
  EXPECT_DOUBLE_EQ(r.at("powertrainRange").number, 200);
  EXPECT_DOUBLE_EQ(r.at("powertrainTransmissionTravelledDistance").number, 1609.344);
  EXPECT_EQ(r.at("powertrainTransmissionTravelledDistance").timestamp_ms, kNow);
  EXPECT_DOUBLE_EQ(r.at("powertrainTractionBatteryChargingChargeLimit").number, 80);
  EXPECT_DOUBLE_EQ(r.at("powertrainTractionBatteryChargingIsCharging").number, 1);
  EXPECT_NEAR(r.at("chassisAxleRow1WheelLeftTirePressure").number, 248.2113, 1e-3);
  EXPECT_EQ(st.skipped_status, 1u);
  EXPECT_EQ(st.unmapped, 1u);  // oil life has no VSS match
}

TEST(SmartcarTimestamps, Encodings) {
  EXPECT_EQ(*parse_iso8601_ms("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(*parse_iso8601_ms("2026-06-29T23:55:53.123Z"), 1782777353123);
  EXPECT_EQ(*parse_iso8601_ms("2026-06-30T01:55:53.123+02:00"), 1782777353123);
  EXPECT_EQ(*parse_timestamp_text_ms("1780222611"), 1780222611000);
  EXPECT_EQ(*parse_timestamp_text_ms("1780222611098"), 1780222611098);
  EXPECT_FALSE(parse_timestamp_text_ms("0"));
  EXPECT_FALSE(parse_iso8601_ms("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_iso8601_ms("2026-06-29T23:55:53Zjunk"));
  EXPECT_FALSE(parse_iso8601_ms("yesterday"));
}

}  // namespace
}  // namespace oemlink::smartcar
