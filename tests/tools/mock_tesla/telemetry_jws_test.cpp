// The fleet_telemetry_config JWS check: Tesla.SS256 header, iss/aud, signature over the
// signing input, and the partner's registered key when one is configured.
#include "tools/mock-oem/tesla/telemetry_jws.hpp"

#include "tests/tools/mock_tesla/test_schnorr_signer.hpp"

#include <gtest/gtest.h>

namespace oemlink::mock_oem::testing {
namespace {

using tesla::check_telemetry_jws;

constexpr const char* kConfig =
    R"({"hostname":"ft.example.com","port":443,"ca":"-----BEGIN CERTIFICATE-----\n...",
        "fields":{"Location":{"interval_seconds":1,"minimum_delta":10}},"prefer_typed":true})";

TEST(TelemetryJws, AcceptsAValidTokenAndReturnsTheConfig) {
  const TestKey key = make_test_key();
  const auto r = check_telemetry_jws(make_telemetry_jws(key, kConfig), std::nullopt);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.claims.at("hostname").as_string(), "ft.example.com");
  EXPECT_EQ(r.claims.at("port").as_int64(), 443);
  EXPECT_EQ(r.public_key, key.public_point);
}

TEST(TelemetryJws, AcceptsOnlyTheRegisteredKeyWhenOneIsGiven) {
  const TestKey key = make_test_key();
  const std::string jws = make_telemetry_jws(key, kConfig);
  EXPECT_TRUE(check_telemetry_jws(jws, key.public_point).ok);
  const auto r = check_telemetry_jws(jws, make_test_key().public_point);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("registered"), std::string::npos) << r.error;
}

TEST(TelemetryJws, RefusesTamperedClaims) {
  const TestKey key = make_test_key();
  const std::string jws = make_telemetry_jws(key, kConfig);
  // Re-encode different claims under the original signature.
  const std::string other = make_telemetry_jws(key, R"({"hostname":"evil.example.com","port":443,
      "fields":{"Location":{"interval_seconds":1}}})");
  const size_t a1 = jws.find('.'), a2 = jws.rfind('.');
  const size_t b1 = other.find('.'), b2 = other.rfind('.');
  const std::string spliced = jws.substr(0, a1) + other.substr(b1, b2 - b1) + jws.substr(a2);
  const auto r = check_telemetry_jws(spliced, std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("does not verify"), std::string::npos) << r.error;
}

TEST(TelemetryJws, RefusesUnsignedAndWrongAlgorithms) {
  const TestKey key = make_test_key();
  const std::string jws = make_telemetry_jws(key, kConfig);
  const std::string unsigned_jws = jws.substr(0, jws.rfind('.') + 1);
  EXPECT_FALSE(check_telemetry_jws(unsigned_jws, std::nullopt).ok);
  EXPECT_FALSE(check_telemetry_jws(make_telemetry_jws(key, kConfig, "none"), std::nullopt).ok);
  EXPECT_FALSE(check_telemetry_jws(make_telemetry_jws(key, kConfig, "ES256"), std::nullopt).ok);
  EXPECT_FALSE(
      check_telemetry_jws(make_telemetry_jws(key, kConfig, "Tesla.SS256", "other"), std::nullopt)
          .ok);
  EXPECT_FALSE(check_telemetry_jws("not a jws", std::nullopt).ok);
  EXPECT_FALSE(check_telemetry_jws("a.b.c.d", std::nullopt).ok);
}

}  // namespace
}  // namespace oemlink::mock_oem::testing
