// The Tesla driver end to end (issue 12, section 7): the `oemlink` executable with the tesla
// driver against `oemlink-mock-oem tesla`, tokens seeded with `oemlink secrets set`, events read
// from the file sink, the driver's behaviour read from its logs, status.json and the mock's
// /stats and /mock/tokens. Every test ends with a grep of oemlink's logs (trace level) and of the
// data dir (outside the encrypted secret store) for every token the mock issued (TearDown).
#include "tests/e2e/tesla_e2e_fixture.hpp"
#include "tests/uplink/mqtt_test_support.hpp"

#include <cmath>
#include <ctime>
#include <functional>
#include <random>

namespace oemlink::testing {
namespace {

using namespace std::chrono_literals;
constexpr double kKmPerMile = 1.609344;

size_t events_for(const std::vector<json::object>& events, const std::string& vin) {
  size_t n = 0;
  for (const json::object& e : events) {
    const json::value* v = e.at("data").as_object().if_contains("vin");
    if (v && v->as_string() == vin) ++n;
  }
  return n;
}

double num(const json::value& v) {
  return v.to_number<double>();
}

uint64_t car_data_calls(const json::object& stats, const std::string& vin) {
  const json::value* cars = stats.if_contains("cars");
  const json::value* car = cars ? cars->as_object().if_contains(vin) : nullptr;
  return car ? car->as_object().at("data").to_number<uint64_t>() : 0;
}

size_t count_of(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

class TeslaEndToEnd : public TeslaE2eTest {
 protected:
  // The refresh token of the newest pair (issued_at_ms) any of `cars` stores: what the chain
  // loads at start.
  std::string newest_stored(const fs::path& cfg, const std::vector<TeslaCar>& cars) {
    std::string newest;
    int64_t newest_issued = -1;
    for (const TeslaCar& c : cars) {
      auto rt = stored(cfg, c.id, "refresh_token");
      auto at = stored(cfg, c.id, "issued_at_ms");
      const int64_t issued = at ? std::stoll(*at) : 0;
      if (rt && issued > newest_issued) newest = *rt, newest_issued = issued;
    }
    return newest;
  }
  // The three cars of one account, seeded on one connection (the others copy the chain's pairs).
  fs::path start_fleet(std::vector<std::string> mock_args, TeslaRun opts = {}) {
    mock_args.insert(mock_args.end(), {"--accept-refresh-token", "seed-alice@default"});
    start_mock(mock_args);
    if (HasFatalFailure()) return {};
    if (opts.cars.empty()) opts.cars = {car_s85(), car_s60(), car_model3()};
    fs::path cfg = write_config(opts);
    seed(cfg, opts.cars.front().id, "seed-alice");
    start_oemlink(cfg);
    return cfg;
  }
  bool has_events_for(const std::string& vin, size_t at_least = 1) {
    return events_for(events(), vin) >= at_least;
  }
};

// 1. Polling: signed DIMO events with DIMO names, units and the VIN; the token pair rotates,
// is stored before use, and the stored pair carries the car across a restart.
TEST_F(TeslaEndToEnd, PolledCarsBecomeSignedDimoEventsAndTokensRotateAcrossARestart) {
  // Access tokens live 4 s and are refreshed 2 s before expiry: a rotation every ~2 s.
  TeslaRun opts;
  opts.settings = {"token_refresh_margin: 2s"};
  fs::path cfg = start_fleet({"--access-token-lifetime", "4"}, opts);
  ASSERT_TRUE(eventually([&] {
    auto s = stats();
    return has_events_for(car_s85().vin, 2) && has_events_for(car_s60().vin, 2) &&
           has_events_for(car_model3().vin, 2) && requests(s, "POST /oauth2/v3/token", "200") >= 2;
  })) << "no events or no rotation";
  ASSERT_EQ(stop_oemlink(), 0);

  // Signed: `oemlink verify` checks every line against its connection's key.
  Result v = run({"verify", "data/events.jsonl", "--keys", "--config", cfg.string()});
  EXPECT_EQ(v.rc, 0) << v.out << v.err;
  EXPECT_HAS(v.out, " 0 bad");

  // Values against the captures converted by hand.
  const auto ev = events();
  auto s85 = last_values(ev, car_s85().vin);
  ASSERT_TRUE(s85.count("powertrainTransmissionTravelledDistance"));
  EXPECT_NEAR(num(s85["powertrainTransmissionTravelledDistance"]), 104374.713449 * kKmPerMile,
              1e-6);
  EXPECT_NEAR(num(s85["powertrainRange"]), 218.21 * kKmPerMile, 1e-9);
  EXPECT_EQ(num(s85["powertrainTractionBatteryStateOfChargeCurrent"]), 80);
  EXPECT_EQ(num(s85["powertrainTractionBatteryChargingChargeLimit"]), 80);
  EXPECT_EQ(num(s85["exteriorAirTemperature"]), 19.5);
  EXPECT_EQ(num(s85["powertrainTractionBatteryChargingIsCharging"]), 0) << "Complete";
  EXPECT_EQ(num(s85["powertrainTractionBatteryChargingAddedEnergy"]), 15.59);
  EXPECT_FALSE(s85.count("currentLocationCoordinates")) << "location_data is off by default";
  EXPECT_FALSE(s85.count("speed")) << "speed is null in the capture";
  auto s60 = last_values(ev, car_s60().vin);
  EXPECT_NEAR(num(s60["powertrainTransmissionTravelledDistance"]), 169816.533912 * kKmPerMile,
              1e-6);
  EXPECT_EQ(num(s60["powertrainTractionBatteryStateOfChargeCurrent"]), 52);
  auto m3 = last_values(ev, car_model3().vin);
  EXPECT_NEAR(num(m3["chassisAxleRow1WheelLeftTirePressure"]), 292.5, 1e-9) << "2.925 bar";
  EXPECT_NEAR(num(m3["powertrainTransmissionTravelledDistance"]), 11643.048901 * kKmPerMile, 1e-6);
  EXPECT_EQ(num(m3["powertrainTractionBatteryCurrentPower"]), 0);
  // drive_state.power 0 kW × −1000 must not print as -0.
  const std::string raw = slurp(dir_ / "data/events.jsonl");
  EXPECT_EQ(raw.find("\"value\":-0,"), std::string::npos);
  EXPECT_EQ(raw.find("\"value\":-0}"), std::string::npos);
  // Each event names its car, and each reading carries its section's (shifted) timestamp: now.
  const int64_t now_s = std::time(nullptr);
  for (const json::object& e : ev) {
    ASSERT_TRUE(e.at("data").as_object().contains("vin"));
    EXPECT_TRUE(e.contains("signature"));
    const std::string t(e.at("time").as_string());
    std::tm tm{};
    ASSERT_NE(strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr) << t;
    EXPECT_LT(std::abs(int64_t(timegm(&tm)) - now_s), 120) << t;
  }

  // A rotation is stored on one member and copied to the others by their next polls (300 ms
  // apart, rotations ~2 s): some member holds the newest pair the mock issued, every member it
  // or the one before; the seed is spent.
  auto tokens = issued_tokens();
  ASSERT_GE(tokens.size(), 3u);
  const json::object& last = tokens.back();
  const json::object& before_last = tokens[tokens.size() - 2];
  const std::vector<TeslaCar> members = {car_s85(), car_s60(), car_model3()};
  EXPECT_EQ(newest_stored(cfg, members), std::string(last.at("refresh_token").as_string()));
  for (const TeslaCar& car : members) {
    const auto rt = stored(cfg, car.id, "refresh_token");
    const auto at = stored(cfg, car.id, "access_token");
    ASSERT_TRUE(rt && at) << car.id;
    if (*rt == last.at("refresh_token").as_string()) {
      EXPECT_EQ(*at, std::string(last.at("access_token").as_string())) << car.id;
    } else {
      EXPECT_EQ(*rt, std::string(before_last.at("refresh_token").as_string())) << car.id;
      EXPECT_EQ(*at, std::string(before_last.at("access_token").as_string())) << car.id;
    }
  }
  EXPECT_EQ(tokens.front().at("kind").as_string(), "seeded");
  EXPECT_EQ(tokens.front().at("refresh_uses").to_number<uint64_t>(), 1u) << "the seed, once";

  // A restart goes on from the stored pair: more rotations, more events, never a refusal.
  const uint64_t refreshes = requests(stats(), "POST /oauth2/v3/token", "200");
  const size_t stored_at = tokens.size() - 1;
  EXPECT_EQ(last.at("refresh_uses").to_number<uint64_t>(), 0u);
  const size_t before = events().size();
  start_oemlink(cfg);
  ASSERT_TRUE(eventually([&] {
    return events().size() >= before + 3 &&
           requests(stats(), "POST /oauth2/v3/token", "200") >= refreshes + 1;
  })) << "nothing after the restart";
  ASSERT_EQ(stop_oemlink(), 0);
  EXPECT_EQ(issued_tokens()[stored_at].at("refresh_uses").to_number<uint64_t>(), 1u)
      << "the restart did not refresh with the stored pair";
  auto s = stats();
  EXPECT_EQ(requests(s, "POST /oauth2/v3/token", "401"), 0u);
  EXPECT_EQ(requests(s, "POST /oauth2/v3/token", "400"), 0u);
  EXPECT_EQ(oemlink_logs().find("needs re-authentication"), std::string::npos);
  const std::string pair_user = std::string(issued_tokens().back().at("refresh_token").as_string());
  EXPECT_EQ(newest_stored(cfg, members), pair_user);
}

// 2a. The vehicle list decides: an asleep car is not polled at all; a car the list calls online
// that answers 408 is reported asleep (and counted) instead of failing.
TEST_F(TeslaEndToEnd, AsleepCarsAreNotPolledAnd408MeansAsleep) {
  TeslaRun opts;
  opts.settings = {"vehicle_list_ttl: 0s"};
  fs::path cfg = start_fleet({"--state", car_s60().vin + "=asleep", "--inject",
                              "vin=" + car_model3().vin + ",path=vehicle_data,status=408"},
                             opts);
  ASSERT_TRUE(eventually([&] {
    return has_events_for(car_s85().vin, 3) &&
           requests(stats(), "GET /api/1/vehicles/{id}/vehicle_data", "408") >= 2 &&
           metric("oemlink_driver_events_total", {{"driver", "tesla"}, {"name", "asleep_408"}}) >=
               2;
  })) << "no events or no 408";
  ASSERT_EQ(stop_oemlink(), 0);
  auto s = stats();
  EXPECT_EQ(car_data_calls(s, car_s60().vin), 0u) << "an asleep car was polled";
  EXPECT_EQ(events_for(events(), car_s60().vin), 0u);
  EXPECT_EQ(events_for(events(), car_model3().vin), 0u);
  EXPECT_GE(requests(s, "GET /api/1/vehicles", "200"), 2u) << "the list was asked again";
  const std::string log = oemlink_logs();
  EXPECT_HAS(log, "connection s60 (driver tesla): asleep");
  EXPECT_HAS(log, "connection model3 (driver tesla): asleep");
  EXPECT_EQ(log.find("connection s85 (driver tesla): asleep"), std::string::npos);
  EXPECT_EQ(log.find("failed permanently"), std::string::npos);
}

// 2b. 429 with Retry-After: the car waits it out (the mock counts a request inside its window as
// a violation) and then comes back; the other cars go on meanwhile.
TEST_F(TeslaEndToEnd, A429IsWaitedOutUntilRetryAfter) {
  fs::path cfg = start_fleet({});
  ASSERT_TRUE(eventually([&] { return has_events_for(car_s85().vin, 2); }));
  mock_post("/mock/inject",
            R"({"vin":")" + car_s85().vin +
                R"(","path":"vehicle_data","status":429,"retry_after":3,"count":1})");
  ASSERT_TRUE(eventually(
      [&] { return requests(stats(), "GET /api/1/vehicles/{id}/vehicle_data", "429") >= 1; }));
  const size_t s85_then = events_for(events(), car_s85().vin);
  const size_t s60_then = events_for(events(), car_s60().vin);
  ASSERT_TRUE(eventually([&] { return events_for(events(), car_s85().vin) > s85_then; }))
      << "the car never came back after its Retry-After";
  EXPECT_GT(events_for(events(), car_s60().vin), s60_then) << "another car was held up";
  ASSERT_EQ(stop_oemlink(), 0);
  auto s = stats();
  EXPECT_EQ(s.at("rate_limit_violations").to_number<uint64_t>(), 0u)
      << "a request was sent inside the Retry-After window";
  EXPECT_EQ(requests(s, "GET /api/1/vehicles/{id}/vehicle_data", "429"), 1u);
  EXPECT_GE(
      metric("oemlink_driver_events_total", {{"driver", "tesla"}, {"name", "rate_limited_car"}}),
      1u);
  EXPECT_HAS(oemlink_logs(), "connection s85 (driver tesla): rate-limited for ");
}

// 2c. 401: one refresh and the call goes through; once the owner revokes the chain, one refused
// refresh puts every car of the account in needs-re-auth, and nothing loops.
TEST_F(TeslaEndToEnd, A401RefreshesOnceAndARevokedChainNeedsReauthWithoutLooping) {
  fs::path cfg = start_fleet({});
  ASSERT_TRUE(eventually([&] { return has_events_for(car_s85().vin, 2); }));
  const uint64_t refreshed = requests(stats(), "POST /oauth2/v3/token", "200");
  mock_post("/mock/inject",
            R"({"vin":")" + car_s85().vin + R"(","path":"vehicle_data","status":401,"count":1})");
  const size_t after_401 = events_for(events(), car_s85().vin);
  ASSERT_TRUE(eventually([&] {
    return requests(stats(), "GET /api/1/vehicles/{id}/vehicle_data", "401") >= 1 &&
           events_for(events(), car_s85().vin) > after_401 + 1;
  }));
  auto s = stats();
  EXPECT_EQ(requests(s, "POST /oauth2/v3/token", "200"), refreshed + 1) << "one refresh per 401";
  EXPECT_EQ(requests(s, "POST /oauth2/v3/token", "401"), 0u);
  // (Another car's call in flight with the voided token may get a 401 too: it retries with the
  // new token and does not refresh again.)
  const uint64_t refused_calls = requests(s, "GET /api/1/vehicles/{id}/vehicle_data", "401") +
                                 requests(s, "GET /api/1/vehicles", "401");

  mock_post("/mock/revoke", R"({"account":"default"})");
  auto told = [&](const char* conn) {
    return oemlink_logs().find(std::string("connection ") + conn +
                               " (driver tesla): needs re-authentication (Tesla refused the "
                               "refresh token of account alice (login_required") !=
           std::string::npos;
  };
  ASSERT_TRUE(eventually([&] { return told("s85") && told("s60") && told("model3"); }))
      << "not every car of the account was told, with the reason";
  const uint64_t refused = requests(stats(), "POST /oauth2/v3/token", "401");
  EXPECT_EQ(refused, 1u) << "one refused refresh for the whole account";
  // No loop: a few more poll intervals change nothing.
  std::this_thread::sleep_for(1500ms);
  s = stats();
  EXPECT_EQ(requests(s, "POST /oauth2/v3/token", "401"), refused);
  EXPECT_LE(requests(s, "GET /api/1/vehicles/{id}/vehicle_data", "401") +
                requests(s, "GET /api/1/vehicles", "401"),
            refused_calls + 3u)
      << "at most one refused call per car";
  ASSERT_EQ(stop_oemlink(), 0);
  EXPECT_GE(metric("oemlink_connection_reports_total", {{"state", "needs_reauth"}}), 3u);
}

// 2d. Regions: an account in eu reached through the na base is found by users/region; when its
// data moves, the 421's Alt-Svc (a base URL with a path) is followed and data flows again.
TEST_F(TeslaEndToEnd, RegionsAreDiscoveredAndA421IsFollowed) {
  fs::path cfg = start_fleet({"--region", "eu"});
  ASSERT_TRUE(eventually([&] { return has_events_for(car_s85().vin, 2); }));
  auto s = stats();
  EXPECT_GE(requests(s, "GET /api/1/users/region", "200"), 1u);
  EXPECT_EQ(requests(s, "GET /api/1/vehicles/{id}/vehicle_data", "421"), 0u);

  mock_post("/mock/account-region", R"({"account":"default","region":"na"})");
  ASSERT_TRUE(eventually([&] {
    return requests(stats(), "GET /api/1/vehicles/{id}/vehicle_data", "421") +
               requests(stats(), "GET /api/1/vehicles", "421") >=
           1;
  }));
  const size_t moved = events_for(events(), car_s85().vin);
  ASSERT_TRUE(eventually([&] { return events_for(events(), car_s85().vin) >= moved + 2; }))
      << "no data after the 421";
  ASSERT_EQ(stop_oemlink(), 0);
  EXPECT_HAS(oemlink_logs(), "wrong region (421); now " + mock_base() + "/na");
  EXPECT_GE(
      metric("oemlink_driver_events_total", {{"driver", "tesla"}, {"name", "region_redirects"}}),
      1u);
  // Followed once, not bounced: the 421s are about one per call in flight at the move.
  s = stats();
  EXPECT_LE(requests(s, "GET /api/1/vehicles/{id}/vehicle_data", "421") +
                requests(s, "GET /api/1/vehicles", "421"),
            4u);
}

// 2e. 5xx: the car is retried with growing back-off and recovers; the 5xx are not billed.
TEST_F(TeslaEndToEnd, ServerErrorsBackOffThenRecover) {
  fs::path cfg = start_fleet({});
  ASSERT_TRUE(eventually([&] { return has_events_for(car_s85().vin, 2); }));
  mock_post("/mock/inject",
            R"({"vin":")" + car_s85().vin + R"(","path":"vehicle_data","status":502,"count":3})");
  ASSERT_TRUE(eventually(
      [&] { return requests(stats(), "GET /api/1/vehicles/{id}/vehicle_data", "502") == 3; }));
  const size_t then = events_for(events(), car_s85().vin);
  ASSERT_TRUE(eventually([&] { return events_for(events(), car_s85().vin) > then; }))
      << "no recovery";
  ASSERT_EQ(stop_oemlink(), 0);
  const std::string log = oemlink_logs();
  // RETRY, not an error: the host counts the failures in a row and backs off.
  EXPECT_HAS(log, "connection s85 (driver tesla): poll retry: HTTP 502 server error");
  EXPECT_HAS(log, "(failure #3, next poll in ");
  EXPECT_GE(metric("oemlink_polls_total", {{"outcome", "retry"}}), 3u);
  EXPECT_GE(stats().at("unbilled_5xx").to_number<uint64_t>(), 3u);
  EXPECT_EQ(log.find("connection s85 (driver tesla): failed"), std::string::npos);
}

// 3. Killed at random moments while it refreshes constantly: the driver never uses an access
// token whose pair is not yet durable. After each SIGKILL the store holds the newest pair the
// mock issued (the car keeps working after a restart) or, only when the kill landed between the
// mock issuing a pair and the driver storing it, the one before (the restart reports
// NEEDS_REAUTH once, with the reason, and does not loop); never anything older.
TEST_F(TeslaEndToEnd, KilledMidRotationNeverUsesAnUnstoredTokenAndNeverLoops) {
  // Tokens live 2 s and the default margin (5 min) refreshes before every call; 30–330 ms on
  // every answer (the token endpoint's too) keeps a kill likely to land mid-refresh.
  start_mock({"--accept-refresh-token", "seed-0@default", "--access-token-lifetime", "2",
              "--latency-ms", "30", "--latency-jitter-ms", "300"});
  ASSERT_FALSE(HasFatalFailure());
  TeslaRun opts;
  opts.cars = {car_s85(), car_s60()};
  opts.poll_interval = "200ms";
  const fs::path cfg = write_config(opts);
  for (const TeslaCar& c : opts.cars) seed(cfg, c.id, "seed-0");

  const unsigned seed_value = unsigned(std::time(nullptr));
  std::mt19937 rng(seed_value);
  std::cout << "[ info ] kill delays from seed " << seed_value << "\n";
  int durable = 0, lost_in_flight = 0, reseeds = 0;
  bool expect_reauth = false;
  constexpr int kKills = 16;
  int kills = 0;
  // Each round starts oemlink and checks what the last kill left; after the last kill, one more
  // round checks and stops.
  for (int round = 0;; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + ", kills " + std::to_string(kills));
    const auto before = stats();
    const uint64_t refused_before = requests(before, "POST /oauth2/v3/token", "401");
    const uint64_t data_before = requests(before, "GET /api/1/vehicles/{id}/vehicle_data", "200");
    start_oemlink(cfg);
    if (expect_reauth) {
      // The stored refresh token was spent by the pair that never reached the store.
      ASSERT_TRUE(eventually([&] {
        return count_of(current_log(), "needs re-authentication") >= 2;
      })) << "no NEEDS_REAUTH after a kill that lost the new pair";
      EXPECT_HAS(current_log(), "login_required");
      std::this_thread::sleep_for(600ms);  // a few poll intervals: nothing may loop
      const uint64_t refused = requests(stats(), "POST /oauth2/v3/token", "401") - refused_before;
      EXPECT_GE(refused, 1u);
      EXPECT_LE(refused, 2u) << "at most the stored token and one older member's";
      EXPECT_EQ(requests(stats(), "GET /api/1/vehicles/{id}/vehicle_data", "200"), data_before);
      ASSERT_EQ(stop_oemlink(), 0);
      // The owner links the car again: a new seed.
      const std::string fresh = "seed-" + std::to_string(++reseeds);
      mock_post("/mock/accept-refresh-token",
                R"({"token":")" + fresh + R"(","account":"default"})");
      for (const TeslaCar& c : opts.cars) seed(cfg, c.id, fresh);
      expect_reauth = false;
      continue;
    }
    ASSERT_TRUE(eventually([&] {
      return requests(stats(), "GET /api/1/vehicles/{id}/vehicle_data", "200") >= data_before + 2;
    })) << "the car does not work after a restart";
    if (kills == kKills) {
      ASSERT_EQ(stop_oemlink(), 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 900));
    kill_oemlink();
    ++kills;
    // A token request the dead process had sent may still reach the mock: let it land.
    std::this_thread::sleep_for(300ms);

    // What is durable now: the newest pair any member holds (a rotation is stored on one
    // member and copied to the others by their later polls; the chain loads the newest).
    const std::string stored_refresh = newest_stored(cfg, opts.cars);
    auto issued = issued_tokens();
    size_t at = issued.size();
    for (size_t i = 0; i < issued.size(); ++i)
      if (issued[i].at("refresh_token").as_string() == stored_refresh) at = i;
    ASSERT_LT(at, issued.size()) << "the store holds a refresh token the mock never issued";
    for (size_t i = at + 1; i < issued.size(); ++i)
      EXPECT_EQ(issued[i].at("access_uses").to_number<uint64_t>(), 0u)
          << "access token #" << issued[i].at("seq").as_int64()
          << " was used but its pair never became durable";
    const size_t newer = issued.size() - 1 - at;
    ASSERT_LE(newer, 1u) << "the driver refreshed with a token it had not stored";
    if (newer == 0) {
      ++durable;
    } else {
      ++lost_in_flight;
      expect_reauth = true;
    }
  }
  std::cout << "[ info ] " << kKills << " kills: " << durable
            << " with the newest pair stored (the car went on), " << lost_in_flight
            << " after the mock issued a pair and before it was stored (NEEDS_REAUTH)\n";
  EXPECT_GT(durable, 0);
  EXPECT_EQ(durable + lost_in_flight, kKills);
}

// The mock spreads its cars' days by an offset from std::hash of the VIN (telemetry_publisher.cpp);
// the same standard library computes the same offset here. Seconds.
double sim_offset_s(const std::string& vin) {
  return double(std::hash<std::string>{}(vin) % 7200) - 3600;
}

// 4. Streaming through a real mosquitto: Fleet-Telemetry-style records become DIMO events
// stamped on receipt and batched per car per window; a streaming car is not polled; its
// DISCONNECTED record ends the stream and the vehicle list (asleep) takes over.
// Run both with the driver in the host and in its own process: the MQTT service, its messages and
// the driver's timers then all cross the driver process's channel.
class TeslaStreamEndToEnd : public TeslaEndToEnd,
                            public ::testing::WithParamInterface<std::string> {};
INSTANTIATE_TEST_SUITE_P(Isolation, TeslaStreamEndToEnd,
                         ::testing::Values("in_process", "process"));

TEST_P(TeslaStreamEndToEnd, StreamedRecordsBecomeBatchedEventsAndStreamingCarsAreNotPolled) {
  uplink::testing::Broker broker(uplink::testing::free_port());
  ASSERT_TRUE(broker.start()) << broker.log();
  uplink::testing::Subscriber witness(broker.port(), "telemetry/#");
  ASSERT_TRUE(witness.ready());

  // Start the simulated clock 3 minutes before the S 60 ends its morning drive (07:30–08:00 in
  // the car's own day); the S 85 drives then too; the Model 3's drive is long over (asleep).
  // At 120x: ~1.5 s of driving, 15 simulated minutes awake (~7.5 s), then DISCONNECTED.
  const double s60_end = 8 * 3600 - sim_offset_s(car_s60().vin);
  const int start_min = int(std::floor((s60_end - 180) / 60));
  auto minute_of_car = [&](const TeslaCar& c) {
    return std::fmod(start_min * 60 + sim_offset_s(c.vin) + 86400, 86400) / 60;
  };
  ASSERT_TRUE(minute_of_car(car_s85()) >= 450 && minute_of_car(car_s85()) < 478)
      << "the S 85 does not drive then: the mock's offsets changed";
  ASSERT_TRUE(minute_of_car(car_model3()) >= 8 * 60 + 20 || minute_of_car(car_model3()) < 450)
      << "the Model 3 is awake then: the mock's offsets changed";
  char sim_start[8];
  std::snprintf(sim_start, sizeof sim_start, "%02d:%02d", (start_min / 60 + 24) % 24,
                (start_min % 60 + 60) % 60);

  // oemlink first, so that its subscription is up before the mock publishes anything.
  mock_port_ = uplink::testing::free_port();
  TeslaRun opts;
  opts.mode = "poll+driver_stream";
  opts.isolation = GetParam();
  opts.cars = {car_s85(), car_s60(), car_model3()};
  opts.settings = {
      "stream_broker_host: 127.0.0.1", "stream_broker_port: " + std::to_string(broker.port()),
      "stream_client_id: oemlink-e2e", "stream_batch_window: 1s", "vehicle_list_ttl: 0s"};
  const fs::path cfg = write_config(opts);
  seed(cfg, car_s85().id, "seed-alice");
  start_oemlink(cfg);
  ASSERT_TRUE(eventually([&] {
    return current_log().find("tesla: stream broker connected") != std::string::npos;
  })) << "the driver never subscribed";
  start_mock({"--accept-refresh-token", "seed-alice@default", "--mqtt",
              "127.0.0.1:" + std::to_string(broker.port()), "--time-scale", "120",
              "--mqtt-interval-ms", "100", "--sim-start", sim_start});
  ASSERT_FALSE(HasFatalFailure());

  // Streaming: events for both S cars with mapped signals.
  auto streamed = [&](const TeslaCar& c) {
    auto v = last_values(events(), c.vin);
    return v.count("speed") && v.count("powertrainTransmissionTravelledDistance") &&
           v.count("currentLocationCoordinates");
  };
  ASSERT_TRUE(eventually([&] { return streamed(car_s85()) && streamed(car_s60()); }))
      << "no streamed events";
  const auto streaming_at = std::chrono::steady_clock::now();
  const uint64_t s85_calls = car_data_calls(stats(), car_s85().vin);
  const uint64_t s60_calls = car_data_calls(stats(), car_s60().vin);

  // Both cars park, stay awake 15 simulated minutes (still streaming now and then), sleep.
  ASSERT_TRUE(eventually(
      [&] {
        return metric("oemlink_driver_events_total",
                      {{"driver", "tesla"}, {"name", "stream_car_disconnects"}}) >= 2;
      },
      45s))
      << "no DISCONNECTED handled";
  std::cout
      << "[ info ] streaming to both DISCONNECTED: "
      << std::chrono::duration<double>(std::chrono::steady_clock::now() - streaming_at).count()
      << " s\n";
  auto s = stats();
  EXPECT_EQ(car_data_calls(s, car_s85().vin), s85_calls) << "polled while streaming";
  EXPECT_EQ(car_data_calls(s, car_s60().vin), s60_calls) << "polled while streaming";
  EXPECT_EQ(car_data_calls(s, car_model3().vin), 0u) << "an asleep car was polled";
  const size_t log_at = current_log().size();
  // After DISCONNECTED the stream no longer covers the car: the vehicle list (asleep) does.
  ASSERT_TRUE(eventually([&] {
    const std::string after = current_log().substr(log_at);
    return after.find("connection s85 (driver tesla): asleep") != std::string::npos &&
           after.find("connection s60 (driver tesla): asleep") != std::string::npos;
  })) << "the cars were not handed back to the vehicle list";
  ASSERT_EQ(stop_oemlink(), 0);

  // Values as published, converted: the last odometer and speed each car sent.
  const auto messages = witness.messages();
  const auto ev = events();
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  for (const TeslaCar& c : {car_s85(), car_s60()}) {
    SCOPED_TRACE(c.id);
    std::string odometer, speed;
    size_t sent = 0;
    for (const auto& m : messages) {
      if (m.topic.rfind("telemetry/" + c.vin + "/v/", 0) != 0) continue;
      ++sent;
      if (m.topic.ends_with("/v/Odometer")) odometer = m.payload;
      if (m.topic.ends_with("/v/VehicleSpeed")) speed = m.payload;
    }
    ASSERT_FALSE(odometer.empty());
    auto last = last_values(ev, c.vin);
    EXPECT_NEAR(num(last["powertrainTransmissionTravelledDistance"]),
                std::stod(odometer) * kKmPerMile, 1e-6);
    EXPECT_NEAR(num(last["speed"]), std::stod(speed) * kKmPerMile, 1e-6);
    // One event per car per 1 s window, many records in each: fewer events than records.
    const size_t emitted = events_for(ev, c.vin);
    EXPECT_LT(emitted, sent);
    std::cout << "[ info ] " << c.id << ": " << sent << " records streamed, " << emitted
              << " events\n";
    bool rich = false;
    for (const json::object& e : ev) {
      const json::object& data = e.at("data").as_object();
      if (data.at("vin").as_string() != c.vin) continue;
      const auto& signals = data.at("signals").as_array();
      rich = rich || signals.size() >= 5;
      // Stamped on receipt: the wall clock of this run, not the simulated day.
      for (const auto& sig : signals) {
        std::tm tm{};
        const std::string t(sig.at("timestamp").as_string());
        ASSERT_NE(strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr);
        EXPECT_LT(std::abs(int64_t(timegm(&tm)) * 1000 - now_ms), 120'000) << t;
      }
    }
    EXPECT_TRUE(rich) << "no event batched several records";
  }
  EXPECT_GE(metric("oemlink_driver_events_total",
                   {{"driver", "tesla"}, {"name", "polls_skipped_live_stream"}}),
            1u);
  EXPECT_EQ(
      metric("oemlink_driver_events_total", {{"driver", "tesla"}, {"name", "stream_parse_errors"}}),
      0u);
  EXPECT_EQ(events_for(ev, car_model3().vin), 0u);
}

// 5. Telemetry config: the driver signs the config (Tesla.SS256 with a P-256 partner key made
// here), the mock's independent verifier accepts it, and the next start reads it back in line;
// a car without the virtual key is never posted to and says why.
TEST_F(TeslaEndToEnd, TelemetryConfigIsSignedAcceptedAndReadBack) {
  const std::string sh =
      "cd '" + dir_.string() +
      "' && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out partner.pem "
      "2>/dev/null && openssl pkey -in partner.pem -pubout -out partner.pub 2>/dev/null && "
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "
      "/CN=ft.example.com -days 2 -keyout ft.key -out ft.crt 2>/dev/null";
  ASSERT_EQ(std::system(sh.c_str()), 0);
  TeslaRun opts;
  opts.settings = {"telemetry_config_enabled: true",
                   "client_secret: mock-client-secret",
                   "telemetry_hostname: ft.example.com",
                   "telemetry_port: 4443",
                   "telemetry_ca_file: " + (dir_ / "ft.crt").string(),
                   "telemetry_partner_key_file: " + (dir_ / "partner.pem").string()};
  const fs::path cfg = start_fleet(
      {"--partner-public-key", (dir_ / "partner.pub").string(), "--missing-key", car_model3().vin},
      opts);
  const std::string jws = "POST /api/1/vehicles/fleet_telemetry_config_jws";
  ASSERT_TRUE(eventually([&] {
    return requests(stats(), jws, "200") >= 2 &&
           metric("oemlink_driver_events_total",
                  {{"driver", "tesla"}, {"name", "telemetry_config_key_unpaired"}}) >= 1 &&
           has_events_for(car_s85().vin) && has_events_for(car_model3().vin);
  })) << "no config posted";
  ASSERT_EQ(stop_oemlink(), 0);
  auto s = stats();
  EXPECT_EQ(requests(s, jws), 2u) << "one post per keyed car, none for the unkeyed one";
  EXPECT_EQ(requests(s, jws, "412"), 0u) << "the mock's verifier refused the JWS";
  EXPECT_HAS(oemlink_logs(),
             "tesla: telemetry config of " + car_model3().vin + ": virtual key not paired");
  EXPECT_GE(metric("oemlink_driver_events_total",
                   {{"driver", "tesla"}, {"name", "telemetry_config_problems"}}),
            1u);

  // A restart reads the configs back: in line for the keyed cars, no new post.
  start_oemlink(cfg);
  ASSERT_TRUE(eventually([&] {
    return metric("oemlink_driver_events_total",
                  {{"driver", "tesla"}, {"name", "telemetry_config_in_line"}}) >= 2;
  })) << "the posted configs were not read back in line: "
      << json::serialize(counters());
  ASSERT_EQ(stop_oemlink(), 0);
  EXPECT_EQ(requests(stats(), jws), 2u);
  const std::string log = current_log();
  // In line from the first look: nothing to say about the keyed cars (no problem logged).
  EXPECT_EQ(log.find("tesla: telemetry config of " + car_s85().vin), std::string::npos);
  EXPECT_EQ(log.find("tesla: telemetry config of " + car_s60().vin), std::string::npos);
  EXPECT_HAS(log, "tesla: telemetry config of " + car_model3().vin + ": virtual key not paired");
  EXPECT_GE(requests(stats(), "GET /api/1/vehicles/{vin}/fleet_telemetry_config", "200"), 6u);
  // The partner key never leaves the process.
  const std::string key = slurp(dir_ / "partner.pem");
  const std::string body = key.substr(key.find('\n') + 1, 40);
  EXPECT_EQ(oemlink_logs().find(body), std::string::npos);
}

}  // namespace
}  // namespace oemlink::testing
