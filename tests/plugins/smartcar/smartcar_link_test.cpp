// The Smartcar Linker through the oemlink.link/1 C ABI on the SDK's FakeHost: the Connect URL,
// the code exchange and the vehicle list, each request checked as Smartcar documents it
// (shared/spec/oem-apis.md, Smartcar "Auth A"), and the listed car then opened and polled.
#include "link_client.hpp"
#include "smartcar_fixture.hpp"

#include <boost/json/parse.hpp>

#include <regex>

namespace oemlink::smartcar::test {
namespace {

constexpr std::string_view kRedirect = "https://oemlink.example/link/smartcar/callback";
constexpr std::string_view kRedirectEncoded =
    "https%3A%2F%2Foemlink.example%2Flink%2Fsmartcar%2Fcallback";

struct LinkDriver {
  explicit LinkDriver(std::string extra_settings = {})
      : driver(smartcar_descriptor(), settings_json(std::move(extra_settings))) {
    if (!driver.created()) ADD_FAILURE() << "create failed: " << driver.create_error();
    client = std::make_unique<LinkClient>(driver);
    if (!client->extension()) ADD_FAILURE() << "no oemlink.link/1 extension";
  }
  FakeHost& host() { return driver.host; }
  void expect_no_secret_in_logs(const std::vector<std::string>& secrets) {
    for (const RecordedLog& l : host().logs)
      for (const std::string& secret : secrets)
        EXPECT_EQ(l.message.find(secret), std::string::npos) << l.message;
  }

  DriverUnderTest driver;
  std::unique_ptr<LinkClient> client;
};

std::string token_answer(std::string_view access, std::string_view refresh, int expires_in = 7200) {
  return R"({"access_token":")" + std::string(access) + R"(","token_type":"Bearer","expires_in":)" +
         std::to_string(expires_in) + R"(,"refresh_token":")" + std::string(refresh) + "\"}";
}

TEST(SmartcarLink, OffersTheExtensionWithoutPkce) {
  LinkDriver d;
  ASSERT_NE(d.client->extension(), nullptr);
  // Smartcar Connect documents no PKCE: the host must not make a verifier for it.
  EXPECT_EQ(d.client->extension()->flags & OEMLINK_LINK_PKCE_S256, 0u);
}

TEST(SmartcarLink, AuthorizeUrlOpensConnectWithTheDefaultReadScopes) {
  LinkDriver d;
  oemlink_status st = -1;
  const std::string url = d.client->authorize_url("st-1.abc_~", kRedirect, {}, &st);
  EXPECT_EQ(st, OEMLINK_OK);
  EXPECT_EQ(url,
            "http://connect.test/oauth/authorize?response_type=code&client_id=cid&redirect_uri=" +
                std::string(kRedirectEncoded) +
                "&scope=read_vehicle_info%20read_vin%20read_odometer%20read_battery%20read_charge%"
                "20read_location%20read_tires%20read_fuel%20read_speedometer%20read_thermometer"
                "&state=st-1.abc_~&mode=live&approval_prompt=auto");
}

TEST(SmartcarLink, ReauthenticationForcesConsentForOneCar) {
  LinkDriver d;
  const std::string url = d.client->authorize_url("st-2", kRedirect, kVehicle);
  EXPECT_NE(url.find("&approval_prompt=force&single_select=true"), std::string::npos) << url;
  EXPECT_EQ(url.find("approval_prompt=auto"), std::string::npos) << url;
}

TEST(SmartcarLink, ModeAndScopeComeFromSettings) {
  LinkDriver d(R"("mode":"simulated","scope":"read_odometer required:read_vin")");
  const std::string url = d.client->authorize_url("st", kRedirect);
  EXPECT_NE(url.find("&scope=read_odometer%20required%3Aread_vin&"), std::string::npos) << url;
  EXPECT_NE(url.find("&mode=simulated&"), std::string::npos) << url;
}

TEST(SmartcarLink, BadModeOrScopeIsRefusedAtCreateNamingTheSetting) {
  for (const std::string& extra : {std::string(R"("mode":"sandbox")"),
                                   std::string(R"("scope":"read_odometer write_everything")"),
                                   std::string(R"("scope":"  ")")}) {
    DriverUnderTest d(smartcar_descriptor(), settings_json(extra));
    EXPECT_FALSE(d.created()) << extra;
    const std::string key = extra.substr(1, extra.find('"', 1) - 1);
    EXPECT_NE(d.create_error().find("'" + key + "'"), std::string::npos) << d.create_error();
  }
}

TEST(SmartcarLink, AuthorizeUrlRefusesAMissingStateOrRelativeRedirect) {
  LinkDriver d;
  oemlink_status st = -1;
  std::string why = d.client->authorize_url("", kRedirect, {}, &st);
  EXPECT_EQ(st, OEMLINK_ERROR);
  EXPECT_NE(why.find("state"), std::string::npos) << why;
  why = d.client->authorize_url("st", "/link/smartcar/callback", {}, &st);
  EXPECT_EQ(st, OEMLINK_ERROR);
  EXPECT_NE(why.find("redirect"), std::string::npos) << why;
}

TEST(SmartcarLink, ExchangeTradesTheCodeForTheSecretsEachConnectionStores) {
  LinkDriver d;
  d.host().answer_http_inline = true;
  d.host().script_http(HttpReply::with_status(200, token_answer("at-new", "rt-new")));
  ExchangeOutcome& out =
      d.client->exchange("code-123", "code=code-123&state=st&user_id=user-42", kRedirect);
  ASSERT_EQ(out.calls, 1);
  ASSERT_EQ(out.status, OEMLINK_OK) << out.message;
  ASSERT_EQ(d.host().requests.size(), 1u);
  const RecordedRequest& r = d.host().requests[0];
  EXPECT_EQ(r.conn, nullptr);  // no connection exists yet
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "http://auth.test/oauth/token");
  EXPECT_EQ(r.header("Authorization"), "Basic Y2lkOmNzZWNyZXQ=");
  EXPECT_EQ(r.header("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(r.body, "grant_type=authorization_code&code=code-123&redirect_uri=" +
                        std::string(kRedirectEncoded));
  EXPECT_EQ(out.secret("access_token"), "at-new");
  EXPECT_EQ(out.secret("refresh_token"), "rt-new");
  EXPECT_EQ(out.secret("access_expires_at_ms"), std::to_string(d.host().now_ms + 7'200'000));
  EXPECT_EQ(out.secret("issued_at_ms"), std::to_string(d.host().now_ms));
  EXPECT_EQ(out.secret("user_id"), "user-42");
  EXPECT_TRUE(std::regex_match(out.secret("grant_id"), std::regex("[0-9a-f]{32}")))
      << out.secret("grant_id");

  // Each consent is a grant of its own.
  d.host().script_http(HttpReply::with_status(200, token_answer("at-2", "rt-2")));
  ExchangeOutcome& second = d.client->exchange("code-456", "code=code-456&state=s2", kRedirect);
  ASSERT_EQ(second.status, OEMLINK_OK);
  EXPECT_NE(second.secret("grant_id"), out.secret("grant_id"));
  EXPECT_EQ(second.secret("user_id"), "");  // not in the redirect: list_vehicles asks /user
  d.host().script_http(HttpReply::with_status(200, token_answer("at-3", "rt-3")));
  ExchangeOutcome& odd =
      d.client->exchange("code-789", "code=code-789&user_id=%3Cscript%3E", kRedirect);
  EXPECT_EQ(odd.secret("user_id"), "");  // not an id: dropped, /user names it instead
  d.expect_no_secret_in_logs({"code-123", "code-456", "at-new", "rt-new", "csecret"});
}

TEST(SmartcarLink, ARefusedCodeTellsTheOwnerToStartAgain) {
  LinkDriver d;
  d.host().answer_http_inline = true;
  d.host().script_http(HttpReply::with_status(
      400, R"({"error":"invalid_grant","error_description":"Invalid or expired auth code."})"));
  ExchangeOutcome& out = d.client->exchange("code-old", "code=code-old&state=s", kRedirect);
  EXPECT_EQ(out.status, OEMLINK_ERROR);
  EXPECT_EQ(out.message,
            "the authorization code was refused by Smartcar (expired or already used): start "
            "again");
  EXPECT_TRUE(out.secrets.empty());
  EXPECT_EQ(d.host().counters["link_exchange_errors"], 1u);
  d.expect_no_secret_in_logs({"code-old"});
}

TEST(SmartcarLink, ExchangeFailuresSayWhetherToRetry) {
  struct Case {
    HttpReply reply;
    oemlink_status expected;
    std::string in_message;
  };
  const std::vector<Case> cases = {
      {HttpReply::with_status(
           401, R"({"type":"AUTHENTICATION","code":null,"description":"Invalid client"})"),
       OEMLINK_ERROR, "client_secret"},
      {HttpReply::with_status(500, R"({"type":"SERVER","code":"INTERNAL"})"), OEMLINK_RETRY,
       "try again"},
      {HttpReply::with_status(429, R"({"type":"RATE_LIMIT","code":"SMARTCAR_API"})",
                              {{"retry-after", "30"}}),
       OEMLINK_RETRY, "try again"},
      {HttpReply::transport_failure("connection refused"), OEMLINK_RETRY, "could not be reached"},
      {HttpReply::with_status(200, R"({"access_token":"at-only"})"), OEMLINK_ERROR,
       "without an access and a refresh token"},
  };
  for (const Case& c : cases) {
    LinkDriver d;
    d.host().answer_http_inline = true;
    d.host().script_http(c.reply);
    ExchangeOutcome& out = d.client->exchange("code-x", "code=code-x", kRedirect);
    EXPECT_EQ(out.calls, 1);
    EXPECT_EQ(out.status, c.expected) << out.message;
    EXPECT_NE(out.message.find(c.in_message), std::string::npos) << out.message;
    EXPECT_EQ(out.message.find("code-x"), std::string::npos) << out.message;
    EXPECT_EQ(out.message.find("at-only"), std::string::npos) << out.message;
    EXPECT_TRUE(out.secrets.empty());
  }
}

TEST(SmartcarLink, ADeniedConsentMakesNoRequest) {
  LinkDriver d;
  ExchangeOutcome& out = d.client->exchange(
      "", "error=access_denied&error_description=User+denied+access&state=s", kRedirect);
  EXPECT_EQ(out.status, OEMLINK_ERROR);
  EXPECT_EQ(out.message, "Smartcar Connect answered access_denied: User denied access");
  EXPECT_TRUE(d.host().requests.empty());
}

// GET /vehicles pages, then each car's attributes and VIN.
void script_three_cars(FakeHost& host, bool third_without_vin) {
  host.script_http(HttpReply::with_status(
      200, R"({"vehicles":["veh-a","veh-b"],"paging":{"count":3,"offset":0}})"));
  host.script_http(
      HttpReply::with_status(200, R"({"vehicles":["veh-c"],"paging":{"count":3,"offset":2}})"));
  host.script_http(HttpReply::with_status(
      200, R"({"id":"veh-a","make":"VOLKSWAGEN","model":"ID.4","year":2023})"));
  host.script_http(HttpReply::with_status(200, R"({"vin":"WVGZZZE2ZPP012345"})"));
  host.script_http(HttpReply::with_status(
      200, R"({"id":"veh-b","make":"JAGUAR","model":"I-PACE","year":2021})"));
  host.script_http(HttpReply::with_status(200, R"({"vin":"SADHA2B19M1F00042"})"));
  host.script_http(
      HttpReply::with_status(200, R"({"id":"veh-c","make":"FORD","model":"FOCUS","year":2019})"));
  if (third_without_vin)
    host.script_http(HttpReply::with_status(
        501, R"({"type":"COMPATIBILITY","code":"VEHICLE_NOT_CAPABLE","description":"no"})"));
  else
    host.script_http(HttpReply::with_status(200, R"({"vin":"1FADP3K2XKL000001"})"));
}

TEST(SmartcarLink, ListsEveryPageAndEachCarsAttributesAndVin) {
  LinkDriver d;
  d.host().answer_http_inline = true;
  script_three_cars(d.host(), /*third_without_vin=*/true);
  VehiclesOutcome& out = d.client->list(
      {{"access_token", "at-new"}, {"refresh_token", "rt-new"}, {"user_id", "user-42"}});
  ASSERT_EQ(out.calls, 1);
  ASSERT_EQ(out.status, OEMLINK_OK) << out.message;
  ASSERT_EQ(out.vehicles.size(), 3u);
  const std::vector<std::string> urls = {
      "http://v2.test/v2.0/vehicles?limit=50&offset=0",
      "http://v2.test/v2.0/vehicles?limit=50&offset=2",
      "http://v2.test/v2.0/vehicles/veh-a",
      "http://v2.test/v2.0/vehicles/veh-a/vin",
      "http://v2.test/v2.0/vehicles/veh-b",
      "http://v2.test/v2.0/vehicles/veh-b/vin",
      "http://v2.test/v2.0/vehicles/veh-c",
      "http://v2.test/v2.0/vehicles/veh-c/vin",
  };
  ASSERT_EQ(d.host().requests.size(), urls.size());
  for (size_t i = 0; i < urls.size(); ++i) {
    EXPECT_EQ(d.host().requests[i].url, urls[i]);
    EXPECT_EQ(d.host().requests[i].method, "GET");
    EXPECT_EQ(d.host().requests[i].conn, nullptr);
    EXPECT_EQ(d.host().requests[i].header("Authorization"), "Bearer at-new");
  }
  const ListedVehicle& a = out.vehicles[0];
  EXPECT_EQ(a.vehicle_id, "veh-a");
  EXPECT_EQ(a.vin, "WVGZZZE2ZPP012345");
  EXPECT_EQ(a.display_name, "2023 VOLKSWAGEN ID.4");
  EXPECT_EQ(a.make, "VOLKSWAGEN");
  EXPECT_EQ(a.model, "ID.4");
  EXPECT_EQ(a.year, 2023u);
  const boost::json::value ids = boost::json::parse(a.identifiers_json);
  EXPECT_EQ(ids.at("smartcar_id").as_string(), "veh-a");
  EXPECT_EQ(ids.at("smartcar_user").as_string(), "user-42");
  EXPECT_EQ(out.vehicles[1].display_name, "2021 JAGUAR I-PACE");
  EXPECT_EQ(out.vehicles[2].vin, "");  // the make cannot give it: listed without
  EXPECT_EQ(d.host().counters["link_vin_missing"], 1u);
  // Each request took a token of the instance's bucket, as polls do.
  EXPECT_EQ(d.host().counters["link_requests"], urls.size());
}

TEST(SmartcarLink, WithoutUserIdFromTheRedirectTheUserEndpointNamesIt) {
  LinkDriver d;
  d.host().answer_http_inline = true;
  d.host().script_http(HttpReply::with_status(200, R"({"id":"user-from-api"})"));
  d.host().script_http(
      HttpReply::with_status(200, R"({"vehicles":["veh-a"],"paging":{"count":1,"offset":0}})"));
  d.host().script_http(HttpReply::with_status(
      200, R"({"id":"veh-a","make":"VOLKSWAGEN","model":"ID.4","year":2023})"));
  d.host().script_http(HttpReply::with_status(200, R"({"vin":"WVGZZZE2ZPP012345"})"));
  VehiclesOutcome& out = d.client->list({{"access_token", "at-new"}});
  ASSERT_EQ(out.status, OEMLINK_OK) << out.message;
  EXPECT_EQ(d.host().requests[0].url, "http://v2.test/v2.0/user");
  ASSERT_EQ(out.vehicles.size(), 1u);
  EXPECT_EQ(boost::json::parse(out.vehicles[0].identifiers_json).at("smartcar_user").as_string(),
            "user-from-api");
}

TEST(SmartcarLink, ListFailuresSayWhetherToRetry) {
  {
    LinkDriver d;
    d.host().answer_http_inline = true;
    d.host().script_http(HttpReply::with_status(
        401, R"({"type":"AUTHENTICATION","code":null,"description":"bad token"})"));
    VehiclesOutcome& out = d.client->list({{"access_token", "at-x"}, {"user_id", "u"}});
    EXPECT_EQ(out.status, OEMLINK_ERROR);
    EXPECT_NE(out.message.find("vehicle list"), std::string::npos) << out.message;
    EXPECT_TRUE(out.vehicles.empty());
  }
  {
    LinkDriver d;
    d.host().answer_http_inline = true;
    d.host().script_http(
        HttpReply::with_status(200, R"({"vehicles":["veh-a"],"paging":{"count":1,"offset":0}})"));
    d.host().script_http(HttpReply::with_status(502, R"({"type":"UPSTREAM"})"));
    VehiclesOutcome& out = d.client->list({{"access_token", "at-x"}, {"user_id", "u"}});
    EXPECT_EQ(out.status, OEMLINK_RETRY);
    EXPECT_NE(out.message.find("veh-a"), std::string::npos) << out.message;
    EXPECT_TRUE(out.vehicles.empty());
  }
  {
    LinkDriver d;
    d.host().answer_http_inline = true;
    d.host().script_http(HttpReply::with_status(200, R"({"cars":[]})"));
    VehiclesOutcome& out = d.client->list({{"access_token", "at-x"}, {"user_id", "u"}});
    EXPECT_EQ(out.status, OEMLINK_RETRY);
    EXPECT_EQ(d.host().counters["malformed_responses"], 1u);
  }
  {
    LinkDriver d;
    VehiclesOutcome& out = d.client->list({{"refresh_token", "rt"}});
    EXPECT_EQ(out.status, OEMLINK_ERROR);
    EXPECT_TRUE(d.host().requests.empty());
  }
}

TEST(SmartcarLink, AnEmptyRequestBudgetMakesNoRequestAndAsksToRetry) {
  LinkDriver d(R"("request_budget_capacity":2)");
  d.host().answer_http_inline = true;
  d.host().script_http(
      HttpReply::with_status(200, R"({"vehicles":["veh-a"],"paging":{"count":1,"offset":0}})"));
  d.host().script_http(HttpReply::with_status(
      200, R"({"id":"veh-a","make":"VOLKSWAGEN","model":"ID.4","year":2023})"));
  VehiclesOutcome& out = d.client->list({{"access_token", "at-x"}, {"user_id", "u"}});
  EXPECT_EQ(out.status, OEMLINK_RETRY);
  EXPECT_NE(out.message.find("request budget"), std::string::npos) << out.message;
  EXPECT_EQ(d.host().requests.size(), 2u);  // the VIN read was not sent
  EXPECT_EQ(d.host().counters["budget_exhausted"], 1u);
}

TEST(SmartcarLink, AListedCarOpensWithItsIdentifiersAndPollsWithTheLinkedToken) {
  LinkDriver d;
  d.host().answer_http_inline = true;
  d.host().script_http(HttpReply::with_status(200, token_answer("at-new", "rt-new")));
  ExchangeOutcome& ex = d.client->exchange("c", "code=c&state=s&user_id=user-42", kRedirect);
  ASSERT_EQ(ex.status, OEMLINK_OK);
  script_three_cars(d.host(), false);
  VehiclesOutcome& listed = d.client->list(ex.secrets);
  ASSERT_EQ(listed.status, OEMLINK_OK) << listed.message;

  ConnSpec spec;
  spec.id = "smartcar-linked";
  spec.identifiers_json = listed.vehicles[1].identifiers_json;
  oemlink_conn* conn = d.driver.open(spec);
  ASSERT_NE(conn, nullptr) << d.driver.open_error();
  for (const auto& [k, v] : ex.secrets) d.host().secrets[{conn, k}] = v;
  d.host().script_http(HttpReply::with_status(
      200, v3_page({v3_signal("odometer-traveleddistance", R"({"value":30412,"unit":"km"})")})));
  const size_t before = d.host().requests.size();
  Completion& c = d.driver.poll(conn);
  EXPECT_EQ(c.status, OEMLINK_OK) << c.message;
  ASSERT_EQ(d.host().requests.size(), before + 1);  // no refresh: the linked token is fresh
  EXPECT_EQ(d.host().requests.back().url, "http://api.test/v3/vehicles/veh-b/signals");
  EXPECT_EQ(d.host().requests.back().header("Authorization"), "Bearer at-new");
  ASSERT_EQ(d.host().emits.size(), 1u);
  EXPECT_EQ(d.host().emits[0].conn, conn);
}

}  // namespace
}  // namespace oemlink::smartcar::test
