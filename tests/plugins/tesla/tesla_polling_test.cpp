// Every status-code path of a poll, sleeping cars, wakes and budgets, through the built driver.
#include "region_resolver.hpp"
#include "tesla_account.hpp"
#include "tesla_driver_fixture.hpp"

namespace oemlink::tesla::test {
namespace {

std::string vd_body(const std::string& vin) {
  return R"({"response":{"vin":")" + vin +
         R"(","charge_state":{"battery_level":55,"timestamp":1700000000000},
           "drive_state":{"latitude":47.5,"longitude":8.5,"heading":90,"power":-3,
                          "timestamp":1700000000001}}})";
}
const std::string kAsleep408 =
    R"({"response":null,"error":"vehicle unavailable: vehicle is offline or asleep","error_description":""})";

class TeslaPollTest : public TeslaDriverTest {
 protected:
  // A car whose first poll got as far as the vehicle list (token, region, list cached).
  oemlink_conn* ready_car(const std::string& extra = "", const std::string& state = "online") {
    create(extra);
    oemlink_conn* car = open_car(0, kVin1, "123");
    script_login(access1, "r1", {{"123", kVin1, state}});
    return car;
  }
};

TEST_F(TeslaPollTest, AsleepInTheListIsNotPolled) {
  oemlink_conn* car = ready_car("", "asleep");
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_ASLEEP);
  EXPECT_EQ(last_state().reason, "vehicle list says asleep");
  EXPECT_EQ(host().requests.size(), 3u);  // token, region, list: no vehicle_data, no wake
  EXPECT_EQ(counter("billed_vehicle_data"), 0u);
  EXPECT_EQ(counter("billed_wake_up"), 0u);
}

TEST_F(TeslaPollTest, OfflineInTheListIsAsleepToo) {
  oemlink_conn* car = ready_car("", "offline");
  d->poll(car);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_ASLEEP);
  EXPECT_EQ(host().requests.size(), 3u);
}

TEST_F(TeslaPollTest, Status408IsAsleepAndBilled) {
  oemlink_conn* car = ready_car();
  script(408, kAsleep408);
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_ASLEEP);
  EXPECT_EQ(counter("asleep_408"), 1u);
  EXPECT_EQ(counter("billed_vehicle_data"), 1u);  // a sleeping car's 408 costs money
  // The list said online and was wrong: the next poll asks it again.
  script(200, list_reply({{"123", kVin1, "asleep"}}));
  d->poll(car);
  EXPECT_EQ(host().requests.back().url, kRegion + "/api/1/vehicles");
  EXPECT_EQ(counter("billed_vehicle_data"), 1u);
}

TEST_F(TeslaPollTest, Status503WithTheAsleepBodyIsAsleepUnbilled) {
  oemlink_conn* car = ready_car();
  script(503, kAsleep408);
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_ASLEEP);
  EXPECT_EQ(counter("unbilled_vehicle_data"), 1u);
}

TEST_F(TeslaPollTest, ServerErrorsAndTimeoutsRetryUnbilled) {
  oemlink_conn* car = ready_car(R"(,"daily_request_budget":2)");
  for (int code : {500, 502, 503, 504, 540}) {
    script(code, R"({"error":"internal"})");
    Completion& done = d->poll(car);
    EXPECT_EQ(done.status, OEMLINK_RETRY) << code;
    EXPECT_NE(done.message.find(std::to_string(code)), std::string::npos) << done.message;
  }
  host().script_http(HttpReply::transport_failure("timeout"));
  EXPECT_EQ(d->poll(car).status, OEMLINK_RETRY);
  EXPECT_EQ(counter("unbilled_vehicle_data"), 6u);
  EXPECT_EQ(counter("billed_vehicle_data"), 0u);
  // Unbilled answers gave their budget back: two billed calls still fit today.
  script(200, vd_body(kVin1));
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  for (const auto& s : host().states) EXPECT_NE(s.state, OEMLINK_STATE_FAILED);
}

TEST_F(TeslaPollTest, RateLimitedCarWaitsForRetryAfterEvenADay) {
  create();
  oemlink_conn* a = open_car(0, kVin1, "1", "alice");
  oemlink_conn* b = open_car(1, kVin2, "2", "alice");
  script_login(access1, "r1", {{"1", kVin1, "online"}, {"2", kVin2, "online"}});
  script(429, "Retry in 86400 seconds", {{"Retry-After", "86400"}, {"RateLimit-Remaining", "0"}});
  const int64_t now = host().now_ms;
  EXPECT_EQ(d->poll(a).status, OEMLINK_RETRY);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_RATE_LIMITED);
  EXPECT_EQ(last_state().until_unix_ms, now + 86'401'000);
  EXPECT_EQ(last_state().conn, a);
  const size_t sent = host().requests.size();
  host().now_ms += 3'600'000;
  EXPECT_EQ(d->poll(a).status, OEMLINK_RETRY);  // hours later: still nothing sent
  EXPECT_EQ(host().requests.size(), sent);
  EXPECT_EQ(last_state().until_unix_ms, now + 86'401'000);
  // The limit was the car's: its account sibling polls on.
  script(200, list_reply({{"1", kVin1, "online"}, {"2", kVin2, "online"}}));
  script(200, vd_body(kVin2));
  EXPECT_EQ(d->poll(b).status, OEMLINK_OK);
  EXPECT_EQ(counter("rate_limited_car"), 1u);
  host().now_ms = now + 86'401'000;
  script(200, token_reply(access2, "r2"));  // the access token expired meanwhile
  script(200, list_reply({{"1", kVin1, "online"}}));
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(a).status, OEMLINK_OK);
}

TEST_F(TeslaPollTest, RateLimitOnTheAccountListStopsEveryCarOfTheAccount) {
  create();
  oemlink_conn* a = open_car(0, kVin1, "1", "alice");
  oemlink_conn* b = open_car(1, kVin2, "2", "alice");
  oemlink_conn* other = open_car(2, "5YJ3E1EA7KF000003", "3", "bob");
  script(200, token_reply(access1, "r1"));
  script(200, region_reply(kRegion));
  script(429, "", {{"Retry-After", "600"}});
  const int64_t now = host().now_ms;
  EXPECT_EQ(d->poll(a).status, OEMLINK_RETRY);
  int limited_a = 0, limited_b = 0;
  for (const auto& s : host().states) {
    if (s.state != OEMLINK_STATE_RATE_LIMITED) continue;
    EXPECT_EQ(s.until_unix_ms, now + 601'000);
    limited_a += s.conn == a;
    limited_b += s.conn == b;
  }
  EXPECT_GE(limited_a, 1);
  EXPECT_EQ(limited_b, 1);  // told at once, before it polls
  const size_t sent = host().requests.size();
  EXPECT_EQ(d->poll(b).status, OEMLINK_RETRY);
  EXPECT_EQ(host().requests.size(), sent);
  EXPECT_EQ(counter("rate_limited_account"), 1u);
  // Another account is not affected.
  script_login(access2, "r9", {{"3", "5YJ3E1EA7KF000003", "asleep"}});
  EXPECT_EQ(d->poll(other).status, OEMLINK_OK);
}

TEST_F(TeslaPollTest, RateLimitWithoutRetryAfterUsesRateLimitReset) {
  oemlink_conn* car = ready_car();
  script(429, "", {{"RateLimit-Reset", "37"}});
  const int64_t now = host().now_ms;
  d->poll(car);
  EXPECT_EQ(last_state().until_unix_ms, now + 38'000);
}

TEST_F(TeslaPollTest, MisdirectedFollowsAltSvcAndRemembersIt) {
  oemlink_conn* car = ready_car();
  script(
      421,
      R"({"error":"user out of region, use base URL: https://fleet-api.prd.eu.vn.cloud.tesla.com, see docs"})",
      {{"Alt-Svc", "h2=https://fleet-api.prd.eu.vn.cloud.tesla.com"}});
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(host().requests.back().url,
            "https://fleet-api.prd.eu.vn.cloud.tesla.com/api/1/vehicles/123/vehicle_data?endpoints="
            "charge_state%3Bclimate_state%3Bdrive_state%3Bvehicle_state");
  EXPECT_EQ(counter("region_redirects"), 1u);
  script(200, vd_body(kVin1));
  d->poll(car);
  EXPECT_EQ(host().requests.back().url.rfind("https://fleet-api.prd.eu.vn.cloud.tesla.com/", 0),
            0u);
}

TEST_F(TeslaPollTest, MisdirectedWithOnlyTheErrorTextStillFindsTheRegion) {
  oemlink_conn* car = ready_car();
  script(
      421,
      R"({"error":"user out of region, use base URL: https://fleet-api.prd.eu.vn.cloud.tesla.com, see docs"})");
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(host().requests.back().url.rfind("https://fleet-api.prd.eu.vn.cloud.tesla.com/", 0),
            0u);
}

TEST_F(TeslaPollTest, MisdirectedWithoutAHintAsksTheRegionAgain) {
  oemlink_conn* car = ready_car();
  script(421, R"({"error":"misdirected"})");
  script(200, region_reply("https://fleet-api.prd.eu.vn.cloud.tesla.com"));
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(host().requests[host().requests.size() - 2].url, kDiscovery + "/api/1/users/region");
  EXPECT_EQ(host().requests.back().url.rfind("https://fleet-api.prd.eu.vn.cloud.tesla.com/", 0),
            0u);
}

// Review: a 421's Alt-Svc (or a region answer) pointing outside Tesla's domains and the
// configured host must not receive the bearer token; the region is asked again instead.
TEST_F(TeslaPollTest, MisdirectedToAForeignHostNeverGetsTheToken) {
  oemlink_conn* car = ready_car();
  script(421, R"({"error":"user out of region, use base URL: https://evil.example, see docs"})",
         {{"Alt-Svc", "h2=https://evil.example"}});
  script(200, region_reply(kRegion));
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  for (const auto& r : host().requests) EXPECT_EQ(r.url.find("evil"), std::string::npos) << r.url;
  EXPECT_EQ(host().requests[host().requests.size() - 2].url, kDiscovery + "/api/1/users/region");
  EXPECT_EQ(counter("region_refused_urls"), 1u);
}

TEST_F(TeslaPollTest, RegionAnswerNamingAForeignOrPlainHttpHostIsRefused) {
  for (const std::string bad :
       {"https://evil.example", "http://fleet-api.prd.eu.vn.cloud.tesla.com",
        "https://fleet-api.prd.eu.vn.cloud.tesla.com@evil.example",
        "https://evil.example\\\\@x.tesla.com"}) {
    create();
    oemlink_conn* car = open_car(0, kVin1, "123");
    script(200, token_reply(access1, "r1"));
    script(200, region_reply(bad));
    Completion& done = d->poll(car);
    EXPECT_EQ(done.status, OEMLINK_RETRY) << bad;
    EXPECT_NE(done.message.find("outside Tesla's domains"), std::string::npos) << done.message;
    EXPECT_EQ(host().requests.size(), 2u) << bad;  // the token, the region: nothing after
    EXPECT_EQ(counter("region_refused_urls"), 1u) << bad;
    d.reset();
  }
}

TEST(RegionBaseUrl, OnlyTeslaDomainsOrTheConfiguredHost) {
  const std::string na = "https://fleet-api.prd.na.vn.cloud.tesla.com";
  EXPECT_TRUE(region_base_url_allowed("https://fleet-api.prd.eu.vn.cloud.tesla.com", na));
  EXPECT_TRUE(region_base_url_allowed("https://fleet-api.prd.cn.vn.cloud.tesla.cn", na));
  EXPECT_TRUE(region_base_url_allowed("https://proxy.corp:8443/eu", "https://proxy.corp/na"));
  EXPECT_TRUE(region_base_url_allowed("http://127.0.0.1:8080/eu", "http://127.0.0.1:8080"));
  EXPECT_FALSE(region_base_url_allowed("http://127.0.0.1:8080/eu", "https://127.0.0.1:8080"));
  EXPECT_FALSE(region_base_url_allowed("http://fleet-api.prd.eu.vn.cloud.tesla.com", na));
  EXPECT_FALSE(region_base_url_allowed("https://evil.example", na));
  EXPECT_FALSE(region_base_url_allowed("https://evil.example/.tesla.com", na));
  EXPECT_FALSE(region_base_url_allowed("https://tesla.com.evil.example", na));
  EXPECT_FALSE(region_base_url_allowed("https://eviltesla.com", na));
  EXPECT_FALSE(region_base_url_allowed("https://x.tesla.com@evil.example", na));
  EXPECT_FALSE(region_base_url_allowed("https://x.tesla.com/a?u=1", na));
  EXPECT_FALSE(region_base_url_allowed("https://x.tesla.com:99999", na));
  EXPECT_FALSE(region_base_url_allowed("ftp://x.tesla.com", na));
}

struct PermanentCase {
  int code;
  const char* body;
  const char* reason_part;
};

TEST_F(TeslaPollTest, PermanentRefusalsFailTheCarWithAReason) {
  const PermanentCase cases[] = {
      {402, R"({"error":"payment required"})", "payment required"},
      {403, R"({"error":"Unauthorized missing scopes"})", "lacks a scope"},
      {404, R"({"error":"5YJ3E1EA7KF000001 not_found"})", "not found"},
      {412, R"({"error":"Account must be registered in the current region"})",
       "partner not registered in this region"},
      {423, R"({"error":"account locked"})", "locked"},
      {451, R"({"error":"legal"})", "legal"},
  };
  for (const auto& c : cases) {
    oemlink_conn* car = ready_car();
    script(c.code, c.body);
    Completion& done = d->poll(car);
    EXPECT_EQ(done.status, OEMLINK_ERROR) << c.code;
    EXPECT_EQ(last_state().state, OEMLINK_STATE_FAILED) << c.code;
    EXPECT_NE(last_state().reason.find(c.reason_part), std::string::npos) << last_state().reason;
    EXPECT_NE(last_state().reason.find(std::to_string(c.code)), std::string::npos);
    d.reset();
  }
}

TEST_F(TeslaPollTest, CarMissingFromTheListFails) {
  create();
  oemlink_conn* car = open_car(0, kVin1, "999");
  script_login(access1, "r1", {{"123", kVin1, "online"}});
  EXPECT_EQ(d->poll(car).status, OEMLINK_ERROR);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_FAILED);
  EXPECT_NE(last_state().reason.find("999"), std::string::npos);
}

TEST_F(TeslaPollTest, WakeDisabledNeverWakes) {
  oemlink_conn* car = ready_car("", "asleep");
  for (int i = 0; i < 3; ++i) {
    d->poll(car);
    host().now_ms += 61'000;
    script(200, list_reply({{"123", kVin1, "asleep"}}));
  }
  for (const auto& r : host().requests) EXPECT_EQ(r.url.find("wake_up"), std::string::npos);
}

TEST_F(TeslaPollTest, WakeEnabledStaysWithinTheDailyWakeBudget) {
  oemlink_conn* car = ready_car(R"(,"wake":true,"daily_wake_budget":1)", "asleep");
  script(200, R"({"response":{"id":123,"state":"asleep"}})");
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(host().requests.back().method, "POST");
  EXPECT_EQ(host().requests.back().url, kRegion + "/api/1/vehicles/123/wake_up");
  EXPECT_EQ(counter("wakes"), 1u);
  EXPECT_EQ(counter("billed_wake_up"), 1u);
  // Right after a wake the car is asked for data even though the list lags.
  script(200, list_reply({{"123", kVin1, "asleep"}}));
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(host().emits.size(), 1u);
  // Later that day it sleeps again: the budget is spent, no second wake.
  host().now_ms += 10 * 60'000;
  script(200, list_reply({{"123", kVin1, "asleep"}}));
  d->poll(car);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_ASLEEP);
  EXPECT_EQ(counter("wakes"), 1u);
  EXPECT_EQ(counter("wake_budget_exhausted"), 1u);
  // A new UTC day brings a new wake.
  host().now_ms = (host().now_ms / 86'400'000 + 1) * 86'400'000 + 1000;
  script(200, list_reply({{"123", kVin1, "asleep"}}));
  script(200, R"({"response":{"id":123,"state":"asleep"}})");
  d->poll(car);
  EXPECT_EQ(counter("wakes"), 2u);
}

TEST_F(TeslaPollTest, DailyRequestBudgetStopsBilledCallsUntilMidnightUtc) {
  oemlink_conn* car = ready_car(R"(,"daily_request_budget":2)");
  script(200, vd_body(kVin1));
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  const size_t sent = host().requests.size();
  EXPECT_EQ(d->poll(car).status, OEMLINK_RETRY);
  EXPECT_EQ(host().requests.size(), sent);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_RATE_LIMITED);
  const int64_t midnight = (host().now_ms / 86'400'000 + 1) * 86'400'000;
  EXPECT_EQ(last_state().until_unix_ms, midnight);
  EXPECT_NE(last_state().reason.find("daily request budget of 2"), std::string::npos);
  EXPECT_EQ(counter("budget_exhausted"), 1u);
  host().now_ms = midnight;
  script(200, list_reply({{"123", kVin1, "online"}}));
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
}

TEST_F(TeslaPollTest, LocationOnlyWithTheSettingAndTheScope) {
  // Setting on, scope missing: neither asked for nor emitted, even if the answer carries it.
  oemlink_conn* car = ready_car(R"(,"location_data":true)");
  script(200, vd_body(kVin1));
  d->poll(car);
  EXPECT_EQ(host().requests.back().url, vehicle_data_url("123"));
  EXPECT_FALSE(find_reading(host().emits.back().readings, "currentLocationCoordinates"));
  d.reset();

  create(R"(,"location_data":true)");
  car = open_car(0, kVin1, "123");
  const std::string located =
      jwt_with_scopes({"openid", "vehicle_device_data", "vehicle_location"});
  script_login(located, "r1", {{"123", kVin1, "online"}});
  script(200, vd_body(kVin1));
  d->poll(car);
  EXPECT_EQ(host().requests.back().url, vehicle_data_url("123", "%3Blocation_data"));
  auto loc = find_reading(host().emits.back().readings, "currentLocationCoordinates");
  ASSERT_TRUE(loc);
  EXPECT_EQ(loc->kind, OEMLINK_VALUE_LOCATION);
  EXPECT_EQ(loc->latitude, 47.5);
  EXPECT_EQ(loc->timestamp_ms, 1700000000001);
  auto power = find_reading(host().emits.back().readings, "powertrainTractionBatteryCurrentPower");
  EXPECT_EQ(power->number, 3000);  // -3 kW out = 3000 W into the battery
  d.reset();

  // Scope present, setting off: not asked for.
  create();
  car = open_car(0, kVin1, "123");
  script_login(located, "r1", {{"123", kVin1, "online"}});
  script(200, vd_body(kVin1));
  d->poll(car);
  EXPECT_EQ(host().requests.back().url, vehicle_data_url("123"));
  EXPECT_FALSE(find_reading(host().emits.back().readings, "currentLocationCoordinates"));
}

TEST_F(TeslaPollTest, VinMismatchIsLoggedAndCounted) {
  oemlink_conn* car = ready_car();
  script(200, fixture("vehicle_data_gak_2023_11_11.json"));  // vin "XXX"
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(counter("vin_mismatches"), 1u);
  EXPECT_EQ(host().emits.size(), 1u);
  EXPECT_EQ(host().emits[0].readings.size(), 12u);
}

TEST_F(TeslaPollTest, BackPressureKeepsTheReadingsForTheNextPoll) {
  oemlink_conn* car = ready_car();
  script(200, vd_body(kVin1));
  host().emit_answer = OEMLINK_RETRY;
  EXPECT_EQ(d->poll(car).status, OEMLINK_RETRY);
  host().emit_answer = OEMLINK_OK;
  const size_t sent = host().requests.size();
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  ASSERT_EQ(host().emits.size(), 3u);  // refused, re-emitted, then the new poll's
  EXPECT_EQ(host().emits[1].readings, host().emits[0].readings);
  EXPECT_EQ(host().requests.size(), sent + 1);
}

TEST_F(TeslaPollTest, UnreadableVehicleDataIsAnErrorAndCounted) {
  oemlink_conn* car = ready_car();
  script(200, "<html>gateway</html>");
  Completion& done = d->poll(car);
  EXPECT_EQ(done.status, OEMLINK_ERROR);
  EXPECT_NE(done.message.find("unreadable"), std::string::npos);
  EXPECT_EQ(counter("vehicle_data_parse_errors"), 1u);
}

TEST_F(TeslaPollTest, IdentifiersAreChecked) {
  create();
  ConnSpec spec;
  spec.id = "x";
  spec.identifiers_json = R"({"tesla_id":"12a"})";
  EXPECT_FALSE(d->open(spec));
  EXPECT_NE(d->open_error().find("tesla_id"), std::string::npos);
  spec.identifiers_json = R"({"vehicle":"1"})";
  EXPECT_FALSE(d->open(spec));
  EXPECT_NE(d->open_error().find("unknown identifier 'vehicle'"), std::string::npos);
  spec.identifiers_json = "{}";
  EXPECT_FALSE(d->open(spec));
  spec.identifiers_json = R"({"tesla_id":123})";
  spec.vin = kVin1;
  EXPECT_TRUE(d->open(spec));
  spec.id = "y";
  EXPECT_FALSE(d->open(spec));  // the same VIN twice
}

// One page of GET /api/1/vehicles as Tesla pages it; next 0 = null (the last page).
std::string list_page(const std::vector<ListedCar>& cars, int current, int next, int per_page,
                      int total) {
  std::string body = list_reply(cars);
  body.pop_back();  // the closing brace
  const int pages = (total + per_page - 1) / per_page;
  return body + R"(,"pagination":{"previous":)" +
         (current > 1 ? std::to_string(current - 1) : "null") + R"(,"next":)" +
         (next ? std::to_string(next) : "null") + R"(,"current":)" + std::to_string(current) +
         R"(,"per_page":)" + std::to_string(per_page) + R"(,"count":)" + std::to_string(total) +
         R"(,"pages":)" + std::to_string(pages) + "}}";
}

TEST_F(TeslaPollTest, TheVehicleListIsReadPageByPageEachPageBilled) {
  create();
  oemlink_conn* far = open_car(0, kVin1, "5", "alice");
  oemlink_conn* near = open_car(1, kVin2, "1", "alice");
  script(200, token_reply(access1, "r1"));
  script(200, region_reply(kRegion));
  script(200,
         list_page({{"1", kVin2, "online"}, {"2", "5YJ3E1EA7KF000003", "asleep"}}, 1, 2, 2, 5));
  script(200,
         list_page({{"3", "5YJ3E1EA7KF000004", "online"}, {"4", "5YJ3E1EA7KF000005", "offline"}}, 2,
                   3, 2, 5));
  script(200, list_page({{"5", kVin1, "online"}}, 3, 0, 2, 5));
  script(200, vd_body(kVin1));
  Completion& done = d->poll(far);
  EXPECT_EQ(done.status, OEMLINK_OK) << done.message;
  ASSERT_EQ(host().requests.size(), 6u);
  EXPECT_EQ(host().requests[2].url, kRegion + "/api/1/vehicles");
  EXPECT_EQ(host().requests[3].url, kRegion + "/api/1/vehicles?page=2&per_page=2");
  EXPECT_EQ(host().requests[4].url, kRegion + "/api/1/vehicles?page=3&per_page=2");
  EXPECT_EQ(host().requests[4].header("Authorization"), "Bearer " + access1);
  EXPECT_EQ(host().requests[5].url, vehicle_data_url("5"));
  EXPECT_EQ(counter("billed_vehicle_list"), 3u);  // each page is a data request
  EXPECT_EQ(counter("vehicles_not_listed"), 0u);
  // The whole list is cached: the car of page 1 costs no list call.
  script(200, vd_body(kVin2));
  EXPECT_EQ(d->poll(near).status, OEMLINK_OK);
  EXPECT_EQ(host().requests.size(), 7u);
  EXPECT_EQ(counter("billed_vehicle_list"), 3u);
  EXPECT_EQ(counter("vehicle_list_cache_hits"), 1u);
}

TEST_F(TeslaPollTest, AFailedPageFailsTheListingAndCachesNothing) {
  create();
  oemlink_conn* car = open_car(0, kVin1, "5");
  script(200, token_reply(access1, "r1"));
  script(200, region_reply(kRegion));
  script(200, list_page({{"1", kVin2, "online"}}, 1, 2, 1, 2));
  script(503, "upstream");
  EXPECT_EQ(d->poll(car).status, OEMLINK_RETRY);
  EXPECT_EQ(counter("vehicles_not_listed"), 0u);  // not "missing": the list was not read
  // The next poll starts again at page 1.
  script(200, list_page({{"1", kVin2, "online"}}, 1, 2, 1, 2));
  script(200, list_page({{"5", kVin1, "online"}}, 2, 0, 1, 2));
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(host().requests[4].url, kRegion + "/api/1/vehicles");
  EXPECT_EQ(host().requests[5].url, kRegion + "/api/1/vehicles?page=2&per_page=1");
}

TEST_F(TeslaPollTest, PagingIsBoundedAndMustMoveForward) {
  create();
  oemlink_conn* car = open_car(0, kVin1, "5");
  script(200, token_reply(access1, "r1"));
  script(200, region_reply(kRegion));
  const int limit = TeslaAccount::kMaxVehicleListPages;
  for (int p = 1; p <= limit + 5; ++p)
    script(200, list_page({{std::to_string(1000 + p), kVin2, "online"}}, p, p + 1, 1, 1'000'000));
  Completion& done = d->poll(car);
  EXPECT_EQ(done.status, OEMLINK_RETRY);
  EXPECT_NE(done.message.find("more than " + std::to_string(limit) + " pages"), std::string::npos)
      << done.message;
  EXPECT_EQ(counter("billed_vehicle_list"), uint64_t(limit));
  EXPECT_EQ(counter("vehicle_list_page_errors"), 1u);

  // A page naming itself (or an earlier one) as the next stops at once.
  create();
  car = open_car(0, kVin1, "5");
  script(200, token_reply(access1, "r1"));
  script(200, region_reply(kRegion));
  script(200, list_page({{"1", kVin2, "online"}}, 1, 1, 1, 3));
  Completion& loop = d->poll(car);
  EXPECT_EQ(loop.status, OEMLINK_RETRY);
  EXPECT_NE(loop.message.find("names page 1 as the next"), std::string::npos) << loop.message;
  EXPECT_EQ(counter("billed_vehicle_list"), 1u);
}

}  // namespace
}  // namespace oemlink::tesla::test
