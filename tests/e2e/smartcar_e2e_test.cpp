// Issue 13's "done when", with the real pieces: `oemlink` running the smartcar driver against
// `oemlink-mock-oem smartcar`, tokens seeded with `oemlink secrets set`, webhooks delivered by
// `oemlink-mock-oem smartcar-send` to the inbound listener, and the file sink as the witness of
// what became a signed DIMO event.
#include "tests/e2e/smartcar_fixture.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <ctime>

namespace oemlink::testing {
namespace {

using namespace std::chrono_literals;

const std::string kOdometer = "powertrainTransmissionTravelledDistance";
const std::string kSoc = "powertrainTractionBatteryStateOfChargeCurrent";
const std::string kLocation = "currentLocationCoordinates";
const std::vector<std::string> kTyres = {
    "chassisAxleRow1WheelLeftTirePressure", "chassisAxleRow1WheelRightTirePressure",
    "chassisAxleRow2WheelLeftTirePressure", "chassisAxleRow2WheelRightTirePressure"};

// RFC 3339 UTC with milliseconds, written here rather than with the pipeline's code.
std::string iso_ms(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

size_t occurrences(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

// ---------------------------------------------------------------------------------------------
// 1. Polling
// ---------------------------------------------------------------------------------------------

TEST_F(SmartcarE2eTest, PolledCarsBecomeSignedEventsInDimoUnitsAndRotatedTokensSurviveARestart) {
  // Access tokens live 3 s and are refreshed 1 s before they expire: the chain rotates every
  // ~2 s per car. A used refresh token dies 500 ms after its first use, so a restart that
  // reached for an older one than the last stored would be refused.
  start_mock({"--access-ttl-s", "3", "--refresh-grace-ms", "500", "--static-values"});
  // A value and a moment only the mock knows: the reading must carry this oemUpdatedAt.
  json::value put =
      mock_call("PUT", "/mock/vehicles/" + kVw.smartcar_id + "/signals/odometer-traveleddistance",
                R"({"body":{"value":52900.5,"unit":"km"}})");
  ASSERT_TRUE(put.is_object()) << slurp(dir_ / "mock.err");
  const int64_t odometer_at = put.at("meta").at("oemUpdatedAt").to_number<int64_t>();
  const int64_t started = wall_ms();

  config({kVw, kJaguar, kFord}, "debug", ", token_refresh_margin: 1s");
  for (const SmartcarCar& car : {kVw, kJaguar, kFord}) seed(car);
  start_daemon("first");

  auto every_car_has = [&](const std::string& name) {
    return !readings_of(kVw, name).empty() && !readings_of(kJaguar, name).empty() &&
           !readings_of(kFord, name).empty();
  };
  // Each car refreshed at least twice: the first refresh and a rotation of the rotated token.
  ASSERT_TRUE(eventually([&] {
    return every_car_has(kOdometer) && token_stat(mock_stats(), "refreshes") >= 6;
  })) << log("first");
  Result first = stop_daemon("first");
  ASSERT_EQ(first.rc, 0) << first.err;
  json::object stats = mock_stats();
  EXPECT_EQ(token_stat(stats, "refused"), 0u);
  EXPECT_EQ(answers(stats, "GET /v3/vehicles/{id}/signals", "401"), 0u);

  // Units: km as `km` and as `kilometers`; SoC in percent (0-100).
  auto odo = readings_of(kVw, kOdometer);
  ASSERT_FALSE(odo.empty());
  EXPECT_DOUBLE_EQ(odo.front().number(), 52900.5);
  EXPECT_EQ(odo.front().timestamp, iso_ms(odometer_at)) << "not the signal's oemUpdatedAt";
  for (auto& r : readings_of(kJaguar, kOdometer)) EXPECT_NEAR(r.number(), 30412.6, 1.0);
  for (auto& r : readings_of(kFord, kOdometer)) EXPECT_NEAR(r.number(), 88120, 2.0);
  ASSERT_FALSE(readings_of(kVw, kSoc).empty());
  for (auto& r : readings_of(kVw, kSoc)) EXPECT_NEAR(r.number(), 57, 1.0);
  for (auto& r : readings_of(kJaguar, kSoc)) EXPECT_NEAR(r.number(), 81, 1.0);
  // The Ford's SoC signal has status ERROR: skipped, not a reading.
  EXPECT_TRUE(readings_of(kFord, kSoc).empty());
  // Tyres in kPa for all three: the VW's `bar`-labelled ≈258 kept, the Jaguar's kPa kept, the
  // Ford's true bar (2.3) times 100.
  for (const SmartcarCar& car : {kVw, kJaguar, kFord})
    for (const std::string& tyre : kTyres) {
      auto rs = readings_of(car, tyre);
      ASSERT_FALSE(rs.empty()) << car.conn << " " << tyre;
      for (auto& r : rs) {
        EXPECT_GE(r.number(), 150) << car.conn << " " << tyre;
        EXPECT_LE(r.number(), 400) << car.conn << " " << tyre;
      }
    }
  EXPECT_NEAR(readings_of(kFord, kTyres[0]).front().number(), 230, 0.5);
  EXPECT_NEAR(readings_of(kVw, kTyres[0]).front().number(), 258, 0.5);
  EXPECT_NEAR(readings_of(kJaguar, kTyres[0]).front().number(), 241, 0.5);
  // Location as coordinates in degrees.
  auto where = readings_of(kVw, kLocation);
  ASSERT_FALSE(where.empty());
  ASSERT_TRUE(where.front().value.is_object()) << json::serialize(where.front().value);
  EXPECT_NEAR(where.front().value.at("latitude").to_number<double>(), 52.520008, 1e-6);
  EXPECT_NEAR(where.front().value.at("longitude").to_number<double>(), 13.404954, 1e-6);
  // Watts to kW; the VW's failing wattage (ERROR) is not a reading.
  for (auto& r : readings_of(kJaguar, "powertrainTractionBatteryChargingPower"))
    EXPECT_NEAR(r.number(), 7.2, 1e-9);
  EXPECT_TRUE(readings_of(kVw, "powertrainTractionBatteryChargingPower").empty());
  for (auto& r : readings_of(kFord, "powertrainFuelSystemAbsoluteLevel"))
    EXPECT_NEAR(r.number(), 33.3, 0.5);
  // Times are the OEM's: the mock records values 60 s before each update tick, so no reading
  // that was not just PUT can be as recent as the start of this test.
  for (auto& r : readings()) {
    if (r.vehicle_token == kVw.token && r.name == kOdometer) continue;
    EXPECT_LT(r.timestamp, iso_ms(started - 59'000)) << r.name << " of car " << r.vehicle_token;
  }

  // Signed by each connection's own key.
  Result verified = run({"verify", "--keys", "--config", cfg_.string(), "data/events.jsonl"});
  EXPECT_EQ(verified.rc, 0) << verified.out << verified.err;
  EXPECT_HAS(verified.out, " 0 bad");

  // Restart: the stored (last rotated) tokens are used; every refresh still succeeds.
  const uint64_t refreshes = token_stat(stats, "refreshes");
  std::this_thread::sleep_for(600ms);  // every refresh token used so far is now dead
  const size_t events_before = readings_of(kFord, kOdometer).size();
  start_daemon("second");
  EXPECT_TRUE(eventually([&] {
    return token_stat(mock_stats(), "refreshes") >= refreshes + 3 &&
           readings_of(kFord, kOdometer).size() > events_before;
  })) << log("second");
  Result second = stop_daemon("second");
  EXPECT_EQ(second.rc, 0) << second.err;
  stats = mock_stats();
  EXPECT_EQ(token_stat(stats, "refused"), 0u) << second.err;
  EXPECT_EQ(answers(stats, "POST /oauth/token", "401"), 0u);
  EXPECT_EQ(second.err.find("re-authentication"), std::string::npos) << second.err;
  EXPECT_EQ(counter("oemlink_connection_reports_total", {{"state", "needs_reauth"}}), 0);
}

// ---------------------------------------------------------------------------------------------
// 2. Error paths
// ---------------------------------------------------------------------------------------------

// Copies of the built-in VW under other ids: one car per injected fault.
std::string vehicles_file(const std::vector<std::string>& ids) {
  json::value builtin = json::parse(slurp(kSmartcarExamples / "vehicles.json"));
  json::array cars;
  for (const std::string& id : ids) {
    json::object vw = builtin.at("vehicles").at(0).as_object();
    vw["id"] = id;
    cars.push_back(vw);
  }
  return json::serialize(json::object{{"vehicles", std::move(cars)}});
}

TEST_F(SmartcarE2eTest, EveryErrorPathThroughTheMocksInjectedFaults) {
  const SmartcarCar asleep{"e-asleep", "e-409", 11}, limited{"e-limited", "e-429", 12},
      billing{"e-billing", "e-430", 13}, reauth{"e-reauth", "e-401-twice", 14},
      expired{"e-expired", "e-401-once", 15}, flaky{"e-flaky", "e-500", 16, "300ms"},
      gateway{"e-gateway", "e-503", 17};
  const std::vector<SmartcarCar> cars = {asleep, limited, billing, reauth, expired, flaky, gateway};
  std::vector<std::string> ids;
  for (auto& c : cars) ids.push_back(c.smartcar_id);
  write("vehicles.json", vehicles_file(ids));
  // The first requests of each car fail; both body shapes across the table (v2 object, v3 list).
  start_mock({"--vehicles", (dir_ / "vehicles.json").string(), "--bucket", "off", "--inject",
              "vehicle=e-409,status=409,count=2,shape=v2", "--inject",
              "vehicle=e-429,status=429,code=VEHICLE,retry_after=4,count=1,shape=v3", "--inject",
              "vehicle=e-430,status=430,count=1,shape=v2", "--inject",
              "vehicle=e-401-twice,status=401,count=2,shape=v3", "--inject",
              "vehicle=e-401-once,status=401,count=1,shape=v2", "--inject",
              "vehicle=e-500,status=500,count=4,shape=v2", "--inject",
              "vehicle=e-503,status=503,count=2,shape=v3"});
  config(cars);
  for (const SmartcarCar& car : cars) seed(car);
  start_daemon();

  // The cars that come back have readings; the two that must stop are named in the log.
  EXPECT_TRUE(eventually([&] {
    for (const SmartcarCar& car : {asleep, limited, expired, flaky, gateway})
      if (readings_of(car, kOdometer).empty()) return false;
    std::string l = log();
    return l.find("connection e-billing (driver smartcar): failed permanently") !=
               std::string::npos &&
           l.find("connection e-reauth (driver smartcar): needs re-authentication") !=
               std::string::npos;
  })) << log();
  // Two more poll intervals: a stopped car is not polled again.
  std::this_thread::sleep_for(2s);
  Result r = stop_daemon();
  EXPECT_EQ(r.rc, 0) << r.err;

  auto statuses = [](const std::vector<Served>& s) {
    std::vector<unsigned> out;
    for (auto& x : s) out.push_back(x.status);
    return out;
  };
  auto starts_with = [](const std::vector<unsigned>& v, const std::vector<unsigned>& head) {
    return v.size() > head.size() && std::equal(head.begin(), head.end(), v.begin());
  };
  using V = std::vector<unsigned>;

  // 409 VEHICLE_STATE: ASLEEP, polled again only after the asleep interval (2 s, -10 % jitter).
  auto s = served(asleep);
  ASSERT_TRUE(starts_with(statuses(s), V{409, 409, 200})) << ::testing::PrintToString(statuses(s));
  EXPECT_GE(s[1].at_ms - s[0].at_ms, 1800);
  EXPECT_GE(s[2].at_ms - s[1].at_ms, 1800);
  EXPECT_HAS(r.err, "connection e-asleep (driver smartcar): asleep");

  // 429 RATE_LIMIT with retry-after 4: nothing for that car before then, then polled again.
  s = served(limited);
  ASSERT_TRUE(starts_with(statuses(s), V{429, 200})) << ::testing::PrintToString(statuses(s));
  EXPECT_GE(s[1].at_ms - s[0].at_ms, 4000 - 5) << "a request inside the retry-after window";
  std::cout << "[ info ] next request " << s[1].at_ms - s[0].at_ms << " ms after the 429\n";
  EXPECT_HAS(r.err, "connection e-limited (driver smartcar): rate-limited for");

  // 430 BILLING: FAILED with Smartcar's reason; that one request was the last.
  s = served(billing);
  EXPECT_EQ(statuses(s), V{430});
  EXPECT_TRUE(readings_of(billing, kOdometer).empty());
  {
    size_t at = r.err.find("connection e-billing (driver smartcar): failed permanently");
    ASSERT_NE(at, std::string::npos) << r.err;
    EXPECT_HAS(r.err.substr(at, r.err.find('\n', at) - at), "BILLING");
  }

  // 401 twice: a refresh and the same request again, then re-auth naming Smartcar's URL for the
  // car; no request after that.
  EXPECT_EQ(statuses(served(reauth)), (V{401, 401}));
  EXPECT_HAS(r.err,
             "https://connect.smartcar.com/oauth/reauthenticate?response_type=vehicle_id&client_id="
             "mock-client-id&vehicle_id=e-401-twice");
  EXPECT_TRUE(readings_of(reauth, kOdometer).empty());
  // 401 once: the refresh fixes it.
  s = served(expired);
  EXPECT_TRUE(starts_with(statuses(s), V{401, 200})) << ::testing::PrintToString(statuses(s));
  EXPECT_EQ(r.err.find("connection e-expired (driver smartcar): needs"), std::string::npos);

  // 5xx: backed off exponentially (each wait at least half the doubled interval: 150, 300, 600,
  // 1200 ms for a car polled every 300 ms), then recovered.
  s = served(flaky);
  ASSERT_TRUE(starts_with(statuses(s), V{500, 500, 500, 500, 200}))
      << ::testing::PrintToString(statuses(s));
  for (int k = 0; k < 4; ++k)
    EXPECT_GE(s[k + 1].at_ms - s[k].at_ms, (300 << k) / 2) << "gap after failure " << k + 1;
  std::cout << "[ info ] back-off gaps after each 500 (ms):";
  for (int k = 0; k < 4; ++k) std::cout << " " << s[k + 1].at_ms - s[k].at_ms;
  std::cout << "\n";
  s = served(gateway);
  ASSERT_TRUE(starts_with(statuses(s), V{503, 503, 200})) << ::testing::PrintToString(statuses(s));
  EXPECT_GE(s[2].at_ms - s[1].at_ms, 1000);

  EXPECT_EQ(counter("oemlink_connection_reports_total", {{"state", "needs_reauth"}}), 1);
  EXPECT_EQ(counter("oemlink_connection_reports_total", {{"state", "failed"}}), 1);
  EXPECT_GE(counter("oemlink_connection_reports_total", {{"state", "rate_limited"}}), 1);
  EXPECT_GE(counter("oemlink_polls_total", {{"outcome", "retry"}}), 6);  // four 500s, two 503s
  // The mock's token endpoint: the seeds, one forced refresh per 401, nothing refused.
  json::object stats = mock_stats();
  EXPECT_EQ(token_stat(stats, "refused"), 0u);
  EXPECT_EQ(token_stat(stats, "refreshes"), cars.size() + 2);
}

// ---------------------------------------------------------------------------------------------
// 3. Webhooks through the listener
// ---------------------------------------------------------------------------------------------

class SmartcarWebhookTest : public SmartcarE2eTest {
 protected:
  // The cars are fed by webhooks; an hourly poll (at the start) adds its own readings.
  void start(const std::string& top = "", const std::string& listener = "") {
    start_mock();
    config({kVw, kJaguar}, "debug", "", listener, top, "1h");
    seed(kVw);
    seed(kJaguar);
    start_daemon();
  }
  // The real-shape example (top-level triggers, keyed on data.vehicle.id = the Jaguar's id) with
  // its own eventId and odometer value, so its event can be told from every other.
  fs::path marked_delivery(const std::string& event_id, double odometer) {
    return example("webhook_vehicle_state_4.0.json", [&](json::object& o) {
      o["eventId"] = event_id;
      o["data"].as_object()["signals"].as_array()[0].as_object()["body"].as_object()["value"] =
          odometer;
    });
  }
};

TEST_F(SmartcarWebhookTest, VerifiedDeliveriesBecomeSignedEventsAndEverythingElseIsRefused) {
  start();

  // VERIFY, both payload versions: smartcar-send checks the HMAC answer itself.
  for (const char* verify : {"webhook_verify_4.0.json", "webhook_verify_legacy_2.0.json"}) {
    Result v = send(kSmartcarExamples / verify);
    EXPECT_EQ(v.rc, 0) << v.out << v.err;
    EXPECT_HAS(v.out, "verify=ok");
  }

  // VEHICLE_STATE 4.0 in both trigger shapes, and a legacy 2.0 delivery.
  for (const char* file :
       {"webhook_vehicle_state_4.0.json", "webhook_vehicle_state_4.0_data_triggers.json",
        "webhook_legacy_2.0.json"}) {
    Result d = send(kSmartcarExamples / file);
    EXPECT_EQ(d.rc, 0) << file << "\n" << d.out << d.err;
    EXPECT_HAS(d.out, "attempt=1 status=200");
  }
  // Real shape, keyed on data.vehicle.id (the Jaguar's).
  ASSERT_TRUE(eventually([&] { return !events_with(kOdometer, 16342).empty(); })) << log();
  auto jag = readings_of(kJaguar, kOdometer);
  auto it = std::find_if(jag.begin(), jag.end(), [](auto& r) { return r.number() == 16342; });
  ASSERT_NE(it, jag.end());
  EXPECT_EQ(it->timestamp, iso_ms(1780222611098));
  // A reading of `car` with this value and OEM time (the sink writes soon after the 2xx).
  auto has = [&](const SmartcarCar& car, const std::string& name, double value,
                 const std::string& at) {
    return eventually([&] {
      for (auto& r : readings_of(car, name))
        if (std::abs(r.number() - value) < 1e-9 && r.timestamp == at) return true;
      return false;
    });
  };
  EXPECT_TRUE(has(kJaguar, kSoc, 80, iso_ms(1780222506000)))
      << describe(readings_of(kJaguar, kSoc));
  // Labelled "bar", a kPa magnitude: kept as kPa.
  EXPECT_TRUE(has(kJaguar, kTyres[0], 258, iso_ms(1780222506000)))
      << describe(readings_of(kJaguar, kTyres[0]));
  EXPECT_TRUE(has(kJaguar, "powertrainTractionBatteryChargingPower", 0, iso_ms(1780222506000)));
  // Docs shape (data.triggers, vehicleId): the VW's `kilometers`, and its location.
  EXPECT_TRUE(has(kVw, kOdometer, 52891.4, iso_ms(1780222611098)))
      << describe(readings_of(kVw, kOdometer));
  EXPECT_TRUE(eventually([&] {
    for (auto& r : readings_of(kVw, kLocation))
      if (r.timestamp == iso_ms(1780222506000) && r.value.is_object() &&
          std::abs(r.value.at("latitude").to_number<double>() - 52.520008) < 1e-9 &&
          std::abs(r.value.at("longitude").to_number<double>() - 13.404954) < 1e-9)
        return true;
    return false;
  })) << describe(readings_of(kVw, kLocation));
  // Legacy 2.0: percentRemaining 0.57 is a fraction: 57 %, timed by SC-Data-Age.
  EXPECT_TRUE(has(kVw, kSoc, 57, "2026-06-29T23:55:53.000Z")) << describe(readings_of(kVw, kSoc));

  // Refused with 401, nothing stored: forged, truncated after signing, unsigned.
  const fs::path refused = marked_delivery("aaaaaaaa-0000-4000-8000-000000000001", 11111.5);
  for (const char* how : {"--forge", "--truncate"}) {
    Result bad = send(refused, {how});
    EXPECT_EQ(bad.rc, 1) << how << "\n" << bad.out << bad.err;
    EXPECT_HAS(bad.out, "attempt=1 status=401");
  }
  {
    net::testing::RawClient c(listener_port_);
    c.send(net::testing::post_request("/webhooks/smartcar", slurp(refused)));
    auto res = c.response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 401) << res->body();
  }

  // A replayed eventId: 200 again, no second event.
  const fs::path replayed = marked_delivery("aaaaaaaa-0000-4000-8000-000000000002", 22222.5);
  Result replay = send(replayed, {"--replay"});
  EXPECT_EQ(replay.rc, 0) << replay.out << replay.err;
  EXPECT_HAS(replay.out, "replay=2 status=200");

  // A vehicle no connection names: 404.
  Result unknown = send(example("webhook_vehicle_state_4.0.json", [](json::object& o) {
    o["eventId"] = "aaaaaaaa-0000-4000-8000-000000000003";
    o["data"].as_object()["vehicle"].as_object()["id"] = "ffffffff-0000-4000-8000-00000000ffff";
  }));
  EXPECT_EQ(unknown.rc, 1);
  EXPECT_HAS(unknown.out, "attempt=1 status=404");

  // Over max_body (64 KiB), signed correctly: 413 from the listener, never the driver.
  Result big = send(example("webhook_vehicle_state_4.0.json", [](json::object& o) {
    o["eventId"] = "aaaaaaaa-0000-4000-8000-000000000004";
    o["data"].as_object()["signals"].as_array()[0].as_object()["body"].as_object()["value"] =
        33333.5;
    o["padding"] = std::string(70 * 1024, 'x');
  }));
  EXPECT_EQ(big.rc, 1) << big.out << big.err;
  EXPECT_HAS(big.out, "attempt=1 status=413");

  ASSERT_TRUE(eventually([&] { return !events_with(kOdometer, 22222.5).empty(); }));
  Result r = stop_daemon();
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(events_with(kOdometer, 22222.5).size(), 1u);
  EXPECT_TRUE(events_with(kOdometer, 11111.5).empty());
  EXPECT_TRUE(events_with(kOdometer, 33333.5).empty());
  EXPECT_TRUE(events_with(kOdometer, 16342).size() == 1u);

  EXPECT_EQ(
      counter("oemlink_driver_events_total", {{"driver", "smartcar"}, {"name", "webhook_verify"}}),
      2);
  EXPECT_EQ(counter("oemlink_driver_events_total",
                    {{"driver", "smartcar"}, {"name", "webhook_bad_signature"}}),
            2);  // forged, truncated
  EXPECT_EQ(counter("oemlink_driver_events_total",
                    {{"driver", "smartcar"}, {"name", "webhook_unsigned"}}),
            1);
  EXPECT_EQ(counter("oemlink_driver_events_total",
                    {{"driver", "smartcar"}, {"name", "webhook_duplicates"}}),
            1);
  EXPECT_EQ(counter("oemlink_driver_events_total",
                    {{"driver", "smartcar"}, {"name", "webhook_unknown_vehicle"}}),
            1);
  EXPECT_EQ(counter("oemlink_http_requests_total",
                    {{"code", "401"}, {"listener", "inbound"}, {"route", "webhook_smartcar"}}),
            3);
  // Forged, truncated, unsigned: the host sees the driver refuse them with 401.
  EXPECT_EQ(counter("oemlink_webhook_signature_failures_total", {{"driver", "smartcar"}}), 3);
  EXPECT_EQ(counter("oemlink_http_requests_total",
                    {{"code", "404"}, {"listener", "inbound"}, {"route", "webhook_smartcar"}}),
            1);
  EXPECT_EQ(counter("oemlink_http_rejected_total",
                    {{"listener", "inbound"}, {"reason", "body_too_large"}}),
            1);
  // 2 VERIFY, 3 deliveries, 3 refused, the replayed pair, the unknown car: not the oversized.
  EXPECT_EQ(counter("oemlink_driver_events_total",
                    {{"driver", "smartcar"}, {"name", "webhook_requests"}}),
            11);
  // Every event in the sink, the webhooks' included, is signed by its connection's key.
  Result verified = run({"verify", "--keys", "--config", cfg_.string(), "data/events.jsonl"});
  EXPECT_EQ(verified.rc, 0) << verified.out << verified.err;
}

// ---------------------------------------------------------------------------------------------
// 4. An acknowledged webhook survives kill -9
// ---------------------------------------------------------------------------------------------

TEST_F(SmartcarWebhookTest, AnAcknowledgedDeliverySurvivesKillMinus9) {
  // The first run's only sink is an ingest node that is down: what the webhook stored stays in
  // the outbox. The restart configures the file sink, which starts at the oldest stored record:
  // whatever it shows was kept by the outbox alone. Commits wait 200 ms: a 2xx sent before the
  // commit would be killed with the reading still in memory.
  start_mock();
  sinks_ =
      "  - {name: held, type: dimo_https, url: \"http://127.0.0.1:" + std::to_string(free_port()) +
      "/\", timeout: 1s}\n";
  config({kVw, kJaguar}, "debug", "", "", "outbox: {commit_delay: 200ms}\n", "1h");
  seed(kVw);
  seed(kJaguar);
  start_daemon();
  Result sent = send(marked_delivery("bbbbbbbb-0000-4000-8000-000000000001", 44444.5));
  // smartcar-send exits the moment it reads the 2xx: kill at once.
  kill(daemon_, SIGKILL);
  Result killed = wait_for(daemon_, "daemon");
  daemon_ = -1;
  ASSERT_EQ(sent.rc, 0) << sent.out << sent.err << killed.err;
  EXPECT_HAS(sent.out, "attempt=1 status=200");
  EXPECT_EQ(killed.rc, 128 + SIGKILL);
  EXPECT_FALSE(fs::exists(dir_ / "data/events.jsonl"));

  sinks_.clear();
  config({kVw, kJaguar}, "debug", "", "", "", "1h");
  start_daemon("again");
  EXPECT_TRUE(eventually([&] { return !events_with(kOdometer, 44444.5).empty(); })) << log("again");
  Result again = stop_daemon("again");
  EXPECT_EQ(again.rc, 0) << again.err;
  // Delivered at least once to the file sink (a resend after the kill keeps its event id).
  EXPECT_EQ(events_with(kOdometer, 44444.5).size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// 5. Durability timing: a slow outbox makes the sender retry; stored exactly once
// ---------------------------------------------------------------------------------------------

TEST_F(SmartcarWebhookTest, ASlowOutboxGets503AndTheRetryIsStoredExactlyOnce) {
  // Group commits wait 1 s; a 2xx may wait 300 ms for durability: the first answer is a 503.
  start("outbox: {commit_delay: 1s}\n", ", durable_timeout: 300ms");
  Result sent = send(marked_delivery("cccccccc-0000-4000-8000-000000000001", 55555.5),
                     {"--retry-delays-ms", "100,1500,3000"});
  EXPECT_EQ(sent.rc, 0) << sent.out << sent.err;
  EXPECT_HAS(sent.out, "attempt=1 status=503");
  EXPECT_HAS(sent.out, "result=delivered");
  EXPECT_EQ(occurrences(sent.out, "status=200"), 1u) << sent.out;
  ASSERT_TRUE(eventually([&] { return !events_with(kOdometer, 55555.5).empty(); }));
  Result r = stop_daemon();
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(events_with(kOdometer, 55555.5).size(), 1u);
  EXPECT_EQ(
      counter("oemlink_driver_events_total", {{"driver", "smartcar"}, {"name", "webhook_events"}}),
      1);
  EXPECT_GE(counter("oemlink_driver_events_total",
                    {{"driver", "smartcar"}, {"name", "webhook_duplicates"}}),
            1);  // the retries: recognised, not stored
  EXPECT_GE(counter("oemlink_webhook_answers_total",
                    {{"driver", "smartcar"}, {"outcome", "not_durable"}}),
            1);
}

// ---------------------------------------------------------------------------------------------
// 6. Secrets hygiene at trace level
// ---------------------------------------------------------------------------------------------

TEST_F(SmartcarWebhookTest, NoTokenAmtOrClientSecretInLogsOrDataDirEvenAtTrace) {
  start_mock({"--access-ttl-s", "2", "--inject", "vehicle=" + kFord.smartcar_id + ",status=401"});
  config({kVw, kJaguar, kFord}, "trace", ", token_refresh_margin: 1s");
  for (const SmartcarCar& car : {kVw, kJaguar, kFord}) seed(car);
  start_daemon();
  EXPECT_TRUE(eventually([&] { return token_stat(mock_stats(), "refreshes") >= 7; }));
  EXPECT_HAS(send(kSmartcarExamples / "webhook_verify_4.0.json").out, "verify=ok");
  EXPECT_EQ(send(marked_delivery("dddddddd-0000-4000-8000-000000000001", 66666.5)).rc, 0);
  EXPECT_EQ(send(marked_delivery("dddddddd-0000-4000-8000-000000000002", 1), {"--forge"}).rc, 1);
  Result r = stop_daemon();
  EXPECT_EQ(r.rc, 0) << r.err;
  // The level took effect (nothing in oemlink logs at trace yet: this guards what will).
  ASSERT_NE(r.err.find(" debug connection focus opened"), std::string::npos) << r.err;

  std::vector<std::string> secrets = {amt_, client_secret_};
  json::value tokens = mock_call("GET", "/mock/tokens");
  for (const char* kind : {"access_tokens", "refresh_tokens"})
    for (const json::value& t : tokens.at(kind).as_array()) secrets.emplace_back(t.as_string());
  EXPECT_GE(secrets.size(), 2u + 7 * 2 + 3);  // every issued pair and the three seeds
  // HTTP Basic of the client credentials, as sent to the token endpoint.
  std::string basic;
  {
    const std::string plain = "mock-client-id:" + client_secret_;
    std::string b64(4 * ((plain.size() + 2) / 3) + 1, '\0');
    b64.resize(static_cast<size_t>(EVP_EncodeBlock(
        reinterpret_cast<unsigned char*>(b64.data()),
        reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()))));
    basic = b64;
  }

  std::vector<std::pair<std::string, std::string>> places = {{"daemon.err", r.err},
                                                             {"daemon.out", r.out}};
  for (auto& e : fs::recursive_directory_iterator(dir_ / "data")) {
    // The encrypted secret store is where tokens belong.
    if (!e.is_regular_file() || e.path().filename().string().starts_with("secrets.db")) continue;
    places.emplace_back(e.path().string(), slurp(e.path()));
  }
  // Whole, or cut short to a prefix that still identifies it ("token 8f3a1c2d-4e5f…").
  for (auto& [where, text] : places)
    for (const std::string& s : secrets)
      EXPECT_EQ(text.find(s.substr(0, 13)), std::string::npos)
          << "a secret (" << s.size() << " chars) in " << where;
  for (auto& [where, text] : places) EXPECT_EQ(text.find(basic), std::string::npos) << where;
}

}  // namespace
}  // namespace oemlink::testing
