// The mock Tesla's consent, driven like a browser (GET the authorize page, POST the decision,
// follow the redirect), and the authorization_code grant with PKCE S256: the right verifier
// gets a pair for the chosen account with the consented scopes, which then refreshes as any
// pair; a wrong or missing verifier, a reused or expired code, another redirect_uri, audience
// or client are refused as Tesla refuses them.
#include "tests/tools/mock_tesla/consent_support.hpp"

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <boost/json/parse.hpp>

#include <thread>

namespace oemlink::mock_oem::testing {
namespace {

namespace json = boost::json;

std::string str(const json::value& v, const char* key) {
  return std::string(v.as_object().at(key).as_string());
}

json::object jwt_claims(const std::string& token) {
  const size_t a = token.find('.'), b = token.rfind('.');
  std::string mid = token.substr(a + 1, b - a - 1);
  for (auto& c : mid) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (mid.size() % 4) mid += '=';
  std::string out(mid.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(mid.data()),
                                static_cast<int>(mid.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '\0') out.pop_back();
  return json::parse(out).as_object();
}

json::array codes(MockTesla& mock) {
  const HttpAnswer a = http("GET", mock.base() + "/mock/tokens");
  EXPECT_EQ(a.status, 200);
  return a.json().as_object().at("codes").as_array();
}

const std::vector<std::string> kAliceArgs = {"--account-vins",
                                             std::string("alice=") + kVinModel3 + "," + kVinS85,
                                             "--account-vins", std::string("bob=") + kVinS60};

TEST(MockTeslaConsent, ThePageListsEachAccountsCarsAndApprovingRedirectsWithACode) {
  MockTesla mock(kAliceArgs);
  ASSERT_TRUE(mock.running());
  AuthorizeParams p;
  p.state = "s t/a&t=e";
  const HttpAnswer page = http("GET", authorize_url(mock, p));
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.headers.at("content-type").rfind("text/html", 0), 0u);
  EXPECT_EQ(page.headers.at("cache-control"), "no-store");
  for (const char* account : {"default", "alice", "bob"})
    EXPECT_NE(page.body.find(std::string("<option value=\"") + account + "\">"), std::string::npos)
        << account;
  // "default" comes first: the preselected account.
  EXPECT_LT(page.body.find("<option value=\"default\">"),
            page.body.find("<option value=\"alice\">"));
  const size_t alice = page.body.find("data-account=\"alice\"");
  const size_t bob = page.body.find("data-account=\"bob\"");
  ASSERT_NE(alice, std::string::npos);
  ASSERT_NE(bob, std::string::npos);
  const std::string alice_cars = page.body.substr(alice, bob - alice);
  EXPECT_NE(alice_cars.find(kVinModel3), std::string::npos);
  EXPECT_NE(alice_cars.find(kVinS85), std::string::npos);
  EXPECT_EQ(alice_cars.find(kVinS60), std::string::npos);
  for (const char* scope : {"openid", "offline_access", "user_data", "vehicle_device_data"})
    EXPECT_NE(page.body.find(std::string("<li>") + scope + "</li>"), std::string::npos) << scope;
  const std::string request = request_id(page.body);
  ASSERT_EQ(request.size(), 32u) << page.body;

  const HttpAnswer decided = decide(mock, request, "approve", "alice");
  ASSERT_EQ(decided.status, 302) << decided.body;
  const std::string location = decided.headers.at("location");
  ASSERT_EQ(location.rfind(std::string(kRedirect) + "?code=", 0), 0u) << location;
  const auto q = query_params(location);
  EXPECT_EQ(q.at("state"), p.state);
  EXPECT_EQ(q.at("issuer"), "https://auth.tesla.com/oauth2/v3");
  const std::string code = q.at("code");
  EXPECT_GE(code.size(), 32u);
  // The request was decided: deciding again finds nothing.
  EXPECT_EQ(decide(mock, request, "approve", "alice").status, 400);

  const HttpAnswer tokens = exchange_code(mock, code);
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  const std::string access = str(tokens.json(), "access_token");
  const std::string refresh = str(tokens.json(), "refresh_token");
  EXPECT_EQ(tokens.json().at("expires_in").as_int64(), 28800);
  const json::object claims = jwt_claims(access);
  EXPECT_EQ(claims.at("sub").as_string(), "alice");
  EXPECT_EQ(claims.at("scp"),
            json::parse(R"(["openid","offline_access","user_data","vehicle_device_data"])"));
  // The pair entered the rotation ledger: it reaches alice's cars and refreshes with her scopes.
  const HttpAnswer list = mock.get("/api/1/vehicles", access);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.json().at("count").as_int64(), 2);
  const HttpAnswer refreshed = mock.refresh(refresh);
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  EXPECT_EQ(jwt_claims(str(refreshed.json(), "access_token")).at("scp"), claims.at("scp"));
  EXPECT_EQ(mock.get("/api/1/vehicles", access).status, 401);  // rotated away

  const json::array shown = codes(mock);
  ASSERT_EQ(shown.size(), 1u);
  EXPECT_EQ(shown[0].at("code").as_string(), code);
  EXPECT_EQ(shown[0].at("account").as_string(), "alice");
  EXPECT_EQ(shown[0].at("redirect_uri").as_string(), kRedirect);
  EXPECT_EQ(shown[0].at("pkce").as_bool(), true);
  EXPECT_EQ(shown[0].at("used").as_bool(), true);
  EXPECT_EQ(shown[0].at("outcome").as_string(), "issued");
}

TEST(MockTeslaConsent, DenyingRedirectsWithAccessDeniedAndTheState) {
  MockTesla mock({});
  ASSERT_TRUE(mock.running());
  AuthorizeParams p;
  p.redirect_uri = std::string(kRedirect) + "?via=app";
  const HttpAnswer page = http("GET", authorize_url(mock, p));
  ASSERT_EQ(page.status, 200);
  const HttpAnswer denied = decide(mock, request_id(page.body), "deny");
  ASSERT_EQ(denied.status, 302);
  const std::string location = denied.headers.at("location");
  ASSERT_EQ(location.rfind(p.redirect_uri + "&error=access_denied&", 0), 0u) << location;
  const auto q = query_params(location.substr(p.redirect_uri.size() + 1));
  EXPECT_EQ(q.at("error"), "access_denied");
  EXPECT_FALSE(q.at("error_description").empty());
  EXPECT_EQ(q.at("state"), "st-1");
  EXPECT_EQ(q.count("code"), 0u);
  EXPECT_TRUE(codes(mock).empty());
}

TEST(MockTeslaConsent, TheRightVerifierIsAcceptedAWrongOneRefusedAndTheCodeSpent) {
  MockTesla mock({});
  ASSERT_TRUE(mock.running());
  // Right verifier (RFC 7636's own pair), default account when none is chosen.
  const auto ok = approve(mock, {});
  const HttpAnswer good = exchange_code(mock, ok.at("code"));
  ASSERT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(jwt_claims(str(good.json(), "access_token")).at("sub").as_string(), "default");
  // Wrong verifier: invalid_grant, and the code is gone for the right one too.
  const auto wrong = approve(mock, {});
  const HttpAnswer refused =
      exchange_code(mock, wrong.at("code"), "wrong-verifier-wrong-verifier-wrong-verifier-0");
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(str(refused.json(), "error"), "invalid_grant");
  const HttpAnswer after = exchange_code(mock, wrong.at("code"));
  EXPECT_EQ(after.status, 400);
  EXPECT_EQ(str(after.json(), "error"), "invalid_auth_code");
  // No verifier for a code whose request had a challenge.
  const auto missing = approve(mock, {});
  const HttpAnswer none = exchange_code(mock, missing.at("code"), "");
  EXPECT_EQ(none.status, 400);
  EXPECT_EQ(str(none.json(), "error"), "invalid_grant");
  // A request without PKCE needs no verifier.
  AuthorizeParams plain;
  plain.code_challenge.clear();
  plain.code_challenge_method.clear();
  const auto no_pkce = approve(mock, plain);
  EXPECT_EQ(exchange_code(mock, no_pkce.at("code"), "").status, 200);

  const json::array shown = codes(mock);
  ASSERT_EQ(shown.size(), 4u);
  EXPECT_EQ(shown[1].at("outcome").as_string(), "pkce_failed");
  EXPECT_EQ(shown[2].at("outcome").as_string(), "pkce_failed");
  EXPECT_EQ(shown[3].at("pkce").as_bool(), false);
}

TEST(MockTeslaConsent, ACodeIsSingleUse) {
  MockTesla mock({});
  ASSERT_TRUE(mock.running());
  const auto q = approve(mock, {});
  ASSERT_EQ(exchange_code(mock, q.at("code")).status, 200);
  const HttpAnswer again = exchange_code(mock, q.at("code"));
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(str(again.json(), "error"), "invalid_auth_code");
}

TEST(MockTeslaConsent, AnExpiredCodeIsRefused) {
  MockTesla mock({"--auth-code-lifetime", "1"});
  ASSERT_TRUE(mock.running());
  const auto q = approve(mock, {});
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  const HttpAnswer late = exchange_code(mock, q.at("code"));
  EXPECT_EQ(late.status, 400);
  EXPECT_EQ(str(late.json(), "error"), "invalid_auth_code");
  EXPECT_EQ(codes(mock).at(0).at("outcome").as_string(), "expired");
}

TEST(MockTeslaConsent, RedirectUriAudienceAndClientMustMatch) {
  MockTesla mock({});
  ASSERT_TRUE(mock.running());
  const HttpAnswer other_redirect =
      exchange_code(mock, approve(mock, {}).at("code"), kVerifier, "https://app.example/other");
  EXPECT_EQ(other_redirect.status, 400);
  EXPECT_EQ(str(other_redirect.json(), "error"), "invalid_grant");
  const HttpAnswer bad_audience = exchange_code(mock, approve(mock, {}).at("code"), kVerifier,
                                                kRedirect, "https://evil.example");
  EXPECT_EQ(bad_audience.status, 400);
  EXPECT_EQ(str(bad_audience.json(), "error"), "invalid_request");
  const HttpAnswer bad_secret =
      exchange_code(mock, approve(mock, {}).at("code"), kVerifier, kRedirect,
                    "https://fleet-api.prd.na.vn.cloud.tesla.com", "nope");
  EXPECT_EQ(bad_secret.status, 401);
  EXPECT_EQ(str(bad_secret.json(), "error"), "invalid_client");
  // The mock's own region bases are audiences too, with or without the region prefix.
  for (const std::string& audience : {mock.base(), mock.base() + "/eu"})
    EXPECT_EQ(
        exchange_code(mock, approve(mock, {}).at("code"), kVerifier, kRedirect, audience).status,
        200)
        << audience;
}

TEST(MockTeslaConsent, WithoutOfflineAccessThereIsNoRefreshToken) {
  MockTesla mock({});
  ASSERT_TRUE(mock.running());
  AuthorizeParams p;
  p.scope = "openid vehicle_device_data";
  const HttpAnswer a = exchange_code(mock, approve(mock, p).at("code"));
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_FALSE(a.json().as_object().contains("refresh_token"));
  EXPECT_EQ(mock.get("/api/1/vehicles", str(a.json(), "access_token")).status, 200);
}

TEST(MockTeslaConsent, BadAuthorizeRequestsAndDecisionsAreNamed) {
  MockTesla mock({"--account-vins", std::string("alice=") + kVinModel3});
  ASSERT_TRUE(mock.running());
  struct Case {
    AuthorizeParams p;
    std::string named;
  };
  std::vector<Case> cases;
  auto with = [](auto change, std::string named) {
    Case c;
    change(c.p);
    c.named = std::move(named);
    return c;
  };
  cases.push_back(with([](AuthorizeParams& p) { p.response_type = "token"; }, "response_type"));
  cases.push_back(with([](AuthorizeParams& p) { p.client_id = "other"; }, "client_id"));
  cases.push_back(
      with([](AuthorizeParams& p) { p.redirect_uri = "ftp://x.example/cb"; }, "redirect_uri"));
  cases.push_back(with([](AuthorizeParams& p) { p.redirect_uri = ""; }, "redirect_uri"));
  cases.push_back(with([](AuthorizeParams& p) { p.state = ""; }, "state"));
  cases.push_back(with([](AuthorizeParams& p) { p.scope = ""; }, "scope"));
  cases.push_back(with([](AuthorizeParams& p) { p.code_challenge_method = "plain"; }, "plain"));
  cases.push_back(with([](AuthorizeParams& p) { p.code_challenge_method = ""; }, "plain"));
  cases.push_back(with([](AuthorizeParams& p) { p.code_challenge = "short"; }, "code_challenge"));
  cases.push_back(with([](AuthorizeParams& p) { p.code_challenge = ""; }, "code_challenge must"));
  for (const Case& c : cases) {
    const HttpAnswer a = http("GET", authorize_url(mock, c.p));
    EXPECT_EQ(a.status, 400) << c.named;
    EXPECT_NE(a.body.find(c.named), std::string::npos) << c.named << ": " << a.body;
    EXPECT_EQ(request_id(a.body), "") << c.named;
  }
  EXPECT_EQ(decide(mock, "no-such-request", "approve").status, 400);
  const HttpAnswer page = http("GET", authorize_url(mock, {}));
  const HttpAnswer unknown = decide(mock, request_id(page.body), "approve", "mallory");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("mallory"), std::string::npos);
  const HttpAnswer page2 = http("GET", authorize_url(mock, {}));
  EXPECT_EQ(decide(mock, request_id(page2.body), "maybe").status, 400);
  // Markup in a value is escaped on the page.
  AuthorizeParams p;
  p.scope = "openid offline_access <b>x</b>";
  const HttpAnswer escaped = http("GET", authorize_url(mock, p));
  ASSERT_EQ(escaped.status, 200);
  EXPECT_EQ(escaped.body.find("<b>x"), std::string::npos);
  EXPECT_NE(escaped.body.find("&lt;b&gt;x&lt;/b&gt;"), std::string::npos);
  EXPECT_TRUE(codes(mock).empty());
}

TEST(MockTeslaConsent, HelpNamesTheCodeLifetime) {
  std::string out, err;
  ASSERT_EQ(run_mock({"tesla", "--help"}, &out, &err), 0);
  EXPECT_NE(out.find("--auth-code-lifetime"), std::string::npos);
}

}  // namespace
}  // namespace oemlink::mock_oem::testing
