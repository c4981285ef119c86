// Issue 15's "JSON logs parse line by line and hold no token", with the real pieces: `oemlink` at
// `logging: {level: trace, format: json}` running the smartcar driver against
// `oemlink-mock-oem smartcar` (tokens seeded with `oemlink secrets set`, access tokens rotating
// every few seconds), webhooks good and forged on the inbound listener, and the admin API asked
// with the right and a wrong token. Every line of the daemon's stderr must be one JSON object;
// the driver's and the host's lines about a car must name the driver and the connection; and no
// token the mock issued, no seeded refresh token, no client secret, application management
// token or admin token may appear anywhere in the log.
#include "tests/e2e/smartcar_fixture.hpp"

#include <sstream>

namespace oemlink::testing {
namespace {

using namespace std::chrono_literals;

class JsonLogE2eTest : public SmartcarE2eTest {
 protected:
  // The smartcar config at trace level in JSON, with an admin listener.
  void json_config(const std::vector<SmartcarCar>& cars) {
    admin_token_ = "adm-" + amt_.substr(4, 20) + "-never-logged";
    write("secrets/admin.token", admin_token_);
    admin_port_ = free_port();
    config(cars, "trace, format: json");
    std::string y = slurp(cfg_);
    const std::string at = "listeners:\n";
    y.replace(y.find(at), at.size(),
              at + "  admin: {port: " + std::to_string(admin_port_) +
                  ", token: \"${file:secrets/admin.token}\"}\n");
    cfg_ = write("oemlink.yaml", y);
  }

  std::string admin_token_;
  uint16_t admin_port_ = 0;
};

std::vector<std::string> strings_of(const json::value& v) {
  std::vector<std::string> out;
  if (v.is_array())
    for (const json::value& s : v.as_array())
      if (s.is_string()) out.emplace_back(s.as_string());
  return out;
}

TEST_F(JsonLogE2eTest, EveryLineIsJsonWithDriverAndConnectionFieldsAndNoSecret) {
  // Access tokens live 3 s: each car refreshes (and rotates its refresh token) every ~2 s.
  // The VW's first signals requests fail: the host's poll failure lines are about a car.
  start_mock({"--access-ttl-s", "3", "--refresh-grace-ms", "500", "--static-values", "--inject",
              "vehicle=" + kVw.smartcar_id + ",status=500,count=2,shape=v2"});
  json_config({kVw, kJaguar});
  std::vector<std::string> secrets = {client_secret_, amt_, admin_token_};
  for (const SmartcarCar& car : {kVw, kJaguar}) secrets.push_back(seed(car));
  start_daemon();

  ASSERT_TRUE(eventually([&] {
    return !readings_of(kVw, "powertrainTransmissionTravelledDistance").empty() &&
           !readings_of(kJaguar, "powertrainTransmissionTravelledDistance").empty() &&
           token_stat(mock_stats(), "refreshes") >= 4 &&
           log().find("poll retry") != std::string::npos;
  })) << log();

  // Webhooks: one good, one forged (the driver refuses it and says so), one for an unknown car.
  EXPECT_EQ(send(example("webhook_vehicle_state_4.0.json")).rc, 0);
  EXPECT_EQ(
      send(example("webhook_vehicle_state_4.0.json",
                   [](json::object& o) { o["eventId"] = "bbbbbbbb-0000-4000-8000-000000000001"; }),
           {"--forge"})
          .rc,
      1);
  // The admin API: the daemon's own client with the token, and a caller with a wrong one.
  Result listed = run({"connections", "list", "--config", cfg_.string()});
  EXPECT_EQ(listed.rc, 0) << listed.out << listed.err;
  {
    net::testing::RawClient c(admin_port_);
    c.send("GET /admin/connections HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
           admin_token_ + "-wrong\r\n\r\n");
    auto res = c.response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 401);
  }

  // Every token the mock ever issued, including those already rotated out.
  json::value issued = mock_call("GET", "/mock/tokens");
  ASSERT_TRUE(issued.is_object());
  for (const char* kind : {"access_tokens", "refresh_tokens"}) {
    auto list = strings_of(issued.at(kind));
    EXPECT_FALSE(list.empty()) << kind;
    secrets.insert(secrets.end(), list.begin(), list.end());
  }
  Result r = stop_daemon();
  EXPECT_EQ(r.rc, 0);

  const std::string text = log();
  size_t lines = 0, about_a_car = 0, from_the_driver = 0, on_the_route = 0;
  std::set<std::string> levels;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    ++lines;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    ASSERT_FALSE(ec) << "line " << lines << " is not JSON (" << ec.message() << "): " << line;
    ASSERT_TRUE(v.is_object()) << line;
    const json::object& o = v.as_object();
    for (const char* key : {"ts", "level", "msg"})
      ASSERT_TRUE(o.contains(key) && o.at(key).is_string()) << key << " missing: " << line;
    const std::string ts(o.at("ts").as_string());
    EXPECT_EQ(ts.size(), 24u) << line;  // 2026-12-02T03:04:05.678Z
    EXPECT_EQ(ts.back(), 'Z') << line;
    levels.insert(std::string(o.at("level").as_string()));
    const std::string msg(o.at("msg").as_string());
    if (o.contains("driver") && o.contains("connection")) {
      EXPECT_EQ(o.at("driver"), "smartcar") << line;
      const std::string conn(o.at("connection").as_string());
      EXPECT_TRUE(conn == kVw.conn || conn == kJaguar.conn) << line;
      ++about_a_car;
    }
    // The driver's own lines (through the host's log callback) name it, and their connection.
    if (msg.rfind("[smartcar] ", 0) == 0) {
      ++from_the_driver;
      EXPECT_EQ(o.contains("driver") ? o.at("driver") : json::value(), "smartcar") << line;
      const std::string prefix = "[smartcar] connection ";
      if (msg.rfind(prefix, 0) == 0) {
        const std::string conn = msg.substr(prefix.size(), msg.find(':') - prefix.size());
        EXPECT_EQ(o.contains("connection") ? o.at("connection") : json::value(), json::value(conn))
            << line;
      }
    }
    if (o.contains("route")) {
      EXPECT_EQ(o.at("route"), "/webhooks/smartcar") << line;
      EXPECT_EQ(o.at("listener"), "inbound") << line;
      ++on_the_route;
    }
  }
  EXPECT_GT(lines, 10u);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_GT(about_a_car, 0u) << text;
  EXPECT_GT(from_the_driver, 0u) << "the driver logged nothing:\n" << text;
  EXPECT_GT(on_the_route, 0u) << "no webhook line carried its route:\n" << text;
  EXPECT_TRUE(levels.contains("debug") || levels.contains("trace")) << "not at trace level";
  EXPECT_TRUE(levels.contains("warn")) << "the forged webhook and the wrong token warn";

  ASSERT_GT(secrets.size(), 8u);
  for (const std::string& s : secrets) {
    ASSERT_GE(s.size(), 8u);
    EXPECT_EQ(text.find(s), std::string::npos) << "a secret is in the log: " << s;
  }
}

}  // namespace
}  // namespace oemlink::testing
