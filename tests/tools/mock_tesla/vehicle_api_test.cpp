// Vehicles, vehicle_data (sections, location, fresh timestamps), sleeping cars, wake_up,
// fleet_status and the billing counters, spoken to over HTTP.
#include "tests/tools/mock_tesla/mock_tesla_process.hpp"
#include "tools/mock-oem/tesla/capture_store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string_view>
#include <thread>

namespace oemlink::mock_oem::testing {
namespace {

namespace json = boost::json;

constexpr const char* kAsleepBody =
    R"({"response":null,"error":"vehicle unavailable: vehicle is offline or asleep","error_description":""})";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string data_path(const std::string& car, const std::string& endpoints = {}) {
  return "/api/1/vehicles/" + car + "/vehicle_data" +
         (endpoints.empty() ? "" : "?endpoints=" + endpoints);
}

TEST(MockTeslaVehicles, ListIsPagedAndShowsEachCarsState) {
  MockTesla mock({"--accept-refresh-token", "s", "--state", std::string(kVinModel3) + "=asleep",
                  "--state", std::string(kVinS60) + "=offline"});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("s");
  const HttpAnswer all = mock.get("/api/1/vehicles", token);
  ASSERT_EQ(all.status, 200);
  std::map<std::string, std::string> states;
  const json::value all_json = all.json();
  for (const auto& v : all_json.at("response").as_array()) {
    states[std::string(v.at("vin").as_string())] = std::string(v.at("state").as_string());
    EXPECT_TRUE(v.as_object().contains("id"));
    EXPECT_EQ(v.at("id_s").as_string(), std::to_string(v.at("id").to_number<uint64_t>()));
    EXPECT_FALSE(v.as_object().contains("charge_state"));
  }
  EXPECT_EQ(states, (std::map<std::string, std::string>{
                        {kVinS85, "online"}, {kVinS60, "offline"}, {kVinModel3, "asleep"}}));

  const HttpAnswer page2 = mock.get("/api/1/vehicles?per_page=2&page=2", token);
  ASSERT_EQ(page2.status, 200);
  const json::value p = page2.json();
  EXPECT_EQ(p.at("response").as_array().size(), 1u);
  EXPECT_EQ(p.at("count").as_int64(), 3);
  EXPECT_EQ(p.at("pagination").at("current").as_int64(), 2);
  EXPECT_EQ(p.at("pagination").at("pages").as_int64(), 2);
  EXPECT_TRUE(p.at("pagination").at("next").is_null());
  EXPECT_EQ(p.at("pagination").at("previous").as_int64(), 1);

  // The state can be changed at run time.
  EXPECT_EQ(http("POST", mock.base() + "/mock/state",
                 std::string(R"({"vin":")") + kVinModel3 + R"(","state":"online"})")
                .status,
            200);
  EXPECT_EQ(mock.get(data_path(kVinModel3), token).status, 200);
  EXPECT_EQ(http("POST", mock.base() + "/mock/state", R"({"vin":"nope","state":"online"})").status,
            400);
}

// What the host's config check accepts as a VIN (core/config/value_checks.cpp).
bool host_accepts_vin(std::string_view vin) {
  if (vin.size() != 17) return false;
  for (char c : vin) {
    const bool digit = c >= '0' && c <= '9', upper = c >= 'A' && c <= 'Z';
    if (!(digit || upper) || c == 'I' || c == 'O' || c == 'Q') return false;
  }
  return true;
}

TEST(MockTeslaVehicles, SynthesizedCarsHaveDistinctValidVinsOverSeveralPages) {
  MockTesla mock(
      {"--accept-refresh-token", "s", "--synthesize", "250", "--vehicles-per-page", "100"});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("s");
  std::set<std::string> vins;
  for (int page = 1; page <= 3; ++page) {
    const HttpAnswer a = mock.get("/api/1/vehicles?page=" + std::to_string(page), token);
    ASSERT_EQ(a.status, 200) << a.body;
    const json::value v = a.json();
    EXPECT_EQ(v.at("pagination").at("pages").as_int64(), 3);
    for (const auto& car : v.at("response").as_array()) {
      const std::string vin(car.at("vin").as_string());
      EXPECT_TRUE(host_accepts_vin(vin)) << vin;
      EXPECT_EQ(vin.rfind("5YJ3SYNTH", 0), 0u) << vin << " is not recognisably synthetic";
      vins.insert(vin);
    }
  }
  EXPECT_EQ(vins.size(), 250u);
  EXPECT_TRUE(vins.count("5YJ3SYNTH00000000"));
  EXPECT_TRUE(vins.count("5YJ3SYNTH00000249"));
  // The largest --synthesize still fits.
  EXPECT_TRUE(host_accepts_vin(tesla::synthetic_vin(9'999'999))) << tesla::synthetic_vin(9'999'999);
  // A synthesized VIN names its car in vehicle_data.
  EXPECT_EQ(mock.get(data_path("5YJ3SYNTH00000007"), token).status, 200);
}

TEST(MockTeslaVehicles, VehicleDataServesOnlyTheAskedSectionsWithFreshTimestamps) {
  MockTesla mock({"--accept-refresh-token", "s"});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("s");
  const int64_t before = now_ms();
  const HttpAnswer a = mock.get(data_path(kVinS85, "charge_state%3Bvehicle_state"), token);
  ASSERT_EQ(a.status, 200) << a.body;
  const json::value body = a.json();
  const json::object& r = body.at("response").as_object();
  EXPECT_EQ(r.at("vin").as_string(), kVinS85);
  EXPECT_EQ(r.at("state").as_string(), "online");
  EXPECT_TRUE(r.contains("charge_state"));
  EXPECT_TRUE(r.contains("vehicle_state"));
  for (const char* absent : {"climate_state", "drive_state", "gui_settings", "vehicle_config"})
    EXPECT_FALSE(r.contains(absent)) << absent;
  // Values come from the capture; the capture's newest timestamp reads as now and the others
  // keep their distance to it (charge_state ...307, vehicle_state ...306 in the capture).
  EXPECT_EQ(r.at("charge_state").at("battery_level").as_int64(), 80);
  const int64_t charge_ts = r.at("charge_state").at("timestamp").to_number<int64_t>();
  const int64_t vehicle_ts = r.at("vehicle_state").at("timestamp").to_number<int64_t>();
  EXPECT_GE(charge_ts, before - 1000);
  EXPECT_LE(charge_ts, now_ms() + 1000);
  EXPECT_EQ(charge_ts - vehicle_ts, 1695129645307 - 1695129645306);
  EXPECT_DOUBLE_EQ(r.at("vehicle_state").at("odometer").to_number<double>(), 104374.713449);

  // ';' unescaped works too; an unknown section is refused by name.
  EXPECT_EQ(mock.get(data_path(kVinS85, "climate_state;gui_settings"), token).status, 200);
  const HttpAnswer bad = mock.get(data_path(kVinS85, "charge_state%3Bbogus_state"), token);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("bogus_state"), std::string::npos);
}

TEST(MockTeslaVehicles, LocationNeedsLocationDataAndTheVehicleLocationScope) {
  MockTesla mock({"--accept-refresh-token", "plain", "--accept-refresh-token", "loc@located",
                  "--account-scopes",
                  "located=openid,offline_access,vehicle_device_data,vehicle_location"});
  ASSERT_TRUE(mock.running());
  const std::string plain = mock.access_token("plain");
  const std::string located = mock.access_token("loc");
  auto drive_state = [&](const std::string& token, const std::string& endpoints) {
    const HttpAnswer a = mock.get(data_path(kVinS85, endpoints), token);
    EXPECT_EQ(a.status, 200) << a.body;
    const json::value body = a.json();
    const json::object& r = body.at("response").as_object();
    return r.contains("drive_state") ? r.at("drive_state").as_object() : json::object();
  };
  // drive_state alone: no location, whoever asks.
  for (const auto* token : {&plain, &located}) {
    const json::object d = drive_state(*token, "drive_state");
    EXPECT_TRUE(d.contains("power"));
    for (const char* k : {"latitude", "longitude", "native_latitude", "heading", "gps_as_of"})
      EXPECT_FALSE(d.contains(k)) << k;
  }
  // location_data without the scope: still none.
  EXPECT_FALSE(drive_state(plain, "drive_state%3Blocation_data").contains("latitude"));
  // location_data with the scope: the capture's position, gps_as_of fresh (seconds).
  const json::object d = drive_state(located, "drive_state%3Blocation_data");
  EXPECT_DOUBLE_EQ(d.at("latitude").to_number<double>(), 47.004162);
  EXPECT_DOUBLE_EQ(d.at("longitude").to_number<double>(), 8.603523);
  EXPECT_NEAR(double(d.at("gps_as_of").to_number<int64_t>()), double(now_ms() / 1000), 10);
  EXPECT_TRUE(d.contains("power"));
  // location_data alone: drive_state with only the location members.
  const json::object only = drive_state(located, "location_data");
  EXPECT_TRUE(only.contains("latitude"));
  EXPECT_FALSE(only.contains("power"));
}

TEST(MockTeslaVehicles, AsleepCarAnswers408WithTeslasBodyAndIsBilledAsData) {
  MockTesla mock({"--accept-refresh-token", "s", "--default-state", "asleep"});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("s");
  const HttpAnswer a = mock.get(data_path(kVinS60), token);
  EXPECT_EQ(a.status, 408);
  EXPECT_EQ(a.body, kAsleepBody);
  // By numeric id too.
  const HttpAnswer by_id = mock.get(data_path("1492932717794313"), token);
  EXPECT_EQ(by_id.status, 408);
  const json::object stats = mock.stats();
  EXPECT_EQ(stats.at("cars").at(kVinS60).at("data").to_number<uint64_t>(), 2u);
  EXPECT_NEAR(stats.at("cars").at(kVinS60).at("dollars").to_number<double>(), 0.004, 1e-12);
}

TEST(MockTeslaVehicles, WakeUpBringsAnAsleepCarOnlineAfterTheDelayAndIsBilledAsAWake) {
  MockTesla mock({"--accept-refresh-token", "s", "--default-state", "asleep", "--state",
                  std::string(kVinS60) + "=offline", "--wake-delay-ms", "400"});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("s");
  const HttpAnswer wake =
      mock.post("/api/1/vehicles/" + std::string(kVinS85) + "/wake_up", token, "");
  ASSERT_EQ(wake.status, 200) << wake.body;
  EXPECT_EQ(wake.json().at("response").at("state").as_string(), "asleep");
  EXPECT_EQ(mock.get(data_path(kVinS85), token).status, 408);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(mock.get(data_path(kVinS85), token).status, 200);
  // An offline car cannot be reached by a wake.
  mock.post("/api/1/vehicles/" + std::string(kVinS60) + "/wake_up", token, "");
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(mock.get(data_path(kVinS60), token).status, 408);

  const json::object stats = mock.stats();
  EXPECT_EQ(stats.at("cars").at(kVinS85).at("wakes").to_number<uint64_t>(), 1u);
  EXPECT_EQ(stats.at("total").at("wakes").to_number<uint64_t>(), 2u);
  // 2 wakes at $0.02, 3 vehicle_data calls at $0.002 (408s included).
  EXPECT_NEAR(stats.at("total").at("dollars").to_number<double>(), 2 / 50.0 + 3 / 500.0, 1e-12);
}

TEST(MockTeslaVehicles, FleetStatusNamesPairedKeysAndFirmware) {
  MockTesla mock({"--accept-refresh-token", "s", "--missing-key", kVinS60, "--firmware",
                  std::string(kVinModel3) + "=2024.20.1"});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("s");
  const HttpAnswer a = mock.post("/api/1/vehicles/fleet_status", token,
                                 std::string(R"({"vins":[")") + kVinS85 + R"(",")" + kVinS60 +
                                     R"(",")" + kVinModel3 + R"("]})");
  ASSERT_EQ(a.status, 200) << a.body;
  const json::value r = a.json().at("response");
  EXPECT_EQ(r.at("unpaired_vins"), json::array({kVinS60}));
  EXPECT_EQ(r.at("key_paired_vins").as_array().size(), 2u);
  EXPECT_EQ(r.at("vehicle_info").at(kVinModel3).at("firmware_version").as_string(), "2024.20.1");
  EXPECT_FALSE(r.at("vehicle_info").at(kVinS85).at("discounted_device_data").as_bool());
  EXPECT_EQ(mock.post("/api/1/vehicles/fleet_status", token, R"({"vins":["NOPE"]})").status, 404);
  EXPECT_EQ(mock.post("/api/1/vehicles/fleet_status", token, R"({"vin":[]})").status, 400);
}

TEST(MockTeslaBilling, StatsCountPerCarAndCategoryAndPriceThemByTeslasList) {
  MockTesla mock({"--accept-refresh-token", "s", "--free-account-calls"});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("s");
  for (int i = 0; i < 7; ++i) ASSERT_EQ(mock.get(data_path(kVinS85), token).status, 200);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(mock.get(data_path(kVinModel3), token).status, 200);
  ASSERT_EQ(mock.get("/api/1/vehicles", token).status, 200);  // free with --free-account-calls
  const json::object s = mock.stats();
  EXPECT_EQ(s.at("cars").at(kVinS85).at("data").to_number<uint64_t>(), 7u);
  EXPECT_NEAR(s.at("cars").at(kVinS85).at("dollars").to_number<double>(), 7 / 500.0, 1e-12);
  EXPECT_EQ(s.at("cars").at(kVinModel3).at("data").to_number<uint64_t>(), 3u);
  EXPECT_EQ(s.at("cars").at(kVinS60).at("data").to_number<uint64_t>(), 0u);
  EXPECT_EQ(s.at("total").at("data").to_number<uint64_t>(), 10u);
  EXPECT_NEAR(s.at("total").at("dollars").to_number<double>(), 10 / 500.0, 1e-12);
  EXPECT_NEAR(s.at("dollars_per_car").to_number<double>(), 10 / 500.0 / 3, 1e-12);
  EXPECT_EQ(s.at("car_count").to_number<uint64_t>(), 3u);
  EXPECT_EQ(s.at("prices").at("data_per_dollar").to_number<double>(), 500);
  const auto& by_endpoint = s.at("requests").at("by_endpoint").as_object();
  EXPECT_EQ(by_endpoint.at("GET /api/1/vehicles/{id}/vehicle_data").at("200").to_number<uint64_t>(),
            10u);
  EXPECT_EQ(by_endpoint.at("GET /api/1/vehicles").at("200").to_number<uint64_t>(), 1u);
  EXPECT_EQ(by_endpoint.at("POST /oauth2/v3/token").at("200").to_number<uint64_t>(), 1u);

  EXPECT_EQ(http("POST", mock.base() + "/mock/reset-stats", "{}").status, 200);
  EXPECT_EQ(mock.stats().at("total").at("data").to_number<uint64_t>(), 0u);
}

}  // namespace
}  // namespace oemlink::mock_oem::testing
