// Property tests of the parsers: thousands of random mutations of the real captures and of
// stream messages never crash, never emit a non-finite number or -0, and every rejected value
// is accounted for (a problem line or a counted outcome).
#include "mqtt_telemetry_source.hpp"
#include "telemetry_field_mapper.hpp"
#include "tesla_test_support.hpp"
#include "vehicle_data_mapper.hpp"
#include "vehicle_list.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <variant>

namespace oemlink::tesla::test {
namespace {

const char* kReplacements[] = {"null", "\"x\"",    "-0",  "1e999",           "[]", "{}", "true",
                               "-1",   "\"12.5\"", "NaN", "9007199254740993"};

// Keys the mappers read: aimed at often, so wrong types reach the value checks.
const char* kMappedKeys[] = {"\"odometer\":",         "\"battery_level\":",  "\"battery_range\":",
                             "\"timestamp\":",        "\"charging_state\":", "\"power\":",
                             "\"tpms_pressure_fl\":", "\"outside_temp\":",   "\"latitude\":",
                             "\"charge_limit_soc\":", "\"speed\":",          "\"charge_state\":"};

// One random edit: flip a byte, cut the text, duplicate a slice, or swap a value for another
// type after a ':' (anywhere, or after a key a mapper reads).
std::string mutate(std::string s, std::mt19937& rng) {
  if (s.empty()) return s;
  std::uniform_int_distribution<size_t> pos(0, s.size() - 1);
  if (rng() % 3 == 0) {
    const size_t key = s.find(kMappedKeys[rng() % std::size(kMappedKeys)]);
    if (key != std::string::npos) {
      const size_t colon = s.find(':', key);
      const size_t end = s.find_first_of(",}", colon);
      if (end != std::string::npos) {
        s.replace(colon + 1, end - colon - 1, kReplacements[rng() % std::size(kReplacements)]);
        return s;
      }
    }
  }
  switch (rng() % 4) {
    case 0:
      s[pos(rng)] ^= char(1u << (rng() % 8));
      break;
    case 1:
      s.resize(pos(rng));
      break;
    case 2: {
      const size_t at = pos(rng);
      s.insert(at, s.substr(pos(rng), 1 + rng() % 16));
      break;
    }
    default: {
      const size_t colon = s.find(':', pos(rng));
      if (colon == std::string::npos) break;
      const size_t end = s.find_first_of(",}", colon);
      if (end == std::string::npos) break;
      s.replace(colon + 1, end - colon - 1, kReplacements[rng() % std::size(kReplacements)]);
    }
  }
  return s;
}

void expect_sane(const std::vector<SignalReading>& readings) {
  for (const auto& r : readings) {
    if (r.kind == OEMLINK_VALUE_NUMBER) {
      EXPECT_TRUE(std::isfinite(r.number)) << r.name;
      EXPECT_FALSE(r.number == 0 && std::signbit(r.number)) << r.name << " is -0";
    }
    if (r.kind == OEMLINK_VALUE_LOCATION) {
      EXPECT_LE(std::fabs(r.latitude), 90);
      EXPECT_LE(std::fabs(r.longitude), 180);
    }
    EXPECT_FALSE(r.name.empty());
  }
}

TEST(TeslaMutation, VehicleDataParserSurvivesMutatedCaptures) {
  std::mt19937 rng(20260112);
  size_t unreadable = 0, with_problems = 0, total = 0;
  for (const char* name :
       {"vehicle_data_gak_2023_11_11.json", "vehicle_data_BitcoinLightning_2023_10_09.json",
        "vehicle_data_HTLC_2023_09_19.json", "products_gak_2024_04_12.json"}) {
    const std::string original = fixture(name);
    for (int i = 0; i < 1500; ++i) {
      std::string body = original;
      for (int k = 0, n = 1 + int(rng() % 3); k < n; ++k) body = mutate(body, rng);
      ++total;
      for (bool loc : {false, true}) {
        VehicleDataResult r = VehicleDataMapper(loc).map(body);
        if (!r.parsed) {
          EXPECT_FALSE(r.problems.empty());  // an unreadable body always says why
          EXPECT_TRUE(r.readings.empty());
          ++unreadable;
        } else if (!r.problems.empty()) {
          ++with_problems;
        }
        expect_sane(r.readings);
      }
      parse_vehicle_list(body);  // no crash is the property
    }
  }
  // The mutations reach both kinds of failure, so the property is not vacuous.
  EXPECT_GT(unreadable, total / 10);
  EXPECT_GT(with_problems, total / 50);
}

TEST(TeslaMutation, TelemetryParserSurvivesMutatedMessages) {
  std::mt19937 rng(12);
  const std::pair<std::string, std::string> seeds[] = {
      {"telemetry/5YJ3E1EA7KF000001/v/Soc", "80.5"},
      {"telemetry/5YJ3E1EA7KF000001/v/Odometer", "\"81.906\""},
      {"telemetry/5YJ3E1EA7KF000001/v/Location", R"({"latitude":37.41,"longitude":-122.14})"},
      {"telemetry/5YJ3E1EA7KF000001/v/DetailedChargeState", "\"DetailedChargeStateCharging\""},
      {"telemetry/5YJ3E1EA7KF000001/v/DoorState",
       R"({"DriverFront":true,"PassengerFront":false,"DriverRear":false,"PassengerRear":false})"},
      {"telemetry/5YJ3E1EA7KF000001/connectivity",
       R"({"ConnectionId":"a","Status":"CONNECTED","CreatedAt":"2025-01-01T00:00:00Z"})"},
  };
  MqttTelemetrySource src("telemetry");
  TelemetryFieldMapper mapper;
  size_t errors = 0, mapped = 0;
  for (int i = 0; i < 6000; ++i) {
    const auto& seed = seeds[rng() % std::size(seeds)];
    std::string topic = seed.first, payload = seed.second;
    if (rng() % 4 == 0) topic = mutate(topic, rng);
    payload = mutate(payload, rng);
    MqttRecord rec = src.parse(topic, payload, 1000);
    if (std::holds_alternative<MqttParseError>(rec)) {
      EXPECT_FALSE(std::get<MqttParseError>(rec).what.empty());
      ++errors;
      continue;
    }
    if (auto* d = std::get_if<TelemetryDatum>(&rec)) {
      std::vector<SignalReading> out;
      TelemetryMapResult r = mapper.map(*d, out);
      if (r.outcome == TelemetryMapResult::Outcome::bad_value) {
        EXPECT_NE(r.problem.find(d->field), std::string::npos);  // names the field
        EXPECT_TRUE(out.empty());
        ++errors;
      }
      mapped += r.outcome == TelemetryMapResult::Outcome::mapped;
      expect_sane(out);
    }
  }
  EXPECT_GT(errors, 600u);
  EXPECT_GT(mapped, 600u);
}

}  // namespace
}  // namespace oemlink::tesla::test
