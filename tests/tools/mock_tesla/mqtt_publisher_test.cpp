// --mqtt: records reach a real mosquitto as fleet-telemetry's MQTT dispatcher writes them, only
// the fields of a posted config are sent once one exists, and every sent datum is billed as a
// streaming signal.
#include "tests/tools/mock_tesla/mock_tesla_process.hpp"
#include "tests/tools/mock_tesla/test_schnorr_signer.hpp"
#include "tests/uplink/mqtt_test_support.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <set>
#include <thread>

namespace oemlink::mock_oem::testing {
namespace {

namespace json = boost::json;
using uplink::testing::Broker;
using uplink::testing::free_port;
using uplink::testing::Message;
using uplink::testing::Subscriber;

size_t count_values(const std::vector<Message>& messages) {
  size_t n = 0;
  for (const auto& m : messages) n += m.topic.find("/v/") != std::string::npos;
  return n;
}

TEST(MockTeslaMqtt, PublishesFleetTelemetryRecordsAndBillsEachSignal) {
  Broker broker(free_port());
  ASSERT_TRUE(broker.start()) << broker.log();
  Subscriber sub(broker.port(), "ft/#");
  ASSERT_TRUE(sub.ready());
  // 07:25 UTC at 600x: every car drives within the first few seconds of real time.
  MockTesla mock({"--mqtt", "127.0.0.1:" + std::to_string(broker.port()), "--topic-base", "ft",
                  "--time-scale", "600", "--sim-start", "07:25", "--mqtt-interval-ms", "100"});
  ASSERT_TRUE(mock.running()) << mock.err();

  std::set<std::string> gears;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline && !gears.count("\"ShiftStateD\"")) {
    sub.wait_for(sub.messages().size() + 1, std::chrono::milliseconds(500));
    for (const auto& m : sub.messages())
      if (m.topic.ends_with("/v/Gear")) gears.insert(m.payload);
  }
  ASSERT_TRUE(gears.count("\"ShiftStateD\"")) << "no car drove; broker log: " << broker.log();

  const auto messages = sub.messages();
  std::set<std::string> connected;
  for (const auto& m : messages) {
    const std::string prefix = "ft/";
    ASSERT_EQ(m.topic.rfind(prefix, 0), 0u) << m.topic;
    const std::string vin = m.topic.substr(3, m.topic.find('/', 3) - 3);
    EXPECT_TRUE(vin == kVinS85 || vin == kVinS60 || vin == kVinModel3) << m.topic;
    const json::value v = json::parse(m.payload);
    if (m.topic.ends_with("/connectivity")) {
      EXPECT_EQ(v.at("Status").as_string(), "CONNECTED");
      EXPECT_EQ(v.at("ConnectionId").as_string().size(), 36u);
      EXPECT_EQ(v.at("CreatedAt").as_string().size(), 20u);  // 2026-01-01T07:25:00Z
      connected.insert(vin);
      continue;
    }
    // A datum's topic names its field; its payload is the bare value, no timestamp.
    EXPECT_NE(m.topic.find("/v/"), std::string::npos) << m.topic;
    EXPECT_TRUE(connected.count(vin)) << "data before CONNECTED for " << vin;
    const std::string field = m.topic.substr(m.topic.rfind('/') + 1);
    if (field == "Location") {
      EXPECT_EQ(v.as_object().size(), 2u);
      EXPECT_TRUE(v.at("latitude").is_number());
      EXPECT_TRUE(v.at("longitude").is_number());
    } else if (field == "Gear" || field == "DetailedChargeState") {
      EXPECT_TRUE(v.is_string());
    } else if (field == "DoorState") {
      EXPECT_TRUE(v.at("DriverFront").is_bool());
    } else {
      EXPECT_TRUE(v.is_number()) << field << " " << m.payload;
    }
    EXPECT_EQ(m.payload.find("E"), std::string::npos) << "exponent in " << m.payload;
  }

  // Every datum sent is one billed signal: all the mock counted reach the subscriber.
  const json::object stats = mock.stats();
  const uint64_t billed = stats.at("total").at("signals").to_number<uint64_t>();
  EXPECT_GT(billed, 0u);
  EXPECT_GT(stats.at("simulated_seconds").to_number<double>(), 0);
  const auto received_all = [&] { return count_values(sub.messages()) >= billed; };
  for (int i = 0; i < 50 && !received_all(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_GE(count_values(sub.messages()), billed);
  EXPECT_NEAR(stats.at("total").at("dollars").to_number<double>(), double(billed) / 150000, 1e-12);

  // On stop, every connected car reports DISCONNECTED.
  const size_t before = sub.messages().size();
  mock.terminate();
  sub.wait_for(before + 3, std::chrono::seconds(5));
  size_t disconnected = 0;
  for (const auto& m : sub.messages())
    disconnected +=
        m.topic.ends_with("/connectivity") && m.payload.find("DISCONNECTED") != std::string::npos;
  EXPECT_GE(disconnected, 1u);
}

TEST(MockTeslaMqtt, APostedConfigDecidesWhichFieldsAreSent) {
  Broker broker(free_port());
  ASSERT_TRUE(broker.start()) << broker.log();
  Subscriber sub(broker.port(), "telemetry/#");
  ASSERT_TRUE(sub.ready());
  MockTesla mock({"--accept-refresh-token", "s", "--mqtt",
                  "127.0.0.1:" + std::to_string(broker.port()), "--stream-only-configured",
                  "--time-scale", "600", "--sim-start", "07:20", "--mqtt-interval-ms", "100"});
  ASSERT_TRUE(mock.running()) << mock.err();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(sub.messages().size(), 0u) << "a car without a config streamed";

  const std::string token = mock.access_token("s");
  const std::string jws = make_telemetry_jws(
      make_test_key(),
      R"({"hostname":"ft.example.com","port":443,"fields":{"VehicleSpeed":{"interval_seconds":30},"Gear":{"interval_seconds":1}}})");
  const std::string body =
      json::serialize(json::object{{"vins", json::array{kVinS85}}, {"token", jws}});
  ASSERT_EQ(mock.post("/api/1/vehicles/fleet_telemetry_config_jws", token, body).status, 200);

  ASSERT_TRUE(sub.wait_for(5, std::chrono::seconds(20))) << broker.log();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::set<std::string> topics;
  for (const auto& m : sub.messages()) topics.insert(m.topic);
  const std::string base = std::string("telemetry/") + kVinS85;
  for (const auto& t : topics)
    EXPECT_TRUE(t == base + "/connectivity" || t == base + "/v/VehicleSpeed" ||
                t == base + "/v/Gear")
        << t;
  EXPECT_TRUE(topics.count(base + "/v/VehicleSpeed"));
}

}  // namespace
}  // namespace oemlink::mock_oem::testing
