// Injected faults from the command line and the control API: 408, 429 with its headers and
// rate-limit window (per car and account-wide), 401, 5xx (not billed), latency and drops.
#include "tests/tools/mock_tesla/mock_tesla_process.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace oemlink::mock_oem::testing {
namespace {

std::string data_path(const std::string& car) {
  return "/api/1/vehicles/" + car + "/vehicle_data";
}

HttpAnswer inject(MockTesla& mock, const std::string& rule) {
  return http("POST", mock.base() + "/mock/inject", rule);
}

TEST(MockTeslaInjection, RateLimit429CarriesTeslasHeadersAndHoldsItsWindow) {
  MockTesla mock({"--accept-refresh-token", "s", "--inject",
                  std::string("status=429,vin=") + kVinS85 + ",retry_after=2,count=1",
                  "--rate-limit-limit", "50"});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("s");
  HttpAnswer a = mock.get(data_path(kVinS85), token);
  ASSERT_EQ(a.status, 429);
  EXPECT_EQ(a.body, "Retry in 2 seconds");
  EXPECT_EQ(a.headers["retry-after"], "2");
  EXPECT_EQ(a.headers["ratelimit-limit"], "50");
  EXPECT_EQ(a.headers["ratelimit-remaining"], "0");
  EXPECT_EQ(a.headers["ratelimit-reset"], "2");
  // Within the window: still 429, counted as a violation; other cars are not limited.
  a = mock.get(data_path(kVinS85), token);
  EXPECT_EQ(a.status, 429);
  EXPECT_LE(std::stoi(a.headers["retry-after"]), 2);
  EXPECT_EQ(mock.get(data_path(kVinS60), token).status, 200);
  EXPECT_EQ(mock.stats().at("rate_limit_violations").to_number<uint64_t>(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_EQ(mock.get(data_path(kVinS85), token).status, 200);
  // 429s are billed (< 500).
  EXPECT_EQ(mock.stats().at("cars").at(kVinS85).at("data").to_number<uint64_t>(), 3u);
}

TEST(MockTeslaInjection, AccountWide429LimitsEveryCarOfTheAccount) {
  MockTesla mock({"--accept-refresh-token", "s"});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("s");
  ASSERT_EQ(inject(mock, R"({"account":"default","status":429,"retry_after":3600})").status, 200);
  for (const char* car : {kVinS85, kVinS60, kVinModel3}) {
    HttpAnswer a = mock.get(data_path(car), token);
    EXPECT_EQ(a.status, 429) << car;
    EXPECT_GE(std::stoi(a.headers["retry-after"]), 3590);
  }
  EXPECT_EQ(mock.get("/api/1/vehicles", token).status, 429);
  EXPECT_EQ(mock.stats().at("rate_limit_violations").to_number<uint64_t>(), 3u);
  // Clearing the rules closes the window.
  ASSERT_EQ(http("DELETE", mock.base() + "/mock/inject").status, 200);
  EXPECT_EQ(mock.get(data_path(kVinS85), token).status, 200);
}

TEST(MockTeslaInjection, EachStatusCodeWithItsBodyAndBilling) {
  MockTesla mock({"--accept-refresh-token", "s"});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("s");
  const std::string car = std::string(",\"vin\":\"") + kVinS85 + "\"";
  for (int status : {408, 401, 500, 503, 504, 540, 402, 403, 423, 451}) {
    ASSERT_EQ(inject(mock, "{\"status\":" + std::to_string(status) + car + ",\"count\":1}").status,
              200);
    const HttpAnswer a = mock.get(data_path(kVinS85), token);
    EXPECT_EQ(a.status, status);
    const auto body = a.json();
    EXPECT_TRUE(body.as_object().contains("error")) << status << " " << a.body;
    if (status == 408 || status == 500 || status == 503) {
      EXPECT_EQ(body.at("error").as_string(), "vehicle unavailable: vehicle is offline or asleep");
    }
    if (status == 401) {
      EXPECT_EQ(body.at("error").as_string(), "token expired");
    }
  }
  EXPECT_EQ(mock.get(data_path(kVinS85), token).status, 200);  // each rule was used up
  const auto stats = mock.stats();
  // Billed: 408, 402, 403, 423, 451 and the final 200; not: 401, 500, 503, 504, 540.
  EXPECT_EQ(stats.at("cars").at(kVinS85).at("data").to_number<uint64_t>(), 6u);
  EXPECT_EQ(stats.at("unbilled_5xx").to_number<uint64_t>(), 4u);
}

TEST(MockTeslaInjection, LatencyAndJitterDelayAnswers) {
  MockTesla mock(
      {"--accept-refresh-token", "s", "--latency-ms", "300", "--latency-jitter-ms", "100"});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("s");
  for (int i = 0; i < 3; ++i) {
    const HttpAnswer a = mock.get(data_path(kVinS85), token);
    EXPECT_EQ(a.status, 200);
    EXPECT_GE(a.seconds, 0.3);
    EXPECT_LT(a.seconds, 2.0);
  }
  // The control API is not delayed.
  EXPECT_LT(http("GET", mock.base() + "/stats").seconds, 0.3);
}

TEST(MockTeslaInjection, PerCarLatencyAndDroppedConnections) {
  MockTesla mock({"--accept-refresh-token", "s", "--inject",
                  std::string("vin=") + kVinS60 + ",latency_ms=400", "--inject",
                  std::string("path=wake_up,drop=true,count=1")});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("s");
  EXPECT_GE(mock.get(data_path(kVinS60), token).seconds, 0.4);
  EXPECT_LT(mock.get(data_path(kVinS85), token).seconds, 0.3);
  const HttpAnswer dropped =
      mock.post("/api/1/vehicles/" + std::string(kVinS85) + "/wake_up", token, "");
  EXPECT_EQ(dropped.status, 0);
  EXPECT_EQ(mock.post("/api/1/vehicles/" + std::string(kVinS85) + "/wake_up", token, "").status,
            200);
  EXPECT_EQ(mock.stats().at("cars").at(kVinS85).at("wakes").to_number<uint64_t>(), 1u);
  EXPECT_EQ(inject(mock, R"({"status":"x"})").status, 400);
  EXPECT_EQ(inject(mock, R"({"vin":"X"})").status, 400);  // no effect named
}

}  // namespace
}  // namespace oemlink::mock_oem::testing
