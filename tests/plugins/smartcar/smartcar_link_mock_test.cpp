// The whole Smartcar side of a link against the real `oemlink-mock-oem smartcar` process: the
// driver's Connect URL opened like a browser, two of three cars picked, the code exchanged, the
// cars listed, opened and polled with the linked tokens, and their shared refresh token rotated
// once for both. The SDK's FakeHost carries the driver's requests, and this file performs them
// over real HTTP (libcurl), so the driver meets the mock's real answers.
#include "link_client.hpp"
#include "smartcar_fixture.hpp"

#include "tests/tools/mock_smartcar/mock_process.hpp"

#include <boost/json/parse.hpp>

#include <regex>

namespace oemlink::smartcar::test {
namespace {

using oemlink::testing::http;
using oemlink::testing::HttpResult;
using oemlink::testing::kFord;
using oemlink::testing::kJaguar;
using oemlink::testing::kVw;
using oemlink::testing::MockSmartcar;

const std::string kRedirect = "https://oemlink.example/link/smartcar/callback";

// Performs every request the driver has waiting on the fake host, oldest first, over HTTP.
void pump(FakeHost& host, size_t& performed) {
  while (host.pending_http() > 0) {
    const RecordedRequest r = host.requests.at(performed++);
    std::vector<std::string> headers;
    for (const auto& [k, v] : r.headers) headers.push_back(k + ": " + v);
    const HttpResult res = http(r.method, r.url, headers, r.body);
    if (res.status == 0) {
      host.script_http(HttpReply::transport_failure("no answer from the mock"));
    } else {
      Headers hs(res.headers.begin(), res.headers.end());
      host.script_http(HttpReply::with_status(static_cast<int>(res.status), res.body, hs));
    }
    host.deliver_http();
  }
}

std::string match(const std::string& text, const std::string& re) {
  std::smatch m;
  return std::regex_search(text, m, std::regex(re)) ? m[1].str() : std::string();
}

TEST(SmartcarLinkAgainstMock, LinkTwoOfThreeCarsPollThemAndRotateTheirTokenOnce) {
  MockSmartcar mock({});
  ASSERT_GT(mock.port(), 0) << mock.stderr_text();
  const std::string base = mock.url("");
  DriverUnderTest d(smartcar_descriptor(),
                    R"({"client_id":"mock-client-id","client_secret":"mock-client-secret",)"
                    R"("auth_base_url":")" +
                        base + R"(","api_base_url":")" + base + R"(/v3","v2_base_url":")" + base +
                        R"(/v2.0","connect_base_url":")" + base + R"("})");
  ASSERT_TRUE(d.created()) << d.create_error();
  FakeHost& host = d.host;
  size_t performed = 0;
  LinkClient link(d);

  // The owner's browser: the consent page the driver's URL leads to, then "Allow" for two cars.
  const std::string url = link.authorize_url("state-9f8e", kRedirect);
  const HttpResult page = http("GET", url);
  ASSERT_EQ(page.status, 200) << page.body;
  const std::string request = match(page.body, R"re(name="request" value="([^"]+)")re");
  const std::string user = match(page.body, R"re(name="user" value="([^"]+)")re");
  ASSERT_FALSE(request.empty());
  const HttpResult decision = http("POST", mock.url("/oauth/authorize/decision"),
                                   {"Content-Type: application/x-www-form-urlencoded"},
                                   "decision=approve&request=" + request + "&user=" + user +
                                       "&vehicle=" + kVw + "&vehicle=" + kJaguar);
  ASSERT_EQ(decision.status, 302) << decision.body;
  const std::string location = decision.headers.at("location");
  ASSERT_EQ(location.rfind(kRedirect + "?", 0), 0u) << location;
  const std::string query = location.substr(location.find('?') + 1);
  EXPECT_EQ(match(query, "state=([^&]+)"), "state-9f8e");
  const std::string code = match(query, "code=([^&]+)");
  ASSERT_FALSE(code.empty()) << query;

  ExchangeOutcome& ex = link.exchange(code, query, kRedirect);
  pump(host, performed);
  ASSERT_EQ(ex.status, OEMLINK_OK) << ex.message;
  EXPECT_EQ(ex.secret("user_id"), user);

  VehiclesOutcome& listed = link.list(ex.secrets);
  pump(host, performed);
  ASSERT_EQ(listed.status, OEMLINK_OK) << listed.message;
  ASSERT_EQ(listed.vehicles.size(), 2u);  // exactly the picked ones
  std::map<std::string, ListedVehicle> by_id;
  for (const ListedVehicle& v : listed.vehicles) by_id[v.vehicle_id] = v;
  ASSERT_EQ(by_id.count(kVw), 1u);
  ASSERT_EQ(by_id.count(kJaguar), 1u);
  EXPECT_EQ(by_id[kVw].vin, "WVGZZZE2ZPP012345");
  EXPECT_EQ(by_id[kVw].display_name, "2023 VOLKSWAGEN ID.4");
  EXPECT_EQ(by_id[kJaguar].vin, "SADHA2B19M1F00042");
  EXPECT_EQ(boost::json::parse(by_id[kJaguar].identifiers_json).at("smartcar_user").as_string(),
            user);

  // The host creates one connection per car with the exchanged secrets, then opens them.
  std::vector<oemlink_conn*> cars;
  for (const ListedVehicle& v : listed.vehicles) {
    ConnSpec spec;
    spec.id = "smartcar-" + v.vehicle_id.substr(0, 8);
    spec.identifiers_json = v.identifiers_json;
    oemlink_conn* conn = d.open(spec);
    ASSERT_NE(conn, nullptr) << d.open_error();
    for (const auto& [k, v2] : ex.secrets) host.secrets[{conn, k}] = v2;
    cars.push_back(conn);
  }
  for (oemlink_conn* conn : cars) {
    Completion& c = d.poll(conn);
    pump(host, performed);
    EXPECT_EQ(c.status, OEMLINK_OK) << c.message;
  }
  ASSERT_EQ(host.emits.size(), 2u);
  for (const RecordedEmit& e : host.emits)
    EXPECT_NE(find_reading(e, "powertrainTransmissionTravelledDistance"), nullptr);

  // Two hours later both access tokens are due: both polls start, ONE refresh serves both.
  host.now_ms += 2 * 3'600'000;
  Completion& first = d.poll(cars[0]);
  Completion& second = d.poll(cars[1]);
  pump(host, performed);
  EXPECT_EQ(first.status, OEMLINK_OK) << first.message;
  EXPECT_EQ(second.status, OEMLINK_OK) << second.message;
  EXPECT_EQ(mock.stats().at("tokens").at("refreshes"), 1);
  // The second car copies the rotated pair on its next poll.
  Completion& third = d.poll(cars[1]);
  pump(host, performed);
  EXPECT_EQ(third.status, OEMLINK_OK) << third.message;
  const std::string rotated = host.secrets[{cars[0], "refresh_token"}];
  const std::string copied = host.secrets[{cars[1], "refresh_token"}];
  EXPECT_EQ(copied, rotated);
  EXPECT_NE(rotated, ex.secret("refresh_token"));
  EXPECT_EQ(mock.stats().at("tokens").at("refreshes"), 1);

  // The car the owner did not pick is out of the consent's reach.
  ConnSpec ford;
  ford.id = "smartcar-ford";
  ford.identifiers_json = R"({"smartcar_id":")" + kFord + R"("})";
  oemlink_conn* not_picked = d.open(ford);
  ASSERT_NE(not_picked, nullptr);
  for (const auto& [k, v] : ex.secrets) host.secrets[{not_picked, k}] = v;
  host.secrets[{not_picked, "access_token"}] = host.secrets[{cars[0], "access_token"}];
  host.secrets[{not_picked, "access_expires_at_ms"}] = std::to_string(host.now_ms + 3'600'000);
  Completion& refused = d.poll(not_picked);
  pump(host, performed);
  EXPECT_EQ(refused.status, OEMLINK_ERROR);

  // A replayed code creates nothing.
  ExchangeOutcome& replay = link.exchange(code, query, kRedirect);
  pump(host, performed);
  EXPECT_EQ(replay.status, OEMLINK_ERROR);
  EXPECT_NE(replay.message.find("start again"), std::string::npos) << replay.message;

  // No token and no code in anything the driver logged or reported.
  std::vector<std::string> secrets = {code};
  for (const auto& [key, value] : host.secrets)
    if (key.second == "access_token" || key.second == "refresh_token") secrets.push_back(value);
  for (const auto& [k, v] : ex.secrets)
    if (k == "access_token" || k == "refresh_token") secrets.push_back(v);
  for (const std::string& s : secrets) {
    for (const RecordedLog& l : host.logs) EXPECT_EQ(l.message.find(s), std::string::npos);
    for (const RecordedState& st : host.states) EXPECT_EQ(st.reason.find(s), std::string::npos);
  }
}

}  // namespace
}  // namespace oemlink::smartcar::test
