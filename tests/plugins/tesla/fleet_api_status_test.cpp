// Small pieces read from Tesla's answers: status classification, Retry-After forms, 421 hints,
// token scopes.
#include "fleet_api_status.hpp"
#include "jwt_scope.hpp"
#include "tesla_test_support.hpp"

#include <gtest/gtest.h>

namespace oemlink::tesla::test {
namespace {

HttpResponse answer(int code, std::string_view body,
                    std::vector<std::pair<std::string_view, std::string_view>> headers = {}) {
  HttpResponse r;
  r.status = OEMLINK_OK;
  r.http_status = code;
  r.body = body;
  r.headers = std::move(headers);
  return r;
}

TEST(TeslaApiStatus, RetryAfterForms) {
  EXPECT_EQ(retry_after_seconds(answer(429, "", {{"retry-after", "86400"}})), 86400);
  EXPECT_EQ(retry_after_seconds(answer(429, "", {{"RateLimit-Reset", "12"}})), 12);
  EXPECT_EQ(retry_after_seconds(answer(429, "Retry in 37829 seconds")), 37829);
  EXPECT_EQ(retry_after_seconds(answer(429, "slow down")), -1);
  ApiOutcome o = classify_fleet_response(answer(429, "slow down"), 1000);
  EXPECT_EQ(o.kind, ApiOutcome::Kind::rate_limited);
  EXPECT_EQ(o.until_ms, 61000);  // 60 s when nothing says
  EXPECT_TRUE(o.billed);
}

TEST(TeslaApiStatus, MisdirectedHints) {
  EXPECT_EQ(misdirected_base_url(answer(421, "", {{"Alt-Svc", "h2=https://fleet-api.eu.test"}})),
            "https://fleet-api.eu.test");
  EXPECT_EQ(misdirected_base_url(answer(421, "", {{"Alt-Svc", "h2=\"fleet-api.eu.test:443\""}})),
            "https://fleet-api.eu.test");
  EXPECT_EQ(misdirected_base_url(answer(
                421, R"({"error":"user out of region, use base URL: https://x.eu.test, see"})")),
            "https://x.eu.test");
  EXPECT_EQ(misdirected_base_url(answer(421, R"({"error":"no"})")), "");
  // Everything after h2= is the base URL: a region may be a path (the mock serves /na, /eu).
  EXPECT_EQ(misdirected_base_url(answer(421, "", {{"Alt-Svc", "h2=http://127.0.0.1:8080/eu"}})),
            "http://127.0.0.1:8080/eu");
  EXPECT_EQ(misdirected_base_url(answer(421, "", {{"Alt-Svc", "h2=https://f.test/eu/; ma=60"}})),
            "https://f.test/eu");
  EXPECT_EQ(
      misdirected_base_url(answer(
          421, R"({"error":"user out of region, use base URL: http://127.0.0.1:9/cn, see"})")),
      "http://127.0.0.1:9/cn");
  // Not a URL nor a host: nothing, rather than a made-up host.
  EXPECT_EQ(misdirected_base_url(answer(421, "", {{"Alt-Svc", "h2=ftp://f.test/eu"}})), "");
}

TEST(TeslaApiStatus, BillingFollowsTheStatusCode) {
  EXPECT_TRUE(classify_fleet_response(answer(408, "{}"), 0).billed);
  EXPECT_TRUE(classify_fleet_response(answer(404, "{}"), 0).billed);
  EXPECT_FALSE(classify_fleet_response(answer(500, "{}"), 0).billed);
  HttpResponse timeout;
  timeout.status = OEMLINK_RETRY;
  timeout.error = "timeout";
  ApiOutcome o = classify_fleet_response(timeout, 0);
  EXPECT_EQ(o.kind, ApiOutcome::Kind::retry);
  EXPECT_FALSE(o.billed);
  EXPECT_EQ(classify_fleet_response(answer(400, "{}"), 0).kind, ApiOutcome::Kind::failed);
}

TEST(TeslaJwtScope, ArrayOrSpaceSeparated) {
  EXPECT_TRUE(jwt_has_scope(jwt_with_scopes({"openid", "vehicle_location"}), "vehicle_location"));
  EXPECT_FALSE(jwt_has_scope(jwt_with_scopes({"openid"}), "vehicle_location"));
  const std::string spaced = base64url_encode("{}") + "." +
                             base64url_encode(R"({"scope":"openid  vehicle_location"})") + ".s";
  EXPECT_TRUE(jwt_has_scope(spaced, "vehicle_location"));
  EXPECT_FALSE(jwt_has_scope("opaque-token", "vehicle_location"));
  EXPECT_FALSE(jwt_has_scope("a.%%%.b", "vehicle_location"));
}

}  // namespace
}  // namespace oemlink::tesla::test
