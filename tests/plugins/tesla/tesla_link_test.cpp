// Linking (oemlink.link/1) through the built driver's C table on the SDK test kit: the consent
// URL and its encoding, the code exchange and each way it fails, the vehicle list (paged, region
// allow-list, account from the token's `sub`, model and year from the VIN), and that no code,
// verifier, client secret or token reaches a message or a log line.
#include "jwt_scope.hpp"
#include "tesla_connection.hpp"
#include "tesla_driver_fixture.hpp"
#include "tesla_link_abi.hpp"
#include "tesla_linker.hpp"
#include "vin_decoding.hpp"

#include <boost/json.hpp>

#include <map>

namespace oemlink::tesla::test {
namespace {

const std::string kAuthorizeBase = "https://consent.test";
const std::string kClientSecret = "CLIENT-SECRET-7f3a";
const std::string kCode = "NA_CODE-SECRET-91ab";
const std::string kVerifier = "VERIFIER-SECRET-dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const std::string kRedirect = "https://link.example/link/tesla/callback";

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += char(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

// name -> decoded value; every raw value must be fully percent-encoded (no space, '&' in it is
// a separator, '=' only once).
std::map<std::string, std::string> query_of(std::string_view text) {
  std::map<std::string, std::string> out;
  while (!text.empty()) {
    const size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    const size_t eq = pair.find('=');
    EXPECT_NE(eq, std::string_view::npos) << pair;
    EXPECT_EQ(pair.find('=', eq + 1), std::string_view::npos) << "unencoded '=' in " << pair;
    EXPECT_EQ(pair.find_first_of(" /:?#+"), std::string_view::npos) << "unencoded in " << pair;
    out[std::string(pair.substr(0, eq))] = percent_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    text.remove_prefix(amp + 1);
  }
  return out;
}

std::string jwt_for(const std::string& sub, const std::string& salt = "a") {
  return base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." +
         base64url_encode(R"({"sub":")" + sub + R"(","scp":["openid","offline_access",)" +
                          R"("vehicle_device_data"],"n":")" + salt + "\"}") +
         ".c2ln";
}

struct Car {
  std::string id, vin, name;
};
std::string page_body(const std::vector<Car>& cars, const std::string& next, int per_page) {
  boost::json::array list;
  for (const Car& c : cars)
    list.push_back({{"id", std::stoll(c.id)},
                    {"id_s", c.id},
                    {"vehicle_id", 1},
                    {"vin", c.vin},
                    {"display_name", c.name},
                    {"state", "asleep"}});
  boost::json::object o{{"response", list}, {"count", cars.size()}};
  o["pagination"] = {
      {"previous", nullptr},
      {"next", next.empty() ? boost::json::value(nullptr) : boost::json::value(std::stoll(next))},
      {"per_page", per_page}};
  return boost::json::serialize(o);
}

class TeslaLinkTest : public TeslaDriverTest {
 protected:
  void create_linking(const std::string& extra = "") {
    create(R"(,"client_secret":")" + kClientSecret + R"(","authorize_base_url":")" +
           kAuthorizeBase + "\"" + extra);
    link = std::make_unique<LinkAbi>(*d);
    ASSERT_NE(link->ext, nullptr);
  }
  LinkCallback callback() const {
    return {kCode, "code=" + kCode + "&state=s", kRedirect, kVerifier};
  }
  // No message, log line or secret_put carries what must stay secret.
  void expect_no_secret_leaks(const std::string& message, std::vector<std::string> extra = {}) {
    extra.insert(extra.end(), {kCode, kVerifier, kClientSecret, "CODE-SECRET", "VERIFIER-SECRET"});
    for (const auto& s : extra) {
      EXPECT_EQ(message.find(s), std::string::npos) << message;
      for (const auto& l : host().logs)
        EXPECT_EQ(l.message.find(s), std::string::npos) << l.message;
    }
  }
  std::unique_ptr<LinkAbi> link;
};

TEST_F(TeslaLinkTest, TheExtensionIsOfferedWithPkceS256) {
  create_linking();
  EXPECT_EQ(link->ext->struct_size, sizeof(oemlink_link_extension));
  EXPECT_EQ(link->ext->flags & OEMLINK_LINK_PKCE_S256, OEMLINK_LINK_PKCE_S256);
}

TEST_F(TeslaLinkTest, AuthorizeUrlCarriesEveryParameterPercentEncoded) {
  create_linking();
  LinkAuthorize a;
  a.state = "st/at+e ü&x=1";
  a.redirect_uri = kRedirect + "?via=a b";
  a.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  std::string url;
  ASSERT_EQ(link->authorize(a, &url), OEMLINK_OK) << url;
  const std::string prefix = kAuthorizeBase + "/oauth2/v3/authorize?";
  ASSERT_EQ(url.rfind(prefix, 0), 0u) << url;
  const auto q = query_of(std::string_view(url).substr(prefix.size()));
  EXPECT_EQ(q.size(), 8u);
  EXPECT_EQ(q.at("response_type"), "code");
  EXPECT_EQ(q.at("client_id"), "cid");
  EXPECT_EQ(q.at("redirect_uri"), a.redirect_uri);
  EXPECT_EQ(q.at("scope"), "openid offline_access user_data vehicle_device_data vehicle_location");
  EXPECT_EQ(q.at("state"), a.state);
  EXPECT_EQ(q.at("code_challenge"), a.code_challenge);
  EXPECT_EQ(q.at("code_challenge_method"), "S256");
  EXPECT_EQ(q.at("prompt_missing_scopes"), "true");
  // Spaces as %20 (not '+', which some servers read literally), UTF-8 byte by byte.
  EXPECT_NE(url.find("scope=openid%20offline_access%20user_data"), std::string::npos) << url;
  EXPECT_NE(url.find("state=st%2Fat%2Be%20%C3%BC%26x%3D1"), std::string::npos) << url;
  EXPECT_NE(
      url.find("redirect_uri=https%3A%2F%2Flink.example%2Flink%2Ftesla%2Fcallback%3Fvia%3Da%20b"),
      std::string::npos)
      << url;
}

TEST_F(TeslaLinkTest, AuthorizeUrlUsesTheScopesSettingAndOmitsAnAbsentChallenge) {
  create_linking(R"(,"scopes":"openid offline_access vehicle_device_data")");
  std::string url;
  ASSERT_EQ(link->authorize({"s1", kRedirect, "", ""}, &url), OEMLINK_OK) << url;
  const auto q = query_of(url.substr(url.find('?') + 1));
  EXPECT_EQ(q.at("scope"), "openid offline_access vehicle_device_data");
  EXPECT_EQ(q.count("code_challenge"), 0u);
  EXPECT_EQ(q.count("code_challenge_method"), 0u);
  // The default consent host when the setting is left out is Tesla's.
  d.reset();
  create(R"(,"client_secret":"x")");
  LinkAbi plain(*d);
  ASSERT_EQ(plain.authorize({"s1", kRedirect, "", ""}, &url), OEMLINK_OK);
  EXPECT_EQ(url.rfind("https://auth.tesla.com/oauth2/v3/authorize?response_type=code&", 0), 0u)
      << url;
}

TEST_F(TeslaLinkTest, ScopesWithoutOfflineAccessAreRefusedAtCreate) {
  auto bad = std::make_unique<testkit::DriverUnderTest>(
      tesla_descriptor(), R"({"client_id":"cid","scopes":"openid vehicle_device_data"})");
  EXPECT_FALSE(bad->created());
  EXPECT_NE(bad->create_error().find("scopes"), std::string::npos) << bad->create_error();
  EXPECT_NE(bad->create_error().find("offline_access"), std::string::npos) << bad->create_error();
}

TEST_F(TeslaLinkTest, WithoutAClientSecretLinkingIsRefusedWithAClearMessage) {
  create();  // client_id only: polling works, linking cannot
  link = std::make_unique<LinkAbi>(*d);
  ASSERT_NE(link->ext, nullptr);
  std::string message;
  EXPECT_EQ(link->authorize({"s1", kRedirect, "c", ""}, &message), OEMLINK_ERROR);
  EXPECT_NE(message.find("client_secret"), std::string::npos) << message;
  ExchangeOutcome& ex = link->exchange(callback());
  EXPECT_EQ(ex.calls, 1);
  EXPECT_EQ(ex.status, OEMLINK_ERROR);
  EXPECT_NE(ex.message.find("client_secret"), std::string::npos) << ex.message;
  EXPECT_TRUE(host().requests.empty());
  // No state or redirect URI from the host: refused too.
  d.reset();
  create_linking();
  EXPECT_EQ(link->authorize({"", kRedirect, "", ""}, &message), OEMLINK_ERROR);
  EXPECT_NE(message.find("state"), std::string::npos) << message;
  EXPECT_EQ(link->authorize({"s", "", "", ""}, &message), OEMLINK_ERROR);
  EXPECT_NE(message.find("redirect"), std::string::npos) << message;
}

TEST_F(TeslaLinkTest, ExchangePostsTheCodeFormAndHandsBackTheFourSecrets) {
  create_linking();
  const std::string access = jwt_for("user-1");
  script(200, token_reply(access, "NA_refresh-1", 28800));
  ExchangeOutcome& ex = link->exchange(callback());
  ASSERT_EQ(ex.calls, 1);
  ASSERT_EQ(ex.status, OEMLINK_OK) << ex.message;
  ASSERT_EQ(host().requests.size(), 1u);
  const auto& req = host().requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, kAuth + "/oauth2/v3/token");
  EXPECT_EQ(req.header("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(req.conn, nullptr);
  EXPECT_EQ(req.header("Authorization"), "");
  const auto form = query_of(req.body);
  EXPECT_EQ(form, (std::map<std::string, std::string>{{"grant_type", "authorization_code"},
                                                      {"client_id", "cid"},
                                                      {"client_secret", kClientSecret},
                                                      {"code", kCode},
                                                      {"audience", kDiscovery},
                                                      {"redirect_uri", kRedirect},
                                                      {"code_verifier", kVerifier}}));
  // Exactly what TokenChain stores on a refresh, and nothing written by the driver itself.
  ASSERT_EQ(ex.secrets.size(), 4u);
  EXPECT_EQ(ex.secret("access_token"), access);
  EXPECT_EQ(ex.secret("refresh_token"), "NA_refresh-1");
  EXPECT_EQ(ex.secret("access_expires_at_ms"), std::to_string(host().now_ms + 28'800'000));
  EXPECT_EQ(ex.secret("issued_at_ms"), std::to_string(host().now_ms));
  EXPECT_EQ(host().secret_put_calls, 0);
  EXPECT_EQ(counter("link_exchanges"), 1u);
  expect_no_secret_leaks(ex.message, {access, "NA_refresh-1"});
}

TEST_F(TeslaLinkTest, ExchangeClampsExpiresInAsARefreshDoes) {
  create_linking();
  script(200, token_reply("at-short", "rt", 0));
  ExchangeOutcome& a = link->exchange(callback());
  ASSERT_EQ(a.status, OEMLINK_OK);
  EXPECT_EQ(a.secret("access_expires_at_ms"), std::to_string(host().now_ms + 60'000));
  script(200, R"({"access_token":"at-long","refresh_token":"rt","expires_in":1e15})");
  ExchangeOutcome& b = link->exchange(callback());
  ASSERT_EQ(b.status, OEMLINK_OK);
  EXPECT_EQ(b.secret("access_expires_at_ms"), std::to_string(host().now_ms + 30LL * 86'400'000));
}

TEST_F(TeslaLinkTest, EachExchangeFailureGivesItsStatusAndNeverASecret) {
  create_linking();
  const std::string refused =
      "the authorization code was refused by Tesla (expired or already used): start again";
  struct Case {
    testkit::HttpReply reply;
    oemlink_status status;
    std::string message;  // a part of the expected message
  };
  // Tesla's answers may echo what was sent: none of it may come back out.
  const std::string echo = R"(","error_description":"code )" + kCode + " verifier " + kVerifier +
                           " secret " + kClientSecret + R"("})";
  const std::vector<Case> cases = {
      {testkit::HttpReply::with_status(400, R"({"error":"invalid_auth_code)" + echo), OEMLINK_ERROR,
       refused + " (invalid_auth_code)"},
      {testkit::HttpReply::with_status(400, R"({"error":"invalid_grant)" + echo), OEMLINK_ERROR,
       refused + " (invalid_grant)"},
      {testkit::HttpReply::with_status(401, R"({"error":"login_required)" + echo), OEMLINK_ERROR,
       refused + " (login_required)"},
      {testkit::HttpReply::with_status(400, "not json " + kCode), OEMLINK_ERROR,
       refused + " (HTTP 400)"},
      {testkit::HttpReply::with_status(401, R"({"error":"invalid_client)" + echo), OEMLINK_ERROR,
       "client_id and client_secret"},
      {testkit::HttpReply::with_status(403, R"({"error":"<script>)" + echo), OEMLINK_ERROR,
       "Tesla refused the code exchange (HTTP 403)"},
      {testkit::HttpReply::with_status(500, R"({"error":"internal)" + echo), OEMLINK_RETRY,
       "try linking again later"},
      {testkit::HttpReply::with_status(503, ""), OEMLINK_RETRY, "unavailable (HTTP 503)"},
      {testkit::HttpReply::with_status(429, "Retry in 10 seconds"), OEMLINK_RETRY,
       "unavailable (HTTP 429)"},
      {testkit::HttpReply::transport_failure("timeout"), OEMLINK_RETRY, "could not be reached"},
      {testkit::HttpReply::with_status(
           200, R"({"access_token":"AT-SECRET","refresh_token":"RT-SECRET"})"),
       OEMLINK_ERROR, "malformed"},
      {testkit::HttpReply::with_status(200, R"({"access_token":"AT-SECRET","expires_in":28800})"),
       OEMLINK_ERROR, "offline_access"},
      {testkit::HttpReply::with_status(
           200, R"({"access_token":"AT-SECRET","refresh_token":7,"expires_in":1})"),
       OEMLINK_ERROR, "malformed"},
  };
  for (const Case& c : cases) {
    host().script_http(c.reply);
    ExchangeOutcome& ex = link->exchange(callback());
    EXPECT_EQ(ex.calls, 1);
    EXPECT_EQ(ex.status, c.status) << c.reply.body << " -> " << ex.message;
    EXPECT_NE(ex.message.find(c.message), std::string::npos)
        << c.reply.body << " -> " << ex.message;
    EXPECT_TRUE(ex.secrets.empty());
    expect_no_secret_leaks(ex.message, {"AT-SECRET", "RT-SECRET", "<script>"});
  }
  EXPECT_EQ(counter("link_exchanges"), 0u);
  EXPECT_EQ(counter("link_exchange_refused"), 6u);
  EXPECT_EQ(counter("link_exchange_failures"), 4u);
  EXPECT_EQ(counter("link_exchange_bad_answers"), 3u);
  EXPECT_EQ(host().secret_put_calls, 0);

  // No code at all: refused before anything is sent.
  const size_t sent = host().requests.size();
  ExchangeOutcome& none = link->exchange({"", "error=x", kRedirect, kVerifier});
  EXPECT_EQ(none.status, OEMLINK_ERROR);
  EXPECT_NE(none.message.find("no authorization code"), std::string::npos) << none.message;
  EXPECT_EQ(host().requests.size(), sent);
  // The host refuses the request: RETRY, once.
  host().http_accept = OEMLINK_ERROR;
  ExchangeOutcome& refused_by_host = link->exchange(callback());
  EXPECT_EQ(refused_by_host.calls, 1);
  EXPECT_EQ(refused_by_host.status, OEMLINK_RETRY);
}

TEST_F(TeslaLinkTest, ListVehiclesFindsTheRegionReadsEveryPageAndDecodesTheVins) {
  create_linking();
  const std::string access = jwt_for("8f2c-user");
  script(200, region_reply(kRegion));
  script(200,
         page_body({{"1001", "5YJ3E1EA7KF000001", "Red"}, {"1002", "5YJSA7H4XFF088491", "Old S"}},
                   "2", 2));
  script(200,
         page_body({{"1003", "7SAYGDEE1PA000003", "Y"}, {"1004", "7G2CEHED0RA000004", "Truck"}},
                   "3", 2));
  script(200, page_body({{"1005", "5YJXCBE2XGF000005", "X \"quoted\""},
                         {"1006", "5YJRE1A31A1000006", "Roadster"}},
                        "", 2));
  VehiclesOutcome& out = link->list({{"access_token", access},
                                     {"refresh_token", "rt"},
                                     {"access_expires_at_ms", "1"},
                                     {"issued_at_ms", "1"}});
  ASSERT_EQ(out.calls, 1);
  ASSERT_EQ(out.status, OEMLINK_OK) << out.message;
  ASSERT_EQ(host().requests.size(), 4u);
  EXPECT_EQ(host().requests[0].url, kDiscovery + "/api/1/users/region");
  EXPECT_EQ(host().requests[1].url, kRegion + "/api/1/vehicles");
  EXPECT_EQ(host().requests[2].url, kRegion + "/api/1/vehicles?page=2&per_page=2");
  EXPECT_EQ(host().requests[3].url, kRegion + "/api/1/vehicles?page=3&per_page=2");
  for (const auto& r : host().requests) EXPECT_EQ(r.header("Authorization"), "Bearer " + access);
  ASSERT_EQ(out.vehicles.size(), 6u);
  struct Want {
    std::string id, vin, name, model;
    uint32_t year;
  };
  const std::vector<Want> want = {{"1001", "5YJ3E1EA7KF000001", "Red", "Model 3", 2019},
                                  {"1002", "5YJSA7H4XFF088491", "Old S", "Model S", 2015},
                                  {"1003", "7SAYGDEE1PA000003", "Y", "Model Y", 2023},
                                  {"1004", "7G2CEHED0RA000004", "Truck", "Cybertruck", 2024},
                                  {"1005", "5YJXCBE2XGF000005", "X \"quoted\"", "Model X", 2016},
                                  {"1006", "5YJRE1A31A1000006", "Roadster", "", 2010}};
  for (size_t i = 0; i < want.size(); ++i) {
    const LinkVehicle& v = out.vehicles[i];
    EXPECT_EQ(v.vehicle_id, want[i].id);
    EXPECT_EQ(v.vin, want[i].vin);
    EXPECT_EQ(v.display_name, want[i].name);
    EXPECT_EQ(v.make, "Tesla");
    EXPECT_EQ(v.model, want[i].model) << v.vin;
    EXPECT_EQ(v.year, want[i].year) << v.vin;
    EXPECT_EQ(boost::json::parse(v.identifiers_json),
              boost::json::parse(R"({"tesla_id":")" + want[i].id + R"(","account":"8f2c-user"})"));
    // What open() will be handed is what it accepts.
    EXPECT_EQ(parse_identifiers(v.identifiers_json).account, "8f2c-user");
    EXPECT_EQ(parse_identifiers(v.identifiers_json).tesla_id, want[i].id);
  }
  EXPECT_EQ(counter("link_vehicle_lists"), 1u);
  EXPECT_EQ(counter("billed_vehicle_list"), 3u);
  expect_no_secret_leaks(out.message, {access});
}

TEST_F(TeslaLinkTest, ListedCarsOpenAsConnectionsOfOneAccount) {
  create_linking();
  const std::string access = jwt_for("owner-7");
  script(200, region_reply(kRegion));
  script(200, page_body({{"11", kVin1, "a"}, {"12", kVin2, "b"}}, "", 100));
  VehiclesOutcome& out = link->list({{"access_token", access}, {"refresh_token", "rt"}});
  ASSERT_EQ(out.status, OEMLINK_OK) << out.message;
  ASSERT_EQ(out.vehicles.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    testkit::ConnSpec spec;
    spec.id = "linked" + std::to_string(i);
    spec.vin = out.vehicles[i].vin;
    spec.identifiers_json = out.vehicles[i].identifiers_json;
    EXPECT_NE(d->open(spec), nullptr) << d->open_error();
  }
}

TEST_F(TeslaLinkTest, ListVehiclesFailuresAreNamedAndStatused) {
  create_linking();
  const std::string access = jwt_for("u");
  const LinkSecrets secrets{{"access_token", access}, {"refresh_token", "RT-LINK-SECRET"}};
  // The token is refused: ERROR (no refresh: it is seconds old).
  script(200, region_reply(kRegion));
  script(401, R"({"error":"token expired"})");
  VehiclesOutcome& unauthorized = link->list(secrets);
  EXPECT_EQ(unauthorized.status, OEMLINK_ERROR);
  EXPECT_NE(unauthorized.message.find("refused the new access token"), std::string::npos)
      << unauthorized.message;
  // Tesla is down: RETRY.
  script(200, region_reply(kRegion));
  script(503, "");
  EXPECT_EQ(link->list(secrets).status, OEMLINK_RETRY);
  // A page that does not move forward: RETRY, nothing listed.
  script(200, region_reply(kRegion));
  script(200, page_body({{"11", kVin1, "a"}}, "1", 1));
  VehiclesOutcome& stuck = link->list(secrets);
  EXPECT_EQ(stuck.status, OEMLINK_RETRY);
  EXPECT_TRUE(stuck.vehicles.empty());
  EXPECT_NE(stuck.message.find("names page 1"), std::string::npos) << stuck.message;
  // A region answer naming a host outside Tesla's domains never gets the token.
  script(200, region_reply("https://collector.example"));
  const size_t before = host().requests.size();
  VehiclesOutcome& foreign = link->list(secrets);
  EXPECT_EQ(foreign.status, OEMLINK_RETRY);
  EXPECT_EQ(host().requests.size(), before + 1);
  EXPECT_EQ(counter("region_refused_urls"), 1u);
  // A 421 names the right region: followed once.
  script(200, region_reply(kRegion));
  script(
      421,
      R"({"error":"user out of region, use base URL: https://fleet-api.prd.eu.vn.cloud.tesla.com"})");
  script(200, page_body({{"11", kVin1, "a"}}, "", 100));
  VehiclesOutcome& moved = link->list(secrets);
  EXPECT_EQ(moved.status, OEMLINK_OK) << moved.message;
  EXPECT_EQ(host().requests.back().url,
            "https://fleet-api.prd.eu.vn.cloud.tesla.com/api/1/vehicles");
  // No access token: ERROR without a request.
  const size_t sent = host().requests.size();
  VehiclesOutcome& none = link->list({{"refresh_token", "RT-LINK-SECRET"}});
  EXPECT_EQ(none.status, OEMLINK_ERROR);
  EXPECT_EQ(host().requests.size(), sent);
  // An empty account is a success with no car.
  script(200, region_reply(kRegion));
  script(200, page_body({}, "", 100));
  VehiclesOutcome& empty = link->list(secrets);
  EXPECT_EQ(empty.status, OEMLINK_OK);
  EXPECT_TRUE(empty.vehicles.empty());
  EXPECT_EQ(counter("link_list_failures"), 4u);
  for (const VehiclesOutcome* o : {&unauthorized, &stuck, &foreign, &none})
    expect_no_secret_leaks(o->message, {access, "RT-LINK-SECRET"});
}

TEST(TeslaLinkAccount, TheAccountIsTheTokensSubjectElseADigestOfTheConsent) {
  const std::string jwt = base64url_encode(R"({"alg":"none"})") + "." +
                          base64url_encode(R"({"sub":"a1b2-c3","scp":["openid"]})") + ".x";
  EXPECT_EQ(jwt_subject(jwt), "a1b2-c3");
  EXPECT_EQ(link_account_name(jwt, "rt"), "a1b2-c3");
  EXPECT_EQ(jwt_subject("opaque-token"), std::nullopt);
  EXPECT_EQ(jwt_subject(base64url_encode("{}") + "." + base64url_encode(R"({"sub":""})") + ".x"),
            std::nullopt);
  EXPECT_EQ(jwt_subject(base64url_encode("{}") + "." + base64url_encode(R"({"sub":5})") + ".x"),
            std::nullopt);
  // Not a JWT: the cars of one consent still share a chain (the same refresh token), and the
  // name reveals nothing of the token.
  const std::string a = link_account_name("opaque", "refresh-secret-1");
  EXPECT_EQ(a, link_account_name("opaque-2", "refresh-secret-1"));
  EXPECT_NE(a, link_account_name("opaque", "refresh-secret-2"));
  EXPECT_EQ(a.rfind("consent:", 0), 0u);
  EXPECT_EQ(a.size(), std::string("consent:").size() + 16);
  EXPECT_EQ(a.find("refresh"), std::string::npos);
  EXPECT_EQ(link_account_name("opaque", ""), "");
}

TEST(TeslaVinDecoding, ModelFromTheFourthCharacter) {
  EXPECT_EQ(model_from_vin("5YJSA7H4XFF088491"), "Model S");
  EXPECT_EQ(model_from_vin("5YJ3E1EA7KF000001"), "Model 3");
  EXPECT_EQ(model_from_vin("5YJXCBE2XGF000005"), "Model X");
  EXPECT_EQ(model_from_vin("7SAYGDEE1PA000003"), "Model Y");
  EXPECT_EQ(model_from_vin("7G2CEHED0RA000004"), "Cybertruck");
  EXPECT_EQ(model_from_vin("5YJRE1A31A1000006"), "");  // Roadster: not in the table
  EXPECT_EQ(model_from_vin("5YJ3E1EA7KF00000"), "");   // 16 characters
  EXPECT_EQ(model_from_vin(""), "");
}

TEST(TeslaVinDecoding, ModelYearCodesCover2010To2039) {
  const std::string codes = "ABCDEFGHJKLMNPRSTVWXY123456789";
  for (size_t i = 0; i < codes.size(); ++i) {
    std::string vin = "5YJ3E1EA7KF000001";
    vin[9] = codes[i];
    EXPECT_EQ(model_year_from_vin(vin), 2010 + i) << codes[i];
  }
  for (char unused : std::string("IOQUZ0a")) {
    std::string vin = "5YJ3E1EA7KF000001";
    vin[9] = unused;
    EXPECT_EQ(model_year_from_vin(vin), 0u) << unused;
  }
  EXPECT_EQ(model_year_from_vin("5YJ3E1EA7K"), 0u);
}

}  // namespace
}  // namespace oemlink::tesla::test
