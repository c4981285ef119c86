// The mock Smartcar server: CLI contract, token rotation, v3 signals, v2 reads, /stats.
#include "tests/tools/mock_smartcar/mock_process.hpp"

#include <set>

namespace oemlink::testing {
namespace {

namespace json = boost::json;

// The signals of a vehicle, every page followed through links.next, by code.
std::map<std::string, json::object> all_signals(const MockSmartcar& mock,
                                                const std::string& vehicle,
                                                const std::string& token, int* pages = nullptr) {
  std::map<std::string, json::object> out;
  std::string url = mock.url("/v3/vehicles/" + vehicle + "/signals");
  int n = 0;
  while (!url.empty() && n < 50) {
    ++n;
    HttpResult r = http("GET", url, {"Authorization: Bearer " + token});
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) break;
    auto body = r.json();
    for (const auto& item : body.at("data").as_array())
      out[std::string(item.at("attributes").at("code").as_string())] = item.as_object();
    const auto& links = body.at("links").as_object();
    url = links.contains("next") ? std::string(links.at("next").as_string()) : "";
  }
  if (pages) *pages = n;
  return out;
}

TEST(MockSmartcarCli, PrintsListeningFirstAndStopsOnSigterm) {
  MockSmartcar mock({});
  ASSERT_GT(mock.port(), 0) << mock.first_line() << mock.stderr_text();
  EXPECT_EQ(mock.first_line(), "listening " + std::to_string(mock.port()));
  EXPECT_EQ(mock.stop(), 0);
}

TEST(MockSmartcarCli, RejectsABadVehiclesFileNamingVehicleAndKey) {
  const auto dir = scratch_dir();
  std::ofstream(dir / "v.json") << R"({"vehicles":[{"id":"car-1","make":"X","model":"Y","year":2020,
    "signals":[{"code":"odometer-traveleddistance","body":{"value":1,"unit":"km"},"colour":"red"}]}]})";
  auto r = run_mock({"smartcar", "--port", "0", "--vehicles", (dir / "v.json").string()}, dir);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("v.json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("car-1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("colour"), std::string::npos) << r.err;
  r = run_mock({"smartcar", "--bucket", "lots"}, dir);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--bucket"), std::string::npos) << r.err;
  r = run_mock({"smartcar", "--inject", "status=409,colour=red"}, dir);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("colour"), std::string::npos) << r.err;
}

TEST(MockSmartcarToken, RefreshRotatesAndTheUsedTokenDiesAfterTheGracePeriod) {
  MockSmartcar mock({"--accept-refresh-token", "seed-rt", "--refresh-grace-ms", "1500"});
  auto first = mock.refresh("seed-rt");
  ASSERT_EQ(first.status, 200) << first.body;
  auto pair = first.json();
  EXPECT_EQ(pair.at("token_type"), "Bearer");
  EXPECT_EQ(pair.at("expires_in"), 7200);
  const std::string access = std::string(pair.at("access_token").as_string());
  const std::string rotated = std::string(pair.at("refresh_token").as_string());
  EXPECT_NE(rotated, "seed-rt");
  EXPECT_EQ(mock.signals(kVw, access).status, 200);

  // Within the grace period the used token still works (a lost answer can be retried)...
  auto again = mock.refresh("seed-rt");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_NE(again.json().at("refresh_token"), pair.at("refresh_token"));
  // ...after it, it is dead: 401 in the v2 shape with a re-authentication link.
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  auto dead = mock.refresh("seed-rt");
  EXPECT_EQ(dead.status, 401);
  auto err = dead.json();
  EXPECT_EQ(err.at("type"), "AUTHENTICATION");
  EXPECT_EQ(err.at("statusCode"), 401);
  EXPECT_EQ(err.at("resolution").at("type"), "REAUTHENTICATE");
  EXPECT_EQ(std::string(err.at("resolution").at("url").as_string())
                .rfind("https://connect.smartcar.com/oauth/"
                       "reauthenticate?response_type=vehicle_id&client_id=mock-client-id",
                       0),
            0u);
  // The old access token lives on to its expiry; the rotated refresh token works.
  EXPECT_EQ(mock.signals(kVw, access).status, 200);
  EXPECT_EQ(mock.refresh(rotated).status, 200);
  auto stats = mock.stats();
  EXPECT_EQ(stats.at("tokens").at("refreshes"), 3);
  EXPECT_EQ(stats.at("tokens").at("refused"), 1);
}

TEST(MockSmartcarToken, ClientAuthenticationIsHttpBasic) {
  MockSmartcar mock(
      {"--accept-refresh-token", "rt", "--client-id", "app", "--client-secret", "s3"});
  auto wrong = mock.refresh("rt", "app", "nope");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.json().at("type"), "AUTHENTICATION");
  // Credentials in the form instead of Basic are not client authentication.
  auto in_form =
      http("POST", mock.url("/oauth/token"), {"Content-Type: application/x-www-form-urlencoded"},
           "grant_type=refresh_token&refresh_token=rt&client_id=app&client_secret=s3");
  EXPECT_EQ(in_form.status, 401);
  // The refused attempts did not use the token up.
  EXPECT_EQ(mock.refresh("rt", "app", "s3").status, 200);
  auto bad_grant = mock.post_form("grant_type=password&username=u", "app", "s3");
  EXPECT_EQ(bad_grant.status, 400);
  EXPECT_EQ(bad_grant.json().at("type"), "VALIDATION");
}

TEST(MockSmartcarToken, ReauthLinkNamesTheVehicleOfASeededChain) {
  const auto dir = scratch_dir();
  std::ofstream(dir / "v.json")
      << R"({"vehicles":[{"id":"car-9","make":"TESLA","model":"Model 3","year":2022,
    "refresh_tokens":["rt-car-9"],
    "signals":[{"code":"odometer-traveleddistance","body":{"value":100,"unit":"km"}}]}]})";
  MockSmartcar mock({"--vehicles", (dir / "v.json").string(), "--refresh-grace-ms", "0"}, dir);
  ASSERT_EQ(mock.refresh("rt-car-9").status, 200);
  auto dead = mock.refresh("rt-car-9");
  ASSERT_EQ(dead.status, 401);
  EXPECT_NE(
      std::string(dead.json().at("resolution").at("url").as_string()).find("&vehicle_id=car-9"),
      std::string::npos);
}

TEST(MockSmartcarToken, AuthorizationCodeIsSingleUseAndAccessTokensExpire) {
  MockSmartcar mock({"--accept-auth-code", "code-1", "--access-ttl-s", "1"});
  auto r = mock.post_form(
      "grant_type=authorization_code&code=code-1&redirect_uri=https%3A%2F%2Fexample.com%2Fcb");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("expires_in"), 1);
  const std::string access = std::string(r.json().at("access_token").as_string());
  // A spent code gets OAuth's 400 invalid_grant, as a real token endpoint answers it.
  auto reused = mock.post_form("grant_type=authorization_code&code=code-1");
  EXPECT_EQ(reused.status, 400);
  EXPECT_EQ(reused.json().at("error"), "invalid_grant");
  EXPECT_EQ(mock.signals(kVw, access).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto expired = mock.signals(kVw, access);
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.json().at("errors").at(0).at("status"), "401");
  EXPECT_EQ(mock.signals(kVw, "").status, 401);
}

TEST(MockSmartcarSignals, PagesFollowLinksNextAndCoverEverySignalOnce) {
  MockSmartcar mock({"--accept-access-token", "at", "--page-size", "4"});
  auto page1 = mock.signals(kVw, "at");
  ASSERT_EQ(page1.status, 200);
  auto body = page1.json();
  EXPECT_EQ(body.at("meta").at("page"), 1);
  EXPECT_EQ(body.at("meta").at("pageSize"), 4);
  EXPECT_EQ(body.at("meta").at("totalCount"), 15);
  EXPECT_EQ(body.at("data").as_array().size(), 4u);
  EXPECT_NE(
      std::string(body.at("links").at("self").as_string()).find("/v3/vehicles/" + kVw + "/signals"),
      std::string::npos);
  int pages = 0;
  auto signals = all_signals(mock, kVw, "at", &pages);
  EXPECT_EQ(pages, 4);
  EXPECT_EQ(signals.size(), 15u);
  // The last page has no next link; a page past the end is empty.
  auto last = mock.signals(kVw, "at", "?page=4").json();
  EXPECT_FALSE(last.at("links").as_object().contains("next"));
  EXPECT_EQ(mock.signals(kVw, "at", "?page=9").json().at("data").as_array().size(), 0u);
  EXPECT_EQ(mock.signals(kVw, "at", "?page=0").status, 400);
  // The client's pageSize is honoured and carried into next.
  auto custom = mock.signals(kVw, "at", "?pageSize=10").json();
  EXPECT_EQ(custom.at("data").as_array().size(), 10u);
  EXPECT_NE(std::string(custom.at("links").at("next").as_string()).find("pageSize=10"),
            std::string::npos);
}

TEST(MockSmartcarSignals, DocumentedShapeUnitVarietyAndPerSignalErrors) {
  MockSmartcar mock({"--accept-access-token", "at"});
  auto vw = all_signals(mock, kVw, "at");
  auto jag = all_signals(mock, kJaguar, "at");
  auto ford = all_signals(mock, kFord, "at");

  const auto& odo = vw.at("odometer-traveleddistance");
  EXPECT_EQ(odo.at("id"), "odometer-traveleddistance");
  EXPECT_EQ(odo.at("type"), "signal");
  EXPECT_EQ(odo.at("attributes").at("name"), "TraveledDistance");
  EXPECT_EQ(odo.at("attributes").at("group"), "Odometer");
  EXPECT_EQ(odo.at("attributes").at("status").at("value"), "SUCCESS");
  EXPECT_EQ(odo.at("attributes").at("body").at("unit"), "km");
  EXPECT_TRUE(odo.at("meta").at("oemUpdatedAt").is_int64());
  EXPECT_TRUE(odo.at("meta").at("retrievedAt").is_int64());
  EXPECT_EQ(jag.at("odometer-traveleddistance").at("attributes").at("body").at("unit"),
            "kilometers");

  const auto& soc = vw.at("tractionbattery-stateofcharge").at("attributes").at("body");
  EXPECT_EQ(soc.at("unit"), "percent");
  EXPECT_GT(soc.at("value").to_number<double>(), 1.0);  // 0-100, not a fraction
  const auto& tyres = vw.at("wheel-tires").at("attributes").at("body");
  EXPECT_EQ(tyres.at("unit"), "bar");
  EXPECT_NEAR(tyres.at("values").at(0).at("tirePressure").to_number<double>(), 258,
              1);  // kPa-sized
  EXPECT_EQ(tyres.at("values").at(0).at("row"), 0);
  EXPECT_EQ(tyres.at("values").at(0).at("column"), 0);
  EXPECT_EQ(jag.at("wheel-tires").at("attributes").at("body").at("unit"), "kPa");
  EXPECT_LT(ford.at("wheel-tires")
                .at("attributes")
                .at("body")
                .at("values")
                .at(0)
                .at("tirePressure")
                .to_number<double>(),
            5);
  EXPECT_EQ(vw.at("charge-energyadded").at("attributes").at("body").at("unit"), "kWh");
  EXPECT_EQ(jag.at("charge-wattage").at("attributes").at("body").at("unit"), "W");
  const auto& loc = vw.at("location-preciselocation").at("attributes").at("body");
  EXPECT_TRUE(loc.as_object().contains("latitude") && loc.as_object().contains("heading"));

  // A failing signal: status ERROR with an error object, a stale body still attached.
  const auto& wattage = vw.at("charge-wattage").at("attributes");
  EXPECT_EQ(wattage.at("status").at("value"), "ERROR");
  EXPECT_EQ(wattage.at("status").at("error").at("type"), "VEHICLE_STATE");
  EXPECT_EQ(wattage.at("status").at("error").at("code"), "NOT_CHARGING");
  EXPECT_TRUE(wattage.as_object().contains("body"));
  const auto& ttc = vw.at("charge-timetocomplete").at("attributes");
  EXPECT_EQ(ttc.at("status").at("value"), "UNAVAILABLE");
  EXPECT_TRUE(ttc.at("status").at("error").as_object().contains("code"));
  EXPECT_FALSE(ttc.as_object().contains("body"));
  EXPECT_EQ(ford.at("tractionbattery-stateofcharge").at("attributes").at("status").at("value"),
            "ERROR");

  auto vehicle = mock.get("/v3/vehicles/" + kJaguar, "at");
  ASSERT_EQ(vehicle.status, 200);
  EXPECT_EQ(vehicle.json().at("id"), json::value(kJaguar));
  EXPECT_EQ(vehicle.json().at("attributes").at("make"), "JAGUAR");
  EXPECT_EQ(vehicle.json().at("attributes").at("model"), "I-PACE");
  EXPECT_EQ(vehicle.json().at("attributes").at("year"), 2021);
  EXPECT_EQ(mock.get("/v3/vehicles/unknown-car/signals", "at").status, 404);
  auto one = mock.get("/v3/vehicles/" + kVw + "/signals/tractionbattery-range", "at");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.json().at("attributes").at("body").at("unit"), "km");
}

TEST(MockSmartcarSignals, TimesAreEpochSecondsMillisecondsOrIso) {
  for (const std::string format : {"s", "ms", "iso"}) {
    MockSmartcar mock({"--accept-access-token", "at", "--time-format", format});
    const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    auto s = all_signals(mock, kVw, "at").at("odometer-traveleddistance");
    const auto& t = s.at("meta").at("oemUpdatedAt");
    if (format == "iso") {
      ASSERT_TRUE(t.is_string());
      EXPECT_EQ(t.as_string().size(), 24u);
      EXPECT_EQ(t.as_string().back(), 'Z');
      continue;
    }
    const int64_t v = t.as_int64();
    const int64_t as_s = format == "ms" ? v / 1000 : v;
    EXPECT_EQ(std::to_string(v).size(), format == "ms" ? 13u : 10u);
    EXPECT_NEAR(static_cast<double>(as_s), static_cast<double>(now_s - 60), 5.0);  // age_s 60
  }
}

TEST(MockSmartcarSignals, ValuesMoveOncePerUpdatePeriodUnlessStatic) {
  const auto dir = scratch_dir();
  std::ofstream(dir / "v.json") << R"({"vehicles":[{"id":"car-1","make":"X","model":"Y","year":2020,
    "update_period_s":1,
    "signals":[{"code":"odometer-traveleddistance","body":{"value":1000,"unit":"km"},"drift_per_hour":36000}]}]})";
  auto read = [](const MockSmartcar& m) {
    auto s = m.signals("car-1", "at").json().at("data").at(0);
    return std::make_pair(s.at("attributes").at("body").at("value").to_number<double>(),
                          s.at("meta").at("oemUpdatedAt").as_int64());
  };
  {
    MockSmartcar mock({"--vehicles", (dir / "v.json").string(), "--accept-access-token", "at"},
                      dir);
    auto a = read(mock);
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    auto b = read(mock);
    EXPECT_GT(b.first, a.first);        // 10 km/s drift
    EXPECT_LT(b.first, a.first + 200);  // slightly, not a jump
    EXPECT_GT(b.second, a.second);      // a newer OEM timestamp with the newer value
  }
  {
    MockSmartcar mock(
        {"--vehicles", (dir / "v.json").string(), "--accept-access-token", "at", "--static-values"},
        dir);
    auto a = read(mock);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    EXPECT_EQ(read(mock), a);
  }
}

TEST(MockSmartcarSignals, ControlApiSetsASignal) {
  MockSmartcar mock({"--accept-access-token", "at"});
  auto put = http("PUT", mock.url("/mock/vehicles/" + kVw + "/signals/charge-wattage"),
                  {"Content-Type: application/json"},
                  R"({"status":"SUCCESS","body":{"value":11000,"unit":"W"}})");
  ASSERT_EQ(put.status, 200) << put.body;
  auto s = mock.get("/v3/vehicles/" + kVw + "/signals/charge-wattage", "at").json();
  EXPECT_EQ(s.at("attributes").at("status").at("value"), "SUCCESS");
  EXPECT_EQ(s.at("attributes").at("body").at("value"), 11000);
  auto bad = http("PUT", mock.url("/mock/vehicles/" + kVw + "/signals/charge-wattage"),
                  {"Content-Type: application/json"}, R"({"status":"MAYBE"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("status"), std::string::npos);
}

TEST(MockSmartcarV2, SingleReadsAndBatchUseFractionsUnitSystemAndDataAge) {
  MockSmartcar mock({"--accept-access-token", "at", "--static-values"});
  auto battery =
      http("GET", mock.url("/v2.0/vehicles/" + kVw + "/battery"), {"Authorization: Bearer at"});
  ASSERT_EQ(battery.status, 200) << battery.body;
  EXPECT_NEAR(battery.json().at("percentRemaining").to_number<double>(), 0.57, 1e-9);
  EXPECT_NEAR(battery.json().at("range").to_number<double>(), 253, 1e-9);
  EXPECT_EQ(battery.headers["sc-unit-system"], "metric");
  EXPECT_EQ(battery.headers["sc-data-age"].size(), 24u);
  EXPECT_FALSE(battery.headers["sc-request-id"].empty());

  auto batch = http(
      "POST", mock.url("/v2.0/vehicles/" + kVw + "/batch"),
      {"Authorization: Bearer at", "SC-Unit-System: imperial", "Content-Type: application/json"},
      R"({"requests":[{"path":"/odometer"},{"path":"/charge/limit"},{"path":"/tires/pressure"},{"path":"/fuel"}]})");
  ASSERT_EQ(batch.status, 200) << batch.body;
  EXPECT_EQ(batch.headers["sc-unit-system"], "imperial");
  const auto batch_body = batch.json();
  const auto& responses = batch_body.at("responses").as_array();
  ASSERT_EQ(responses.size(), 4u);
  EXPECT_EQ(responses[0].at("path"), "/odometer");
  EXPECT_EQ(responses[0].at("code"), 200);
  EXPECT_NEAR(responses[0].at("body").at("distance").to_number<double>(), 52891 / 1.609344, 0.01);
  EXPECT_FALSE(responses[0].at("headers").at("sc-data-age").as_string().empty());
  EXPECT_NEAR(responses[1].at("body").at("limit").to_number<double>(), 0.8, 1e-9);
  EXPECT_NEAR(responses[2].at("body").at("frontLeft").to_number<double>(), 258 / 6.894757, 0.01);
  EXPECT_EQ(responses[3].at("code"), 501);  // an EV has no fuel
  EXPECT_EQ(responses[3].at("body").at("type"), "COMPATIBILITY");
  // Each sub-request is billed.
  EXPECT_EQ(mock.stats().at("vehicles").at(kVw).at("billed"), 4 + 1);
}

TEST(MockSmartcarStats, CountsRequestsByEndpointAndStatusAndReadsByVehicle) {
  MockSmartcar mock({"--accept-access-token", "at", "--page-size", "10"});
  all_signals(mock, kVw, "at");    // 2 pages
  mock.signals(kJaguar, "at");     // 1 page
  mock.signals(kJaguar, "wrong");  // 401
  auto stats = mock.stats();
  const auto& signals = stats.at("requests").at("GET /v3/vehicles/{id}/signals");
  EXPECT_EQ(signals.at("200"), 3);
  EXPECT_EQ(signals.at("401"), 1);
  EXPECT_EQ(stats.at("vehicles").at(kVw).at("reads"), 2);
  EXPECT_EQ(stats.at("vehicles").at(kVw).at("billed"), 1);  // one round, two pages
  EXPECT_EQ(stats.at("vehicles").at(kJaguar).at("reads"), 1);
  EXPECT_EQ(stats.at("vehicles").at(kJaguar).at("errors"), 1);
  EXPECT_EQ(stats.at("bucket").at("capacity"), 120.0);
}

TEST(MockSmartcarControl, ListsEveryTokenAndEachVehicleRequestWithItsTimeAndStatus) {
  MockSmartcar mock(
      {"--accept-refresh-token", "seed-1", "--inject", "vehicle=" + kVw + ",status=409,count=1"});
  HttpResult pair = mock.refresh("seed-1");
  ASSERT_EQ(pair.status, 200) << pair.body;
  const std::string access(pair.json().at("access_token").as_string());
  const std::string refresh(pair.json().at("refresh_token").as_string());
  auto tokens = mock.get("/mock/tokens").json();
  auto has = [&](const char* kind, const std::string& t) {
    for (const auto& v : tokens.at(kind).as_array())
      if (v.as_string() == t) return true;
    return false;
  };
  EXPECT_TRUE(has("refresh_tokens", "seed-1"));  // used, still listed
  EXPECT_TRUE(has("refresh_tokens", refresh));
  EXPECT_TRUE(has("access_tokens", access));

  EXPECT_EQ(mock.signals(kVw, access).status, 409);  // injected: before the token check
  EXPECT_EQ(mock.signals(kVw, "wrong").status, 401);
  EXPECT_EQ(mock.signals(kVw, access).status, 200);
  auto served = mock.get("/mock/vehicles/" + kVw + "/requests").json().at("requests").as_array();
  ASSERT_EQ(served.size(), 3u);
  std::vector<int64_t> statuses;
  for (const auto& r : served) {
    statuses.push_back(r.at("status").as_int64());
    EXPECT_EQ(r.at("route"), "GET /v3/vehicles/{id}/signals");
  }
  EXPECT_EQ(statuses, (std::vector<int64_t>{409, 401, 200}));
  EXPECT_LE(served[0].at("at_ms").as_int64(), served[2].at("at_ms").as_int64());
  EXPECT_TRUE(
      mock.get("/mock/vehicles/" + kJaguar + "/requests").json().at("requests").as_array().empty());
}

}  // namespace
}  // namespace oemlink::testing
