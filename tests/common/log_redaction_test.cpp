// redact_secrets: the forms a token, a client secret or a password takes in a message.
#include "core/common/log_redaction.hpp"

#include <gtest/gtest.h>

namespace oemlink {
namespace {

TEST(LogRedaction, KeyValueFormsLoseTheirValues) {
  EXPECT_EQ(redact_secrets(R"({"access_token":"abc.def","expires_in":3600})"),
            R"({"access_token":"[redacted]","expires_in":3600})");
  EXPECT_EQ(redact_secrets("grant_type=refresh_token&refresh_token=rt-1%2F2&client_id=x"),
            "grant_type=refresh_token&refresh_token=[redacted]&client_id=x");
  EXPECT_EQ(redact_secrets("client_secret: s3cr3t, next"), "client_secret: [redacted], next");
  EXPECT_EQ(redact_secrets("PASSWORD='p a s s' ok"), "PASSWORD='[redacted]' ok");
  EXPECT_EQ(redact_secrets(R"("token" : "q\"w")"), R"("token" : "[redacted]")");
  EXPECT_EQ(redact_secrets("admin_token=abcdefabcdefabcdef"), "admin_token=[redacted]");
}

TEST(LogRedaction, AuthorizationCredentialsAreMaskedAndTheSchemeKept) {
  EXPECT_EQ(redact_secrets("Authorization: Bearer eyA.b-c_d"), "Authorization: Bearer [redacted]");
  EXPECT_EQ(redact_secrets("sent authorization=Basic dXNlcjpwYXNz= to x"),
            "sent authorization=Basic [redacted] to x");
  EXPECT_EQ(redact_secrets("header bearer   abc123 end"), "header bearer   [redacted] end");
  EXPECT_EQ(redact_secrets("Authorization: xyz-raw"), "Authorization: [redacted]");
}

// Forms an outside review found unmasked: other Authorization schemes, cookies, camelCase keys,
// URL passwords and PEM private keys.
TEST(LogRedaction, OtherSchemesCookiesCamelCaseUrlPasswordsAndPemKeys) {
  EXPECT_EQ(redact_secrets("Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"),
            "Authorization: [redacted]");
  EXPECT_EQ(redact_secrets("Proxy-Authorization: Digest username=\"u\", response=\"r\"\nnext"),
            "Proxy-Authorization: [redacted]\nnext");
  EXPECT_EQ(redact_secrets("X-Auth-Token: abcdef123456"), "X-Auth-Token: [redacted]");
  EXPECT_EQ(redact_secrets("Cookie: session=abc; other=def"), "Cookie: [redacted]");
  EXPECT_EQ(
      redact_secrets(R"({"accessToken":"a1","refreshToken":"r1","clientSecret":"c1"})"),
      R"({"accessToken":"[redacted]","refreshToken":"[redacted]","clientSecret":"[redacted]"})");
  EXPECT_EQ(redact_secrets("connecting to mqtts://user:s3cr3t@broker:8883 now"),
            "connecting to mqtts://user:[redacted]@broker:8883 now");
  EXPECT_EQ(redact_secrets("https://host:8443/path stays"), "https://host:8443/path stays");
  EXPECT_EQ(redact_secrets("key -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE "
                           "KEY----- done"),
            "key [redacted] done");
  EXPECT_EQ(redact_secrets("-----BEGIN CERTIFICATE-----"), "-----BEGIN CERTIFICATE-----");
}

TEST(LogRedaction, JwtShapedStringsAreMaskedAnywhere) {
  const std::string jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLWJ5dGVz-_";
  EXPECT_EQ(redact_secrets("got " + jwt + " back"), "got [redacted] back");
}

TEST(LogRedaction, OrdinaryMessagesAreUnchanged) {
  for (const char* m :
       {"connection car-1 (driver tesla): poll RETRY: HTTP 503 (failure #2, next poll in 4 s)",
        "tesla: account a1: refresh token refused (invalid_grant); needs re-authentication",
        "vehicle_token_id: 12, synthetic_token_id: 13", "sink ingest: event 2f9c delivered",
        "basic checks passed", "the tokens of car-1 were rotated", "bearer", ""}) {
    EXPECT_EQ(redact_secrets(m), m);
  }
}

}  // namespace
}  // namespace oemlink
