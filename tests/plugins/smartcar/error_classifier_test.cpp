#include "error_classifier.hpp"

#include <gtest/gtest.h>

namespace oemlink::smartcar {
namespace {

constexpr int64_t kNow = 1'800'000'000'000;

TEST(SmartcarErrors, V2ShapeByTypeAndCode) {
  auto e = classify_error(
      409,
      R"({"type":"VEHICLE_STATE","code":"ASLEEP","description":"The vehicle is asleep.","docURL":"x","statusCode":409,"requestId":"r","resolution":{"type":null}})",
      "", kNow);
  EXPECT_EQ(e.action, ErrorAction::asleep);
  EXPECT_EQ(e.reason, "smartcar 409 VEHICLE_STATE:ASLEEP: The vehicle is asleep.");

  e = classify_error(429, R"({"type":"RATE_LIMIT","code":"VEHICLE","description":"slow down"})",
                     "120", kNow);
  EXPECT_EQ(e.action, ErrorAction::rate_limited);
  EXPECT_EQ(e.until_ms, kNow + 120'000);
  EXPECT_FALSE(e.app_wide);

  e = classify_error(429, R"({"type":"RATE_LIMIT","code":"SMARTCAR_API"})", " 30 ", kNow);
  EXPECT_TRUE(e.app_wide);
  EXPECT_EQ(e.until_ms, kNow + 30'000);

  e = classify_error(429, R"({"type":"RATE_LIMIT","code":"VEHICLE"})", "", kNow);
  EXPECT_EQ(e.until_ms, 0);  // no Retry-After: the host's default back-off

  e = classify_error(
      430,
      R"({"type":"BILLING","code":"VEHICLE_REQUEST_LIMIT","description":"Monthly limit reached."})",
      "", kNow);
  EXPECT_EQ(e.action, ErrorAction::failed);
  EXPECT_NE(e.reason.find("BILLING:VEHICLE_REQUEST_LIMIT"), std::string::npos);

  e = classify_error(
      400,
      R"({"type":"CONNECTED_SERVICES_ACCOUNT","code":"AUTHENTICATION_FAILED","description":"re-auth","resolution":{"type":"REAUTHENTICATE","url":"https://connect.smartcar.com/oauth/reauthenticate?response_type=vehicle_id&client_id=c&vehicle_id=v"}})",
      "", kNow);
  EXPECT_EQ(e.action, ErrorAction::reauth);
  EXPECT_EQ(e.reauth_url,
            "https://connect.smartcar.com/oauth/"
            "reauthenticate?response_type=vehicle_id&client_id=c&vehicle_id=v");
}

TEST(SmartcarErrors, V3ShapeAndBareStatuses) {
  auto e = classify_error(
      409,
      R"({"errors":[{"status":"409","code":"VEHICLE_STATE","title":"Asleep","detail":"The vehicle is asleep."}]})",
      "", kNow);
  EXPECT_EQ(e.action, ErrorAction::asleep);
  EXPECT_EQ(e.code, "VEHICLE_STATE");
  EXPECT_NE(e.reason.find("The vehicle is asleep."), std::string::npos);

  e = classify_error(
      401, R"({"errors":[{"status":"401","code":"AUTHENTICATION","title":"Unauthorized"}]})", "",
      kNow);
  EXPECT_EQ(e.action, ErrorAction::unauthorized);
  EXPECT_EQ(classify_error(500, "oops <html>", "", kNow).action, ErrorAction::transient);
  EXPECT_EQ(classify_error(502, "", "", kNow).action, ErrorAction::transient);
  EXPECT_EQ(classify_error(503, "", "", kNow).action, ErrorAction::transient);
  EXPECT_EQ(classify_error(404, "", "", kNow).action, ErrorAction::failed);
  EXPECT_EQ(classify_error(400, "{}", "", kNow).action, ErrorAction::error);
  EXPECT_EQ(classify_error(429, "", "not-a-number", kNow).until_ms, 0);
}

TEST(SmartcarErrors, ReasonIsOneBoundedLine) {
  std::string longtext(2000, 'x');
  auto e = classify_error(
      500, R"({"type":"SERVER","code":"X","description":"line1\nline2)" + longtext + "\"}", "",
      kNow);
  EXPECT_EQ(e.reason.find('\n'), std::string::npos);
  EXPECT_LT(e.reason.size(), 400u);
}

}  // namespace
}  // namespace oemlink::smartcar
