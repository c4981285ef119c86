// Injected errors (oem-apis.md error table) in both body shapes, latency, and the app bucket.
#include "tests/tools/mock_smartcar/mock_process.hpp"

namespace oemlink::testing {
namespace {

namespace json = boost::json;

struct Expected {
  int status;
  std::string type;
  json::value code;  // null for AUTHENTICATION
  json::value resolution;
};

TEST(MockSmartcarErrors, EachInjectedStatusInBothShapesThenRecovers) {
  MockSmartcar mock({"--accept-access-token", "at"});
  const std::vector<Expected> table = {
      {409, "VEHICLE_STATE", "ASLEEP", nullptr},
      {429, "RATE_LIMIT", "SMARTCAR_API", "RETRY_LATER"},
      {430, "BILLING", "VEHICLE_REQUEST_LIMIT", nullptr},
      {401, "AUTHENTICATION", nullptr, "REAUTHENTICATE"},
      {500, "SERVER", "INTERNAL", "RETRY_LATER"},
      {502, "UPSTREAM", "UNKNOWN_ISSUE", "RETRY_LATER"},
      {503, "SERVER", "SERVICE_UNAVAILABLE", "RETRY_LATER"},
  };
  for (const auto& e : table) {
    for (const std::string shape : {"v3", "v2"}) {
      SCOPED_TRACE(std::to_string(e.status) + " " + shape);
      std::string rule = R"({"vehicle":")" + kVw + R"(","status":)" + std::to_string(e.status) +
                         R"(,"count":1,"shape":")" + shape + R"(")";
      if (e.status == 429) rule += R"(,"retry_after":17)";
      rule += "}";
      ASSERT_EQ(mock.inject(rule).status, 200);
      auto r = mock.signals(kVw, "at");
      EXPECT_EQ(r.status, e.status);
      EXPECT_FALSE(r.headers["sc-request-id"].empty());
      if (e.status == 429) {
        EXPECT_EQ(r.headers["retry-after"], "17");
      } else {
        EXPECT_EQ(r.headers.count("retry-after"), 0u);
      }
      auto body = r.json();
      if (shape == "v3") {
        const auto& item = body.at("errors").at(0);
        EXPECT_EQ(item.at("status"), json::value(std::to_string(e.status)));
        EXPECT_EQ(item.at("code"), e.code);
        EXPECT_FALSE(item.at("title").as_string().empty());
        EXPECT_FALSE(item.at("detail").as_string().empty());
      } else {
        EXPECT_EQ(body.at("type"), json::value(e.type));
        EXPECT_EQ(body.at("code"), e.code);
        EXPECT_EQ(body.at("statusCode"), e.status);
        EXPECT_EQ(body.at("requestId"), json::value(r.headers["sc-request-id"]));
        EXPECT_FALSE(body.at("description").as_string().empty());
        EXPECT_NE(body.at("docURL").as_string().find("https://smartcar.com/docs/"),
                  json::string::npos);
        EXPECT_EQ(body.at("resolution").at("type"), e.resolution);
        if (e.status == 401) {
          EXPECT_NE(body.at("resolution").at("url").as_string().find("vehicle_id=" + kVw),
                    json::string::npos);
        }
      }
      // count 1: the next read is served.
      EXPECT_EQ(mock.signals(kVw, "at").status, 200);
    }
  }
  EXPECT_EQ(mock.stats().at("faults").at("fired"), 14);
}

TEST(MockSmartcarErrors, RateLimitPerVehicleCodeAndUndocumented503Page) {
  MockSmartcar mock({"--accept-access-token", "at"});
  ASSERT_EQ(mock.inject(R"({"status":429,"code":"VEHICLE","shape":"v2"})").status, 200);
  auto r = mock.signals(kJaguar, "at");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.json().at("code"), "VEHICLE");
  EXPECT_EQ(r.headers["retry-after"], "60");  // the default when none is given
  ASSERT_EQ(mock.inject(R"({"status":504,"shape":"raw"})").status, 200);
  r = mock.signals(kJaguar, "at");
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.headers["content-type"], "text/html");
  boost::system::error_code ec;
  (void)json::parse(r.body, ec);
  EXPECT_TRUE(ec) << "a gateway page is not JSON";
}

TEST(MockSmartcarErrors, OptionRulesArePerVehicleAndCanLastForever) {
  MockSmartcar mock(
      {"--accept-access-token", "at", "--inject", "vehicle=" + kFord + ",status=409,count=-1"});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(mock.signals(kFord, "at").status, 409);
  EXPECT_EQ(mock.signals(kVw, "at").status, 200);
  auto rules = http("GET", mock.url("/mock/inject")).json();
  ASSERT_EQ(rules.at("rules").as_array().size(), 1u);
  EXPECT_EQ(rules.at("rules").at(0).at("count"), -1);
  EXPECT_EQ(http("DELETE", mock.url("/mock/inject")).status, 200);
  EXPECT_EQ(mock.signals(kFord, "at").status, 200);
  auto bad = mock.inject(R"({"status":200})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("status"), std::string::npos);
}

TEST(MockSmartcarErrors, TokenEndpointFaultsAndLatencyAndDrop) {
  MockSmartcar mock({"--accept-access-token", "at", "--accept-refresh-token", "rt"});
  ASSERT_EQ(mock.inject(R"({"endpoint":"token","status":500})").status, 200);
  auto r = mock.refresh("rt");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.json().at("type"), "SERVER");  // the token endpoint answers in the v2 shape
  EXPECT_EQ(mock.refresh("rt").status, 200);

  ASSERT_EQ(mock.inject(R"({"delay_ms":400})").status, 200);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(mock.signals(kVw, "at").status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(380));

  ASSERT_EQ(mock.inject(R"({"drop":true})").status, 200);
  EXPECT_EQ(mock.signals(kVw, "at").status, 0);  // connection closed, no answer
  EXPECT_EQ(mock.signals(kVw, "at").status, 200);
}

TEST(MockSmartcarBucket, ExhaustedBucketAnswers429UntilItRefills) {
  MockSmartcar mock(
      {"--accept-access-token", "at", "--bucket", "3", "--bucket-refill-per-min", "30"});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(mock.signals(kVw, "at").status, 200);
  auto r = mock.signals(kJaguar, "at");  // the bucket is app-wide
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.json().at("errors").at(0).at("code"), "SMARTCAR_API");
  // One request back every 2 s: retry-after is what is left of that, in whole seconds.
  const int retry_after = std::stoi(r.headers["retry-after"]);
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(retry_after * 1000 + 100));
  EXPECT_EQ(mock.signals(kVw, "at").status, 200);
  EXPECT_EQ(mock.stats().at("bucket").at("refused"), 1);
  // The control API drains it for driver tests.
  ASSERT_EQ(http("POST", mock.url("/mock/bucket"), {}, R"({"available":0})").status, 200);
  EXPECT_EQ(mock.signals(kVw, "at").status, 429);
}

TEST(MockSmartcarBucket, DefaultIs120AndOffDisablesIt) {
  {
    MockSmartcar mock({"--accept-access-token", "at"});
    int ok = 0, limited = 0;
    for (int i = 0; i < 125; ++i)
      (mock.get("/v3/vehicles/" + kVw, "at").status == 200 ? ok : limited)++;
    EXPECT_EQ(ok, 120);
    EXPECT_EQ(limited, 5);
  }
  {
    MockSmartcar mock({"--accept-access-token", "at", "--bucket", "off"});
    for (int i = 0; i < 125; ++i) ASSERT_EQ(mock.get("/v3/vehicles/" + kVw, "at").status, 200);
  }
}

TEST(MockSmartcarBilling, MonthlyQuotaGives430) {
  MockSmartcar mock({"--accept-access-token", "at", "--monthly-quota", "2"});
  EXPECT_EQ(mock.signals(kVw, "at").status, 200);
  EXPECT_EQ(mock.signals(kVw, "at").status, 200);
  auto r = mock.signals(kVw, "at");
  EXPECT_EQ(r.status, 430);
  EXPECT_EQ(r.json().at("errors").at(0).at("type"), "BILLING");
  EXPECT_EQ(mock.signals(kJaguar, "at").status, 200);  // per vehicle
}

}  // namespace
}  // namespace oemlink::testing
