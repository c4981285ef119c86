// The mock's token endpoint, regions and account scoping, spoken to over HTTP.
#include "tests/tools/mock_tesla/mock_tesla_process.hpp"

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <boost/json/parse.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

namespace oemlink::mock_oem::testing {
namespace {

namespace json = boost::json;

std::string str(const json::value& v, const char* key) {
  return std::string(v.as_object().at(key).as_string());
}

// The claims of a JWT-shaped token (base64url middle part).
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

TEST(MockTeslaProgram, HelpListsTheOptionsAndBadOptionsAreNamed) {
  std::string out, err;
  ASSERT_EQ(run_mock({"tesla", "--help"}, &out, &err), 0);
  for (const char* option :
       {"--port", "--captures", "--accept-refresh-token", "--scopes", "--account-region", "--state",
        "--inject", "--latency-ms", "--latency-jitter-ms", "--mqtt", "--topic-base", "--time-scale",
        "--drop-config", "--missing-key", "--max-configs", "--wake-delay-ms", "--client-id",
        "--client-secret", "--access-token-lifetime"})
    EXPECT_NE(out.find(option), std::string::npos) << option;
  EXPECT_EQ(run_mock({"tesla", "--port", "0", "--captures", "/nonexistent"}, &out, &err), 1);
  EXPECT_NE(err.find("/nonexistent"), std::string::npos) << err;
  EXPECT_EQ(run_mock({"tesla", "--captures", "/tmp", "--bogus"}, &out, &err), 2);
  EXPECT_NE(err.find("--bogus"), std::string::npos) << err;
  EXPECT_EQ(run_mock({"tesla", "--captures", "/tmp", "--inject", "status=abc"}, &out, &err), 2);
  EXPECT_NE(err.find("status"), std::string::npos) << err;
}

TEST(MockTeslaProgram, ABadCaptureOrUnknownCarIsNamed) {
  const std::string dir =
      ::testing::TempDir() + "/mock-tesla-bad-captures-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  { std::ofstream(dir + "/5YJSA7H4XFF000001.json") << R"({"response":{"id":1,"vin":"x"}})"; }
  std::string out, err;
  EXPECT_EQ(run_mock({"tesla", "--captures", dir}, &out, &err), 1);
  EXPECT_NE(err.find("5YJSA7H4XFF000001.json"), std::string::npos) << err;
  EXPECT_NE(err.find("no vehicle_data section"), std::string::npos) << err;
  {
    std::ofstream(dir + "/5YJSA7H4XFF000001.json") << R"({"response":{"id":1,"charge_state":{}}})";
  }
  EXPECT_EQ(run_mock({"tesla", "--captures", dir, "--state", "NOSUCHCAR=asleep"}, &out, &err), 1);
  EXPECT_NE(err.find("NOSUCHCAR"), std::string::npos) << err;
  EXPECT_EQ(
      run_mock({"tesla", "--captures", dir, "--state", "5YJSA7H4XFF000001=dozing"}, &out, &err), 1);
  EXPECT_NE(err.find("dozing"), std::string::npos) << err;
  std::filesystem::remove_all(dir);
}

TEST(MockTeslaProgram, ExitsCleanlyOnSigterm) {
  MockTesla mock({});
  ASSERT_TRUE(mock.running());
  const int status = mock.terminate();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(MockTeslaTokens, RefreshRotatesAndAUsedRefreshTokenIsLoginRequired) {
  MockTesla mock({"--accept-refresh-token", "seed-1", "--access-token-lifetime", "3600"});
  ASSERT_TRUE(mock.running());
  const HttpAnswer first = mock.refresh("seed-1");
  ASSERT_EQ(first.status, 200) << first.body;
  const json::value pair = first.json();
  EXPECT_EQ(pair.at("expires_in").as_int64(), 3600);
  EXPECT_EQ(str(pair, "token_type"), "Bearer");
  const std::string refresh1 = str(pair, "refresh_token");
  const std::string access1 = str(pair, "access_token");
  EXPECT_NE(refresh1, "seed-1");
  EXPECT_EQ(refresh1.rfind("NA_", 0), 0u) << refresh1;

  const HttpAnswer reuse = mock.refresh("seed-1");
  EXPECT_EQ(reuse.status, 401);
  EXPECT_EQ(reuse.json(),
            json::parse(R"({"error":"login_required","error_description":"Login required"})"));

  EXPECT_EQ(mock.get("/api/1/vehicles", access1).status, 200);
  const HttpAnswer second = mock.refresh(refresh1);
  ASSERT_EQ(second.status, 200);
  const std::string refresh2 = str(second.json(), "refresh_token");
  const std::string access2 = str(second.json(), "access_token");
  EXPECT_NE(refresh2, refresh1);
  // The new pair voids the previous chain's access tokens.
  const HttpAnswer old_access = mock.get("/api/1/vehicles", access1);
  EXPECT_EQ(old_access.status, 401);
  EXPECT_EQ(old_access.json(), json::parse(R"({"error":"token expired"})"));
  EXPECT_EQ(mock.get("/api/1/vehicles", access2).status, 200);
  EXPECT_EQ(mock.refresh(refresh1).status, 401);

  const HttpAnswer unknown = mock.refresh("never-issued");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(str(unknown.json(), "error"), "invalid_grant");
  const HttpAnswer wrong_client =
      http("POST", mock.base() + "/oauth2/v3/token",
           "grant_type=refresh_token&client_id=other&refresh_token=" + refresh2);
  EXPECT_EQ(wrong_client.status, 401);
  EXPECT_EQ(mock.get("/api/1/vehicles", "garbage").status, 401);
  EXPECT_EQ(http("GET", mock.base() + "/api/1/vehicles").status, 401);

  // Consent revoked through the control API: the live refresh token dies too.
  EXPECT_EQ(http("POST", mock.base() + "/mock/revoke", R"({"account":"default"})").status, 200);
  EXPECT_EQ(str(mock.refresh(refresh2).json(), "error"), "login_required");
  EXPECT_EQ(mock.get("/api/1/vehicles", access2).status, 401);

  // Auth calls and 401s are free: two vehicle lists were billed.
  EXPECT_NEAR(mock.stats().at("total").at("dollars").to_number<double>(), 2 / 500.0, 1e-12);
}

TEST(MockTeslaTokens, ControlApiListsEveryIssuedTokenWithItsUses) {
  MockTesla mock({"--accept-refresh-token", "seed-1", "--access-token-lifetime", "3600"});
  ASSERT_TRUE(mock.running());
  const HttpAnswer first = mock.refresh("seed-1");
  ASSERT_EQ(first.status, 200);
  const std::string refresh1 = str(first.json(), "refresh_token");
  const std::string access1 = str(first.json(), "access_token");
  EXPECT_EQ(mock.get("/api/1/vehicles", access1).status, 200);
  EXPECT_EQ(mock.get("/api/1/vehicles", access1).status, 200);
  EXPECT_EQ(mock.refresh("seed-1").status, 401);  // reuse: counted too
  const HttpAnswer second = mock.refresh(refresh1);
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(mock.get("/api/1/vehicles", access1).status, 401);  // voided, still a use

  const HttpAnswer listed = http("GET", mock.base() + "/mock/tokens");
  ASSERT_EQ(listed.status, 200);
  const json::array tokens = listed.json().at("tokens").as_array();
  ASSERT_EQ(tokens.size(), 3u) << listed.body;
  EXPECT_EQ(str(tokens[0], "kind"), "seeded");
  EXPECT_EQ(str(tokens[0], "refresh_token"), "seed-1");
  EXPECT_EQ(str(tokens[0], "access_token"), "");
  EXPECT_EQ(tokens[0].at("refresh_uses").to_number<uint64_t>(), 2u);
  EXPECT_EQ(str(tokens[1], "kind"), "refresh");
  EXPECT_EQ(str(tokens[1], "refresh_token"), refresh1);
  EXPECT_EQ(str(tokens[1], "access_token"), access1);
  EXPECT_EQ(tokens[1].at("access_uses").to_number<uint64_t>(), 3u);
  EXPECT_EQ(tokens[1].at("refresh_uses").to_number<uint64_t>(), 1u);
  EXPECT_EQ(str(tokens[2], "access_token"), str(second.json(), "access_token"));
  EXPECT_EQ(tokens[2].at("access_uses").to_number<uint64_t>(), 0u);
  EXPECT_EQ(tokens[2].at("seq").to_number<uint64_t>(), 3u);
  EXPECT_GT(tokens[2].at("generation").to_number<uint64_t>(),
            tokens[1].at("generation").to_number<uint64_t>());
  EXPECT_EQ(str(tokens[2], "account"), "default");
}

TEST(MockTeslaTokens, AccessTokensAreJwtShapedWithScopesAndExpire) {
  MockTesla mock({"--accept-refresh-token", "plain", "--accept-refresh-token", "located@loc",
                  "--account-scopes",
                  "loc=openid,offline_access,vehicle_device_data,vehicle_location",
                  "--access-token-lifetime", "1"});
  ASSERT_TRUE(mock.running());
  const std::string plain = mock.access_token("plain");
  const json::object claims = jwt_claims(plain);
  const auto& scp = claims.at("scp").as_array();
  EXPECT_NE(std::find(scp.begin(), scp.end(), json::value("vehicle_device_data")), scp.end());
  EXPECT_EQ(std::find(scp.begin(), scp.end(), json::value("vehicle_location")), scp.end());
  EXPECT_EQ(claims.at("exp").as_int64() - claims.at("iat").as_int64(), 1);
  const json::object located = jwt_claims(mock.access_token("located"));
  const auto& scp2 = located.at("scp").as_array();
  EXPECT_NE(std::find(scp2.begin(), scp2.end(), json::value("vehicle_location")), scp2.end());

  EXPECT_EQ(mock.get("/api/1/vehicles", plain).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  const HttpAnswer expired = mock.get("/api/1/vehicles", plain);
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(str(expired.json(), "error"), "token expired");
}

TEST(MockTeslaTokens, PartnerTokenNeedsTheClientSecretAndOpensPartnerEndpointsOnly) {
  MockTesla mock({"--accept-refresh-token", "seed", "--client-id", "cid", "--client-secret",
                  "csecret", "--telemetry-error",
                  std::string(kVinS85) + "=cert:client cert rejected"});
  ASSERT_TRUE(mock.running());
  const std::string url = mock.base() + "/oauth2/v3/token";
  EXPECT_EQ(http("POST", url,
                 "grant_type=client_credentials&client_id=cid&client_secret=wrong&audience=x")
                .status,
            401);
  EXPECT_EQ(
      http("POST", url, "grant_type=client_credentials&client_id=cid&client_secret=csecret").status,
      400);  // audience is required
  const HttpAnswer partner =
      http("POST", url,
           "grant_type=client_credentials&client_id=cid&client_secret=csecret&audience=https%3A%2F%"
           "2Ffleet-api.prd.na.vn.cloud.tesla.com&scope=openid+vehicle_device_data");
  ASSERT_EQ(partner.status, 200) << partner.body;
  const std::string partner_token = str(partner.json(), "access_token");
  EXPECT_FALSE(partner.json().as_object().contains("refresh_token"));
  const json::object claims = jwt_claims(partner_token);
  EXPECT_EQ(claims.at("scp").as_array().size(), 2u);

  const HttpAnswer errors =
      mock.get("/api/1/partner_accounts/fleet_telemetry_errors", partner_token);
  ASSERT_EQ(errors.status, 200) << errors.body;
  const json::value errors_json = errors.json();
  const auto& list = errors_json.at("response").at("fleet_telemetry_errors").as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(str(list[0], "vin"), kVinS85);
  EXPECT_EQ(str(list[0], "name"), "cert");

  const HttpAnswer user_refresh =
      http("POST", url, "grant_type=refresh_token&client_id=cid&refresh_token=seed");
  const std::string user_token = str(user_refresh.json(), "access_token");
  EXPECT_EQ(mock.get("/api/1/partner_accounts/fleet_telemetry_errors", user_token).status, 403);
  EXPECT_EQ(mock.get("/api/1/vehicles", partner_token).status, 403);
}

TEST(MockTeslaTokens, AuthorizationCodeIsSingleUse) {
  MockTesla mock({"--accept-auth-code", "code-1"});
  ASSERT_TRUE(mock.running());
  const std::string body =
      "grant_type=authorization_code&client_id=mock-client-id&client_secret=mock-client-secret"
      "&code=code-1&audience=https%3A%2F%2Ffleet-api.prd.na.vn.cloud.tesla.com"
      "&redirect_uri=https%3A%2F%2Fexample.com%2Fcb";
  const HttpAnswer first = http("POST", mock.base() + "/oauth2/v3/token", body);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(mock.refresh(str(first.json(), "refresh_token")).status, 200);
  const HttpAnswer again = http("POST", mock.base() + "/oauth2/v3/token", body);
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(str(again.json(), "error"), "invalid_auth_code");
}

TEST(MockTeslaRegions, RegionEndpointNamesTheHomeBaseAndOtherRegionsAnswer421) {
  MockTesla mock({"--accept-refresh-token", "eu-seed@eu_user", "--account-region", "eu_user=eu"});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("eu-seed");
  const HttpAnswer region = mock.get("/api/1/users/region", token);  // any region answers
  ASSERT_EQ(region.status, 200) << region.body;
  EXPECT_EQ(str(region.json().at("response"), "region"), "eu");
  const std::string eu_base = mock.base() + "/eu";
  EXPECT_EQ(str(region.json().at("response"), "fleet_api_base_url"), eu_base);

  for (const char* wrong : {"", "/na", "/cn"}) {
    HttpAnswer misdirected = mock.get(std::string(wrong) + "/api/1/vehicles", token);
    EXPECT_EQ(misdirected.status, 421) << wrong;
    EXPECT_EQ(misdirected.headers["alt-svc"], "h2=" + eu_base);
    EXPECT_NE(str(misdirected.json(), "error").find("user out of region, use base URL: " + eu_base),
              std::string::npos);
  }
  EXPECT_EQ(mock.get("/eu/api/1/vehicles", token).status, 200);
  EXPECT_EQ(mock.get("/eu/api/1/users/region", token).status, 200);
}

TEST(MockTeslaRegions, AnAccountMovedToAnotherRegionGets421AtItsOldHost) {
  MockTesla mock({"--accept-refresh-token", "seed@default"});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("seed");
  EXPECT_EQ(mock.get("/na/api/1/vehicles", token).status, 200);
  EXPECT_EQ(
      http("POST", mock.base() + "/mock/account-region", R"({"account":"default","region":"eu"})")
          .status,
      200);
  const HttpAnswer moved = mock.get("/na/api/1/vehicles", token);
  EXPECT_EQ(moved.status, 421);
  EXPECT_EQ(moved.headers.at("alt-svc"), "h2=" + mock.base() + "/eu");
  EXPECT_EQ(mock.get("/eu/api/1/vehicles", token).status, 200) << "the token stays valid";
  EXPECT_EQ(http("POST", mock.base() + "/mock/account-region", R"({"region":"mars"})").status, 400);
}

TEST(MockTeslaRegions, UnregisteredPartnerRegionIs412UntilRegistered) {
  MockTesla mock(
      {"--accept-refresh-token", "s@e", "--account-region", "e=eu", "--registered-regions", "na"});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("s");
  const HttpAnswer refused = mock.get("/eu/api/1/vehicles", token);
  EXPECT_EQ(refused.status, 412);
  EXPECT_NE(str(refused.json(), "error").find("must be registered in the current region"),
            std::string::npos);
  const HttpAnswer partner = http("POST", mock.base() + "/oauth2/v3/token",
                                  "grant_type=client_credentials&client_id=mock-client-id&"
                                  "client_secret=mock-client-secret&audience=eu");
  const std::string partner_token = str(partner.json(), "access_token");
  EXPECT_EQ(
      mock.post("/eu/api/1/partner_accounts", partner_token, R"({"domain":"oemlink.example"})")
          .status,
      200);
  EXPECT_EQ(mock.get("/eu/api/1/vehicles", token).status, 200);
}

TEST(MockTeslaAccounts, AnAccountSeesOnlyItsCars) {
  MockTesla mock({"--accept-refresh-token", "a@alice", "--account-vins",
                  std::string("alice=") + kVinS85, "--accept-refresh-token", "all"});
  ASSERT_TRUE(mock.running());
  const std::string alice = mock.access_token("a");
  const HttpAnswer list = mock.get("/api/1/vehicles", alice);
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json().at("count").as_int64(), 1);
  EXPECT_EQ(str(list.json().at("response").as_array()[0], "vin"), kVinS85);
  const HttpAnswer other =
      mock.get(std::string("/api/1/vehicles/") + kVinModel3 + "/vehicle_data", alice);
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(str(other.json(), "error"), std::string(kVinModel3) + " not_found");
  EXPECT_EQ(mock.get("/api/1/vehicles", mock.access_token("all")).json().at("count").as_int64(), 3);
}

}  // namespace
}  // namespace oemlink::mock_oem::testing
