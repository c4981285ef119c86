// The mock Smartcar's example deliveries (tools/mock-oem/smartcar/examples/, written from real
// payloads by another hand than this driver's) go through the driver's webhook as Smartcar would
// send them. Skipped while the tree has no mock examples; SMARTCAR_EXAMPLES_DIR points elsewhere.
#include "smartcar_fixture.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace oemlink::smartcar::test {
namespace {

std::filesystem::path examples_dir() {
  if (const char* dir = std::getenv("SMARTCAR_EXAMPLES_DIR")) return dir;
  return std::filesystem::path(OEMLINK_SOURCE_DIR) / "tools/mock-oem/smartcar/examples";
}

std::string read(const std::string& name) {
  std::ifstream in(examples_dir() / name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class MockExamples : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(examples_dir() / "webhook_vehicle_state_4.0.json"))
      GTEST_SKIP() << "no mock Smartcar examples in " << examples_dir();
    for (const char* id :
         {"a1d50709-3502-4faa-ba43-a5c7565e6a09", "00000000-0000-4000-8000-0000000000aa"}) {
      ConnSpec spec;
      spec.id = id;
      spec.identifiers_json = R"({"smartcar_id":")" + std::string(id) + R"("})";
      conns.push_back(car.driver->open(spec));
      ASSERT_TRUE(conns.back()) << car.driver->open_error();
    }
  }
  OneCar car;
  std::vector<oemlink_conn*> conns;
};

TEST_F(MockExamples, VerifyBothVersions) {
  for (const char* f : {"webhook_verify_4.0.json", "webhook_verify_legacy_2.0.json"}) {
    WebhookAnswer a = deliver_signed(*car.driver, read(f));
    EXPECT_EQ(a.status, 200) << f;
    EXPECT_EQ(a.body, R"({"challenge":")" + hmac_sha256_hex("amt", "challenge") + R"("})") << f;
  }
}

TEST_F(MockExamples, VehicleStateBothTriggerShapes) {
  for (const char* f :
       {"webhook_vehicle_state_4.0.json", "webhook_vehicle_state_4.0_data_triggers.json"}) {
    const size_t before = car.host().emits.size();
    WebhookAnswer a = deliver_signed(*car.driver, read(f));
    EXPECT_EQ(a.status, 200) << f << ": " << a.body;
    ASSERT_EQ(car.host().emits.size(), before + 1) << f;
    const RecordedEmit& e = car.host().emits.back();
    EXPECT_FALSE(e.readings.empty()) << f;
    const RecordedReading* odo = find_reading(e, "powertrainTransmissionTravelledDistance");
    ASSERT_TRUE(odo) << f;
    EXPECT_GT(odo->number, 10000) << f;
  }
  EXPECT_EQ(car.counter("signals_rejected"), 0u);
}

TEST_F(MockExamples, Legacy2AndVehicleError) {
  WebhookAnswer a = deliver_signed(*car.driver, read("webhook_legacy_2.0.json"));
  EXPECT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(car.host().emits.size(), 1u);
  const RecordedReading* fl =
      find_reading(car.host().emits[0], "chassisAxleRow1WheelLeftTirePressure");
  ASSERT_TRUE(fl);
  EXPECT_DOUBLE_EQ(fl->number, 258);
  const RecordedReading* soc =
      find_reading(car.host().emits[0], "powertrainTractionBatteryStateOfChargeCurrent");
  ASSERT_TRUE(soc);
  EXPECT_DOUBLE_EQ(soc->number, 57);

  WebhookAnswer e = deliver_signed(*car.driver, read("webhook_vehicle_error_4.0.json"));
  EXPECT_EQ(e.status, 200) << e.body;
  ASSERT_FALSE(car.host().states.empty());
  EXPECT_EQ(car.host().states.back().state, OEMLINK_STATE_FAILED);
  EXPECT_NE(car.host().states.back().reason.find("SUBSCRIPTION"), std::string::npos);
}

}  // namespace
}  // namespace oemlink::smartcar::test
