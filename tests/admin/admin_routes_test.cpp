// Every admin route over a fake ConnectionControl on a real listener: the views it answers, the
// paging, each ControlError's status, and bodies refused with the field at fault named.
#include "core/admin/request_body.hpp"
#include "tests/admin/admin_harness.hpp"

#include <gmock/gmock.h>

#include <boost/asio/steady_timer.hpp>

namespace oemlink::admin::testing {
namespace {

using ::testing::HasSubstr;
namespace json = boost::json;

class AdminRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override { h_.start_with_token(); }
  template <class Fn>
  auto on_loop(Fn fn) {
    return h_.on_loop(std::move(fn));
  }
  FakeConnectionControl& control() { return h_.control(); }
  AdminHarness h_;
};

TEST_F(AdminRoutesTest, ShowAnswersEveryViewFieldAndTheMint) {
  on_loop([&] {
    auto& v = control().put("car-1");
    v.vehicle_id = "1492931520";
    v.display_name = "Blue";
    v.identifiers_json = R"({"tesla_id":"1492931520"})";
    v.vehicle_token_id = 42;
    v.reason = "linked";
    v.source = host::ConnectionSource::linked;
    v.mint_json = R"({"method":"mintVehicleWithDeviceDefinitionSign"})";
    return 0;
  });
  Reply r = h_.request("GET", "/admin/connections/car-1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  json::object o = r.json().as_object();
  EXPECT_EQ(o.at("id"), "car-1");
  EXPECT_EQ(o.at("driver"), "tesla");
  EXPECT_EQ(o.at("vehicle_id"), "1492931520");
  EXPECT_EQ(o.at("vin"), "5YJ3E1EA7KF100001");
  EXPECT_EQ(o.at("display_name"), "Blue");
  EXPECT_EQ(o.at("identifiers").at("tesla_id"), "1492931520");
  EXPECT_EQ(o.at("key_child").to_number<int>(), 1);
  EXPECT_EQ(o.at("device_address").as_string(), FakeConnectionControl::address_of(1));
  EXPECT_EQ(o.at("vehicle_token_id").to_number<int>(), 42);
  EXPECT_EQ(o.at("synthetic_token_id").to_number<int>(), 0);
  EXPECT_EQ(o.at("state"), "active");
  EXPECT_EQ(o.at("reason"), "linked");
  EXPECT_EQ(o.at("changed_ms").to_number<int64_t>(), 1'700'000'000'000);
  EXPECT_EQ(o.at("created_ms").to_number<int64_t>(), 1'700'000'000'000);
  EXPECT_EQ(o.at("source"), "linked");
  EXPECT_EQ(o.at("phase"), "idle");
  EXPECT_EQ(o.at("mint").at("method"), "mintVehicleWithDeviceDefinitionSign");
  EXPECT_EQ(o.size(), 17u);  // every ConnectionView field, plus mint

  on_loop([&] { return control().put("car-2").id; });
  EXPECT_TRUE(h_.request("GET", "/admin/connections/car-2").json().at("mint").is_null());
}

TEST_F(AdminRoutesTest, IdsArePercentDecodedAndUnknownOnesAre404) {
  on_loop([&] { return control().put("fleet:car 7").id; });
  EXPECT_EQ(h_.request("GET", "/admin/connections/fleet%3Acar%207").status, 200);
  on_loop([&] { return control().put("counts").id; });  // shadowed by the route, not unreachable
  EXPECT_EQ(h_.request("GET", "/admin/connections/%63ounts").json().at("id"), "counts");
  Reply r = h_.request("GET", "/admin/connections/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.error(), "no connection nope");
  EXPECT_EQ(h_.request("GET", "/admin/connections/bad%zz").status, 400);
  EXPECT_EQ(h_.request("GET", "/admin/connections/a/b").status, 404);
}

TEST_F(AdminRoutesTest, ListPagesInIdOrderWithTotalAndFilter) {
  on_loop([&] {
    for (int i = 0; i < 7; ++i) control().put("car-" + std::to_string(i));
    control().put("car-9", "smartcar", host::ConnectionState::paused);
    return 0;
  });
  Reply r = h_.request("GET", "/admin/connections?limit=3");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value v = r.json();
  ASSERT_EQ(v.at("connections").as_array().size(), 3u);
  EXPECT_EQ(v.at("connections").at(0).at("id"), "car-0");
  EXPECT_EQ(v.at("next_after"), "car-2");
  EXPECT_EQ(v.at("total").to_number<int>(), 8);
  EXPECT_FALSE(v.at("connections").at(0).as_object().contains("mint"));  // list views are short

  std::vector<std::string> seen;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    json::value p = h_.request("GET", "/admin/connections?limit=3&after=" + after).json();
    for (auto& c : p.at("connections").as_array()) seen.emplace_back(c.at("id").as_string());
    if (p.at("next_after").is_null()) break;
    after = std::string(p.at("next_after").as_string());
  }
  EXPECT_EQ(seen.size(), 8u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));

  v = h_.request("GET", "/admin/connections?state=paused").json();
  ASSERT_EQ(v.at("connections").as_array().size(), 1u);
  EXPECT_EQ(v.at("connections").at(0).at("id"), "car-9");
  EXPECT_EQ(v.at("total").to_number<int>(), 1);
  EXPECT_TRUE(v.at("next_after").is_null());
  // The default page is 100.
  EXPECT_EQ(h_.request("GET", "/admin/connections").json().at("connections").as_array().size(), 8u);
}

TEST_F(AdminRoutesTest, ListRefusesBadQueriesNamingTheParameter) {
  EXPECT_THAT(h_.request("GET", "/admin/connections?limit=0").error(), HasSubstr("limit"));
  EXPECT_THAT(h_.request("GET", "/admin/connections?limit=1001").error(), HasSubstr("limit"));
  EXPECT_THAT(h_.request("GET", "/admin/connections?limit=ten").error(), HasSubstr("limit"));
  Reply r = h_.request("GET", "/admin/connections?state=sleeping");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.error(), HasSubstr("state: must be one of"));
  EXPECT_THAT(h_.request("GET", "/admin/connections?page=2").error(),
              HasSubstr("page: unknown query parameter"));
  EXPECT_EQ(h_.request("GET", "/admin/connections?after=%G0").status, 400);
}

TEST_F(AdminRoutesTest, CountsGivesEveryState) {
  on_loop([&] {
    control().put("a");
    control().put("b");
    control().put("c", "tesla", host::ConnectionState::needs_reauth);
    return 0;
  });
  json::value v = h_.request("GET", "/admin/connections/counts").json();
  EXPECT_EQ(v.at("active").to_number<int>(), 2);
  EXPECT_EQ(v.at("needs_reauth").to_number<int>(), 1);
  EXPECT_EQ(v.at("paused").to_number<int>(), 0);
  EXPECT_EQ(v.at("linking").to_number<int>(), 0);
  EXPECT_EQ(v.at("revoked").to_number<int>(), 0);
  EXPECT_EQ(h_.request("POST", "/admin/connections/counts").status, 405);
}

TEST_F(AdminRoutesTest, AddCreatesRefusesDuplicatesAndNeverEchoesSecrets) {
  on_loop([&] { return control().put("existing").id; });
  const std::string vin_taken = on_loop([&] { return control().find("existing")->vin; });
  Reply r = h_.request("POST", "/admin/connections", R"({"connections":[
      {"id":"car-new","driver":"tesla","vin":"5YJ3E1EA7KF999999","vehicle_id":"77",
       "display_name":"Red","identifiers":{"tesla_id":"77"},"vehicle_token_id":"5",
       "synthetic_token_id":6,"poll_interval":"45s",
       "secrets":{"refresh_token":"rt-very-secret-value"}},
      {"driver":"tesla","vin":")" + vin_taken + R"("},
      {"driver":"smartcar","vin":"1HGCM82633A004352"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find("rt-very-secret-value"), std::string::npos);
  json::value v = r.json();
  ASSERT_EQ(v.at("created").as_array().size(), 2u);
  json::value created = v.at("created").at(0);
  EXPECT_EQ(created.at("id"), "car-new");
  EXPECT_EQ(created.at("vehicle_id"), "77");
  EXPECT_EQ(created.at("identifiers").at("tesla_id"), "77");
  EXPECT_EQ(created.at("vehicle_token_id").to_number<int>(), 5);
  EXPECT_EQ(created.at("synthetic_token_id").to_number<int>(), 6);
  EXPECT_EQ(created.at("source"), "api");
  ASSERT_EQ(v.at("refused").as_array().size(), 1u);
  EXPECT_EQ(v.at("refused").at(0).at("index").to_number<int>(), 1);
  EXPECT_THAT(std::string(v.at("refused").at(0).at("reason").as_string()),
              HasSubstr("already has a connection"));
  EXPECT_THAT(std::string(v.at("created").at(1).at("id").as_string()), HasSubstr("smartcar-"));
  auto [secret, interval] = on_loop([&] {
    return std::make_pair(control().secrets["car-new"]["refresh_token"],
                          control().poll_intervals.at("car-new"));
  });
  EXPECT_EQ(secret, "rt-very-secret-value");  // handed to the control, with the row
  EXPECT_EQ(interval, std::chrono::seconds(45));
}

TEST_F(AdminRoutesTest, AddRefusesBadBodiesNamingTheField) {
  auto add = [&](const std::string& body) {
    return h_.request("POST", "/admin/connections", body);
  };
  Reply r = add("{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.error(), HasSubstr("not JSON"));
  EXPECT_THAT(add("[]").error(), HasSubstr("expected a JSON object"));
  EXPECT_THAT(add("{}").error(), HasSubstr("connections: required"));
  EXPECT_THAT(add(R"({"connections":[]})").error(), HasSubstr("connections: give 1 to 10000"));
  EXPECT_THAT(add(R"({"connections":[{"vin":"5YJ3E1EA7KF999999"}]})").error(),
              HasSubstr("connections[0].driver: required"));
  EXPECT_THAT(
      add(R"({"connections":[{"driver":"tesla"},{"driver":"tesla","vin":"SHORT"}]})").error(),
      HasSubstr("connections[1].vin:"));
  EXPECT_THAT(add(R"({"connections":[{"driver":"tesla","id":"a b"}]})").error(),
              HasSubstr("connections[0].id: must match"));
  EXPECT_THAT(add(R"({"connections":[{"driver":"tesla","poll_interval":30}]})").error(),
              HasSubstr("connections[0].poll_interval"));
  EXPECT_THAT(add(R"({"connections":[{"driver":"tesla","vehicle_token_id":-1}]})").error(),
              HasSubstr("connections[0].vehicle_token_id"));
  EXPECT_THAT(add(R"({"connections":[{"driver":"tesla","identifiers":{"tesla_id":7}}]})").error(),
              HasSubstr("connections[0].identifiers.tesla_id: expected a string"));
  EXPECT_THAT(add(R"({"connections":[{"driver":"tesla","colour":"red"}]})").error(),
              HasSubstr("connections[0].colour: unknown field"));
  // A secret in a bad body is not quoted back.
  r = add(R"({"connections":[{"driver":"tesla","secrets":{"refresh_token":42}}]})");
  EXPECT_THAT(r.error(), HasSubstr("connections[0].secrets.refresh_token: expected a string"));
  EXPECT_EQ(on_loop([&] { return control().calls.size(); }), 0u);  // nothing reached the control
  // A whole-call refusal of the control.
  r = add(R"({"connections":[{"driver":"volvo"}]})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.error(), "no driver volvo");
}

TEST_F(AdminRoutesTest, PauseResumePollTokensRevoke) {
  on_loop([&] { return control().put("car-1").id; });
  Reply r = h_.request("POST", "/admin/connections/car-1/pause", R"({"reason":"owner asked"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("state"), "paused");
  EXPECT_EQ(r.json().at("reason"), "owner asked");
  EXPECT_EQ(h_.request("POST", "/admin/connections/car-1/poll").status, 409);  // not active
  r = h_.request("POST", "/admin/connections/car-1/resume");
  EXPECT_EQ(r.json().at("state"), "active");
  EXPECT_EQ(h_.request("POST", "/admin/connections/car-1/resume").status, 409);
  r = h_.request("POST", "/admin/connections/car-1/poll", "{}");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json().at("phase"), "polling");
  r = h_.request("POST", "/admin/connections/car-1/tokens", R"({"vehicle_token_id":12})");
  EXPECT_EQ(r.json().at("vehicle_token_id").to_number<int>(), 12);
  r = h_.request("POST", "/admin/connections/car-1/tokens",
                 R"({"synthetic_token_id":"18446744073709551615"})");
  EXPECT_EQ(r.json().at("vehicle_token_id").to_number<int>(), 12);  // 0 leaves one unchanged
  EXPECT_EQ(r.json().at("synthetic_token_id").to_number<uint64_t>(), UINT64_MAX);
  r = h_.request("POST", "/admin/connections/car-1/revoke", "");
  EXPECT_EQ(r.json().at("state"), "revoked");
  r = h_.request("POST", "/admin/connections/car-1/resume");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.error(), "car-1 is revoked");
  auto calls = on_loop([&] { return control().calls; });
  std::vector<std::string> verbs;
  for (auto& c : calls) verbs.push_back(c.verb);
  EXPECT_EQ(verbs, (std::vector<std::string>{"pause", "poll", "resume", "resume", "poll",
                                             "set_tokens", "set_tokens", "revoke", "resume"}));
  EXPECT_EQ(calls[0].detail, "owner asked");
  EXPECT_EQ(calls[5].detail, "12/0");
}

TEST_F(AdminRoutesTest, ActionsMapEveryControlErrorAndRefuseBadBodies) {
  on_loop([&] { return control().put("car-1").id; });
  EXPECT_EQ(h_.request("POST", "/admin/connections/ghost/pause").status, 404);
  for (auto [error, status] : {std::pair{host::ControlError::unavailable, 503},
                               std::pair{host::ControlError::bad_request, 400},
                               std::pair{host::ControlError::conflict, 409},
                               std::pair{host::ControlError::not_found, 404}}) {
    on_loop([&, e = error] {
      control().fail_next = e;
      return 0;
    });
    Reply r = h_.request("POST", "/admin/connections/car-1/pause");
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(r.error(), "the store cannot be reached right now");
  }
  EXPECT_THAT(h_.request("POST", "/admin/connections/car-1/pause", R"({"reason":5})").error(),
              HasSubstr("reason: expected a string"));
  EXPECT_THAT(h_.request("POST", "/admin/connections/car-1/pause", R"({"why":"x"})").error(),
              HasSubstr("why: unknown field (valid: reason)"));
  EXPECT_THAT(h_.request("POST", "/admin/connections/car-1/tokens", "{}").error(),
              HasSubstr("give vehicle_token_id, synthetic_token_id or both"));
  EXPECT_THAT(
      h_.request("POST", "/admin/connections/car-1/tokens", R"({"vehicle_token_id":1.5})").error(),
      HasSubstr("vehicle_token_id: expected a positive integer"));
  EXPECT_THAT(h_.request("POST", "/admin/connections/car-1/resume", R"({"x":1})").error(),
              HasSubstr("x: unknown field (this request takes none)"));
  EXPECT_THAT(h_.request("POST", "/admin/connections/car-1/pause", "{bad").error(),
              HasSubstr("not JSON"));
  Reply r = h_.request("POST", "/admin/connections/car-1/explode");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.error(), HasSubstr("pause|resume|revoke|poll|tokens"));
  EXPECT_EQ(h_.request("POST", "/admin/connections/car-1").status, 404);
  EXPECT_EQ(h_.request("DELETE", "/admin/connections/car-1").status, 405);
}

// The largest add request: 10,000 connections with identifiers and a secret each, in one body.
TEST_F(AdminRoutesTest, AddsTenThousandInOneRequestAndRefusesMore) {
  std::string body = R"({"connections":[)";
  for (int i = 0; i < 10'001; ++i) {
    char vin[18];
    std::snprintf(vin, sizeof vin, "5YJ3E1EA7K%07d", i);
    if (i) body += ",";
    body += R"({"driver":"tesla","vin":")" + std::string(vin) + R"(","vehicle_id":")" +
            std::to_string(i) + R"(","identifiers":{"tesla_id":")" + std::to_string(i) +
            R"("},"secrets":{"refresh_token":"rt-)" + std::to_string(i) + R"("}})";
  }
  body += "]}";
  Reply r = h_.request("POST", "/admin/connections", body);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.error(), HasSubstr("connections: give 1 to 10000"));

  body.erase(body.rfind(R"(,{"driver")"));
  body += "]}";
  // What the loop spends reading the body, of the whole exchange below.
  std::string copy = body;
  std::vector<host::NewConnection> parsed;
  std::string error;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(read_add_body(copy, parsed, error)) << error;
  const auto parse_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_EQ(parsed.size(), 10'000u);
  // The loop's longest stall during the exchange, seen by a 1 ms timer: what a poll due then
  // would wait. The body is read and the answer written on the worker, so what remains is the
  // control's own add (this fake's: ~40 ms for 10,000 on the shared test machine).
  struct StallMeter {
    explicit StallMeter(asio::io_context& io) : timer(io) {}
    void tick() {
      const auto now = std::chrono::steady_clock::now();
      if (last.time_since_epoch().count()) worst = std::max(worst, now - last);
      last = now;
      timer.expires_after(std::chrono::milliseconds(1));
      timer.async_wait([this](boost::system::error_code ec) {
        if (!ec) tick();
      });
    }
    asio::steady_timer timer;
    std::chrono::steady_clock::time_point last{};
    std::chrono::steady_clock::duration worst{};
  };
  auto meter = on_loop([&] {
    auto m = std::make_shared<StallMeter>(h_.io());
    m->tick();
    return m;
  });
  t0 = std::chrono::steady_clock::now();
  r = h_.request("POST", "/admin/connections", body);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  EXPECT_EQ(r.json().at("created").as_array().size(), 10'000u);
  EXPECT_TRUE(r.json().at("refused").as_array().empty());
  EXPECT_EQ(on_loop([&] { return control().secrets.size(); }), 10'000u);
  const auto stall = on_loop([&] {
    meter->timer.cancel();
    return std::chrono::duration_cast<std::chrono::milliseconds>(meter->worst).count();
  });
  std::printf(
      "add of 10,000 connections (%zu-byte body, %zu-byte answer): %lld ms; reading the body "
      "%lld ms (on the worker); the loop's longest stall %lld ms\n",
      body.size(), r.body.size(), static_cast<long long>(ms), static_cast<long long>(parse_ms),
      static_cast<long long>(stall));
}

// Closing while a large body is being read on the worker: nothing is added after the routes are
// gone, and the client gets an answer or a closed connection, never a hang.
TEST(AdminRoutesShutdown, ALargeAddInFlightAtCloseIsDroppedSafely) {
  std::string body = R"({"connections":[)";
  for (int i = 0; i < 5'000; ++i) {
    char vin[18];
    std::snprintf(vin, sizeof vin, "5YJ3E1EA7K%07d", i);
    body += std::string(i ? "," : "") + R"({"driver":"tesla","vin":")" + vin + R"("})";
  }
  body += "]}";
  for (int round = 0; round < 5; ++round) {
    AdminHarness h;
    h.start_with_token();
    auto reply = std::async(std::launch::async, [&] {
      try {
        return h.request("POST", "/admin/connections", body).status;
      } catch (const std::exception&) {
        return 0;  // closed without an answer
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(round * 5));
    h.stop();
    const int status = reply.get();
    EXPECT_TRUE(status == 0 || status == 200 || status == 503) << status;
  }
}

// The control answers after the handler returned: the answer still reaches the client.
TEST_F(AdminRoutesTest, AnAnswerGivenLaterReachesTheClient) {
  on_loop([&] {
    control().put("car-1");
    control().defer = true;
    return 0;
  });
  auto reply = std::async(std::launch::async,
                          [&] { return h_.request("POST", "/admin/connections/car-1/pause"); });
  // Wait until the call is held, then let it answer.
  for (int i = 0; i < 500 && on_loop([&] { return control().calls.size(); }) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(reply.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  on_loop([&] {
    control().release();
    return 0;
  });
  Reply r = reply.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json().at("state"), "paused");
}

}  // namespace
}  // namespace oemlink::admin::testing
