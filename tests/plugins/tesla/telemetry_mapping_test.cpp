// Fleet Telemetry over MQTT: topics and JSON values -> TelemetryDatum -> DIMO readings, and the
// per-car batching into one emit per window.
#include "mqtt_telemetry_source.hpp"
#include "stream_batcher.hpp"
#include "telemetry_field_mapper.hpp"
#include "tesla_test_support.hpp"

#include <oemlink/testkit/fake_host.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <variant>

namespace oemlink::tesla::test {
namespace {

using Outcome = TelemetryMapResult::Outcome;

TelemetryDatum datum(const std::string& field, const std::string& json, int64_t t = 1000) {
  MqttTelemetrySource src("telemetry");
  MqttRecord rec = src.parse("telemetry/VIN1/v/" + field, json, t);
  auto* d = std::get_if<TelemetryDatum>(&rec);
  EXPECT_TRUE(d) << field << " " << json;
  return d ? *d : TelemetryDatum{};
}

std::vector<SignalReading> map(const std::string& field, const std::string& json,
                               Outcome expect = Outcome::mapped) {
  std::vector<SignalReading> out;
  TelemetryMapResult r = TelemetryFieldMapper().map(datum(field, json), out);
  EXPECT_EQ(r.outcome, expect) << field << " " << json << " " << r.problem;
  return out;
}

TEST(TeslaTelemetry, TopicsAndConnectivity) {
  MqttTelemetrySource src("fleet/prod");
  EXPECT_EQ(src.topic_filters(),
            (std::vector<std::string>{"fleet/prod/+/v/#", "fleet/prod/+/connectivity"}));
  MqttRecord c = src.parse("fleet/prod/5YJ3E1EA7KF000000/connectivity",
                           R"({"ConnectionId":"x","Status":"DISCONNECTED","CreatedAt":"t"})", 9);
  auto* rec = std::get_if<ConnectivityRecord>(&c);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->vin, "5YJ3E1EA7KF000000");
  EXPECT_FALSE(rec->connected);
  MqttRecord d = src.parse("fleet/prod/5YJ3E1EA7KF000000/v/Soc", "80.5", 42);
  auto* dat = std::get_if<TelemetryDatum>(&d);
  ASSERT_TRUE(dat);
  EXPECT_EQ(dat->field, "Soc");
  EXPECT_EQ(dat->time_ms, 42);  // stamped on receipt: the dispatcher sends no time
  for (const char* bad : {"other/VIN/v/Soc", "fleet/prod/VIN", "fleet/prod/VIN/alerts/x/current",
                          "fleet/prod/V-N/v/Soc", "fleet/prod/VIN/v/", "fleet/prod/VIN/v/a/b"}) {
    EXPECT_TRUE(std::holds_alternative<MqttParseError>(src.parse(bad, "1", 0))) << bad;
  }
  EXPECT_TRUE(std::holds_alternative<MqttParseError>(
      src.parse("fleet/prod/VIN/connectivity", R"({"Status":"MAYBE"})", 0)));
  EXPECT_TRUE(std::holds_alternative<MqttParseError>(src.parse("fleet/prod/VIN/v/Soc", "{", 0)));
}

TEST(TeslaTelemetry, NumbersTypedOrAsStringsWithUnits) {
  auto speed = map("VehicleSpeed", "30");  // mph
  ASSERT_EQ(speed.size(), 1u);
  EXPECT_EQ(speed[0].name, "speed");
  EXPECT_NEAR(speed[0].number, 48.28032, 1e-9);
  EXPECT_EQ(speed[0].timestamp_ms, 1000);
  auto odo = map("Odometer", R"("81.906")");  // untyped: a string, miles
  EXPECT_NEAR(odo.at(0).number, 131.814929664, 1e-9);
  EXPECT_EQ(odo[0].name, "powertrainTransmissionTravelledDistance");
  EXPECT_NEAR(map("EstBatteryRange", "100").at(0).number, 160.9344, 1e-9);
  EXPECT_EQ(map("Soc", "55.5").at(0).number, 55.5);
  auto ac = map("ACChargingPower", "7.2");  // kW, positive while charging = into the battery
  EXPECT_EQ(ac.at(0).name, "powertrainTractionBatteryCurrentPower");
  EXPECT_NEAR(ac[0].number, 7200, 1e-9);
  EXPECT_NEAR(map("DCChargingPower", "150").at(0).number, 150000, 1e-9);
  auto zero = map("DCChargingPower", "-0");
  EXPECT_FALSE(std::signbit(zero.at(0).number));
  EXPECT_NEAR(map("TpmsPressureFl", "2.5").at(0).number, 253.3125, 1e-9);  // atm, as DIMO reads it
  EXPECT_EQ(map("OutsideTemp", "-3.5").at(0).number, -3.5);
  EXPECT_EQ(map("DCChargingEnergyIn", "12.25").at(0).name,
            "powertrainTractionBatteryChargingAddedEnergy");
}

// Review: what anyone who can publish to the broker may send is refused, counted by the caller,
// and never crashes: values that overflow their unit, huge payloads, deep nesting.
TEST(TeslaTelemetry, HostileValuesAreRefused) {
  EXPECT_TRUE(map("ACChargingPower", "1e308", Outcome::bad_value).empty());
  EXPECT_TRUE(map("Odometer", R"("1.7e308")", Outcome::bad_value).empty());
  EXPECT_TRUE(map("Location", R"({"latitude":91,"longitude":0})", Outcome::bad_value).empty());
  EXPECT_TRUE(
      map("DetailedChargeState", R"("DetailedChargeStateOnFire")", Outcome::bad_value).empty());
  MqttTelemetrySource src("telemetry");
  const std::string huge = "\"" + std::string(MqttTelemetrySource::kMaxPayload, 'x') + "\"";
  EXPECT_TRUE(std::holds_alternative<MqttParseError>(src.parse("telemetry/VIN1/v/Soc", huge, 1)));
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_TRUE(std::holds_alternative<MqttParseError>(src.parse("telemetry/VIN1/v/Soc", deep, 1)));
  EXPECT_TRUE(std::holds_alternative<MqttParseError>(src.parse("telemetry/../v/Soc", "1", 1)));
  EXPECT_TRUE(std::holds_alternative<MqttParseError>(src.parse("telemetry/+/v/Soc", "1", 1)));
  EXPECT_TRUE(std::holds_alternative<MqttParseError>(
      src.parse(std::string("telemetry/VIN\0/v/Soc", 20), "1", 1)));
}

TEST(TeslaTelemetry, EnumsLocationDoorsAndInvalid) {
  auto charging = map("DetailedChargeState", R"("DetailedChargeStateCharging")");
  ASSERT_EQ(charging.size(), 2u);
  EXPECT_EQ(charging[0].name, "powertrainTractionBatteryChargingIsCharging");
  EXPECT_EQ(charging[0].number, 1);
  EXPECT_EQ(charging[1].name, "powertrainTractionBatteryChargingIsChargingCableConnected");
  EXPECT_EQ(charging[1].number, 1);
  auto unplugged = map("DetailedChargeState", R"("Disconnected")");  // untyped form
  EXPECT_EQ(unplugged.at(0).number, 0);
  EXPECT_EQ(unplugged.at(1).number, 0);
  auto complete = map("DetailedChargeState", R"("DetailedChargeStateComplete")");
  EXPECT_EQ(complete.at(0).number, 0);
  EXPECT_EQ(complete.at(1).number, 1);
  map("DetailedChargeState", R"("DetailedChargeStateUnknown")", Outcome::invalid_value);
  map("DetailedChargeState", R"("Flying")", Outcome::bad_value);

  auto loc = map("Location", R"({"latitude":37.41,"longitude":-122.14})");
  ASSERT_EQ(loc.size(), 1u);
  EXPECT_EQ(loc[0].kind, OEMLINK_VALUE_LOCATION);
  EXPECT_EQ(loc[0].latitude, 37.41);
  EXPECT_EQ(loc[0].longitude, -122.14);
  map("Location", R"({"latitude":137,"longitude":0})", Outcome::bad_value);
  map("Location", "12", Outcome::bad_value);

  auto doors = map("DoorState", R"({"DriverFront":true,"PassengerFront":false,
      "DriverRear":false,"PassengerRear":true,"TrunkFront":false,"TrunkRear":false})");
  ASSERT_EQ(doors.size(), 4u);
  EXPECT_EQ(find_reading(doors, "cabinDoorRow1DriverSideIsOpen")->number, 1);
  EXPECT_EQ(find_reading(doors, "cabinDoorRow2PassengerSideIsOpen")->number, 1);
  EXPECT_EQ(find_reading(doors, "cabinDoorRow1PassengerSideIsOpen")->number, 0);
  EXPECT_EQ(map("FdWindow", R"("WindowStatePartiallyOpen")").at(0).number, 1);
  EXPECT_EQ(map("RpWindow", R"("WindowStateClosed")").at(0).number, 0);

  map("Soc", "null", Outcome::invalid_value);
  map("Soc", R"("abc")", Outcome::bad_value);
  map("Soc", "true", Outcome::bad_value);
  map("Gear", R"("ShiftStateD")", Outcome::unknown_field);
}

struct BatchFixture : ::testing::Test {
  testkit::FakeHost fake;
  Host host{fake.table()};
  oemlink_conn* conn = reinterpret_cast<oemlink_conn*>(0x77);
  std::shared_ptr<StreamBatcher> batcher = std::make_shared<StreamBatcher>(
      host, 10'000, [this](const std::string& vin) { return vin == "VIN1" ? conn : nullptr; });

  std::vector<SignalReading> soc(double v, int64_t t) {
    return {SignalReading::number_of(signals::powertrainTractionBatteryStateOfChargeCurrent, t, v)};
  }
};

TEST_F(BatchFixture, OneEmitPerCarPerWindowKeepingEachDatum) {
  batcher->add("VIN1", soc(50, 1));
  fake.run_timers(5'000);
  batcher->add("VIN1", soc(51, 2));
  EXPECT_TRUE(fake.emits.empty());
  fake.run_timers(5'000);  // the window opened by the first datum closes
  ASSERT_EQ(fake.emits.size(), 1u);
  EXPECT_EQ(fake.emits[0].conn, conn);
  ASSERT_EQ(fake.emits[0].readings.size(), 2u);  // both kept, each with its own time
  EXPECT_EQ(fake.emits[0].readings[0].number, 50);
  EXPECT_EQ(fake.emits[0].readings[1].timestamp_ms, 2);
  fake.run_timers(20'000);
  EXPECT_EQ(fake.emits.size(), 1u);  // nothing new, nothing emitted
  EXPECT_EQ(fake.counters["stream_events"], 1u);
}

TEST_F(BatchFixture, RetryKeepsTheBatchInOrder) {
  batcher->add("VIN1", soc(50, 1));
  fake.emit_answer = OEMLINK_RETRY;
  fake.run_timers(10'000);
  ASSERT_EQ(fake.emits.size(), 1u);
  EXPECT_EQ(batcher->pending("VIN1"), 1u);
  batcher->add("VIN1", soc(52, 3));
  fake.emit_answer = OEMLINK_OK;
  fake.run_timers(10'000);
  ASSERT_EQ(fake.emits.size(), 2u);
  ASSERT_EQ(fake.emits[1].readings.size(), 2u);
  EXPECT_EQ(fake.emits[1].readings[0].number, 50);  // the refused one first
  EXPECT_EQ(fake.emits[1].readings[1].number, 52);
  EXPECT_EQ(fake.counters["stream_emit_retries"], 1u);
  EXPECT_EQ(batcher->pending("VIN1"), 0u);
}

TEST_F(BatchFixture, UnknownCarIsCountedNotLostSilently) {
  batcher->add("VIN2", soc(50, 1));
  fake.run_timers(10'000);
  EXPECT_TRUE(fake.emits.empty());
  EXPECT_EQ(fake.counters["stream_readings_dropped"], 1u);
}

TEST_F(BatchFixture, FlushEmitsAtOnce) {
  batcher->add("VIN1", soc(50, 1));
  batcher->flush("VIN1");
  EXPECT_EQ(fake.emits.size(), 1u);
  EXPECT_EQ(fake.pending_timers(), 0u);
}

}  // namespace
}  // namespace oemlink::tesla::test
