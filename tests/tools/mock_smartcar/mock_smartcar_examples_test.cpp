// The shipped examples have the shapes oem-apis.md documents, and the vehicles example loads.
#include "tests/tools/mock_smartcar/mock_process.hpp"

namespace oemlink::testing {
namespace {

namespace json = boost::json;

json::value load(const std::string& name) {
  boost::system::error_code ec;
  auto v = json::parse(slurp(kExamples / name), ec);
  EXPECT_FALSE(ec) << name;
  return v;
}

TEST(MockSmartcarExamples, WebhookPayloadsHaveTheDocumentedShapes) {
  for (const char* name :
       {"webhook_vehicle_state_4.0.json", "webhook_vehicle_state_4.0_data_triggers.json",
        "webhook_vehicle_error_4.0.json", "webhook_verify_4.0.json"}) {
    SCOPED_TRACE(name);
    auto v = load(name);
    for (const char* key : {"eventId", "eventType", "data", "meta"})
      EXPECT_TRUE(v.as_object().contains(key)) << key;
    const auto& meta = v.at("meta");
    EXPECT_EQ(meta.at("version"), "4.0");
    EXPECT_TRUE(meta.at("deliveredAt").is_int64());
    EXPECT_EQ(std::to_string(meta.at("deliveredAt").as_int64()).size(), 13u);  // ms
    for (const char* key : {"webhookId", "webhookName", "deliveryId", "mode"})
      EXPECT_TRUE(meta.as_object().contains(key)) << key;
  }
  auto real = load("webhook_vehicle_state_4.0.json");
  EXPECT_FALSE(real.as_object().contains("vehicleId"));
  EXPECT_EQ(real.at("triggers").at(0).at("signal").at("code"), "charge-ischarging");
  bool saw_error = false, saw_empty_meta = false;
  for (const auto& s : real.at("data").at("signals").as_array()) {
    if (s.as_object().contains("status") && s.at("status").at("value") == "ERROR") saw_error = true;
    if (s.as_object().contains("meta") && s.at("meta").as_object().empty()) saw_empty_meta = true;
  }
  EXPECT_TRUE(saw_error && saw_empty_meta);
  auto docs = load("webhook_vehicle_state_4.0_data_triggers.json");
  EXPECT_EQ(docs.at("vehicleId"), docs.at("data").at("vehicle").at("id"));
  EXPECT_TRUE(docs.at("data").as_object().contains("triggers"));
  auto legacy = load("webhook_legacy_2.0.json");
  EXPECT_EQ(legacy.at("version"), "2.0");
  EXPECT_EQ(
      legacy.at("payload").at("vehicles").at(0).at("data").at(1).at("body").at("percentRemaining"),
      0.57);
  EXPECT_EQ(load("webhook_verify_legacy_2.0.json").at("payload").at("challenge"), "challenge");
}

TEST(MockSmartcarExamples, TheVehiclesExampleServesAsTheDefaults) {
  MockSmartcar with_file({"--vehicles", (kExamples / "vehicles.json").string(),
                          "--accept-access-token", "at", "--static-values"});
  MockSmartcar defaults({"--accept-access-token", "at", "--static-values"});
  for (const auto* m : {&with_file, &defaults}) {
    auto r = m->signals(kVw, "at");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.json().at("meta").at("totalCount"), 15);
    EXPECT_EQ(m->signals(kFord, "at").json().at("meta").at("totalCount"), 9);
  }
}

}  // namespace
}  // namespace oemlink::testing
